/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-userinfo.h"

#include "json-text.h"
#include "oauth-claims.h"
#include "oauth-scope.h"
#include "oauth-token.h"
#include "sso-session.h"
#include "store-oidc.h"

/* The user behind a valid token, found through its session, every time:
 * a revoked token, an ended session or a disabled user fails at once. One
 * read transaction: one snapshot, and one WAL read lock instead of three.
 * -EKEYREJECTED or -ETIME for the token itself, -EACCES for a token without
 * a user or the openid scope, -ENOENT when its user can no longer sign in. */
static int token_user(OAuthContext *ctx, const char *token, json_t **ret_claims, UserRecord **ret_user,
                      char ret_sub[static 64]) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        json_auto_t *claims = NULL;
        SsoSession sess = {};
        const char *sid, *sub, *scope;
        KeySet *ks;
        int r;

        /* The keys first: loading them may write (a tenant's first keys),
         * which a read transaction can't. Then they come from the cache. */
        r = oauth_cache_keys(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, &ks);
        if (r < 0)
                return r;
        r = store_begin_read(ctx->store);
        if (r < 0)
                return r;
        r = oauth_verify_access_token(ctx, token, &claims);
        if (r >= 0) {
                scope = json_string_value(json_object_get(claims, "scope"));
                sid = json_string_value(json_object_get(claims, "sid"));
                if (!oauth_scope_has(scope, "openid") || !sid)
                        r = -EACCES;
        }
        if (r >= 0) {
                r = store_sso_session_get_by_sid(ctx->store, ctx->tenant->id, sid, &sess);
                if (r >= 0)
                        r = sso_session_user(ctx, &sess, &u);
                if (r == -EPERM)
                        r = -ENOENT;
        }
        store_end_read(ctx->store);
        if (r < 0)
                return r;

        r = oauth_subject_cached(ctx, u, ret_sub);
        if (r < 0)
                return r;
        sub = json_string_value(json_object_get(claims, "sub"));
        if (!streq(ret_sub, sub))
                return -ENOENT;
        *ret_claims = TAKE_PTR(claims);
        *ret_user = TAKE_PTR(u);
        return 0;
}

static int refuse(OAuthContext *ctx, const Principal *caller, int code, const char *error, const char *description,
                  OAuthError *e) {
        pending_audit_add(&ctx->audit, caller, "oauth.userinfo", ctx->tenant->slug, NULL, AUDIT_DENIED,
                          "{\"error\":\"%s\"}", error);
        return oauth_error_set(e, code, error, "%s", description);
}

int oauth_userinfo(OAuthContext *ctx, const Principal *caller, const char *token, char **ret, OAuthError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        json_auto_t *claims = NULL;
        char sub[64];
        JsonText j;
        int r;

        r = token_user(ctx, token, &claims, &u, sub);
        switch (r) {
        case -ETIME:
                return refuse(ctx, caller, r, "invalid_token", "The access token has expired.", e);
        case -EKEYREJECTED:
                return refuse(ctx, caller, r, "invalid_token", "The access token is not valid here.", e);
        case -EACCES:
                return refuse(ctx, caller, r, "insufficient_scope",
                              "userinfo needs a user's token with the openid scope.", e);
        case -ENOENT:
                return refuse(ctx, caller, r, "invalid_token", "The user of this token can no longer sign in.", e);
        }
        if (r < 0)
                return r;

        json_text_begin(&j);
        oauth_user_claims(&j, u, sub, json_string_value(json_object_get(claims, "scope")));
        *ret = json_text_end(&j);
        return *ret ? 0 : -ENOMEM;
}
