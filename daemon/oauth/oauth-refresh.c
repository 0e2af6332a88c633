/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-refresh.h"

#include <stdio.h>
#include <stdlib.h>

#include "oauth-grant.h"
#include "oauth-scope.h"
#include "oauth-token.h"
#include "store-oidc.h"
#include "time-util.h"

typedef struct Rotation {
        OAuthCommit commit;
        int64_t tenant_id;
        int64_t old_id;
        RefreshToken next;        /* the rotated-in token */
        int64_t grace_usec;
        PendingAudit ok, grace, reuse;
} Rotation;

static void rotation_free(OAuthCommit *commit) {
        Rotation *f = (Rotation *) commit;

        refresh_token_done(&f->next);
        pending_audit_done(&f->ok);
        pending_audit_done(&f->grace);
        pending_audit_done(&f->reuse);
        free(f);
}

static int rotation_write(Store *s, OAuthCommit *commit) {
        Rotation *f = (Rotation *) commit;
        _cleanup_(refresh_token_done) RefreshToken old = {};
        int64_t now = now_realtime_usec();
        int r;

        /* The conditional UPDATE decides (store_refresh_mark_rotated()): of
         * rotations at once on several instances one wins; the others
         * read the row as the winner committed it, below. */
        r = store_refresh_mark_rotated(s, f->old_id, now);
        if (r < 0)
                return r;
        if (r > 0) {
                r = store_refresh_create(s, &f->next, NULL);
                if (r >= 0)
                        r = pending_audit_write(s, &f->ok);
                return r < 0 ? r : 1;
        }

        /* Rotated already, in this transaction's view. A client's own
         * concurrent refreshes land within the grace period and get a
         * sibling; anything later is a reuse: someone else has the token,
         * so its whole lineage goes. */
        r = store_refresh_get_by_id(s, f->tenant_id, f->old_id, &old);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (old.revoked_usec == 0 && old.rotated_usec > 0 && now - old.rotated_usec <= f->grace_usec) {
                r = store_refresh_create(s, &f->next, NULL);
                if (r >= 0)
                        r = pending_audit_write(s, &f->grace);
                return r < 0 ? r : 1;
        }
        /* The session goes with it (OAuth 2.1, RFC 9700 4.14): the access
         * tokens of the family name its sid, and every check of an access
         * token reads the session's state (oauth_verify_access_token()),
         * so they are refused from this commit on, whatever thread
         * verified their signature before. */
        r = store_refresh_revoke_family(s, old.family, now);
        if (r >= 0 && old.session_id > 0)
                r = store_sso_session_revoke(s, f->tenant_id, old.session_id, now);
        if (r >= 0)
                r = pending_audit_write(s, &f->reuse);
        return r < 0 ? r : 0;
}

/* The scope of the new tokens: the one granted, or a narrower one asked
 * for; never a wider one. */
static int rotated_scope(const ApplicationRecord *app, const RefreshToken *old, const char *requested, char **ret) {
        _cleanup_free_ char *scope = NULL;
        int r;

        if (!requested) {
                *ret = strdup(old->scope);
                return *ret ? 0 : -ENOMEM;
        }
        r = oauth_scope_normalize(app, requested, &scope);
        if (r < 0)
                return r;
        if (!oauth_scope_covers(old->scope, scope))
                return -EPERM;
        *ret = TAKE_PTR(scope);
        return 0;
}

int oauth_grant_refresh_token(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                              const char *token, const char *requested, OAuthCommit **ret, OAuthError *e) {
        const Config *cfg = ctx->manager->config;
        _cleanup_(user_record_unrefp) UserRecord *user = NULL;
        _cleanup_(erase_and_freep) char *access = NULL, *id_token = NULL, *next = NULL;
        _cleanup_free_ char *scope = NULL;
        _cleanup_(refresh_token_done) RefreshToken old = {};
        _cleanup_(oauth_commit_freep) OAuthCommit *commit = NULL;
        SsoSession sess = {};
        OAuthTokenSpec t = { .app = app };
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t now = now_realtime_usec();
        const char *why = NULL;
        TenantSettings settings;
        Rotation *f;
        int r;

        if (!application_has_grant(app, "refresh_token"))
                return oauth_grant_refuse(ctx, client, app, e, "unauthorized_client",
                                          "This client may not use the refresh_token grant.");
        if (isempty(token))
                return oauth_grant_refuse(ctx, client, app, e, "invalid_request", "refresh_token is required.");
        if (!token_is_plausible(token))
                return oauth_grant_refuse(ctx, client, app, e, "invalid_grant", "The refresh token is not valid.");
        token_digest(token, digest);
        r = store_refresh_get(ctx->store, ctx->tenant->id, digest, &old);
        if (r == -ENOENT)
                return oauth_grant_refuse(ctx, client, app, e, "invalid_grant", "The refresh token is not valid.");
        if (r < 0)
                return r;

        if (old.application_id != app->id)
                why = "The refresh token was issued to another client.";
        else if (old.revoked_usec > 0)
                why = "The refresh token has been revoked.";
        else if (old.idle_expires_usec <= now || old.absolute_expires_usec <= now)
                why = "The refresh token has expired.";
        if (why)
                return oauth_grant_refuse(ctx, client, app, e, "invalid_grant", why);

        r = rotated_scope(app, &old, requested, &scope);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return oauth_grant_refuse(ctx, client, app, e, "invalid_scope",
                                          "The scope may only narrow what was granted.");

        if (old.session_id > 0) {
                r = store_sso_session_get_by_id(ctx->store, ctx->tenant->id, old.session_id, &sess);
                if (r >= 0 && sess.revoked_usec > 0)
                        r = -ENOENT;
        } else
                r = -ENOENT;
        if (r >= 0)
                r = store_user_get_by_id(ctx->store, old.user_id, &user);
        if (r >= 0 && user_record_state(user, now) != USER_STATE_ACTIVE)
                r = -EPERM;
        if (r == -ENOENT || r == -EPERM)
                return oauth_grant_refuse(ctx, client, app, e, "invalid_grant",
                                          "The session ended or the account can no longer be used.");
        if (r < 0)
                return r;

        t.user = user;
        t.scope = scope;
        t.sid = sess.sid;
        t.auth_time_usec = old.auth_time_usec;
        t.amr = old.amr;
        r = oauth_mint_tokens(ctx, &t, &access, &id_token);
        if (r < 0)
                return r;
        r = token_random(TOKEN_RANDOM_BYTES, &next);
        if (r < 0)
                return r;

        f = calloc(1, sizeof(Rotation));
        if (!f)
                return -ENOMEM;
        f->commit = (OAuthCommit) {
                .write = rotation_write,
                .free = rotation_free,
                .refusal = "The refresh token was used already; its whole lineage and its session are revoked.",
                .manager = ctx->manager,
                .grant = METRIC_GRANT_REFRESH_TOKEN,
        };
        commit = &f->commit;
        r = oauth_token_response(ctx, access, id_token, next, scope, &f->commit.response);
        if (r < 0)
                return r;

        f->tenant_id = ctx->tenant->id;
        f->old_id = old.id;
        f->grace_usec = (int64_t) cfg->oidc_refresh_reuse_grace * USEC_PER_SEC;
        /* The tenant's idle lifetime as it is now; the lineage keeps the
         * absolute end it got at the sign-in. */
        oauth_context_settings(ctx, &settings);
        f->next = (RefreshToken) {
                .application_id = app->id,
                .session_id = old.session_id,
                .user_id = old.user_id,
                .scope = TAKE_PTR(scope),
                .auth_time_usec = old.auth_time_usec,
                .created_usec = now,
                .idle_expires_usec = MIN(now + (int64_t) (settings.refresh_idle_lifetime * USEC_PER_SEC),
                                         old.absolute_expires_usec),
                .absolute_expires_usec = old.absolute_expires_usec,
        };
        snprintf(f->next.family, sizeof(f->next.family), "%s", old.family);
        snprintf(f->next.amr, sizeof(f->next.amr), "%s", old.amr);
        token_digest(next, f->next.digest);
        pending_audit_add(&f->ok, client, "oauth.refresh", ctx->tenant->slug, user->name, AUDIT_SUCCESS,
                          "{\"family\":\"%s\",\"jti\":\"%s\"}", old.family, t.jti);
        pending_audit_add(&f->grace, client, "oauth.refresh", ctx->tenant->slug, user->name, AUDIT_SUCCESS,
                          "{\"family\":\"%s\",\"jti\":\"%s\",\"within_grace\":true}", old.family, t.jti);
        pending_audit_add(&f->reuse, client, "oauth.refresh-reuse", ctx->tenant->slug, user->name, AUDIT_DENIED,
                          "{\"error\":\"invalid_grant\",\"family\":\"%s\",\"revoked\":\"family and session\","
                          "\"sid\":\"%s\"}",
                          old.family, sess.sid);
        *ret = TAKE_PTR(commit);
        return 0;
}
