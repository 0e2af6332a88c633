/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-bearer.h"

#include "jwt.h"
#include "oauth-claims.h"
#include "oauth-token.h"
#include "oidc-records.h"
#include "sso-session.h"
#include "store-oidc.h"
#include "time-util.h"

/* Why the session's user can't use the token now, for the holder to be
 * told: -EKEYREVOKED disabled, -EKEYEXPIRED expired, -ENOLCK locked (the
 * state read from the store at this use, not when the token was issued). */
static int account_unusable(OAuthContext *ctx, const SsoSession *sess) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int r;

        r = store_user_get_by_id(ctx->store, sess->user_id, &u);
        if (r == -ENOENT)
                return -EKEYREJECTED;
        if (r < 0)
                return r;
        switch (user_record_state(u, now_realtime_usec())) {
        case USER_STATE_DISABLED:
                return -EKEYREVOKED;
        case USER_STATE_EXPIRED:
                return -EKEYEXPIRED;
        case USER_STATE_LOCKED:
                return -ENOLCK;
        default:
                return -EKEYREJECTED;
        }
}

/* A user's token: its sid names the SSO session, whose user must still
 * be able to sign in. */
static int token_user(OAuthContext *ctx, json_t *claims, const char *sid, UserRecord **ret) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        SsoSession sess = {};
        char sub[64];
        int r;

        r = store_sso_session_get_by_sid(ctx->store, ctx->tenant->id, sid, &sess);
        if (r >= 0)
                r = sso_session_user(ctx, &sess, &u);
        if (r == -ENOENT)
                return -EKEYREJECTED;
        if (r == -EPERM)
                return account_unusable(ctx, &sess);
        if (r < 0)
                return r;
        r = oauth_subject_cached(ctx, u, sub);
        if (r < 0)
                return r;
        if (!streq(sub, json_string_value(json_object_get(claims, "sub"))))
                return -EKEYREJECTED;
        *ret = TAKE_PTR(u);
        return 0;
}

/* A client-credentials token: its sub is the client. */
static int token_client(OAuthContext *ctx, json_t *claims, ApplicationRecord **ret) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        const char *client_id = json_string_value(json_object_get(claims, "client_id"));
        int r;

        if (!client_id || !streq(client_id, json_string_value(json_object_get(claims, "sub"))))
                return -EKEYREJECTED;
        r = oauth_cache_application(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, client_id, &app);
        if (r == -ENOENT)
                return -EKEYREJECTED;
        if (r < 0)
                return r;
        if (app->public_client || !application_has_grant(app, "client_credentials"))
                return -EKEYREJECTED;
        *ret = TAKE_PTR(app);
        return 0;
}

int oauth_bearer_verify(OAuthContext *ctx, const char *token, OAuthBearer *ret) {
        OAuthBearer b = {};
        const char *sid;
        int r;

        if (strlen(token) > JWT_MAX_LEN)
                return -EKEYREJECTED;
        r = oauth_verify_access_token(ctx, token, &b.claims);
        if (r < 0)
                return r;
        sid = json_string_value(json_object_get(b.claims, "sid"));
        r = sid ? token_user(ctx, b.claims, sid, &b.user) : token_client(ctx, b.claims, &b.app);
        if (r < 0) {
                oauth_bearer_done(&b);
                return r;
        }
        *ret = b;
        return 0;
}

void oauth_bearer_done(OAuthBearer *b) {
        json_decref(b->claims);
        user_record_unref(b->user);
        application_record_unref(b->app);
        *b = (OAuthBearer) {};
}
