/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The sign-in form and its TOTP step. The decision is the authentication
 * core's (auth.h): the same password check, TOTP and backup codes, lockout
 * and audit as PAM and D-Bus, so an attacker gains nothing by trying the
 * web door instead. The slow hash runs on the shared worker pool
 * (worker_pool_run), under the global cap on concurrent hashes. */

#include <stdlib.h>

#include "auth.h"
#include "http-browser.h"
#include "names.h"
#include "sso-session.h"
#include "time-util.h"

#define LOGIN_MAX_LEN 256
#define PASSWORD_MAX_LEN 1024

/* A user of this tenant by name or e-mail; NULL (not an error) when there
 * is none, so the dummy hash runs and the answer takes as long. */
static int find_user(OidcContext *ctx, const char *login, UserRecord **ret) {
        int r = -ENOENT;

        *ret = NULL;
        if (strchr(login, '@') && valid_email(login))
                r = store_user_get_by_email(ctx->oauth.store, ctx->oauth.tenant->id, login, ret);
        else if (valid_user_name(login))
                r = store_user_get(ctx->oauth.store, ctx->oauth.tenant->id, login, ret);
        return r == -ENOENT ? 0 : r;
}

/* What the page says after a failure: the core's apparent answer, which
 * at the password step is the same for a name that is no user, an account
 * that can't be used and a wrong password ("locked" after as many
 * failures included); only after the password step does it tell an
 * account's state. */
static const char *failure_text(const AuthResult *res, char *buf, size_t size) {
        auth_result_message(res, now_realtime_usec(), buf, size);
        if (buf[0])
                return buf;
        return res->apparent == AUTH_FAILED || res->apparent == AUTH_USER_UNKNOWN
                       ? "The name or password is not right."
                       : "This account can't sign in now.";
}

/* Signed in: start the SSO session and go on with the authorization request. */
void authz_signed_in(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app, int64_t user_id,
                     const char *amr) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(erase_and_freep) char *cookie = NULL;
        SsoSession sess;
        int r;

        r = store_user_get_by_id(ctx->oauth.store, user_id, &u);
        if (r >= 0)
                r = sso_session_start(&ctx->oauth, &ctx->caller, u, amr, &cookie, &sess);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }
        authz_continue(ctx, a, app, &sess, cookie);
}

void oidc_handle_login(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *target = NULL, *pending = NULL;
        const char *login, *password;
        AuthContext actx = { .action = "auth.login", .service = "web", .channel = "oidc" };
        AuthResult res = {};
        OAuthLimit limit;
        Principal actor;
        char msg[256];
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, NULL, &p) < 0)
                return;
        if (!browser_csrf_ok(req, "login", http_params_get(&p, "csrf"))) {
                authz_error_page(&ctx, MHD_HTTP_FORBIDDEN, "Please try again",
                                 "This form has expired or did not come from this site. Go back to the application "
                                 "and sign in again.");
                return;
        }
        if (authz_parse_form(&ctx, http_params_get(&p, "request"), &a, &app) < 0)
                return;

        login = http_params_get(&p, "login");
        password = http_params_get(&p, "password");
        if (isempty(login) || isempty(password) || strlen(login) > LOGIN_MAX_LEN ||
            strlen(password) > PASSWORD_MAX_LEN) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_BAD_REQUEST, "Enter your name or e-mail and your password.",
                                 login && strlen(login) <= LOGIN_MAX_LEN ? login : NULL);
                return;
        }
        /* Per address, before the user is looked up or a hash computed. */
        if (oauth_limited(ctx.oauth.manager, &ctx.caller, NULL, &limit)) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_TOO_MANY_REQUESTS,
                                 "Too many failed sign-ins from this address. Please wait a while.", login);
                oidc_limit_reply(&ctx, &limit, "auth.login", NULL);
                return;
        }

        r = find_user(&ctx, login, &u);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        if (asprintf(&target, "%s@%s", u ? u->name : login, ctx.oauth.tenant->slug) < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        actor = http_principal(req, u ? u->name : NULL);
        r = auth_password_step(ctx.oauth.manager, ctx.oauth.store, &actor, &actx, u, target, password, &res);
        if (r < 0) {
                /* Fail closed: nothing was decided. */
                http_reply_internal_error(req, r);
                return;
        }


        switch (res.outcome) {
        case AUTH_SUCCESS:
                authz_signed_in(&ctx, &a, app, res.user_id, "pwd");
                return;
        case AUTH_NEED_SECOND_FACTOR:
                r = browser_pending_make(req, res.user_id, false, &pending);
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                authz_show_totp(&ctx, &a, MHD_HTTP_OK, NULL, pending);
                return;
        case AUTH_MFA_ENROLMENT_REQUIRED:
                /* The right password, but no second factor the tenant
                 * asks for: not a failure, and no sign-in. */
                authz_show_login(&ctx, &a, app, MHD_HTTP_FORBIDDEN, failure_text(&res, msg, sizeof(msg)), login);
                return;
        default:
                oauth_limit_failed(ctx.oauth.manager, &ctx.caller, NULL);
                authz_show_login(&ctx, &a, app, MHD_HTTP_UNAUTHORIZED, failure_text(&res, msg, sizeof(msg)), login);
                return;
        }
}

void oidc_handle_login_totp(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const char *pending, *code;
        AuthContext actx = { .action = "auth.login", .service = "web", .channel = "oidc" };
        AuthResult res = {};
        OAuthLimit limit;
        int64_t user_id;
        bool federated = false;
        Principal actor;
        char msg[256];
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, NULL, &p) < 0)
                return;
        if (!browser_csrf_ok(req, "totp", http_params_get(&p, "csrf"))) {
                authz_error_page(&ctx, MHD_HTTP_FORBIDDEN, "Please try again",
                                 "This form has expired or did not come from this site.");
                return;
        }
        if (authz_parse_form(&ctx, http_params_get(&p, "request"), &a, &app) < 0)
                return;

        /* The proof that this browser passed the password step, lately. */
        pending = http_params_get(&p, "pending");
        r = browser_pending_check(req, pending, &user_id, &federated);
        if (r < 0) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_UNAUTHORIZED,
                                 r == -ETIME ? "That took too long; please sign in again." : "Please sign in again.",
                                 NULL);
                return;
        }
        code = http_params_get(&p, "code");
        if (isempty(code) || strlen(code) > 64) {
                authz_show_totp(&ctx, &a, MHD_HTTP_BAD_REQUEST, "Enter the code.", pending);
                return;
        }

        /* Per address, before the user is read or the code checked. */
        if (oauth_limited(ctx.oauth.manager, &ctx.caller, NULL, &limit)) {
                authz_show_totp(&ctx, &a, MHD_HTTP_TOO_MANY_REQUESTS,
                                "Too many failed sign-ins from this address. Please wait a while.", pending);
                oidc_limit_reply(&ctx, &limit, "auth.login", NULL);
                return;
        }
        if (store_user_get_by_id(ctx.oauth.store, user_id, &u) < 0 || u->tenant_id != ctx.oauth.tenant->id) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_UNAUTHORIZED, "Please sign in again.", NULL);
                return;
        }
        actor = http_principal(req, u->name);
        if (federated)
                actx.action = "auth.federated";
        r = auth_second_factor(ctx.oauth.manager, ctx.oauth.store, &actor, &actx, user_id, code, &res);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        if (res.outcome == AUTH_SUCCESS) {
                /* After an upstream provider's sign-in, the code is the
                 * second factor of a federated one. */
                authz_signed_in(&ctx, &a, app, user_id, federated ? "fed otp" : "pwd otp");
                return;
        }
        oauth_limit_failed(ctx.oauth.manager, &ctx.caller, NULL);
        if (res.outcome == AUTH_FAILED)
                authz_show_totp(&ctx, &a, MHD_HTTP_UNAUTHORIZED, failure_text(&res, msg, sizeof(msg)), pending);
        else
                authz_show_login(&ctx, &a, app, MHD_HTTP_UNAUTHORIZED, failure_text(&res, msg, sizeof(msg)), NULL);
}
