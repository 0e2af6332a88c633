/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/oauth-code.c: authorization codes, issued through an
 * authorization request and redeemed once, with PKCE and the exact
 * redirect URI; a replay revokes what the code issued. */

#include <pthread.h>
#include <stdlib.h>

#include "oauth-client.h"
#include "oauth-code.h"
#include "oauth-refresh.h"
#include "oauth-token.h"
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

/* Redeems code as the web client; returns what the core said. */
static int redeem(OAuthContext *ctx, const ApplicationRecord *app, const char *code, const char *redirect_uri,
                  const char *verifier, char **ret_response, OAuthError *e) {
        Principal client = oauth_client_principal(&env.caller, app);
        OAuthCommit *commit = NULL;
        int r;

        r = oauth_grant_authorization_code(ctx, &client, app, code, redirect_uri, verifier, &commit, e);
        if (r < 0)
                return r;
        return oauth_test_commit(&env, commit, ret_response, e);
}

/* -- one redemption wins ------------------------------------------------------------ */

#define RACERS 16

typedef struct Racer {
        pthread_t thread;
        pthread_barrier_t *start;
        const char *code;
        bool own_transaction;     /* each its own connection and transaction, not the batch writer */
        int result;               /* of the write: 1 won, 0 refused */
        OAuthError e;
} Racer;

static void *race(void *userdata) {
        Racer *rc = userdata;
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        OAuthCache cache = {};
        Principal client = oauth_client_principal(&env.caller, env.web);
        OAuthCommit *commit = NULL;

        /* Each racer is a thread of its own with its own connection and
         * cache, as the HTTP threads are. */
        ck_assert_int_eq(store_pool_open(env.m->store_pool, &s), 0);
        oauth_test_context(&env, env.acme, s, &cache, &ctx);
        ck_assert_int_eq(oauth_grant_authorization_code(&ctx, &client, env.web, rc->code, OAUTH_TEST_REDIRECT,
                                                        OAUTH_TEST_VERIFIER, &commit, &rc->e),
                         0);
        pthread_barrier_wait(rc->start);
        if (rc->own_transaction) {
                ck_assert_int_eq(store_begin(s), 0);
                rc->result = oauth_commit_write(s, commit);
                ck_assert_int_eq(store_commit(s), 0);
                oauth_commit_free(commit);
        } else {
                rc->result = batch_writer_run(env.writer, oauth_commit_write, commit);
                oauth_commit_free(commit);
        }
        oauth_cache_done(&cache);
        return NULL;
}

static void check_one_wins(bool own_transaction) {
        _cleanup_(erase_and_freep) char *code = NULL;
        pthread_barrier_t start;
        Racer racers[RACERS] = {};
        SsoSession sess, after;
        unsigned won = 0, refused = 0;

        oauth_test_session(&env, &sess);
        code = oauth_test_code(&env, env.web, "openid offline_access", OAUTH_TEST_CHALLENGE, &sess);
        ck_assert_int_eq(pthread_barrier_init(&start, NULL, RACERS), 0);
        for (size_t i = 0; i < RACERS; i++) {
                racers[i] = (Racer) { .start = &start, .code = code, .own_transaction = own_transaction };
                ck_assert_int_eq(pthread_create(&racers[i].thread, NULL, race, &racers[i]), 0);
        }
        for (size_t i = 0; i < RACERS; i++) {
                ck_assert_int_eq(pthread_join(racers[i].thread, NULL), 0);
                ck_assert_int_ge(racers[i].result, 0);
                if (racers[i].result > 0)
                        won++;
                else
                        refused++;
        }
        pthread_barrier_destroy(&start);
        ck_assert_uint_eq(won, 1);
        ck_assert_uint_eq(refused, RACERS - 1);
        /* The others were replays: what the winner got is revoked with
         * its session (RFC 6749 4.1.2), once per replay in the trail. */
        ck_assert_int_eq(store_sso_session_get_by_id(env.m->store, env.acme->id, sess.id, &after), 0);
        ck_assert_int_gt(after.revoked_usec, 0);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.token", "alice", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.code-replay", "alice", AUDIT_DENIED), RACERS - 1);
}

START_TEST(test_code_redeemed_once_batched) {
        check_one_wins(false);
}
END_TEST

START_TEST(test_code_redeemed_once_connections) {
        check_one_wins(true);
}
END_TEST

/* -- what a redemption checks --------------------------------------------------------- */

START_TEST(test_pkce) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(erase_and_freep) char *code = NULL, *plain = NULL, *response = NULL;
        SsoSession sess;
        OAuthError e = {};

        oauth_test_session(&env, &sess);
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        code = oauth_test_code(&env, env.web, "openid", OAUTH_TEST_CHALLENGE, &sess);

        /* S256 of another verifier: refused, and the code is not spent. */
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT,
                                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", NULL, &e),
                         -EINVAL);
        ck_assert_str_eq(e.error, "invalid_grant");
        ck_assert_str_eq(e.description, "code_verifier does not match the code_challenge.");
        /* The challenge itself ("plain") is no verifier. */
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT, OAUTH_TEST_CHALLENGE, NULL, &e), -EINVAL);
        ck_assert_str_eq(e.error, "invalid_grant");
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT, NULL, NULL, &e), -EINVAL);
        ck_assert_str_eq(e.description, "code_verifier is required: the authorization request had a code_challenge.");
        oauth_test_flush_audit(&env, &ctx);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.token", "web", AUDIT_DENIED), 3);

        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT, OAUTH_TEST_VERIFIER, &response, &e), 0);
        ck_assert_ptr_nonnull(strstr(response, "\"access_token\":"));

        /* No challenge in the request (a client opted out of PKCE): no
         * verifier either. */
        plain = oauth_test_code(&env, env.legacy, "openid", NULL, &sess);
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.legacy, plain, OAUTH_TEST_REDIRECT, OAUTH_TEST_VERIFIER, NULL, &e), -EINVAL);
        ck_assert_str_eq(e.description, "code_verifier was sent, but the authorization request had no code_challenge.");
}
END_TEST

START_TEST(test_redirect_uri_and_client) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {}, globex = {};
        _cleanup_(erase_and_freep) char *code = NULL;
        SsoSession sess;
        OAuthError e = {};

        oauth_test_session(&env, &sess);
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        oauth_test_context(&env, env.globex, NULL, NULL, &globex);
        code = oauth_test_code(&env, env.web, "openid", OAUTH_TEST_CHALLENGE, &sess);

        /* Exact match only: not a prefix, not a trailing slash. */
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT "/", OAUTH_TEST_VERIFIER, NULL, &e), -EINVAL);
        ck_assert_str_eq(e.error, "invalid_grant");
        ck_assert_str_eq(e.description, "redirect_uri differs from the one of the authorization request.");
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.web, code, "https://evil.example/cb", OAUTH_TEST_VERIFIER, NULL, &e),
                         -EINVAL);
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.web, code, NULL, OAUTH_TEST_VERIFIER, NULL, &e), -EINVAL);
        ck_assert_str_eq(e.error, "invalid_request");

        /* Another client of the tenant may not redeem it ... */
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.first, code, OAUTH_TEST_REDIRECT, OAUTH_TEST_VERIFIER, NULL, &e), -EINVAL);
        ck_assert_str_eq(e.description, "The authorization code was issued to another client.");
        /* ... and in another tenant it does not exist. */
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&globex, env.other, code, OAUTH_TEST_REDIRECT, OAUTH_TEST_VERIFIER, NULL, &e),
                         -EINVAL);
        ck_assert_str_eq(e.description, "The authorization code is not valid.");

        /* None of that spent it. */
        e = (OAuthError) {};
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT, OAUTH_TEST_VERIFIER, NULL, &e), 0);
}
END_TEST

START_TEST(test_code_replay_revokes) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(erase_and_freep) char *code = NULL, *again = NULL;
        json_auto_t *tokens = NULL, *claims = NULL;
        Principal client = oauth_client_principal(&env.caller, env.web);
        OAuthCommit *commit = NULL;
        SsoSession sess, after;
        OAuthError e = {};

        oauth_test_session(&env, &sess);
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        code = oauth_test_code(&env, env.web, "openid profile offline_access", OAUTH_TEST_CHALLENGE, &sess);
        tokens = oauth_test_redeem(&env, &ctx, code, OAUTH_TEST_VERIFIER);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(tokens, "access_token"), &claims), 0);
        ck_assert_str_eq(json_string_value(json_object_get(claims, "sid")), sess.sid);

        /* The same code again, with everything else right. */
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT, OAUTH_TEST_VERIFIER, &again, &e), -EACCES);
        ck_assert_ptr_null(again);
        ck_assert_str_eq(e.error, "invalid_grant");
        ck_assert_str_eq(e.description, "The authorization code was used already or has expired.");

        /* What the first redemption issued is revoked, and the session ended. */
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(tokens, "access_token"), NULL), -EKEYREJECTED);
        ck_assert_int_eq(store_sso_session_get_by_id(env.m->store, env.acme->id, sess.id, &after), 0);
        ck_assert_int_gt(after.revoked_usec, 0);
        e = (OAuthError) {};
        ck_assert_int_eq(oauth_grant_refresh_token(&ctx, &client, env.web, oauth_test_str(tokens, "refresh_token"),
                                                   NULL, &commit, &e),
                         -EINVAL);
        ck_assert_str_eq(e.description, "The refresh token has been revoked.");
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.code-replay", "alice", AUDIT_DENIED), 1);
}
END_TEST

START_TEST(test_code_session_ended) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(erase_and_freep) char *code = NULL;
        SsoSession sess;
        OAuthError e = {};

        oauth_test_session(&env, &sess);
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        code = oauth_test_code(&env, env.web, "openid", OAUTH_TEST_CHALLENGE, &sess);
        ck_assert_int_eq(sso_session_end(&ctx, &env.caller, &sess), 0);
        ck_assert_int_eq(redeem(&ctx, env.web, code, OAUTH_TEST_REDIRECT, OAUTH_TEST_VERIFIER, NULL, &e), -EINVAL);
        ck_assert_str_eq(e.description, "The session ended or the account can no longer be used.");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("oauth-code");
        TCase *tc = tcase_create("code");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_code_redeemed_once_batched);
        tcase_add_test(tc, test_code_redeemed_once_connections);
        tcase_add_test(tc, test_pkce);
        tcase_add_test(tc, test_redirect_uri_and_client);
        tcase_add_test(tc, test_code_replay_revokes);
        tcase_add_test(tc, test_code_session_ended);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
