/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "api-session.h"

#include <stdio.h>
#include <stdlib.h>

#include "change.h"
#include "metrics-core.h"
#include "oauth-client.h"
#include "oauth-refresh.h"
#include "oauth-token.h"
#include "store-account.h"
#include "store-oidc.h"
#include "time-util.h"
#include "token.h"

void api_session_done(ApiSession *s) {
        erase_and_free(s->access_token);
        erase_and_free(s->refresh_token);
        *s = (ApiSession) {};
}

static int application_make(OAuthContext *ctx, const Principal *caller) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        char *grants[] = { (char *) "refresh_token", NULL };
        char *scopes[] = { (char *) "openid", (char *) "profile", (char *) "email", (char *) "offline_access", NULL };
        char *none[] = { NULL };
        _cleanup_free_ char *client_id = NULL;
        ApplicationRecord app = {
                .tenant_id = ctx->tenant->id,
                .name = (char *) API_APPLICATION_NAME,
                .public_client = true,
                .first_party = true,
                .redirect_uris = none,
                .post_logout_redirect_uris = none,
                .grants = grants,
                .scopes = scopes,
                .signing_alg = JWT_ALG_RS256,
        };
        int r;

        r = token_random(16, &client_id);
        if (r < 0)
                return r;
        app.client_id = client_id;
        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_application_create(ctx->store, &app, NULL);
        if (r >= 0)
                r = change_audit(ctx->store, caller, "application.create", ctx->tenant->slug, API_APPLICATION_NAME,
                                 AUDIT_SUCCESS, "{\"first_party_api\":true}");
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        return r;
}

int api_application(OAuthContext *ctx, const Principal *caller, ApplicationRecord **ret) {
        int r;

        r = store_application_get(ctx->store, ctx->tenant->id, API_APPLICATION_NAME, ret);
        if (r != -ENOENT)
                return r;
        /* Two first sign-ins at once: one insert wins, the other finds
         * the name taken, and both read the winner's. */
        r = application_make(ctx, caller);
        if (r < 0 && r != -EEXIST)
                return r;
        return store_application_get(ctx->store, ctx->tenant->id, API_APPLICATION_NAME, ret);
}

int api_session_start(OAuthContext *ctx, const Principal *caller, const UserRecord *u, const char *amr,
                      const char *mfa_token, ApiSession *ret) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(erase_and_freep) char *cookie = NULL, *access = NULL, *refresh = NULL;
        _cleanup_free_ char *details = NULL;
        const Config *cfg = ctx->manager->config;
        uint8_t cookie_digest[TOKEN_DIGEST_SIZE], mfa_digest[TOKEN_DIGEST_SIZE];
        int64_t now = now_realtime_usec(), session_id;
        Principal user = principal_user(caller->channel, u, caller->remote);
        SsoSession sess = {
                .tenant_id = ctx->tenant->id,
                .user_id = u->id,
                .auth_time_usec = now,
                .expires_usec = now + (int64_t) cfg->oidc_session_lifetime * USEC_PER_SEC,
        };
        RefreshToken rt = {
                .user_id = u->id,
                .scope = (char *) API_SCOPE,
                .auth_time_usec = now,
                .created_usec = now,
                .idle_expires_usec = now + (int64_t) cfg->oidc_refresh_idle_lifetime * USEC_PER_SEC,
                .absolute_expires_usec = now + (int64_t) cfg->oidc_refresh_absolute_lifetime * USEC_PER_SEC,
        };
        OAuthTokenSpec t = { .user = u, .scope = API_SCOPE, .auth_time_usec = now, .amr = amr };
        int r;

        r = api_application(ctx, caller, &app);
        if (r < 0)
                return r;
        snprintf(sess.amr, sizeof(sess.amr), "%s", amr);
        snprintf(rt.amr, sizeof(rt.amr), "%s", amr);
        rt.application_id = app->id;
        /* No browser holds this session's cookie: its digest is of a
         * random value nobody keeps, so that no cookie names it. */
        r = token_random_hex(16, sess.sid, sizeof(sess.sid));
        if (r >= 0)
                r = token_random_hex(16, rt.family, sizeof(rt.family));
        if (r >= 0)
                r = token_random(TOKEN_RANDOM_BYTES, &cookie);
        if (r >= 0)
                r = token_random(TOKEN_RANDOM_BYTES, &refresh);
        if (r < 0)
                return r;
        token_digest(cookie, cookie_digest);
        token_digest(refresh, rt.digest);

        /* Signed before anything is written: nothing half-made if the
         * tenant has no key. */
        t.app = app;
        t.sid = sess.sid;
        r = oauth_mint_tokens(ctx, &t, &access, NULL);
        if (r < 0)
                return r;
        if (asprintf(&details, "{\"sid\":\"%s\",\"family\":\"%s\",\"jti\":\"%s\",\"amr\":\"%s\"}", sess.sid,
                     rt.family, t.jti, amr) < 0)
                return -ENOMEM;

        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        if (mfa_token) {
                token_digest(mfa_token, mfa_digest);
                r = store_mfa_challenge_claim(ctx->store, ctx->tenant->id, mfa_digest, now);
                if (r == 0)
                        return -ESTALE;
                if (r < 0)
                        return r;
        }
        r = store_sso_session_create(ctx->store, &sess, cookie_digest, &session_id);
        if (r < 0)
                return r;
        rt.session_id = session_id;
        r = store_refresh_create(ctx->store, &rt, NULL);
        if (r >= 0)
                r = change_audit(ctx->store, &user, "auth.signin", ctx->tenant->slug, u->name, AUDIT_SUCCESS, details);
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return r;
        metrics_token_issued(ctx->manager, METRIC_GRANT_SIGNIN);

        *ret = (ApiSession) {
                .access_token = TAKE_PTR(access),
                .refresh_token = TAKE_PTR(refresh),
                .access_expires_usec = now + (int64_t) cfg->oidc_access_token_lifetime * USEC_PER_SEC,
                .refresh_expires_usec = rt.absolute_expires_usec,
                .session_expires_usec = sess.expires_usec,
        };
        snprintf(ret->sid, sizeof(ret->sid), "%s", sess.sid);
        return 0;
}

int api_session_end(OAuthContext *ctx, const Principal *caller, json_t *claims) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *details = NULL;
        const char *sid = json_string_value(json_object_get(claims, "sid")),
                   *jti = json_string_value(json_object_get(claims, "jti"));
        json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
        int64_t now = now_realtime_usec();
        SsoSession sess;
        int r;

        if (!sid || !jti)
                return -EINVAL;
        if (asprintf(&details, "{\"sid\":\"%s\",\"jti\":\"%s\",\"revoked\":\"session, its refresh tokens, the "
                               "access token\"}",
                     sid, jti) < 0)
                return -ENOMEM;
        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_sso_session_get_by_sid(ctx->store, ctx->tenant->id, sid, &sess);
        if (r >= 0)
                r = store_sso_session_revoke(ctx->store, ctx->tenant->id, sess.id, now);
        /* Denied until it expires on its own: the list stays short. The
         * session's revocation refuses it already; the jti says so even
         * where a session is not looked at. */
        if (r >= 0)
                r = store_revoked_token_add(ctx->store, jti, MAX((int64_t) exp * (int64_t) USEC_PER_SEC, now));
        if (r >= 0)
                r = change_audit(ctx->store, caller, "auth.signout", ctx->tenant->slug, caller->name, AUDIT_SUCCESS,
                                 details);
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        return r;
}

int api_session_refresh(OAuthContext *ctx, const Principal *caller, const char *refresh_token, OAuthCommit **ret,
                        OAuthError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        Principal client;
        int r;

        r = api_application(ctx, caller, &app);
        if (r < 0)
                return r;
        client = oauth_client_principal(caller, app);
        return oauth_grant_refresh_token(ctx, &client, app, refresh_token, NULL, ret, e);
}

int api_mfa_token_issue(OAuthContext *ctx, const UserRecord *u, const char *amr, char **ret_token,
                        int64_t *ret_expires_usec) {
        _cleanup_(erase_and_freep) char *token = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t now = now_realtime_usec();
        MfaChallenge c = {
                .tenant_id = ctx->tenant->id,
                .user_id = u->id,
                .created_usec = now,
                .expires_usec = now + (int64_t) API_MFA_TOKEN_LIFETIME_SEC * USEC_PER_SEC,
        };
        int r;

        snprintf(c.amr, sizeof(c.amr), "%s", amr ?: "pwd");

        r = token_random(TOKEN_RANDOM_BYTES, &token);
        if (r < 0)
                return r;
        token_digest(token, digest);
        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_mfa_challenge_create(ctx->store, digest, &c, now);
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return r;
        *ret_token = TAKE_PTR(token);
        *ret_expires_usec = c.expires_usec;
        return 0;
}

int api_mfa_token_user(OAuthContext *ctx, const char *token, int64_t *ret_user_id, char *ret_amr) {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        MfaChallenge c;
        int r;

        if (!token || !token_is_plausible(token))
                return -ENOENT;
        token_digest(token, digest);
        r = store_mfa_challenge_get(ctx->store, ctx->tenant->id, digest, &c);
        if (r < 0)
                return r;
        if (c.used_usec > 0)
                return -ENOENT;
        if (c.expires_usec <= now_realtime_usec())
                return -ETIME;
        *ret_user_id = c.user_id;
        if (ret_amr)
                snprintf(ret_amr, sizeof(c.amr), "%s", c.amr);
        return 0;
}
