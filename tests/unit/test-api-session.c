/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/api-session.c: the JSON API's sign-in sessions through the
 * OpenID provider's core: the first-party API application, made once; a
 * session's access token held by its user; refresh with rotation and
 * reuse detection; sign-out refusing the access token at once; the MFA
 * token, single use, of one tenant, expiring. */

#include "api-session.h"
#include "application.h"
#include "oauth-bearer.h"
#include "store-account.h"
#include "store-oidc.h"
#include "test-oauth-env.h"
#include "time-util.h"

static OAuthTestEnv env;
static OAuthContext ctx, globex;

static void setup(void) {
        oauth_test_env_init(&env);
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        oauth_test_context(&env, env.globex, NULL, NULL, &globex);
}

static void teardown(void) {
        oauth_context_done(&ctx);
        oauth_context_done(&globex);
        oauth_test_env_done(&env);
}

START_TEST(test_application) {
        _cleanup_(application_record_unrefp) ApplicationRecord *a = NULL, *b = NULL, *c = NULL, *by_name = NULL;
        TesseraError e = {};

        ck_assert_int_eq(api_application(&ctx, &env.caller, &a), 0);
        ck_assert_int_eq(api_application(&ctx, &env.caller, &b), 0);
        ck_assert_int_eq(a->id, b->id);
        ck_assert_str_eq(a->name, API_APPLICATION_NAME);
        ck_assert(a->first_party);
        ck_assert(application_has_grant(a, "refresh_token"));
        ck_assert(!application_has_grant(a, "authorization_code"));
        /* Each tenant its own. */
        ck_assert_int_eq(api_application(&globex, &env.caller, &c), 0);
        ck_assert_int_ne(c->id, a->id);
        ck_assert_int_eq(c->tenant_id, env.globex->id);
        /* No administrator's operation can name it. */
        ck_assert_int_eq(application_lookup(env.m, env.m->store, "acme", API_APPLICATION_NAME, &by_name, &e), -EINVAL);
        ck_assert_uint_eq(test_audit_count(env.m->store, "application.create", API_APPLICATION_NAME, AUDIT_SUCCESS),
                          2);
}
END_TEST

START_TEST(test_session_and_bearer) {
        _cleanup_(api_session_done) ApiSession s = {};
        OAuthBearer b = {};

        ck_assert_int_eq(api_session_start(&ctx, &env.caller, env.alice, "pwd", NULL, &s), 0);
        ck_assert_ptr_nonnull(s.access_token);
        ck_assert_ptr_nonnull(s.refresh_token);
        ck_assert_int_gt(s.access_expires_usec, now_realtime_usec());
        ck_assert_int_gt(s.refresh_expires_usec, s.access_expires_usec);

        ck_assert_int_eq(oauth_bearer_verify(&ctx, s.access_token, &b), 0);
        ck_assert_ptr_nonnull(b.user);
        ck_assert_int_eq(b.user->id, env.alice->id);
        ck_assert_str_eq(oauth_test_str(b.claims, "sid"), s.sid);
        ck_assert_str_eq(oauth_test_str(b.claims, "aud"), ctx.issuer);
        oauth_bearer_done(&b);
        /* Of acme only. */
        ck_assert_int_eq(oauth_bearer_verify(&globex, s.access_token, &b), -EKEYREJECTED);
        /* The refresh token is no bearer token. */
        ck_assert_int_eq(oauth_bearer_verify(&ctx, s.refresh_token, &b), -EKEYREJECTED);
        ck_assert_uint_eq(test_audit_count(env.m->store, "auth.signin", "alice", AUDIT_SUCCESS), 1);
}
END_TEST

static int refresh(OAuthContext *c, const char *token, json_t **ret, OAuthError *e) {
        _cleanup_(erase_and_freep) char *response = NULL;
        OAuthCommit *commit = NULL;
        int r;

        r = api_session_refresh(c, &env.caller, token, &commit, e);
        if (r >= 0)
                r = oauth_test_commit(&env, commit, &response, e);
        if (r >= 0 && ret)
                *ret = json_loads(response, 0, NULL);
        return r;
}

START_TEST(test_refresh_and_reuse) {
        _cleanup_(api_session_done) ApiSession s = {};
        json_auto_t *fresh = NULL;
        OAuthError e = {};
        OAuthBearer b = {};

        ck_assert_int_eq(api_session_start(&ctx, &env.caller, env.alice, "pwd", NULL, &s), 0);
        ck_assert_int_eq(refresh(&ctx, s.refresh_token, &fresh, &e), 0);
        ck_assert_str_ne(oauth_test_str(fresh, "refresh_token"), s.refresh_token);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, oauth_test_str(fresh, "access_token"), &b), 0);
        oauth_bearer_done(&b);

        /* Another tenant knows nothing of it. */
        e = (OAuthError) {};
        ck_assert_int_lt(refresh(&globex, oauth_test_str(fresh, "refresh_token"), NULL, &e), 0);
        ck_assert_str_eq(e.error, "invalid_grant");

        /* The spent one again: the family and the session end. */
        e = (OAuthError) {};
        ck_assert_int_lt(refresh(&ctx, s.refresh_token, NULL, &e), 0);
        ck_assert_str_eq(e.error, "invalid_grant");
        e = (OAuthError) {};
        ck_assert_int_lt(refresh(&ctx, oauth_test_str(fresh, "refresh_token"), NULL, &e), 0);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, s.access_token, &b), -EKEYREJECTED);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, oauth_test_str(fresh, "access_token"), &b), -EKEYREJECTED);
}
END_TEST

START_TEST(test_end) {
        _cleanup_(api_session_done) ApiSession s = {}, other = {};
        OAuthBearer b = {};
        OAuthError e = {};
        Principal alice = principal_user("http", env.alice, "192.0.2.7");
        json_auto_t *claims = NULL;

        ck_assert_int_eq(api_session_start(&ctx, &env.caller, env.alice, "pwd", NULL, &s), 0);
        ck_assert_int_eq(api_session_start(&ctx, &env.caller, env.alice, "pwd", NULL, &other), 0);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, s.access_token, &b), 0);
        claims = json_incref(b.claims);
        oauth_bearer_done(&b);

        ck_assert_int_eq(api_session_end(&ctx, &alice, claims), 0);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, s.access_token, &b), -EKEYREJECTED);
        ck_assert_int_eq(store_token_revoked(env.m->store, env.acme->id, oauth_test_str(claims, "jti"), NULL), 1);
        ck_assert_int_lt(refresh(&ctx, s.refresh_token, NULL, &e), 0);
        ck_assert_str_eq(e.error, "invalid_grant");
        /* The other session goes on. */
        ck_assert_int_eq(oauth_bearer_verify(&ctx, other.access_token, &b), 0);
        oauth_bearer_done(&b);
        ck_assert_uint_eq(test_audit_count(env.m->store, "auth.signout", "alice", AUDIT_SUCCESS), 1);
        /* Claims without a session are no session's. */
        ck_assert_int_eq(api_session_end(&ctx, &alice, NULL), -EINVAL);
}
END_TEST

START_TEST(test_mfa_token) {
        _cleanup_(erase_and_freep) char *token = NULL;
        _cleanup_(api_session_done) ApiSession s = {}, again = {};
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t expires, user_id = 0, now = now_realtime_usec();
        MfaChallenge old;

        ck_assert_int_eq(api_mfa_token_issue(&ctx, env.alice, "fed", &token, &expires), 0);
        ck_assert_int_gt(expires, now);
        ck_assert_int_le(expires, now + (int64_t) (API_MFA_TOKEN_LIFETIME_SEC + 5) * USEC_PER_SEC);
        char first[16] = "";
        ck_assert_int_eq(api_mfa_token_user(&ctx, token, &user_id, first), 0);
        ck_assert_int_eq(user_id, env.alice->id);
        ck_assert_str_eq(first, "fed");
        ck_assert_int_eq(api_mfa_token_user(&globex, token, &user_id, NULL), -ENOENT);
        ck_assert_int_eq(api_mfa_token_user(&ctx, "garbage", &user_id, NULL), -ENOENT);
        ck_assert_int_eq(api_mfa_token_user(&ctx, NULL, &user_id, NULL), -ENOENT);
        /* Another tenant can't spend it. */
        ck_assert_int_eq(api_session_start(&globex, &env.caller, env.alice, "pwd otp", token, &s), -ESTALE);

        /* Spent with the session it starts, once. */
        ck_assert_int_eq(api_session_start(&ctx, &env.caller, env.alice, "pwd otp", token, &s), 0);
        ck_assert_int_eq(api_session_start(&ctx, &env.caller, env.alice, "pwd otp", token, &again), -ESTALE);
        ck_assert_ptr_null(again.access_token);
        ck_assert_int_eq(api_mfa_token_user(&ctx, token, &user_id, NULL), -ENOENT);

        /* One that expired. */
        token_digest("expired-token-expired-token-expired-token-x", digest);
        old = (MfaChallenge) { .tenant_id = env.acme->id, .user_id = env.alice->id, .created_usec = now - 600,
                               .expires_usec = now - 1 };
        ck_assert_int_eq(store_mfa_challenge_create(env.m->store, digest, &old, now - 2), 0);
        ck_assert_int_eq(api_mfa_token_user(&ctx, "expired-token-expired-token-expired-token-x", &user_id, NULL), -ETIME);
        ck_assert_int_eq(store_mfa_challenge_claim(env.m->store, env.acme->id, digest, now), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-session");
        TCase *tc = tcase_create("api-session");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_application);
        tcase_add_test(tc, test_session_and_bearer);
        tcase_add_test(tc, test_refresh_and_reuse);
        tcase_add_test(tc, test_end);
        tcase_add_test(tc, test_mfa_token);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
