/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Who asks, over HTTP: the Principal of a request, from its credentials
 * (DESIGN.md, "Principals and authorization"). Nothing presented: anonymous.
 * Authorization: Bearer with an access token of a tenant's issuer: that
 * tenant's user (a token from the code flow: its session names the user,
 * whose role counts) or client (a client-credentials token: its scopes
 * count). A platform token (top_…, tim_…) is an operator's, or their grant
 * to act as one tenant's admin (operator.h). The policy then decides
 * (http-authorize.c). */

#include <stdlib.h>

#include "base64url.h"
#include "http-internal.h"
#include "oauth-bearer.h"
#include "operator.h"
#include "jwt.h"
#include "names.h"

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

        /* Another scheme (Basic, say) is no credential here: anonymous. */
        auth = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
                token = auth + 7 + strspn(auth + 7, " ");
                r = operator_token_like(token) ? authenticate_platform(req, a, token)
                                               : authenticate_bearer(req, a, token);
                if (r < 0) {
                        auth_clear(a);
                        a->principal = principal_anonymous("http", req->remote);
                        /* A token that does not verify is the client's
                         * doing; a store that fails is ours. */
                        if (r != -EKEYREJECTED && r != -ETIME) {
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
