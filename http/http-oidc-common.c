/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>

#include <openssl/sha.h>

#include "base64url.h"
#include "http-oidc.h"
#include "time-util.h"

int oidc_context_init(HttpRequest *req, OidcContext *ret) {
        *ret = (OidcContext) { .req = req, .manager = req->manager };
        if (http_tenant(req, &ret->tenant) < 0)
                return -ENOENT;
        ret->store = http_store(req);
        ret->issuer = http_issuer(req, ret->tenant->slug);
        if (!ret->issuer) {
                oidc_context_done(ret);
                http_reply_internal_error(req, -ENOMEM);
                return -ENOMEM;
        }
        return 0;
}

void oidc_context_done(OidcContext *ctx) {
        tenant_record_unref(ctx->tenant);
        free(ctx->issuer);
        *ctx = (OidcContext) {};
}

/* -- audit --------------------------------------------------------------------------- */

void oidc_audit_add(OidcAudit *a, OidcContext *ctx, const char *action, const char *actor, const char *target,
                    AuditResult result, const char *details_format, ...) {
        char *details = NULL;
        va_list ap;

        if (a->n >= ELEMENTSOF(a->events))
                return;
        if (!a->tenant) {
                a->tenant = strdup(ctx->tenant->slug);
                a->remote = strdup(ctx->req->remote);
        }
        if (details_format) {
                va_start(ap, details_format);
                if (vasprintf(&details, details_format, ap) < 0)
                        details = NULL;
                va_end(ap);
        }
        a->events[a->n++].action = strdup(action);
        a->events[a->n - 1].actor = actor ? strdup(actor) : NULL;
        a->events[a->n - 1].target = target ? strdup(target) : NULL;
        a->events[a->n - 1].details = details;
        a->events[a->n - 1].result = result;
}

int oidc_audit_write(Store *s, OidcAudit *a) {
        for (size_t i = 0; i < a->n; i++) {
                AuditEvent e = {
                        .channel = "http",
                        .actor_uid = -1,
                        .actor = a->events[i].actor,
                        .action = a->events[i].action,
                        .tenant = a->tenant,
                        .target = a->events[i].target,
                        .result = a->events[i].result,
                        .remote = a->remote,
                        .details = a->events[i].details,
                };
                int r;

                if (!e.action)
                        return -ENOMEM;
                r = store_audit_append(s, &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

void oidc_audit_done(OidcAudit *a) {
        for (size_t i = 0; i < a->n; i++) {
                free(a->events[i].action);
                free(a->events[i].actor);
                free(a->events[i].target);
                free(a->events[i].details);
        }
        free(a->tenant);
        free(a->remote);
        *a = (OidcAudit) {};
}

static int audit_write_cb(Store *s, void *userdata) {
        return oidc_audit_write(s, userdata);
}

static void audit_done_cb(HttpRequest *req, int result, void *userdata) {
        OidcAudit *a = userdata;

        /* The prepared reply goes out only now that its record is durable. */
        if (result < 0)
                http_reply_internal_error(req, result);
        oidc_audit_done(a);
        free(a);
}

void oidc_commit_reply(OidcContext *ctx, OidcAudit *a) {
        OidcAudit *heap;
        int r;

        if (a->n == 0)
                return;
        heap = malloc(sizeof(OidcAudit));
        if (!heap) {
                oidc_audit_done(a);
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }
        *heap = *a;
        *a = (OidcAudit) {};
        r = http_write_async(ctx->req, audit_write_cb, audit_done_cb, heap);
        if (r < 0) {
                oidc_audit_done(heap);
                free(heap);
                http_reply_internal_error(ctx->req, r);
        }
}

/* -- limits on failed authentications --------------------------------------------- */

bool oidc_limited(OidcContext *ctx, const char *client_id, OidcLimit *ret) {
        Limiter *l = ctx->manager->limiter;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        bool first;
        unsigned wait;

        wait = limiter_check(l, LIMIT_ADDRESS, ctx->req->remote, now, &first);
        if (wait > 0) {
                *ret = (OidcLimit) { .wait = wait, .kind = LIMIT_ADDRESS, .first = first };
                return true;
        }
        wait = client_id ? limiter_check(l, LIMIT_CLIENT, client_id, now, &first) : 0;
        if (wait > 0) {
                *ret = (OidcLimit) { .wait = wait, .kind = LIMIT_CLIENT, .first = first };
                return true;
        }
        return false;
}

void oidc_limit_reply(OidcContext *ctx, const OidcLimit *l, const char *action, const char *actor) {
        char seconds[16];
        OidcAudit a = {};

        snprintf(seconds, sizeof(seconds), "%u", l->wait);
        http_reply_header(ctx->req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        if (!l->first)
                return;
        /* One event per run of refusals (counted on one row while the run
         * lasts), never one per refused request. */
        http_log(ctx->req, LOG_NOTICE, "Too many failed authentications by %s %s; refusing for %u s.",
                 limit_kind_to_string(l->kind), l->kind == LIMIT_ADDRESS ? ctx->req->remote : strna(actor), l->wait);
        oidc_audit_add(&a, ctx, action, actor, actor, AUDIT_DENIED, "{\"error\":\"rate_limited\",\"limit\":\"%s\"}",
                       limit_kind_to_string(l->kind));
        oidc_commit_reply(ctx, &a);
}

void oidc_limit_failed(OidcContext *ctx, const char *client_id) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        limiter_fail(ctx->manager->limiter, LIMIT_ADDRESS, ctx->req->remote, now);
        if (client_id)
                limiter_fail(ctx->manager->limiter, LIMIT_CLIENT, client_id, now);
}

/* -- client authentication ------------------------------------------------------- */

/* "id:secret", each form-encoded. */
static int split_basic(const uint8_t *raw, size_t len, char **ret_id, char **ret_secret) {
        const char *colon;
        char *id = NULL;
        int r;

        if (memchr(raw, 0, len))
                return -EINVAL;
        colon = strchr((const char *) raw, ':');
        if (!colon)
                return -EINVAL;
        r = http_url_decode((const char *) raw, (size_t) (colon - (const char *) raw), &id);
        if (r < 0)
                return r;
        r = http_url_decode(colon + 1, strlen(colon + 1), ret_secret);
        if (r < 0) {
                free(id);
                return r;
        }
        *ret_id = id;
        return 0;
}

/* Authorization: Basic base64(urlencode(id) ":" urlencode(secret)), RFC 6749 2.3.1. */
static int parse_basic(const char *header, char **ret_id, char **ret_secret) {
        _cleanup_(erase_and_freep) char *u = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        const char *b64;
        size_t n, len;
        int r;

        if (strncasecmp(header, "Basic ", 6) != 0)
                return -EINVAL;
        b64 = header + 6;
        while (*b64 == ' ')
                b64++;
        n = strlen(b64);
        /* Standard base64 with padding: map to base64url, drop the padding. */
        u = strdup(b64);
        if (!u)
                return -ENOMEM;
        for (char *p = u; *p; p++)
                *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        while (n > 0 && u[n - 1] == '=')
                u[--n] = '\0';
        r = base64url_decode(u, n, &raw, &len);
        if (r < 0)
                return -EINVAL;
        r = split_basic(raw, len, ret_id, ret_secret);
        explicit_bzero(raw, len);
        return r;
}

/* known: client_id is a client of this tenant, whose failures count. */
static void client_auth_failed(OidcContext *ctx, const char *action, const char *client_id, bool known, bool basic,
                               const char *why) {
        OidcAudit a = {};

        oidc_limit_failed(ctx, known ? client_id : NULL);

        http_reply_oauth_error(ctx->req, MHD_HTTP_UNAUTHORIZED, "invalid_client", "Client authentication failed.");
        if (basic)
                http_reply_header(ctx->req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"tessera\"");
        oidc_audit_add(&a, ctx, action, client_id, client_id, AUDIT_DENIED, "{\"error\":\"invalid_client\",\"why\":\"%s\"}",
                       why);
        oidc_commit_reply(ctx, &a);
}

static bool verify_secret_cached(OidcContext *ctx, const ApplicationRecord *app, const char *secret) {
        HttpThread *t = ctx->req->thread;
        uint8_t presented[SHA256_DIGEST_LENGTH];
        size_t slot;

        if (!secret || strlen(secret) > TOKEN_MAX_LEN)
                return false;
        sha256(secret, strlen(secret), presented);
        /* A hit needs the same stored digest: a rotated secret misses. */
        for (size_t i = 0; i < ELEMENTSOF(t->secrets); i++)
                if (t->secrets[i].app_id == app->id &&
                    memeq_consttime(t->secrets[i].stored, app->secret_digest, sizeof(app->secret_digest)) &&
                    memeq_consttime(t->secrets[i].presented, presented, sizeof(presented)))
                        return true;
        if (!application_verify_secret(ctx->manager, app, secret))
                return false;
        slot = t->next_secret++ % ELEMENTSOF(t->secrets);
        t->secrets[slot].app_id = app->id;
        memcpy(t->secrets[slot].stored, app->secret_digest, sizeof(app->secret_digest));
        memcpy(t->secrets[slot].presented, presented, sizeof(presented));
        return true;
}

int oidc_client_authenticate(OidcContext *ctx, const HttpParams *p, const char *action, ApplicationRecord **ret) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(erase_and_freep) char *basic_id = NULL, *basic_secret = NULL;
        const char *auth = http_header(ctx->req, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *client_id = http_params_get(p, "client_id"), *secret = http_params_get(p, "client_secret");
        bool basic = false, malformed = false;
        char safe_id[65];
        OidcLimit limit;
        int r;

        if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
                r = parse_basic(auth, &basic_id, &basic_secret);
                if (r < 0)
                        malformed = true;
                else if (secret || (client_id && !streq(client_id, basic_id))) {
                        http_reply_oauth_error(ctx->req, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                               "Use one client authentication method, not two.");
                        return -EINVAL;
                } else {
                        basic = true;
                        client_id = basic_id;
                        secret = basic_secret;
                }
        }
        /* What goes into the audit trail must be harmless text. */
        snprintf(safe_id, sizeof(safe_id), "%s", token_is_plausible(client_id) ? client_id : "(invalid)");

        /* Before the client is looked up or its secret hashed. */
        if (oidc_limited(ctx, !malformed && token_is_plausible(client_id) ? client_id : NULL, &limit)) {
                http_reply_oauth_error(ctx->req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
                                       "Too many failed client authentications %s; try again in %u s.",
                                       limit.kind == LIMIT_ADDRESS ? "from this address" : "for this client",
                                       limit.wait);
                oidc_limit_reply(ctx, &limit, action, limit.kind == LIMIT_CLIENT ? safe_id : NULL);
                return -EBUSY;
        }
        if (malformed) {
                client_auth_failed(ctx, action, NULL, false, true, "malformed basic credentials");
                return -EINVAL;
        }
        if (isempty(client_id)) {
                client_auth_failed(ctx, action, NULL, false, basic, "no client_id");
                return -EACCES;
        }

        r = token_is_plausible(client_id) ? http_application(ctx->req, ctx->tenant->id, client_id, &app) : -ENOENT;
        if (r < 0 && r != -ENOENT) {
                http_reply_internal_error(ctx->req, r);
                return r;
        }
        if (r == -ENOENT) {
                client_auth_failed(ctx, action, safe_id, false, basic, "unknown client");
                return -EACCES;
        }
        if (app->public_client) {
                if (secret) {
                        client_auth_failed(ctx, action, safe_id, true, basic, "a public client sent a secret");
                        return -EACCES;
                }
        } else if (!verify_secret_cached(ctx, app, secret)) {
                client_auth_failed(ctx, action, safe_id, true, basic, secret ? "wrong secret" : "no secret");
                return -EACCES;
        }
        *ret = TAKE_PTR(app);
        return 0;
}

/* -- scopes ------------------------------------------------------------------------ */

bool oidc_scope_has(const char *scope, const char *item) {
        size_t n = strlen(item);

        for (const char *p = scope; p && *p;) {
                size_t len = strcspn(p, " ");
                if (len == n && strneq(p, item, n))
                        return true;
                p += len;
                while (*p == ' ')
                        p++;
        }
        return false;
}

int oidc_normalize_scope(const ApplicationRecord *app, const char *requested, char **ret) {
        _cleanup_(strv_freep) char **items = NULL;
        char buf[512] = "";
        int r;

        r = strv_split_spaces(requested, 16, &items);
        if (r < 0)
                return -EINVAL;
        STRV_FOREACH(i, items) {
                bool known = false;
                for (size_t k = 0; oidc_known_scopes[k]; k++)
                        known = known || streq(oidc_known_scopes[k], *i);
                /* Unknown scopes are refused, not silently dropped: a client
                 * that asks for more than exists has a bug worth seeing. */
                if (!known || !application_allows_scope(app, *i))
                        return -EPERM;
        }
        for (size_t k = 0; oidc_known_scopes[k]; k++)
                if (strv_contains(items, oidc_known_scopes[k])) {
                        /* Each known scope once at most: all of them fit. */
                        if (strlen(buf) + 1 + strlen(oidc_known_scopes[k]) >= sizeof(buf))
                                return -E2BIG;
                        if (buf[0])
                                strcat(buf, " ");
                        strcat(buf, oidc_known_scopes[k]);
                }
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

int oidc_session_user(OidcContext *ctx, const OidcSession *sess, UserRecord **ret) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int r;

        if (sess->revoked_usec > 0 || sess->tenant_id != ctx->tenant->id)
                return -ENOENT;
        r = store_user_get_by_id(ctx->store, sess->user_id, &u);
        if (r < 0)
                return r;
        if (user_record_state(u, store_now_usec()) != USER_STATE_ACTIVE)
                return -EPERM;
        *ret = TAKE_PTR(u);
        return 0;
}
