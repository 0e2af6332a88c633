/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/oauth-authorize.c, oauth-consent.c, sso-session.c,
 * oauth-logout.c: which authorization requests are served, what a browser
 * must do next, consent and its coverage, SSO sessions. */

#include "oauth-consent.h"
#include "oauth-logout.h"
#include "oauth-scope.h"
#include "sso-session.h"
#include "store-oidc.h"
#include "test-oauth-env.h"

static OAuthTestEnv env;

static void setup(void) {
        oauth_test_env_init(&env);
}

static void teardown(void) {
        oauth_test_env_done(&env);
}

static OAuthAuthzParams params(const ApplicationRecord *app, const char *scope) {
        return (OAuthAuthzParams) {
                .client_id = app->client_id,
                .redirect_uri = OAUTH_TEST_REDIRECT,
                .response_type = "code",
                .scope = scope,
                .code_challenge = OAUTH_TEST_CHALLENGE,
                .code_challenge_method = "S256",
                .state = "st",
        };
}

/* Checks p; on refusal returns the result with e filled. */
static int check(OAuthContext *ctx, const OAuthAuthzParams *p, OAuthAuthzRequest *ret, OAuthError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        int r;

        *e = (OAuthError) {};
        r = oauth_authz_check(ctx, &env.caller, p, ret, &app, e);
        oauth_test_flush_audit(&env, ctx);
        return r;
}

START_TEST(test_request_checks) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(oauth_authz_request_done) OAuthAuthzRequest a = {};
        OAuthAuthzParams p;
        OAuthError e;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        p = params(env.web, "profile openid openid");
        ck_assert_int_eq(check(&ctx, &p, &a, &e), 0);
        ck_assert_str_eq(a.scope, "openid profile");
        ck_assert_int_eq(a.max_age, -1);
        oauth_authz_request_done(&a);

        /* Not registered: not even a redirect back (a page instead). */
        p.redirect_uri = "https://app.example/cb/../evil";
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EPERM);
        ck_assert_str_eq(e.error, "invalid_request");
        ck_assert(!e.redirect);
        p.redirect_uri = "https://app.example/cb?x=1";
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EPERM);
        ck_assert(!e.redirect);
        /* Unknown client, another tenant's client, a client that can't. */
        p = params(env.other, "openid");
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -ENOENT);
        ck_assert(!e.redirect);
        p = params(env.svc, "openid");
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EPERM);
        ck_assert_str_eq(e.description, "This application may not sign users in.");

        /* Trusted client and URI: the refusal goes back there. */
        p = params(env.web, "openid");
        p.response_type = "token";
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        ck_assert_str_eq(e.error, "unsupported_response_type");
        ck_assert(e.redirect && !e.drop_state);
        p = params(env.web, "openid admin");
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        ck_assert_str_eq(e.error, "invalid_scope");
        p = params(env.web, "openid");
        p.code_challenge_method = "plain";
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        ck_assert_str_eq(e.description, "code_challenge_method must be S256 (plain is not offered).");
        p = params(env.web, "openid");
        p.duplicate = true;
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        ck_assert(e.redirect && e.drop_state);
        p = params(env.web, "openid");
        p.prompt = "none login";
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        p = params(env.web, "openid");
        p.max_age = "-1";
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        ck_assert_str_eq(e.description, "max_age must be a number of seconds.");

        /* PKCE: every client must (OAuth 2.1), a confidential one too,
         * unless registered with the opt-out. */
        p = params(env.spa, "openid");
        p.code_challenge = p.code_challenge_method = NULL;
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        ck_assert_str_eq(e.description, "PKCE is required (code_challenge, S256).");
        p = params(env.web, "openid");
        p.code_challenge = p.code_challenge_method = NULL;
        e = (OAuthError) {};
        ck_assert_int_eq(check(&ctx, &p, &a, &e), -EINVAL);
        ck_assert_str_eq(e.description, "PKCE is required (code_challenge, S256).");
        oauth_authz_request_done(&a);
        p = params(env.legacy, "openid");
        p.code_challenge = p.code_challenge_method = NULL;
        ck_assert_int_eq(check(&ctx, &p, &a, &e), 0);

        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.authorize", NULL, AUDIT_INVALID), 4);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.authorize", env.web->client_id, AUDIT_DENIED), 7);
}
END_TEST

/* Continues a checked request for web in a browser with session. */
static int go_on(OAuthContext *ctx, OAuthAuthzParams *p, const ApplicationRecord *app, const SsoSession *session,
                 bool fresh, OAuthAuthzStep *ret_step, OAuthError *e) {
        _cleanup_(oauth_authz_request_done) OAuthAuthzRequest a = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *checked = NULL;
        _cleanup_(erase_and_freep) char *code = NULL;
        int r;

        *e = (OAuthError) {};
        ck_assert_int_eq(oauth_authz_check(ctx, &env.caller, p, &a, &checked, e), 0);
        r = oauth_authz_continue(ctx, &env.caller, &a, checked, session, fresh, ret_step, &code, e);
        ck_assert(r < 0 || *ret_step != OAUTH_AUTHZ_CODE || code);
        return r;
}

START_TEST(test_next_step) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        OAuthAuthzParams p = params(env.web, "openid profile");
        OAuthAuthzStep step;
        SsoSession sess;
        OAuthError e;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);

        /* No session: sign in; with prompt=none, the client hears so. */
        ck_assert_int_eq(go_on(&ctx, &p, env.web, NULL, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_SIGN_IN);
        p.prompt = "none";
        ck_assert_int_eq(go_on(&ctx, &p, env.web, NULL, false, &step, &e), -EINVAL);
        ck_assert_str_eq(e.error, "login_required");
        ck_assert(e.redirect);

        /* Signed in, no consent yet: ask (or, with prompt=none, refuse). */
        oauth_test_session(&env, &sess);
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), -EINVAL);
        ck_assert_str_eq(e.error, "consent_required");
        p.prompt = NULL;
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_CONSENT);
        /* A first-party application never asks. */
        {
                OAuthAuthzParams fp = params(env.first, "openid profile");
                ck_assert_int_eq(go_on(&ctx, &fp, env.first, &sess, false, &step, &e), 0);
                ck_assert_int_eq(step, OAUTH_AUTHZ_CODE);
        }

        /* Consented: the code. prompt=consent asks again all the same. */
        ck_assert_int_eq(oauth_consent_grant(&ctx, env.web, env.alice->id, "openid profile"), 0);
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_CODE);
        p.prompt = "consent";
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_CONSENT);

        /* prompt=login and max_age want a fresh sign-in. */
        p.prompt = "login";
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_SIGN_IN);
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, true, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_CODE);
        p.prompt = NULL;
        p.max_age = "0";
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_SIGN_IN);
        p.max_age = "3600";
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_CODE);

        /* An ended session is none. */
        ck_assert_int_eq(sso_session_end(&ctx, &env.caller, &sess), 0);
        ck_assert_int_eq(store_sso_session_get_by_id(env.m->store, env.acme->id, sess.id, &sess), 0);
        ck_assert_int_eq(go_on(&ctx, &p, env.web, &sess, false, &step, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_SIGN_IN);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.authorize", "alice", AUDIT_SUCCESS), 4);
}
END_TEST

START_TEST(test_consent_coverage) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(oauth_authz_request_done) OAuthAuthzRequest a = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        OAuthAuthzParams p = params(env.web, "openid email");
        Principal user = principal_user("http", env.alice, "192.0.2.7");
        OAuthError e = {};

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        ck_assert(!oauth_consent_covers(&ctx, env.web, env.alice->id, "openid"));
        ck_assert(oauth_consent_needed(&ctx, env.web, env.alice->id, "openid", false));
        ck_assert(!oauth_consent_needed(&ctx, env.first, env.alice->id, "openid", true));

        /* What the user allowed covers it and what is narrower, not more. */
        ck_assert_int_eq(oauth_authz_check(&ctx, &env.caller, &p, &a, &app, &e), 0);
        a.prompt_consent = true;
        ck_assert_int_eq(oauth_authz_consent(&ctx, &env.caller, &user, &a, app, true, &e), 0);
        ck_assert(!a.prompt_consent);
        ck_assert(oauth_consent_covers(&ctx, env.web, env.alice->id, "openid email"));
        ck_assert(oauth_consent_covers(&ctx, env.web, env.alice->id, "email"));
        ck_assert(!oauth_consent_covers(&ctx, env.web, env.alice->id, "openid email profile"));
        ck_assert(!oauth_consent_needed(&ctx, env.web, env.alice->id, "openid", false));
        ck_assert(oauth_consent_needed(&ctx, env.web, env.alice->id, "openid profile", false));
        /* Another application has none of it. */
        ck_assert(!oauth_consent_covers(&ctx, env.spa, env.alice->id, "openid"));

        /* Refused: the client hears access_denied. */
        ck_assert_int_eq(oauth_authz_consent(&ctx, &env.caller, &user, &a, app, false, &e), -EINVAL);
        ck_assert_str_eq(e.error, "access_denied");
        ck_assert(e.redirect);
}
END_TEST

START_TEST(test_scopes) {
        _cleanup_free_ char *s = NULL;

        ck_assert(oauth_scope_has("openid profile", "profile"));
        ck_assert(!oauth_scope_has("openid profile", "prof"));
        ck_assert(!oauth_scope_has(NULL, "openid"));
        ck_assert_int_eq(oauth_scope_normalize(env.web, "email  openid", &s), 0);
        ck_assert_str_eq(s, "openid email");
        ck_assert_int_eq(oauth_scope_normalize(env.web, "openid tessera:users:write", &s), -EPERM);
        ck_assert(oauth_scope_covers("openid email", "email"));
        ck_assert(oauth_scope_covers("openid email", ""));
        ck_assert(!oauth_scope_covers("openid", "openid email"));
}
END_TEST

START_TEST(test_sso_session_and_logout) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {}, globex = {};
        _cleanup_(erase_and_freep) char *cookie = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *sid = NULL;
        SsoSession sess, found;
        OAuthError e = {};

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        oauth_test_context(&env, env.globex, NULL, NULL, &globex);
        ck_assert_int_eq(sso_session_start(&ctx, &env.caller, env.alice, "pwd otp", &cookie, &sess), 0);
        ck_assert_str_eq(sess.amr, "pwd otp");
        ck_assert_int_eq(sso_session_find(&ctx, cookie, &found), 0);
        ck_assert_str_eq(found.sid, sess.sid);
        ck_assert_int_eq(sso_session_find(&globex, cookie, &found), -ENOENT);
        ck_assert_int_eq(sso_session_find(&ctx, "nonsense", &found), -ENOENT);
        ck_assert_int_eq(sso_session_user(&ctx, &sess, &u), 0);
        ck_assert_int_eq(u->id, env.alice->id);
        u = user_record_unref(u);
        ck_assert_int_eq(sso_session_user(&globex, &sess, &u), -ENOENT);

        /* Logout: only to a registered address; a hint of another session
         * asks for confirmation. */
        ck_assert_int_eq(oauth_logout_check(&ctx, NULL, env.web->client_id, "https://app.example/bye", &sid, &e), 0);
        ck_assert_ptr_null(sid);
        ck_assert(oauth_logout_needs_confirmation(NULL, &sess));
        ck_assert(oauth_logout_needs_confirmation("another", &sess));
        ck_assert(!oauth_logout_needs_confirmation(sess.sid, &sess));
        ck_assert_int_eq(oauth_logout_check(&ctx, NULL, env.web->client_id, "https://evil.example/", &sid, &e), -EPERM);
        ck_assert_str_eq(e.error, "invalid_request");
        e = (OAuthError) {};
        ck_assert_int_eq(oauth_logout_check(&ctx, NULL, env.other->client_id, "https://app.example/bye", &sid, &e),
                         -EPERM);
        e = (OAuthError) {};
        ck_assert_int_eq(oauth_logout_check(&ctx, "e30.e30.e30", NULL, NULL, &sid, &e), -EKEYREJECTED);

        ck_assert_int_eq(sso_session_end(&ctx, &env.caller, &sess), 0);
        ck_assert_int_eq(sso_session_find(&ctx, cookie, &found), -ENOENT);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oidc.logout", sess.sid, AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oidc.session-start", "alice", AUDIT_SUCCESS), 1);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("oauth-authorize");
        TCase *tc = tcase_create("authorize");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_request_checks);
        tcase_add_test(tc, test_next_step);
        tcase_add_test(tc, test_consent_coverage);
        tcase_add_test(tc, test_scopes);
        tcase_add_test(tc, test_sso_session_and_logout);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
