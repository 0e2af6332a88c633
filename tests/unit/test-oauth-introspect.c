/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/oauth-revoke.c: introspection tells about live tokens of
 * the tenant only; revocation revokes a client's own tokens only. */

#include "oauth-client.h"
#include "oauth-grant.h"
#include "oauth-revoke.h"
#include "oauth-token.h"
#include "test-oauth-env.h"

static OAuthTestEnv env;

static void setup(void) {
        oauth_test_env_init(&env);
}

static void teardown(void) {
        oauth_test_env_done(&env);
}

static json_t *user_tokens(OAuthContext *ctx) {
        _cleanup_(erase_and_freep) char *code = NULL;
        SsoSession sess;

        oauth_test_session(&env, &sess);
        code = oauth_test_code(&env, env.web, "openid offline_access", OAUTH_TEST_CHALLENGE, &sess);
        return oauth_test_redeem(&env, ctx, code, OAUTH_TEST_VERIFIER);
}

/* "active" of the introspection of token, asked by app in ctx's tenant. */
static bool active(OAuthContext *ctx, const ApplicationRecord *app, const char *token) {
        Principal client = oauth_client_principal(&env.caller, app);
        json_auto_t *j = NULL;
        OAuthError e = {};

        ck_assert_int_eq(oauth_introspect(ctx, &client, app, token, &j, &e), 0);
        ck_assert(json_is_boolean(json_object_get(j, "active")));
        if (json_is_true(json_object_get(j, "active")))
                ck_assert_ptr_nonnull(json_object_get(j, "token_type"));
        else
                ck_assert_uint_eq(json_object_size(j), 1);
        return json_is_true(json_object_get(j, "active"));
}

static void revoke_as(OAuthContext *ctx, const ApplicationRecord *app, const char *token) {
        Principal client = oauth_client_principal(&env.caller, app);
        _cleanup_(erase_and_freep) char *response = NULL;
        OAuthCommit *commit = NULL;
        OAuthError e = {};

        ck_assert_int_eq(oauth_revoke(ctx, &client, app, token, &commit, &e), 0);
        ck_assert_int_eq(oauth_test_commit(&env, commit, &response, &e), 0);
        ck_assert_str_eq(response, "{}");
}

static char *client_token(OAuthContext *ctx, const ApplicationRecord *app) {
        Principal client = oauth_client_principal(&env.caller, app);
        _cleanup_free_ char *response = NULL;
        json_auto_t *j = NULL;
        OAuthError e = {};

        ck_assert_int_eq(oauth_grant_client_credentials(ctx, &client, app, NULL, &response, &e), 0);
        j = json_loads(response, 0, NULL);
        return strdup(oauth_test_str(j, "access_token"));
}

START_TEST(test_introspection) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {}, globex = {};
        _cleanup_free_ char *cc = NULL;
        json_auto_t *tokens = NULL;
        Principal spa = oauth_client_principal(&env.caller, env.spa);
        json_t *j = NULL;
        OAuthError e = {};

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        oauth_test_context(&env, env.globex, NULL, NULL, &globex);
        tokens = user_tokens(&ctx);
        cc = client_token(&ctx, env.svc);

        /* Live tokens of the tenant, whoever asks among its clients. */
        ck_assert(active(&ctx, env.web, oauth_test_str(tokens, "access_token")));
        ck_assert(active(&ctx, env.web, oauth_test_str(tokens, "refresh_token")));
        ck_assert(active(&ctx, env.svc, cc));

        /* Foreign ones: inactive, whatever they are. */
        ck_assert(!active(&globex, env.other, oauth_test_str(tokens, "access_token")));
        ck_assert(!active(&globex, env.other, oauth_test_str(tokens, "refresh_token")));
        ck_assert(!active(&globex, env.other, cc));
        ck_assert(!active(&ctx, env.web, oauth_test_str(tokens, "id_token")));
        ck_assert(!active(&ctx, env.web, "garbage"));
        ck_assert(!active(&ctx, env.web, "a.b.c"));

        /* Public clients may not introspect. */
        ck_assert_int_eq(oauth_introspect(&ctx, &spa, env.spa, cc, &j, &e), -EACCES);
        ck_assert_str_eq(e.error, "invalid_client");
        ck_assert_ptr_null(j);
        e = (OAuthError) {};
        ck_assert_int_eq(oauth_introspect(&ctx, &spa, env.web, NULL, &j, &e), -EINVAL);
        ck_assert_str_eq(e.error, "invalid_request");

        /* While a token of globex is active there, and not here. */
        {
                char *grants[] = { (char *) "client_credentials", NULL };
                ApplicationSpec spec = APPLICATION_SPEC_INIT;
                _cleanup_(application_record_unrefp) ApplicationRecord *gsvc = NULL;
                _cleanup_(erase_and_freep) char *secret = NULL;
                _cleanup_free_ char *g = NULL;
                TesseraError te = {};

                spec.grants = grants;
                ck_assert_int_eq(application_create(env.m, env.m->store, &test_admin, env.globex, "gsvc", &spec, &gsvc,
                                                    &secret, &te),
                                 0);
                g = client_token(&globex, gsvc);
                ck_assert(active(&globex, gsvc, g));
                ck_assert(!active(&ctx, env.svc, g));
        }
}
END_TEST

START_TEST(test_revocation) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_free_ char *cc = NULL;
        json_auto_t *tokens = NULL;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        tokens = user_tokens(&ctx);
        cc = client_token(&ctx, env.svc);

        /* Another client's tokens: "revoked" without effect. */
        revoke_as(&ctx, env.first, oauth_test_str(tokens, "refresh_token"));
        revoke_as(&ctx, env.first, cc);
        ck_assert(active(&ctx, env.web, oauth_test_str(tokens, "refresh_token")));
        ck_assert(active(&ctx, env.svc, cc));
        /* Unknown ones: no error either. */
        revoke_as(&ctx, env.web, "nonsense");

        /* Its own: gone. */
        revoke_as(&ctx, env.web, oauth_test_str(tokens, "refresh_token"));
        ck_assert(!active(&ctx, env.web, oauth_test_str(tokens, "refresh_token")));
        revoke_as(&ctx, env.svc, cc);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, cc, NULL), -EKEYREJECTED);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.revoke", NULL, AUDIT_SUCCESS), 5);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("oauth-introspect");
        TCase *tc = tcase_create("introspect");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_introspection);
        tcase_add_test(tc, test_revocation);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
