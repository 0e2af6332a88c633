/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Revocation (RFC 7009) and introspection (RFC 7662). */

#include <stdlib.h>

#include "http-oidc.h"
#include "jwt.h"
#include "time-util.h"

static const char *const revoke_fields[] = { "token", "token_type_hint", "client_id", "client_secret", NULL };

typedef struct Revocation {
        char family[64];
        char jti[64];
        int64_t jti_expires_usec;
        OidcAudit audit;
} Revocation;

static int revoke_write(Store *s, void *userdata) {
        Revocation *v = userdata;
        int64_t now = store_now_usec();
        int r = 0;

        if (v->family[0])
                r = store_refresh_revoke_family(s, v->family, now);
        if (r >= 0 && v->jti[0])
                r = store_revoked_token_add(s, v->jti, v->jti_expires_usec);
        if (r >= 0)
                r = oidc_audit_write(s, &v->audit);
        return r;
}

static void revoke_done(HttpRequest *req, int result, void *userdata) {
        Revocation *v = userdata;

        if (result < 0)
                http_reply_internal_error(req, result);
        oidc_audit_done(&v->audit);
        free(v);
}

/* Reads an access token of ours without trusting it yet. */
static int access_token_claims(OidcContext *ctx, const char *token, json_t **ret) {
        return oidc_verify_access_token(ctx, token, ret);
}

void oidc_handle_revoke(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(refresh_token_done) RefreshToken rt = {};
        json_auto_t *claims = NULL;
        const char *token;
        Revocation *v;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, revoke_fields, &p) < 0)
                return;
        if (oidc_client_authenticate(&ctx, &p, "oauth.revoke", &app) < 0)
                return;
        token = http_params_get(&p, "token");
        if (isempty(token)) {
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request", "token is required.");
                return;
        }

        v = calloc(1, sizeof(Revocation));
        if (!v) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }

        /* RFC 7009 2.2: an unknown or invalid token is no error; a token of
         * another client is not revoked (and that is not told either). */
        if (token_is_plausible(token) && !strchr(token, '.')) {
                uint8_t digest[TOKEN_DIGEST_SIZE];

                token_digest(token, digest);
                r = store_refresh_get(ctx.store, ctx.tenant->id, digest, &rt);
                if (r >= 0 && rt.application_id == app->id)
                        snprintf(v->family, sizeof(v->family), "%s", rt.family);
        } else if (access_token_claims(&ctx, token, &claims) >= 0 &&
                   streq(strempty(json_string_value(json_object_get(claims, "client_id"))), app->client_id)) {
                snprintf(v->jti, sizeof(v->jti), "%s", json_string_value(json_object_get(claims, "jti")));
                v->jti_expires_usec = json_integer_value(json_object_get(claims, "exp")) * (int64_t) USEC_PER_SEC;
        }

        http_reply_json(req, MHD_HTTP_OK, json_object());
        http_reply_no_store(req);
        oidc_audit_add(&v->audit, &ctx, "oauth.revoke", app->client_id, app->name, AUDIT_SUCCESS,
                       "{\"type\":\"%s\",\"revoked\":%s}", v->family[0] ? "refresh_token" : "access_token",
                       v->family[0] || v->jti[0] ? "true" : "false");
        r = http_write_async(req, revoke_write, revoke_done, v);
        if (r < 0) {
                oidc_audit_done(&v->audit);
                free(v);
                http_reply_internal_error(req, r);
        }
}

void oidc_handle_introspect(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL, *owner = NULL;
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(refresh_token_done) RefreshToken rt = {};
        json_auto_t *claims = NULL;
        int64_t now = store_now_usec();
        const char *token;
        json_t *body = NULL;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, revoke_fields, &p) < 0)
                return;
        if (oidc_client_authenticate(&ctx, &p, "oauth.introspect", &app) < 0)
                return;
        if (app->public_client) {
                OidcAudit a = {};
                http_reply_oauth_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_client",
                                       "Introspection needs a confidential client.");
                oidc_audit_add(&a, &ctx, "oauth.introspect", app->client_id, app->name, AUDIT_DENIED,
                               "{\"error\":\"public client\"}");
                oidc_commit_reply(&ctx, &a);
                return;
        }
        token = http_params_get(&p, "token");
        if (isempty(token)) {
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request", "token is required.");
                return;
        }

        if (token_is_plausible(token) && !strchr(token, '.')) {
                uint8_t digest[TOKEN_DIGEST_SIZE];
                SsoSession sess = {};

                token_digest(token, digest);
                r = store_refresh_get(ctx.store, ctx.tenant->id, digest, &rt);
                if (r >= 0 && rt.revoked_usec == 0 && rt.rotated_usec == 0 && rt.idle_expires_usec > now &&
                    rt.absolute_expires_usec > now &&
                    store_sso_session_get_by_id(ctx.store, ctx.tenant->id, rt.session_id, &sess) >= 0 &&
                    sess.revoked_usec == 0 && store_application_get_by_id(ctx.store, rt.application_id, &owner) >= 0) {
                        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
                        char sub[64] = "";

                        if (store_user_get_by_id(ctx.store, rt.user_id, &u) >= 0)
                                (void) oidc_subject_of(req, u, sub);
                        body = json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "active", 1, "token_type",
                                         "refresh_token", "client_id", owner->client_id, "scope", rt.scope, "sub", sub,
                                         "iat", (json_int_t) (rt.created_usec / (int64_t) USEC_PER_SEC), "exp",
                                         (json_int_t) (rt.idle_expires_usec / (int64_t) USEC_PER_SEC), "iss",
                                         ctx.issuer, "sid", sess.sid);
                }
        } else if (oidc_verify_access_token(&ctx, token, &claims) >= 0) {
                const char *key;
                json_t *v;

                body = json_pack("{s:b, s:s}", "active", 1, "token_type", "access_token");
                json_object_foreach(claims, key, v)
                        if (body)
                                json_object_set(body, key, v);
        }
        if (!body)
                body = json_pack("{s:b}", "active", 0);
        http_reply_json(req, MHD_HTTP_OK, body);
        http_reply_no_store(req);
}
