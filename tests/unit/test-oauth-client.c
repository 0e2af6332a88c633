/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/oauth-client.c: client authentication, its cache of
 * checked secrets and its limits on failures. */

#include "limiter.h"
#include "oauth-client.h"
#include "test-oauth-env.h"

static OAuthTestEnv env;

static void setup(void) {
        oauth_test_env_init(&env);
}

static void teardown(void) {
        oauth_test_env_done(&env);
}

static int authenticate(OAuthContext *ctx, const char *client_id, const char *secret, ApplicationRecord **ret,
                        OAuthError *e) {
        OAuthClientCredentials c = { .client_id = client_id, .secret = secret };
        int r;

        *e = (OAuthError) {};
        r = oauth_client_authenticate(ctx, &env.caller, &c, "oauth.token", ret, e);
        /* Each refusal's audit event, committed as the face does. */
        oauth_test_flush_audit(&env, ctx);
        return r;
}

static void assert_refused(OAuthContext *ctx, const char *client_id, const char *secret) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        OAuthError e;

        ck_assert_int_eq(authenticate(ctx, client_id, secret, &app, &e), -EACCES);
        ck_assert_ptr_null(app);
        ck_assert_str_eq(e.error, "invalid_client");
        ck_assert_str_eq(e.description, "Client authentication failed.");
}

START_TEST(test_client_authentication) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL, *pub = NULL;
        OAuthError e;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);

        /* The right secret, twice (the second from the cache). */
        ck_assert_int_eq(authenticate(&ctx, env.web->client_id, env.web_secret, &app, &e), 0);
        ck_assert_int_eq(app->id, env.web->id);
        app = application_record_unref(app);
        ck_assert_int_eq(authenticate(&ctx, env.web->client_id, env.web_secret, &app, &e), 0);
        app = application_record_unref(app);

        /* A wrong one, none, another client's: refused, each time, even
         * after the right one was cached. */
        assert_refused(&ctx, env.web->client_id, "wrong");
        assert_refused(&ctx, env.web->client_id, NULL);
        assert_refused(&ctx, env.web->client_id, env.svc_secret);
        /* A public client: by its id, without a secret; with one, refused. */
        ck_assert_int_eq(authenticate(&ctx, env.spa->client_id, NULL, &pub, &e), 0);
        ck_assert_int_eq(pub->id, env.spa->id);
        assert_refused(&ctx, env.spa->client_id, "anything");
        /* Unknown, empty, nonsense. */
        assert_refused(&ctx, "no-such-client", "x");
        assert_refused(&ctx, "", NULL);
        assert_refused(&ctx, "bad id\n", "x");
        /* Another tenant's client with its own right secret. */
        assert_refused(&ctx, env.other->client_id, env.other_secret);

        /* Credentials that could not be read. */
        {
                OAuthClientCredentials c = { .malformed = true };
                e = (OAuthError) {};
                ck_assert_int_eq(oauth_client_authenticate(&ctx, &env.caller, &c, "oauth.token", &app, &e), -EINVAL);
                ck_assert_str_eq(e.error, "invalid_client");
        }

        oauth_test_flush_audit(&env, &ctx);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.token", NULL, AUDIT_DENIED), 9);
        {
                size_t n;
                AuditEvent *ev = test_audit_events(env.m->store, "oauth.token", env.web->client_id, &n);
                /* Two wrong secrets are one event counted twice (audit.h). */
                ck_assert_uint_eq(n, 2);
                ck_assert_ptr_nonnull(strstr(ev[0].details, "\"why\":\"wrong secret\""));
                ck_assert_uint_eq(ev[0].count, 2);
                ck_assert_ptr_nonnull(strstr(ev[1].details, "\"why\":\"no secret\""));
                ck_assert_str_eq(ev[0].actor, env.web->client_id);
                ck_assert_str_eq(ev[0].remote, "192.0.2.7");
                ck_assert_str_eq(ev[0].channel, "http");
                audit_event_array_free(ev, n);
        }
}
END_TEST

START_TEST(test_rotated_secret_misses_cache) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(erase_and_freep) char *fresh = NULL;
        TesseraError te = {};
        OAuthError e;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        ck_assert_int_eq(authenticate(&ctx, env.web->client_id, env.web_secret, &app, &e), 0);
        app = application_record_unref(app);
        ck_assert_int_eq(application_rotate_secret(env.m, env.m->store, &test_admin, env.web, &fresh, &te), 0);
        assert_refused(&ctx, env.web->client_id, env.web_secret);
        ck_assert_int_eq(authenticate(&ctx, env.web->client_id, fresh, &app, &e), 0);
}
END_TEST

START_TEST(test_failures_limited) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        LimiterOptions o = {
                .rules = {
                        [LIMIT_ADDRESS] = { 100, 60 * USEC_PER_SEC },
                        [LIMIT_CLIENT] = { 3, 60 * USEC_PER_SEC },
                },
                .max_entries = 64,
                .ipv6_prefix = 64,
        };
        OAuthError e;

        ck_assert_int_eq(limiter_new(&o, &env.m->limiter), 0);
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        for (int i = 0; i < 3; i++)
                assert_refused(&ctx, env.web->client_id, "wrong");
        /* Over the limit: refused before the secret is even looked at,
         * the right one too. */
        ck_assert_int_eq(authenticate(&ctx, env.web->client_id, env.web_secret, &app, &e), -EBUSY);
        ck_assert_str_eq(e.error, "rate_limited");
        ck_assert_uint_gt(e.retry_after, 0);
        ck_assert_ptr_nonnull(strstr(e.description, "for this client"));
        /* Other clients are not held up. */
        ck_assert_int_eq(authenticate(&ctx, env.svc->client_id, env.svc_secret, &app, &e), 0);
        app = application_record_unref(app);
        /* An unknown client's failures count against nobody's id. */
        for (int i = 0; i < 5; i++)
                assert_refused(&ctx, "no-such-client", "x");

        oauth_test_flush_audit(&env, &ctx);
        {
                size_t n;
                AuditEvent *ev = test_audit_events(env.m->store, "oauth.token", env.web->client_id, &n);
                ck_assert_uint_eq(n, 2);
                ck_assert_ptr_nonnull(strstr(ev[1].details, "rate_limited"));
                audit_event_array_free(ev, n);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("oauth-client");
        TCase *tc = tcase_create("client");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_client_authentication);
        tcase_add_test(tc, test_rotated_secret_misses_cache);
        tcase_add_test(tc, test_failures_limited);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
