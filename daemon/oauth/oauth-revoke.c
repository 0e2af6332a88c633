/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-revoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth-claims.h"
#include "oauth-token.h"
#include "store-oidc.h"
#include "time-util.h"
#include "token.h"

typedef struct Revocation {
        OAuthCommit commit;
        char family[64];
        char jti[64];
        int64_t jti_expires_usec;
        PendingAudit audit;
} Revocation;

static void revocation_free(OAuthCommit *commit) {
        Revocation *v = (Revocation *) commit;

        pending_audit_done(&v->audit);
        free(v);
}

static int revocation_write(Store *s, OAuthCommit *commit) {
        Revocation *v = (Revocation *) commit;
        int64_t now = now_realtime_usec();
        int r = 0;

        if (v->family[0])
                r = store_refresh_revoke_family(s, v->family, now);
        if (r >= 0 && v->jti[0])
                r = store_revoked_token_add(s, v->jti, v->jti_expires_usec);
        if (r >= 0)
                r = pending_audit_write(s, &v->audit);
        return r < 0 ? r : 1;
}

/* Refresh tokens are opaque; access tokens are JWTs, which have dots. */
static bool looks_like_refresh_token(const char *token) {
        return token_is_plausible(token) && !strchr(token, '.');
}

int oauth_revoke(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app, const char *token,
                 OAuthCommit **ret, OAuthError *e) {
        _cleanup_(refresh_token_done) RefreshToken rt = {};
        _cleanup_(oauth_commit_freep) OAuthCommit *commit = NULL;
        json_auto_t *claims = NULL;
        Revocation *v;
        int r;

        if (isempty(token))
                return oauth_error_set(e, -EINVAL, "invalid_request", "token is required.");

        v = calloc(1, sizeof(Revocation));
        if (!v)
                return -ENOMEM;
        v->commit = (OAuthCommit) { .write = revocation_write, .free = revocation_free };
        commit = &v->commit;

        /* RFC 7009 2.2: an unknown or invalid token is no error; a token of
         * another client is not revoked (and that is not told either). */
        if (looks_like_refresh_token(token)) {
                uint8_t digest[TOKEN_DIGEST_SIZE];

                token_digest(token, digest);
                r = store_refresh_get(ctx->store, ctx->tenant->id, digest, &rt);
                if (r >= 0 && rt.application_id == app->id)
                        snprintf(v->family, sizeof(v->family), "%s", rt.family);
        } else if (oauth_verify_access_token(ctx, token, &claims) >= 0 &&
                   streq(strempty(json_string_value(json_object_get(claims, "client_id"))), app->client_id)) {
                snprintf(v->jti, sizeof(v->jti), "%s", json_string_value(json_object_get(claims, "jti")));
                v->jti_expires_usec = json_integer_value(json_object_get(claims, "exp")) * (int64_t) USEC_PER_SEC;
        }

        v->commit.response = strdup("{}");
        if (!v->commit.response)
                return -ENOMEM;
        pending_audit_add(&v->audit, client, "oauth.revoke", ctx->tenant->slug, app->name, AUDIT_SUCCESS,
                          "{\"type\":\"%s\",\"revoked\":%s}", v->family[0] ? "refresh_token" : "access_token",
                          v->family[0] || v->jti[0] ? "true" : "false");
        *ret = TAKE_PTR(commit);
        return 0;
}

/* A live refresh token of this tenant: not rotated, revoked or expired,
 * its session alive. */
static json_t *introspect_refresh_token(OAuthContext *ctx, const char *token) {
        _cleanup_(refresh_token_done) RefreshToken rt = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *owner = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t now = now_realtime_usec();
        SsoSession sess = {};
        char sub[64] = "";

        token_digest(token, digest);
        if (store_refresh_get(ctx->store, ctx->tenant->id, digest, &rt) < 0 || rt.revoked_usec > 0 ||
            rt.rotated_usec > 0 || rt.idle_expires_usec <= now || rt.absolute_expires_usec <= now)
                return NULL;
        if (store_sso_session_get_by_id(ctx->store, ctx->tenant->id, rt.session_id, &sess) < 0 ||
            sess.revoked_usec > 0 || store_application_get_by_id(ctx->store, rt.application_id, &owner) < 0)
                return NULL;
        if (store_user_get_by_id(ctx->store, rt.user_id, &u) >= 0)
                (void) oauth_subject_cached(ctx, u, sub);
        return json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "active", 1, "token_type", "refresh_token",
                         "client_id", owner->client_id, "scope", rt.scope, "sub", sub, "iat",
                         (json_int_t) (rt.created_usec / (int64_t) USEC_PER_SEC), "exp",
                         (json_int_t) (rt.idle_expires_usec / (int64_t) USEC_PER_SEC), "iss", ctx->issuer, "sid",
                         sess.sid);
}

/* A valid access token of this tenant: its claims. */
static json_t *introspect_access_token(OAuthContext *ctx, const char *token) {
        json_auto_t *claims = NULL;
        const char *key;
        json_t *body, *v;

        if (oauth_verify_access_token(ctx, token, &claims) < 0)
                return NULL;
        body = json_pack("{s:b, s:s}", "active", 1, "token_type", "access_token");
        json_object_foreach(claims, key, v)
                if (body)
                        json_object_set(body, key, v);
        return body;
}

int oauth_introspect(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app, const char *token,
                     json_t **ret, OAuthError *e) {
        json_t *body;

        if (app->public_client) {
                pending_audit_add(&ctx->audit, client, "oauth.introspect", ctx->tenant->slug, app->name, AUDIT_DENIED,
                                  "{\"error\":\"public client\"}");
                return oauth_error_set(e, -EACCES, "invalid_client", "Introspection needs a confidential client.");
        }
        if (isempty(token))
                return oauth_error_set(e, -EINVAL, "invalid_request", "token is required.");

        body = looks_like_refresh_token(token) ? introspect_refresh_token(ctx, token)
                                               : introspect_access_token(ctx, token);
        if (!body)
                body = json_pack("{s:b}", "active", 0);
        if (!body)
                return -ENOMEM;
        *ret = body;
        return 0;
}
