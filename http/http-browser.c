/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "base64url.h"
#include "names.h"
#include "http-browser.h"
#include "sso-session.h"
#include "time-util.h"

#define PENDING_LIFETIME_USEC (5 * 60 * USEC_PER_SEC)

static void add_cookie_at(HttpRequest *req, const char *path, const char *name, const char *value, long max_age) {
        char header[512];

        /* Lax keeps the cookie on the top-level navigations that bring a
         * user back from an app. */
        int n = snprintf(header, sizeof(header), "%s=%s; Path=%s; HttpOnly; SameSite=Lax%s", name, value ?: "", path,
                         req->server->https ? "; Secure" : "");
        if (max_age >= 0 && n > 0 && (size_t) n < sizeof(header))
                snprintf(header + n, sizeof(header) - n, "; Max-Age=%ld", max_age);
        http_reply_header(req, MHD_HTTP_HEADER_SET_COOKIE, header);
}

/* Per tenant: each issuer its own session. */
static void add_cookie(HttpRequest *req, const char *tenant, const char *name, const char *value, long max_age) {
        char path[TENANT_SLUG_MAX_LEN + 8];

        snprintf(path, sizeof(path), "/t/%s/", tenant);
        add_cookie_at(req, path, name, value, max_age);
}

int browser_binding(HttpRequest *req, char **ret, bool *ret_new) {
        const char *have = http_cookie(req, BINDING_COOKIE);
        char *v;
        int r;

        if (have && token_is_plausible(have) && strlen(have) >= 32 && strlen(have) <= 64) {
                v = strdup(have);
                if (!v)
                        return -ENOMEM;
                *ret = v;
                *ret_new = false;
                return 0;
        }
        r = token_random(TOKEN_RANDOM_BYTES, &v);
        if (r < 0)
                return r;
        *ret = v;
        *ret_new = true;
        return 0;
}

void browser_send_binding(HttpRequest *req, const char *tenant, const char *value) {
        /* A browser session cookie: gone when the browser closes. */
        add_cookie(req, tenant, BINDING_COOKIE, value, -1);
}

void browser_send_binding_at(HttpRequest *req, const char *path, const char *value) {
        add_cookie_at(req, path, BINDING_COOKIE, value, -1);
}

int browser_csrf_token(HttpRequest *req, const char *binding, const char *form, char **ret) {
        uint8_t d[SECRET_DIGEST_SIZE];
        _cleanup_free_ char *in = NULL;
        int r;

        if (asprintf(&in, "%s|%s|%s", req->tenant_slug, form, binding) < 0)
                return -ENOMEM;
        r = secret_key_digest(req->manager->secret_key, "csrf", in, strlen(in), d);
        if (r < 0)
                return r;
        return base64url_encode(d, sizeof(d), ret);
}

static bool origin_ok(HttpRequest *req) {
        const char *origin = http_header(req, "Origin");
        const char *url = req->server->url, *host, *end;

        /* Our pages send no referrer, so browsers say "null" for their own
         * form posts; then the CSRF token alone decides. A real origin must
         * be ours. */
        if (!origin || streq(origin, "null"))
                return true;
        host = strstr(url, "://");
        end = host ? strchr(host + 3, '/') : NULL;
        if (!end)
                return streq(origin, url);
        return strlen(origin) == (size_t) (end - url) && strneq(origin, url, (size_t) (end - url));
}

bool browser_csrf_ok(HttpRequest *req, const char *form, const char *token) {
        const char *binding = http_cookie(req, BINDING_COOKIE);
        _cleanup_free_ char *expected = NULL;

        if (!binding || !token || !origin_ok(req))
                return false;
        if (browser_csrf_token(req, binding, form, &expected) < 0)
                return false;
        return strlen(token) == strlen(expected) && memeq_consttime(token, expected, strlen(expected));
}

int browser_session(OidcContext *ctx, SsoSession *ret) {
        return sso_session_find(&ctx->oauth, http_cookie(ctx->req, SESSION_COOKIE), ret);
}

void browser_set_session_cookie(HttpRequest *req, const char *tenant, const char *value, unsigned max_age) {
        add_cookie(req, tenant, SESSION_COOKIE, value, value ? (long) max_age : 0);
}

static int pending_mac(HttpRequest *req, const char *payload, char out[static 64]) {
        const char *binding = http_cookie(req, BINDING_COOKIE);
        _cleanup_free_ char *in = NULL;
        uint8_t d[SECRET_DIGEST_SIZE];
        int r;

        if (!binding)
                return -EACCES;
        if (asprintf(&in, "%s|%s|%s", req->tenant_slug, payload, binding) < 0)
                return -ENOMEM;
        r = secret_key_digest(req->manager->secret_key, "login-pending", in, strlen(in), d);
        if (r < 0)
                return r;
        base64url_encode_to(d, sizeof(d), out);
        return 0;
}

int browser_pending_make(HttpRequest *req, int64_t user_id, bool federated, char **ret) {
        char payload[64], mac[64];
        int r;

        /* The first step's kind is under the MAC: a password step's proof
         * can't be made a federated one, nor the other way round. */
        snprintf(payload, sizeof(payload), "%" PRIi64 ".%" PRIi64 "%s", user_id,
                 now_realtime_usec() + PENDING_LIFETIME_USEC, federated ? ".fed" : "");
        r = pending_mac(req, payload, mac);
        if (r < 0)
                return r;
        return asprintf(ret, "%s.%s", payload, mac) < 0 ? -ENOMEM : 0;
}

int browser_pending_check(HttpRequest *req, const char *pending, int64_t *ret_user_id, bool *ret_federated) {
        char payload[64], mac[64];
        const char *dot;
        long long uid, until;
        bool federated = false;
        size_t len;
        int n;

        if (!pending || strlen(pending) > 150)
                return -EINVAL;
        dot = strrchr(pending, '.');
        if (!dot || (size_t) (dot - pending) >= sizeof(payload))
                return -EINVAL;
        memcpy(payload, pending, dot - pending);
        payload[dot - pending] = '\0';
        if (pending_mac(req, payload, mac) < 0 || strlen(dot + 1) != strlen(mac) ||
            !memeq_consttime(dot + 1, mac, strlen(mac)))
                return -EACCES;
        len = strlen(payload);
        if (len > 4 && streq(payload + len - 4, ".fed")) {
                federated = true;
                payload[len -= 4] = '\0';
        }
        if (sscanf(payload, "%lld.%lld%n", &uid, &until, &n) != 2 || (size_t) n != len)
                return -EINVAL;
        if (until <= now_realtime_usec())
                return -ETIME;
        *ret_user_id = uid;
        *ret_federated = federated;
        return 0;
}
