/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "http-oidc.h"

static json_t *string_array(const char *const *l) {
        json_t *a = json_array();
        for (size_t i = 0; a && l[i]; i++)
                json_array_append_new(a, json_string(l[i]));
        return a;
}

static char *endpoint(const OidcContext *ctx, const char *path) {
        char *s;
        return asprintf(&s, "%s/%s", ctx->oauth.issuer, path) < 0 ? NULL : s;
}

void oidc_handle_discovery(HttpRequest *req) {
        static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post", "none", NULL };
        static const char *const secret_methods[] = { "client_secret_basic", "client_secret_post", NULL };
        static const char *const algs[] = { "RS256", "ES256", NULL };
        static const char *const claims[] = { "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr",
                                              "azp", "name", "preferred_username", "email", "email_verified",
                                              "updated_at", NULL };
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_free_ char *authz = NULL, *token = NULL, *userinfo = NULL, *jwks = NULL, *revoke = NULL,
                            *introspect = NULL, *logout = NULL;
        json_t *doc;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        authz = endpoint(&ctx, "authorize");
        token = endpoint(&ctx, "token");
        userinfo = endpoint(&ctx, "userinfo");
        jwks = endpoint(&ctx, "jwks");
        revoke = endpoint(&ctx, "revoke");
        introspect = endpoint(&ctx, "introspect");
        logout = endpoint(&ctx, "logout");
        if (!authz || !token || !userinfo || !jwks || !revoke || !introspect || !logout) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }

        doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "issuer", ctx.oauth.issuer, "authorization_endpoint",
                        authz, "token_endpoint", token, "userinfo_endpoint", userinfo, "jwks_uri", jwks,
                        "revocation_endpoint", revoke, "introspection_endpoint", introspect, "end_session_endpoint",
                        logout);
        if (doc) {
                json_object_set_new(doc, "response_types_supported", json_pack("[s]", "code"));
                json_object_set_new(doc, "response_modes_supported", json_pack("[s]", "query"));
                json_object_set_new(doc, "grant_types_supported", string_array(oauth_known_grants));
                json_object_set_new(doc, "subject_types_supported", json_pack("[s]", "public"));
                json_object_set_new(doc, "id_token_signing_alg_values_supported", string_array(algs));
                json_object_set_new(doc, "token_endpoint_auth_methods_supported", string_array(auth_methods));
                json_object_set_new(doc, "revocation_endpoint_auth_methods_supported", string_array(auth_methods));
                json_object_set_new(doc, "introspection_endpoint_auth_methods_supported", string_array(secret_methods));
                json_object_set_new(doc, "scopes_supported", string_array(oidc_known_scopes));
                json_object_set_new(doc, "claims_supported", string_array(claims));
                json_object_set_new(doc, "code_challenge_methods_supported", json_pack("[s]", "S256"));
                json_object_set_new(doc, "prompt_values_supported", json_pack("[s,s,s]", "none", "login", "consent"));
                json_object_set_new(doc, "authorization_response_iss_parameter_supported", json_true());
                json_object_set_new(doc, "claims_parameter_supported", json_false());
                json_object_set_new(doc, "request_parameter_supported", json_false());
                json_object_set_new(doc, "request_uri_parameter_supported", json_false());
                json_object_set_new(doc, "frontchannel_logout_supported", json_false());
        }
        http_reply_json(req, MHD_HTTP_OK, doc);
        http_reply_header(req, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=300");
}

/* The JWKS last served for a tenant is kept (as text: every thread reads
 * it), and served again while the store is away (a restart, a failover):
 * relying parties go on verifying the tokens they hold. It lags no change:
 * none can be committed while the store is away, and each answer from the
 * store replaces it. */
static void jwks_remember(HttpServer *server, int64_t tenant_id, const json_t *doc) {
        char *text = json_dumps(doc, JSON_COMPACT);
        size_t slot;

        if (!text)
                return;
        pthread_mutex_lock(&server->jwks_lock);
        for (slot = 0; slot < ELEMENTSOF(server->jwks_last); slot++)
                if (server->jwks_last[slot].json && server->jwks_last[slot].tenant_id == tenant_id)
                        break;
        if (slot == ELEMENTSOF(server->jwks_last))
                slot = server->jwks_next++ % ELEMENTSOF(server->jwks_last);
        free(server->jwks_last[slot].json);
        server->jwks_last[slot].tenant_id = tenant_id;
        server->jwks_last[slot].json = text;
        pthread_mutex_unlock(&server->jwks_lock);
}

static int jwks_recall(HttpServer *server, int64_t tenant_id, json_t **ret) {
        json_t *doc = NULL;

        pthread_mutex_lock(&server->jwks_lock);
        for (size_t i = 0; i < ELEMENTSOF(server->jwks_last); i++)
                if (server->jwks_last[i].json && server->jwks_last[i].tenant_id == tenant_id) {
                        doc = json_loads(server->jwks_last[i].json, 0, NULL);
                        break;
                }
        pthread_mutex_unlock(&server->jwks_lock);
        if (!doc)
                return -ENOENT;
        *ret = doc;
        return 0;
}

void oidc_handle_jwks(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        json_t *doc = NULL;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        /* No connection for this thread (http_store() logged why): the
         * database is away. */
        r = ctx.oauth.store ? signing_keys_jwks(ctx.oauth.manager, ctx.oauth.store, ctx.oauth.tenant->id, &doc)
                            : -ENOTCONN;
        if (r >= 0)
                jwks_remember(req->server, ctx.oauth.tenant->id, doc);
        else if ((r == -ENOTCONN || r == -ECONNRESET) && jwks_recall(req->server, ctx.oauth.tenant->id, &doc) >= 0)
                r = 0;
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, doc);
        /* Short: a client that meets an unknown kid fetches again anyway. */
        http_reply_header(req, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=60");
}
