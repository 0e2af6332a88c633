/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Who asks, over HTTP: the Principal of a request, from its credentials
 * (DESIGN.md, "Principals and authorization"). Nothing presented: anonymous.
 * Authorization: Bearer with an access token of a tenant's issuer: that
 * tenant's user (a token from the code flow: its session names the user,
 * whose role counts) or client (a client-credentials token: its scopes
 * count). An API key (X-API-Key, or a Bearer token that is one, api-key.h):
 * its tenant's secret key with its scopes, or an application's publishable
 * key from one of the application's allowed origins.
 * A platform token (top_…, tim_…) is an operator's, or their grant to act
 * as one tenant's admin (operator.h). The policy then decides
 * (http-authorize.c). */

#include <stdlib.h>

#include "api-key.h"
#include "base64url.h"
#include "http-internal.h"
#include "oauth-bearer.h"
#include "operator.h"
#include "jwt.h"
#include "names.h"
#include "store-oidc.h"
#include "time-util.h"

/* The tenant whose issuer the token names. Read from the token before its
 * signature is checked, only to pick the keys and the issuer that must
 * then verify it; -EKEYREJECTED for anything else than one of our
 * tenants' issuers. */
static int token_tenant(HttpRequest *req, const char *token, TenantRecord **ret) {
        _cleanup_free_ uint8_t *payload = NULL;
        json_auto_t *claims = NULL;
        const char *dot, *end, *iss, *base = req->server->url;
        size_t n, base_len = strlen(base);
        int r;

        dot = strchr(token, '.');
        end = dot ? strchr(dot + 1, '.') : NULL;
        if (!end || base64url_decode(dot + 1, (size_t) (end - dot - 1), &payload, &n) < 0)
                return -EKEYREJECTED;
        claims = json_loadb((const char *) payload, n, JSON_REJECT_DUPLICATES, NULL);
        iss = json_string_value(json_object_get(claims, "iss"));
        if (!iss || !strneq(iss, base, base_len) || !strneq(iss + base_len, "/t/", 3) ||
            !valid_tenant_slug(iss + base_len + 3))
                return -EKEYREJECTED;
        r = http_tenant_lookup(req, iss + base_len + 3, ret);
        return r == -ENOENT ? -EKEYREJECTED : r;
}

/* The token's checks and its holder are the core's (oauth-bearer.h). */
static int verify_bearer(HttpRequest *req, HttpAuth *a, const char *token) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {
                .manager = req->manager,
                .store = http_store(req),
                .cache = &req->thread->oauth,
                .tenant = tenant_record_ref(a->tenant),
                .issuer = http_issuer(req, a->tenant->slug),
                .log_id = req->id,
        };
        OAuthBearer b = {};
        int r;

        if (!ctx.store)
                return -EIO;
        if (!ctx.issuer)
                return -ENOMEM;
        r = oauth_bearer_verify(&ctx, token, &b);
        if (r < 0)
                return r;
        a->claims = b.claims;
        a->user = b.user;
        a->app = b.app;
        return 0;
}

static int authenticate_bearer(HttpRequest *req, HttpAuth *a, const char *token) {
        const char *scopes;
        int r;

        if (strlen(token) > JWT_MAX_LEN)
                return -EKEYREJECTED;
        r = token_tenant(req, token, &a->tenant);
        if (r < 0)
                return r;
        r = verify_bearer(req, a, token);
        if (r < 0)
                return r;
        if (a->user) {
                a->principal = principal_user("http", a->user, req->remote);
                return 0;
        }
        scopes = json_string_value(json_object_get(a->claims, "scope"));
        a->principal = (Principal) {
                .kind = PRINCIPAL_CLIENT,
                .channel = "http",
                .remote = req->remote,
                .name = a->app->client_id,
                .uid = -1,
                .tenant_id = a->tenant->id,
                .application_id = a->app->id,
                .scopes = strempty(scopes),
        };
        return 0;
}

/* On the writer thread, batched with whatever else is being written. */
typedef struct KeyTouch {
        BatchWrite w;
        int64_t id, now_usec;
} KeyTouch;

static int key_touch_write(Store *s, void *userdata) {
        KeyTouch *t = userdata;
        return store_api_key_touch(s, t->id, t->now_usec);
}

static void key_touch_done(int result, void *userdata) {
        if (result < 0)
                log_debug_errno(result, "Failed to record an API key's use: %m");
        free(userdata);
}

/* Records the key's use, at most once a minute: a use is a read, and
 * the write joins the next batch (one commit for many). Best effort: a
 * last-used time a minute late or lost to a crash is harmless. */
static void key_touch(HttpRequest *req, const ApiKeyRecord *k, int64_t now) {
        KeyTouch *t;

        if (now - k->last_used_usec < API_KEY_TOUCH_INTERVAL_USEC)
                return;
        t = calloc(1, sizeof(KeyTouch));
        if (!t)
                return;
        *t = (KeyTouch) { .w = { .write = key_touch_write, .userdata = t, .done = key_touch_done }, .id = k->id,
                          .now_usec = now };
        if (batch_writer_queue(req->server->writer, &t->w) < 0)
                free(t);
}

/* The presented key's principal: a secret key's scopes, or a publishable
 * key from one of its application's allowed origins (a browser sends
 * Origin with every cross-origin request and with every POST; a caller
 * without one is no page of the application's). */
static int authenticate_api_key(HttpRequest *req, HttpAuth *a, const char *text) {
        Store *s = http_store(req);
        int64_t now = now_realtime_usec();
        int r;

        if (!s)
                return -EIO;
        r = api_key_authenticate(req->manager, s, text, now, &a->key);
        if (r < 0)
                return r;
        api_key_public_id(a->key, a->key_name);
        if (a->key->kind == API_KEY_PUBLISHABLE) {
                const char *origin = http_header(req, "Origin");

                r = store_application_get_by_id(s, a->key->application_id, &a->app);
                if (r == -ENOENT)
                        return -EKEYREJECTED;
                if (r < 0)
                        return r;
                if (!application_allows_origin(a->app, origin))
                        return -EPERM;
                a->cors_origin = strdup(origin);
                if (!a->cors_origin)
                        return -ENOMEM;
        }
        key_touch(req, a->key, now);
        a->principal = api_key_principal(a->key, "http", req->remote, a->key_name);
        return 0;
}

static const char *presented_key(HttpRequest *req) {
        const char *key = http_header(req, "X-API-Key"), *auth;

        if (key)
                return key;
        auth = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
                auth += 7 + strspn(auth + 7, " ");
                if (api_key_text_plausible(auth))
                        return auth;
        }
        return NULL;
}

bool http_request_presents_key(HttpRequest *req) {
        return presented_key(req);
}

/* The platform's tokens (operator.h): an operator's own, or their grant
 * to act as a tenant's admin. They name no issuer: a tenant's access
 * token never reaches this lookup, nor an operator's token the tenants'
 * verification. */
static int authenticate_platform(HttpRequest *req, HttpAuth *a, const char *token) {
        Store *s = http_store(req);

        if (!s)
                return -EIO;
        return operator_token_principal(s, token, "http", req->remote, &a->platform, &a->principal);
}

static void auth_clear(HttpAuth *a) {
        a->tenant = tenant_record_unref(a->tenant);
        a->user = user_record_unref(a->user);
        a->app = application_record_unref(a->app);
        a->key = api_key_record_free(a->key);
        free(a->cors_origin);
        a->cors_origin = NULL;
        json_decref(a->claims);
        a->claims = NULL;
        platform_token_done(&a->platform);
}

HttpAuth *http_auth_free(HttpAuth *a) {
        if (a) {
                auth_clear(a);
                free(a);
        }
        return NULL;
}

int http_request_principal(HttpRequest *req, const Principal **ret) {
        HttpAuth *a = req->auth;
        const char *auth, *token;
        int r;

        if (a) {
                *ret = &a->principal;
                return 0;
        }
        a = calloc(1, sizeof(HttpAuth));
        if (!a)
                return -ENOMEM;
        a->principal = principal_anonymous("http", req->remote);

        /* An API key, in its own header or as a bearer token; another
         * scheme (Basic, say) is no credential here: anonymous. X-API-Key
         * is the credential when both are sent. */
        token = presented_key(req);
        auth = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        if (token) {
                a->key_presented = true;
                r = authenticate_api_key(req, a, token);
                if (r < 0) {
                        ApiKeyKind kind;
                        char env[API_KEY_ENV_MAX + 1], key_id[API_KEY_ID_LEN + 1];

                        auth_clear(a);
                        a->principal = principal_anonymous("http", req->remote);
                        /* The refusal's record names the key it was, when
                         * the text has a key's shape (its id is no secret). */
                        if (api_key_parse(token, &kind, env, key_id) >= 0) {
                                snprintf(a->key_name, sizeof(a->key_name), "key_%s", key_id);
                                a->principal.name = a->key_name;
                        }
                        if (r != -EKEYREJECTED && r != -EKEYREVOKED && r != -EKEYEXPIRED && r != -EPERM) {
                                http_auth_free(a);
                                return http_log_errno(req, LOG_WARNING, r, "Failed to check an API key: %m");
                        }
                        a->error = r;
                }
        } else if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
                token = auth + 7 + strspn(auth + 7, " ");
                r = operator_token_like(token) ? authenticate_platform(req, a, token)
                                               : authenticate_bearer(req, a, token);
                if (r < 0) {
                        auth_clear(a);
                        a->principal = principal_anonymous("http", req->remote);
                        /* A token that does not verify (or whose user
                         * can't be used now) is the client's doing; a
                         * store that fails is ours. */
                        if (r != -EKEYREJECTED && r != -ETIME && r != -EKEYREVOKED && r != -EKEYEXPIRED &&
                            r != -ENOLCK) {
                                http_auth_free(a);
                                return http_log_errno(req, LOG_WARNING, r, "Failed to check a bearer token: %m");
                        }
                        a->error = r;
                }
        }
        req->auth = a;
        *ret = &a->principal;
        return 0;
}
