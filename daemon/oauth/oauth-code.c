/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-code.h"

#include <stdio.h>
#include <stdlib.h>

#include "change.h"
#include "oauth-client.h"
#include "oauth-grant.h"
#include "oauth-scope.h"
#include "oauth-token.h"
#include "pkce.h"
#include "sso-session.h"
#include "store-oidc.h"
#include "time-util.h"

/* How long the access token a replayed code issued stays on the list of
 * revoked tokens: longer than any access token lives. */
#define REPLAY_REVOCATION_USEC ((int64_t) 3600 * 24 * USEC_PER_SEC)

int oauth_code_issue(OAuthContext *ctx, const Principal *caller, const ApplicationRecord *app,
                     const OAuthAuthzRequest *a, const SsoSession *session, const UserRecord *u, char **ret_code) {
        _cleanup_(erase_and_freep) char *code = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int64_t now = now_realtime_usec();
        AuthorizationCode c = {
                .application_id = app->id,
                .session_id = session->id,
                .redirect_uri = (char *) a->redirect_uri,
                .scope = a->scope,
                .nonce = (char *) a->nonce,
                .code_challenge = (char *) a->code_challenge,
                .created_usec = now,
                .expires_usec = now + (int64_t) ctx->manager->config->oidc_code_lifetime * USEC_PER_SEC,
        };
        Principal client = oauth_client_principal(caller, app);
        char details[160];
        int r;

        r = token_random(TOKEN_RANDOM_BYTES, &code);
        if (r < 0)
                return r;
        token_digest(code, c.digest);
        snprintf(details, sizeof(details), "{\"sid\":\"%s\",\"scope\":\"%s\"}", session->sid, a->scope);

        /* Durable before the browser carries it anywhere. */
        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_code_create(ctx->store, &c);
        if (r >= 0)
                r = change_audit(ctx->store, &client, "oauth.authorize", ctx->tenant->slug, u->name, AUDIT_SUCCESS,
                                 details);
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return r;
        *ret_code = TAKE_PTR(code);
        return 0;
}

/* -- redemption ----------------------------------------------------------------------- */

typedef struct CodeRedemption {
        OAuthCommit commit;
        int64_t tenant_id;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        char jti[33];
        char *family;             /* NULL without offline_access */
        RefreshToken refresh;     /* to insert when the code is ours */
        PendingAudit ok, replay;
} CodeRedemption;

static void redemption_free(OAuthCommit *commit) {
        CodeRedemption *c = (CodeRedemption *) commit;

        free(c->family);
        refresh_token_done(&c->refresh);
        pending_audit_done(&c->ok);
        pending_audit_done(&c->replay);
        free(c);
}

/* In the writer's transaction: claim the code (one redemption wins), store
 * the refresh token; or, for a replayed code, revoke what it issued: the
 * first access token, the refresh family, and the session they belong to,
 * so that the access tokens minted from the family since are refused at
 * once too. */
static int redemption_write(Store *s, OAuthCommit *commit) {
        CodeRedemption *c = (CodeRedemption *) commit;
        int64_t now = now_realtime_usec();
        AuthorizationCode code = {};
        int r;

        /* The conditional UPDATE decides (store_code_claim()): one of any
         * number of redemptions on any number of instances wins. */
        r = store_code_claim(s, c->tenant_id, c->digest, now, c->jti, c->family);
        if (r < 0)
                return r;
        if (r > 0) {
                if (c->family) {
                        r = store_refresh_create(s, &c->refresh, NULL);
                        if (r < 0)
                                return r;
                }
                r = pending_audit_write(s, &c->ok);
                return r < 0 ? r : 1;
        }

        /* Used before (or expired): a replay. RFC 6749 4.1.2: revoke what
         * the first redemption issued. */
        r = store_code_get(s, c->tenant_id, c->digest, &code);
        if (r >= 0 && code.used_usec > 0) {
                if (code.issued_jti)
                        r = store_revoked_token_add(s, code.issued_jti, now + REPLAY_REVOCATION_USEC);
                if (r >= 0 && code.issued_family)
                        r = store_refresh_revoke_family(s, code.issued_family, now);
                if (r >= 0)
                        r = store_sso_session_revoke(s, c->tenant_id, code.session_id, now);
        }
        authorization_code_done(&code);
        if (r < 0 && r != -ENOENT)
                return r;
        r = pending_audit_write(s, &c->replay);
        return r < 0 ? r : 0;
}

/* What the code's checks that need no write say: NULL when it may go to
 * the writer (a used code goes too: the writer revokes what it issued). */
static const char *code_refusal(const AuthorizationCode *code, const ApplicationRecord *app,
                                const char *redirect_uri, const char *verifier, int64_t now) {
        if (code->application_id != app->id)
                return "The authorization code was issued to another client.";
        if (!streq(code->redirect_uri, redirect_uri))
                return "redirect_uri differs from the one of the authorization request.";
        if (code->code_challenge && isempty(verifier))
                return "code_verifier is required: the authorization request had a code_challenge.";
        if (!code->code_challenge && verifier)
                return "code_verifier was sent, but the authorization request had no code_challenge.";
        if (code->code_challenge && !pkce_verify(code->code_challenge, verifier))
                return "code_verifier does not match the code_challenge.";
        if (code->used_usec == 0 && code->expires_usec <= now)
                return "The authorization code has expired.";
        return NULL;
}

/* The tokens of a redemption, its refresh token when offline_access was
 * granted, and the response. */
static int redemption_prepare(OAuthContext *ctx, CodeRedemption *c, const ApplicationRecord *app,
                              const AuthorizationCode *code, const SsoSession *sess, const UserRecord *user,
                              int64_t now, OAuthTokenSpec *t) {
        _cleanup_(erase_and_freep) char *access = NULL, *id_token = NULL, *refresh = NULL;
        TenantSettings settings;
        int r;

        *t = (OAuthTokenSpec) {
                .app = app,
                .user = user,
                .scope = code->scope,
                .sid = sess->sid,
                .nonce = code->nonce,
                .auth_time_usec = sess->auth_time_usec,
                .amr = sess->amr,
        };
        r = oauth_mint_tokens(ctx, t, &access, &id_token);
        if (r < 0)
                return r;
        if (oauth_scope_has(code->scope, "offline_access") && application_has_grant(app, "refresh_token")) {
                r = token_random(TOKEN_RANDOM_BYTES, &refresh);
                if (r < 0)
                        return r;
                c->family = malloc(33);
                if (!c->family)
                        return -ENOMEM;
                r = token_random_hex(16, c->family, 33);
                if (r < 0)
                        return r;
                /* The tenant's refresh lifetimes, at most the site's. */
                oauth_context_settings(ctx, &settings);
                c->refresh = (RefreshToken) {
                        .application_id = app->id,
                        .session_id = sess->id,
                        .user_id = user->id,
                        .scope = strdup(code->scope),
                        .auth_time_usec = sess->auth_time_usec,
                        .created_usec = now,
                        .idle_expires_usec = now + (int64_t) settings.refresh_idle_lifetime * USEC_PER_SEC,
                        .absolute_expires_usec = now + (int64_t) settings.refresh_absolute_lifetime * USEC_PER_SEC,
                };
                if (!c->refresh.scope)
                        return -ENOMEM;
                snprintf(c->refresh.family, sizeof(c->refresh.family), "%s", c->family);
                snprintf(c->refresh.amr, sizeof(c->refresh.amr), "%s", sess->amr);
                token_digest(refresh, c->refresh.digest);
        }
        return oauth_token_response(ctx, access, id_token, refresh, code->scope, &c->commit.response);
}

int oauth_grant_authorization_code(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                                   const char *code_s, const char *redirect_uri, const char *verifier,
                                   OAuthCommit **ret, OAuthError *e) {
        _cleanup_(user_record_unrefp) UserRecord *user = NULL;
        _cleanup_(authorization_code_done) AuthorizationCode code = {};
        _cleanup_(oauth_commit_freep) OAuthCommit *commit = NULL;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t now = now_realtime_usec();
        SsoSession sess = {};
        CodeRedemption *c;
        const char *why;
        int r;

        if (!application_has_grant(app, "authorization_code"))
                return oauth_grant_refuse(ctx, client, app, e, "unauthorized_client",
                                          "This client may not use the authorization_code grant.");
        if (isempty(code_s) || isempty(redirect_uri))
                return oauth_grant_refuse(ctx, client, app, e, "invalid_request", "code and redirect_uri are required.");
        if (!token_is_plausible(code_s))
                return oauth_grant_refuse(ctx, client, app, e, "invalid_grant", "The authorization code is not valid.");
        token_digest(code_s, digest);
        r = store_code_get(ctx->store, ctx->tenant->id, digest, &code);
        if (r == -ENOENT)
                return oauth_grant_refuse(ctx, client, app, e, "invalid_grant", "The authorization code is not valid.");
        if (r < 0)
                return r;

        why = code_refusal(&code, app, redirect_uri, verifier, now);
        if (why)
                return oauth_grant_refuse(ctx, client, app, e, "invalid_grant", why);

        r = store_sso_session_get_by_id(ctx->store, ctx->tenant->id, code.session_id, &sess);
        if (r >= 0)
                r = sso_session_user(ctx, &sess, &user);
        if (r < 0 && code.used_usec == 0) {
                if (r == -ENOENT || r == -EPERM)
                        return oauth_grant_refuse(ctx, client, app, e, "invalid_grant",
                                                  "The session ended or the account can no longer be used.");
                return r;
        }

        c = calloc(1, sizeof(CodeRedemption));
        if (!c)
                return -ENOMEM;
        c->commit = (OAuthCommit) {
                .write = redemption_write,
                .free = redemption_free,
                .refusal = "The authorization code was used already or has expired.",
                .manager = ctx->manager,
                .grant = METRIC_GRANT_AUTHORIZATION_CODE,
        };
        commit = &c->commit;
        memcpy(c->digest, digest, sizeof(digest));
        c->tenant_id = ctx->tenant->id;

        /* Without a user (a used code whose session is gone) there is
         * nothing to issue: the writer can only find a replay. */
        if (user) {
                OAuthTokenSpec t;

                r = redemption_prepare(ctx, c, app, &code, &sess, user, now, &t);
                if (r < 0)
                        return r;
                snprintf(c->jti, sizeof(c->jti), "%s", t.jti);
                pending_audit_add(&c->ok, client, "oauth.token", ctx->tenant->slug, user->name, AUDIT_SUCCESS,
                                  "{\"grant\":\"authorization_code\",\"jti\":\"%s\",\"sid\":\"%s\",\"refresh\":%s}",
                                  t.jti, sess.sid, c->family ? "true" : "false");
        }
        pending_audit_add(&c->replay, client, "oauth.code-replay", ctx->tenant->slug, user ? user->name : NULL,
                          AUDIT_DENIED,
                          "{\"error\":\"invalid_grant\",\"revoked\":\"what the code issued, and its session\"}");
        *ret = TAKE_PTR(commit);
        return 0;
}
