/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sso-session.h"

#include <stdio.h>

#include "change.h"
#include "store-oidc.h"
#include "time-util.h"
#include "token.h"

int sso_session_start(OAuthContext *ctx, const Principal *caller, const UserRecord *u, const char *amr,
                      char **ret_cookie, SsoSession *ret) {
        _cleanup_(erase_and_freep) char *cookie = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t now = now_realtime_usec();
        SsoSession sess = {
                .tenant_id = ctx->tenant->id,
                .user_id = u->id,
                .auth_time_usec = now,
        };
        Principal user = principal_user(caller->channel, u, caller->remote);
        TenantSettings settings;
        int r;

        /* The tenant's session lifetime, at most the site's. */
        oauth_context_settings(ctx, &settings);
        sess.expires_usec = now + (int64_t) settings.session_lifetime * USEC_PER_SEC;

        snprintf(sess.amr, sizeof(sess.amr), "%s", amr);
        r = token_random_hex(16, sess.sid, sizeof(sess.sid));
        if (r >= 0)
                r = token_random(TOKEN_RANDOM_BYTES, &cookie);
        if (r < 0)
                return r;
        token_digest(cookie, digest);

        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_sso_session_create(ctx->store, &sess, digest, NULL);
        if (r >= 0)
                r = change_audit(ctx->store, &user, "oidc.session-start", ctx->tenant->slug, u->name, AUDIT_SUCCESS,
                                 NULL);
        if (r < 0)
                return r;
        r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return r;
        r = store_sso_session_get_by_cookie(ctx->store, ctx->tenant->id, digest, ret);
        if (r < 0)
                return r;
        *ret_cookie = TAKE_PTR(cookie);
        return 0;
}

int sso_session_find(OAuthContext *ctx, const char *cookie, SsoSession *ret) {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        SsoSession s;
        int r;

        if (!cookie || !token_is_plausible(cookie))
                return -ENOENT;
        token_digest(cookie, digest);
        r = store_sso_session_get_by_cookie(ctx->store, ctx->tenant->id, digest, &s);
        if (r < 0)
                return r;
        if (s.revoked_usec > 0 || s.expires_usec <= now_realtime_usec())
                return -ENOENT;
        *ret = s;
        return 0;
}

int sso_session_user(OAuthContext *ctx, const SsoSession *s, UserRecord **ret) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int r;

        if (s->revoked_usec > 0 || s->tenant_id != ctx->tenant->id)
                return -ENOENT;
        r = store_user_get_by_id(ctx->store, s->user_id, &u);
        if (r < 0)
                return r;
        if (user_record_state(u, now_realtime_usec()) != USER_STATE_ACTIVE)
                return -EPERM;
        *ret = TAKE_PTR(u);
        return 0;
}

int sso_session_end(OAuthContext *ctx, const Principal *caller, const SsoSession *s) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_sso_session_revoke(ctx->store, ctx->tenant->id, s->id, now_realtime_usec());
        if (r >= 0)
                r = change_audit(ctx->store, caller, "oidc.logout", ctx->tenant->slug, s->sid, AUDIT_SUCCESS,
                                 "{\"revoked\":\"session and its refresh tokens\"}");
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        return r;
}
