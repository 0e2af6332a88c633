/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The token endpoint: authorization_code (with PKCE), refresh_token (with
 * rotation and reuse detection) and client_credentials. Every outcome is
 * audited, and the reply goes out only once that record (and any refresh
 * token or used code) is committed, in a batch with other requests'. */

#include <stdlib.h>

#include "http-oidc.h"
#include "pkce.h"
#include "time-util.h"

static const char *const token_json_fields[] = {
        "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret",
        "refresh_token", "scope", NULL,
};

/* Fails the request with an OAuth error, auditing it. */
static void token_error(OidcContext *ctx, const ApplicationRecord *app, unsigned status, const char *error,
                        const char *message) {
        OidcAudit a = {};

        http_reply_oauth_error(ctx->req, status, error, "%s", message);
        oidc_audit_add(&a, ctx, "oauth.token", app ? app->client_id : NULL, app ? app->name : NULL,
                       status >= 500 ? AUDIT_ERROR : AUDIT_DENIED, "{\"error\":\"%s\"}", error);
        oidc_commit_reply(ctx, &a);
}

/* -- client_credentials ------------------------------------------------------------- */

static void grant_client_credentials(OidcContext *ctx, const HttpParams *p, const ApplicationRecord *app) {
        _cleanup_free_ char *scope = NULL, *access = NULL;
        OidcGrant g = { .app = app };
        OidcAudit a = {};
        const char *requested = http_params_get(p, "scope");
        int r;

        if (app->public_client || !application_has_grant(app, "client_credentials")) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "unauthorized_client",
                            "This client may not use the client_credentials grant.");
                return;
        }
        /* No user: the OpenID scopes make no sense here. */
        if (requested && (oidc_scope_has(requested, "openid") || oidc_scope_has(requested, "offline_access"))) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_scope",
                            "openid and offline_access need a user; client_credentials has none.");
                return;
        }
        r = oidc_normalize_scope(app, requested ?: "", &scope);
        if (r < 0) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_scope", "A requested scope is unknown or not allowed.");
                return;
        }
        g.scope = scope;
        r = oidc_sign_tokens(ctx, &g, &access, NULL);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }
        {
                JsonText j = {};
                char *text;

                json_text_begin(&j);
                json_text_str(&j, "access_token", access);
                json_text_str(&j, "token_type", "Bearer");
                json_text_int(&j, "expires_in", ctx->manager->config->oidc_access_token_lifetime);
                json_text_str(&j, "scope", scope);
                text = json_text_end(&j);
                if (!text) {
                        http_reply_internal_error(ctx->req, -ENOMEM);
                        return;
                }
                http_reply_json_text(ctx->req, MHD_HTTP_OK, text);
        }
        http_reply_no_store(ctx->req);
        metrics_token_issued(ctx->manager, METRIC_GRANT_CLIENT_CREDENTIALS);
        oidc_audit_add(&a, ctx, "oauth.token", app->client_id, app->name, AUDIT_SUCCESS,
                       "{\"grant\":\"client_credentials\",\"jti\":\"%s\"}", g.jti);
        oidc_commit_reply(ctx, &a);
}

/* -- authorization_code ------------------------------------------------------------- */

typedef struct CodeRedemption {
        OidcContext ctx;          /* issuer, owned; the tenant record stays with its thread */
        int64_t tenant_id;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        char jti[33];
        char *family;             /* NULL without offline_access */
        RefreshToken refresh;     /* to insert when the code is ours */
        char *response;           /* the token response, ready */
        OidcAudit ok, replay;
        char *client_id, *app_name;
} CodeRedemption;

static void code_redemption_free(CodeRedemption *c) {
        if (!c)
                return;
        oidc_context_done(&c->ctx);
        free(c->family);
        refresh_token_done(&c->refresh);
        erase_and_free(c->response);
        oidc_audit_done(&c->ok);
        oidc_audit_done(&c->replay);
        free(c->client_id);
        free(c->app_name);
        free(c);
}

/* In the writer's transaction: claim the code (one redemption wins), store
 * the refresh token; or, for a replayed code, revoke what it issued: the
 * first access token, the refresh family, and the session they belong to,
 * so that the access tokens minted from the family since are refused at
 * once too. */
static int redeem_write(Store *s, void *userdata) {
        CodeRedemption *c = userdata;
        int64_t now = store_now_usec();
        AuthorizationCode code = {};
        int r;

        r = store_code_claim(s, c->tenant_id, c->digest, now, c->jti, c->family);
        if (r < 0)
                return r;
        if (r > 0) {
                if (c->family) {
                        r = store_refresh_create(s, &c->refresh, NULL);
                        if (r < 0)
                                return r;
                }
                r = oidc_audit_write(s, &c->ok);
                return r < 0 ? r : 1;
        }

        /* Used before (or expired): a replay. RFC 6749 4.1.2: revoke what
         * the first redemption issued. */
        r = store_code_get(s, c->tenant_id, c->digest, &code);
        if (r >= 0 && code.used_usec > 0) {
                if (code.issued_jti)
                        r = store_revoked_token_add(s, code.issued_jti,
                                                    now + (int64_t) 3600 * 24 * USEC_PER_SEC);
                if (r >= 0 && code.issued_family)
                        r = store_refresh_revoke_family(s, code.issued_family, now);
                if (r >= 0)
                        r = store_session_revoke(s, c->tenant_id, code.session_id, now);
        }
        authorization_code_done(&code);
        if (r < 0 && r != -ENOENT)
                return r;
        r = oidc_audit_write(s, &c->replay);
        return r < 0 ? r : 0;
}

/* After the commit: the prepared token response if the write took, else
 * the refusal (or a 500 when the write itself failed). */
static void reply_grant(HttpRequest *req, int result, char **response, const char *refusal) {
        if (result < 0)
                http_reply_internal_error(req, result);
        else if (result == 0)
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_grant", "%s", refusal);
        else {
                http_reply_json_text(req, MHD_HTTP_OK, TAKE_PTR(*response));
                http_reply_no_store(req);
        }
}

static void redeem_done(HttpRequest *req, int result, void *userdata) {
        CodeRedemption *c = userdata;

        reply_grant(req, result, &c->response, "The authorization code was used already or has expired.");
        if (result > 0)
                metrics_token_issued(req->manager, METRIC_GRANT_AUTHORIZATION_CODE);
        code_redemption_free(c);
}

static void grant_authorization_code(OidcContext *ctx, const HttpParams *p, const ApplicationRecord *app) {
        const char *code_s = http_params_get(p, "code"), *redirect_uri = http_params_get(p, "redirect_uri"),
                   *verifier = http_params_get(p, "code_verifier");
        _cleanup_(user_record_unrefp) UserRecord *user = NULL;
        _cleanup_(erase_and_freep) char *access = NULL, *id_token = NULL, *refresh = NULL;
        _cleanup_free_ char *response_text = NULL;
        AuthorizationCode code = {};
        CodeRedemption *c = NULL;
        OidcSession sess = {};
        OidcGrant g = { .app = app };
        uint8_t digest[TOKEN_DIGEST_SIZE];
        const char *why = NULL;
        int64_t now = store_now_usec();
        json_t *resp;
        int r;

        if (!application_has_grant(app, "authorization_code")) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "unauthorized_client",
                            "This client may not use the authorization_code grant.");
                return;
        }
        if (isempty(code_s) || isempty(redirect_uri)) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_request", "code and redirect_uri are required.");
                return;
        }
        if (!token_is_plausible(code_s)) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_grant", "The authorization code is not valid.");
                return;
        }
        token_digest(code_s, digest);
        r = store_code_get(ctx->store, ctx->tenant->id, digest, &code);
        if (r == -ENOENT) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_grant", "The authorization code is not valid.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }

        /* Checks that need no write; a used code still goes to the writer,
         * which revokes what it issued. */
        if (code.application_id != app->id)
                why = "The authorization code was issued to another client.";
        else if (!streq(code.redirect_uri, redirect_uri))
                why = "redirect_uri differs from the one of the authorization request.";
        else if (code.code_challenge && isempty(verifier))
                why = "code_verifier is required: the authorization request had a code_challenge.";
        else if (!code.code_challenge && verifier)
                why = "code_verifier was sent, but the authorization request had no code_challenge.";
        else if (code.code_challenge && !pkce_verify(code.code_challenge, verifier))
                why = "code_verifier does not match the code_challenge.";
        else if (code.used_usec == 0 && code.expires_usec <= now)
                why = "The authorization code has expired.";
        if (why) {
                authorization_code_done(&code);
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_grant", why);
                return;
        }

        r = store_session_get_by_id(ctx->store, ctx->tenant->id, code.session_id, &sess);
        if (r >= 0)
                r = oidc_session_user(ctx, &sess, &user);
        if (r < 0 && code.used_usec == 0) {
                authorization_code_done(&code);
                if (r == -ENOENT || r == -EPERM)
                        token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_grant",
                                    "The session ended or the account can no longer be used.");
                else
                        http_reply_internal_error(ctx->req, r);
                return;
        }

        c = calloc(1, sizeof(CodeRedemption));
        if (!c) {
                authorization_code_done(&code);
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }
        memcpy(c->digest, digest, sizeof(digest));
        c->tenant_id = ctx->tenant->id;

        if (user) {
                g.user = user;
                g.scope = code.scope;
                g.sid = sess.sid;
                g.nonce = code.nonce;
                g.auth_time_usec = sess.auth_time_usec;
                g.amr = sess.amr;
                r = oidc_sign_tokens(ctx, &g, &access, &id_token);
                if (r >= 0 && oidc_scope_has(code.scope, "offline_access") && application_has_grant(app, "refresh_token")) {
                        const Config *cfg = ctx->manager->config;

                        r = token_random(TOKEN_RANDOM_BYTES, &refresh);
                        if (r >= 0 && !(c->family = malloc(33)))
                                r = -ENOMEM;
                        if (r >= 0)
                                r = token_random_hex(16, c->family, 33);
                        if (r >= 0) {
                                c->refresh = (RefreshToken) {
                                        .application_id = app->id,
                                        .session_id = sess.id,
                                        .user_id = user->id,
                                        .scope = strdup(code.scope),
                                        .auth_time_usec = sess.auth_time_usec,
                                        .created_usec = now,
                                        .idle_expires_usec = now + (int64_t) cfg->oidc_refresh_idle_lifetime * USEC_PER_SEC,
                                        .absolute_expires_usec =
                                                now + (int64_t) cfg->oidc_refresh_absolute_lifetime * USEC_PER_SEC,
                                };
                                snprintf(c->refresh.family, sizeof(c->refresh.family), "%s", c->family);
                                snprintf(c->refresh.amr, sizeof(c->refresh.amr), "%s", sess.amr);
                                token_digest(refresh, c->refresh.digest);
                                if (!c->refresh.scope)
                                        r = -ENOMEM;
                        }
                }
                if (r >= 0) {
                        resp = oidc_token_response(ctx, access, id_token, refresh, code.scope);
                        response_text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
                        json_decref(resp);
                        if (!response_text)
                                r = -ENOMEM;
                }
                if (r < 0) {
                        authorization_code_done(&code);
                        code_redemption_free(c);
                        http_reply_internal_error(ctx->req, r);
                        return;
                }
                snprintf(c->jti, sizeof(c->jti), "%s", g.jti);
                c->response = TAKE_PTR(response_text);
                oidc_audit_add(&c->ok, ctx, "oauth.token", app->client_id, user->name, AUDIT_SUCCESS,
                               "{\"grant\":\"authorization_code\",\"jti\":\"%s\",\"sid\":\"%s\",\"refresh\":%s}", g.jti,
                               sess.sid, c->family ? "true" : "false");
        }
        oidc_audit_add(&c->replay, ctx, "oauth.code-replay", app->client_id, user ? user->name : NULL, AUDIT_DENIED,
                       "{\"error\":\"invalid_grant\",\"revoked\":\"what the code issued, and its session\"}");
        authorization_code_done(&code);

        /* The context moves into the redemption: the writer thread replies.
         * The tenant record stays here: its reference count belongs to
         * this thread (and its cache). */
        c->ctx = *ctx;
        c->ctx.tenant = tenant_record_unref(c->ctx.tenant);
        *ctx = (OidcContext) {};
        r = http_write_async(c->ctx.req, redeem_write, redeem_done, c);
        if (r < 0) {
                HttpRequest *req = c->ctx.req;
                code_redemption_free(c);
                http_reply_internal_error(req, r);
        }
}

/* -- refresh_token ------------------------------------------------------------------ */

typedef struct Refresh {
        OidcContext ctx;
        int64_t tenant_id;
        int64_t old_id;
        RefreshToken next;        /* the rotated-in token */
        int64_t grace_usec;
        char *response;
        OidcAudit ok, grace, reuse;
} Refresh;

static void refresh_free(Refresh *f) {
        if (!f)
                return;
        oidc_context_done(&f->ctx);
        refresh_token_done(&f->next);
        erase_and_free(f->response);
        oidc_audit_done(&f->ok);
        oidc_audit_done(&f->grace);
        oidc_audit_done(&f->reuse);
        free(f);
}

static int refresh_write(Store *s, void *userdata) {
        Refresh *f = userdata;
        int64_t now = store_now_usec();
        RefreshToken old = {};
        int r;

        r = store_refresh_mark_rotated(s, f->old_id, now);
        if (r < 0)
                return r;
        if (r > 0) {
                r = store_refresh_create(s, &f->next, NULL);
                if (r >= 0)
                        r = oidc_audit_write(s, &f->ok);
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
                        r = oidc_audit_write(s, &f->grace);
                refresh_token_done(&old);
                return r < 0 ? r : 1;
        }
        /* The session goes with it (OAuth 2.1, RFC 9700 4.14): the access
         * tokens of the family name its sid, and every check of an access
         * token reads the session's state (oidc_verify_access_token()), so
         * they are refused from this commit on, whatever thread verified
         * their signature before. */
        r = store_refresh_revoke_family(s, old.family, now);
        if (r >= 0 && old.session_id > 0)
                r = store_session_revoke(s, f->tenant_id, old.session_id, now);
        if (r >= 0)
                r = oidc_audit_write(s, &f->reuse);
        refresh_token_done(&old);
        return r < 0 ? r : 0;
}

static void refresh_done(HttpRequest *req, int result, void *userdata) {
        Refresh *f = userdata;

        reply_grant(req, result, &f->response,
                    "The refresh token was used already; its whole lineage and its session are revoked.");
        if (result > 0)
                metrics_token_issued(req->manager, METRIC_GRANT_REFRESH_TOKEN);
        refresh_free(f);
}

static void grant_refresh_token(OidcContext *ctx, const HttpParams *p, const ApplicationRecord *app) {
        const char *token = http_params_get(p, "refresh_token"), *requested = http_params_get(p, "scope");
        const Config *cfg = ctx->manager->config;
        _cleanup_(user_record_unrefp) UserRecord *user = NULL;
        _cleanup_(erase_and_freep) char *access = NULL, *id_token = NULL, *next = NULL;
        _cleanup_free_ char *scope = NULL, *response_text = NULL;
        _cleanup_(refresh_token_done) RefreshToken old = {};
        OidcSession sess = {};
        OidcGrant g = { .app = app };
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t now = store_now_usec();
        const char *why = NULL;
        Refresh *f;
        json_t *resp;
        int r;

        if (!application_has_grant(app, "refresh_token")) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "unauthorized_client",
                            "This client may not use the refresh_token grant.");
                return;
        }
        if (isempty(token) || !token_is_plausible(token)) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, isempty(token) ? "invalid_request" : "invalid_grant",
                            isempty(token) ? "refresh_token is required." : "The refresh token is not valid.");
                return;
        }
        token_digest(token, digest);
        r = store_refresh_get(ctx->store, ctx->tenant->id, digest, &old);
        if (r == -ENOENT) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_grant", "The refresh token is not valid.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }

        if (old.application_id != app->id)
                why = "The refresh token was issued to another client.";
        else if (old.revoked_usec > 0)
                why = "The refresh token has been revoked.";
        else if (old.idle_expires_usec <= now || old.absolute_expires_usec <= now)
                why = "The refresh token has expired.";
        if (why) {
                token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_grant", why);
                return;
        }

        /* A narrower scope may be asked for, never a wider one. */
        if (requested) {
                r = oidc_normalize_scope(app, requested, &scope);
                if (r >= 0) {
                        _cleanup_(strv_freep) char **l = NULL;
                        if (strv_split_spaces(scope, 16, &l) >= 0)
                                STRV_FOREACH(i, l)
                                        if (!oidc_scope_has(old.scope, *i))
                                                r = -EPERM;
                }
                if (r < 0) {
                        token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_scope",
                                    "The scope may only narrow what was granted.");
                        return;
                }
        } else if (!(scope = strdup(old.scope))) {
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }

        if (old.session_id > 0) {
                r = store_session_get_by_id(ctx->store, ctx->tenant->id, old.session_id, &sess);
                if (r >= 0 && sess.revoked_usec > 0)
                        r = -ENOENT;
        } else
                r = -ENOENT;
        if (r >= 0)
                r = store_user_get_by_id(ctx->store, old.user_id, &user);
        if (r >= 0 && user_record_state(user, now) != USER_STATE_ACTIVE)
                r = -EPERM;
        if (r < 0) {
                if (r == -ENOENT || r == -EPERM)
                        token_error(ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_grant",
                                    "The session ended or the account can no longer be used.");
                else
                        http_reply_internal_error(ctx->req, r);
                return;
        }

        g.user = user;
        g.scope = scope;
        g.sid = sess.sid;
        g.auth_time_usec = old.auth_time_usec;
        g.amr = old.amr;
        r = oidc_sign_tokens(ctx, &g, &access, &id_token);
        if (r >= 0)
                r = token_random(TOKEN_RANDOM_BYTES, &next);
        if (r >= 0) {
                resp = oidc_token_response(ctx, access, id_token, next, scope);
                response_text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
                json_decref(resp);
                if (!response_text)
                        r = -ENOMEM;
        }
        f = r >= 0 ? calloc(1, sizeof(Refresh)) : NULL;
        if (!f) {
                http_reply_internal_error(ctx->req, r < 0 ? r : -ENOMEM);
                return;
        }

        f->tenant_id = ctx->tenant->id;
        f->old_id = old.id;
        f->grace_usec = (int64_t) cfg->oidc_refresh_reuse_grace * USEC_PER_SEC;
        f->next = (RefreshToken) {
                .application_id = app->id,
                .session_id = old.session_id,
                .user_id = old.user_id,
                .scope = TAKE_PTR(scope),
                .auth_time_usec = old.auth_time_usec,
                .created_usec = now,
                .idle_expires_usec = MIN(now + (int64_t) (cfg->oidc_refresh_idle_lifetime * USEC_PER_SEC),
                                         old.absolute_expires_usec),
                .absolute_expires_usec = old.absolute_expires_usec,
        };
        snprintf(f->next.family, sizeof(f->next.family), "%s", old.family);
        snprintf(f->next.amr, sizeof(f->next.amr), "%s", old.amr);
        token_digest(next, f->next.digest);
        f->response = TAKE_PTR(response_text);
        oidc_audit_add(&f->ok, ctx, "oauth.refresh", app->client_id, user->name, AUDIT_SUCCESS,
                       "{\"family\":\"%s\",\"jti\":\"%s\"}", old.family, g.jti);
        oidc_audit_add(&f->grace, ctx, "oauth.refresh", app->client_id, user->name, AUDIT_SUCCESS,
                       "{\"family\":\"%s\",\"jti\":\"%s\",\"within_grace\":true}", old.family, g.jti);
        oidc_audit_add(&f->reuse, ctx, "oauth.refresh-reuse", app->client_id, user->name, AUDIT_DENIED,
                       "{\"error\":\"invalid_grant\",\"family\":\"%s\",\"revoked\":\"family and session\","
                       "\"sid\":\"%s\"}",
                       old.family, sess.sid);

        f->ctx = *ctx;
        f->ctx.tenant = tenant_record_unref(f->ctx.tenant);
        *ctx = (OidcContext) {};
        r = http_write_async(f->ctx.req, refresh_write, refresh_done, f);
        if (r < 0) {
                HttpRequest *req = f->ctx.req;
                refresh_free(f);
                http_reply_internal_error(req, r);
        }
}

/* -- the endpoint --------------------------------------------------------------------- */

void oidc_handle_token(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(http_params_done) HttpParams p = {};
        const char *grant;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, token_json_fields, &p) < 0)
                return;
        if (oidc_client_authenticate(&ctx, &p, "oauth.token", &app) < 0)
                return;

        grant = http_params_get(&p, "grant_type");
        if (isempty(grant))
                token_error(&ctx, app, MHD_HTTP_BAD_REQUEST, "invalid_request", "grant_type is required.");
        else if (streq(grant, "client_credentials"))
                grant_client_credentials(&ctx, &p, app);
        else if (streq(grant, "authorization_code"))
                grant_authorization_code(&ctx, &p, app);
        else if (streq(grant, "refresh_token"))
                grant_refresh_token(&ctx, &p, app);
        else
                token_error(&ctx, app, MHD_HTTP_BAD_REQUEST, "unsupported_grant_type",
                            "Supported grants: authorization_code, refresh_token, client_credentials.");
}
