/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/oauth-refresh.c: refresh tokens rotate on each use; a spent
 * token used again revokes its family and ends its SSO session, unless it
 * comes within the grace period a deployment set; the scope may narrow,
 * never widen. */

#include "oauth-client.h"
#include "oauth-refresh.h"
#include "oauth-token.h"
#include "store-oidc.h"
#include "test-oauth-env.h"

static OAuthTestEnv env;

static void setup(void) {
        oauth_test_env_init(&env);
}

static void teardown(void) {
        oauth_test_env_done(&env);
}

/* The first tokens of a code flow with offline_access, and its session. */
static json_t *first_tokens(OAuthContext *ctx, const char *scope, SsoSession *ret_session) {
        _cleanup_(erase_and_freep) char *code = NULL;

        oauth_test_session(&env, ret_session);
        code = oauth_test_code(&env, env.web, scope, OAUTH_TEST_CHALLENGE, ret_session);
        return oauth_test_redeem(&env, ctx, code, OAUTH_TEST_VERIFIER);
}

/* Uses a refresh token as app; the new token response, parsed, or NULL
 * with the refusal in e (and the result in *ret_r). */
static json_t *refresh_as(OAuthContext *ctx, const ApplicationRecord *app, const char *token, const char *scope,
                          int *ret_r, OAuthError *e) {
        _cleanup_(erase_and_freep) char *response = NULL;
        Principal client = oauth_client_principal(&env.caller, app);
        OAuthCommit *commit = NULL;
        int r;

        r = oauth_grant_refresh_token(ctx, &client, app, token, scope, &commit, e);
        if (r >= 0)
                r = oauth_test_commit(&env, commit, &response, e);
        if (ret_r)
                *ret_r = r;
        return r >= 0 ? json_loads(response, 0, NULL) : NULL;
}

static json_t *refresh(OAuthContext *ctx, const char *token, const char *scope, int *ret_r, OAuthError *e) {
        return refresh_as(ctx, env.web, token, scope, ret_r, e);
}

static bool session_revoked(const SsoSession *s) {
        SsoSession now;

        ck_assert_int_eq(store_sso_session_get_by_id(env.m->store, env.acme->id, s->id, &now), 0);
        return now.revoked_usec > 0;
}

START_TEST(test_rotation_and_reuse) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        json_auto_t *first = NULL, *second = NULL, *third = NULL, *reused = NULL, *after = NULL;
        SsoSession sess;
        OAuthError e = {};
        int r;

        env.m->config->oidc_refresh_reuse_grace = 0;
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        first = first_tokens(&ctx, "openid offline_access", &sess);

        /* Each use gives a new refresh token (and new access tokens). */
        second = refresh(&ctx, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_int_eq(r, 0);
        ck_assert_str_ne(oauth_test_str(second, "refresh_token"), oauth_test_str(first, "refresh_token"));
        ck_assert_str_eq(oauth_test_str(second, "scope"), "openid offline_access");
        ck_assert_ptr_nonnull(json_object_get(second, "id_token"));
        third = refresh(&ctx, oauth_test_str(second, "refresh_token"), NULL, &r, &e);
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(third, "access_token"), NULL), 0);
        ck_assert(!session_revoked(&sess));

        /* The first token, spent, comes back: somebody else has it. */
        reused = refresh(&ctx, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_ptr_null(reused);
        ck_assert_int_eq(r, -EACCES);
        ck_assert_str_eq(e.error, "invalid_grant");
        ck_assert_str_eq(e.description,
                         "The refresh token was used already; its whole lineage and its session are revoked.");

        /* The whole family goes, the newest token too, and the session with
         * its access tokens. */
        ck_assert(session_revoked(&sess));
        e = (OAuthError) {};
        after = refresh(&ctx, oauth_test_str(third, "refresh_token"), NULL, &r, &e);
        ck_assert_ptr_null(after);
        ck_assert_str_eq(e.description, "The refresh token has been revoked.");
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(third, "access_token"), NULL), -EKEYREJECTED);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.refresh-reuse", "alice", AUDIT_DENIED), 1);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.refresh", "alice", AUDIT_SUCCESS), 2);
}
END_TEST

START_TEST(test_grace) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        json_auto_t *first = NULL, *second = NULL, *sibling = NULL;
        SsoSession sess;
        OAuthError e = {};
        int r;

        /* A client's own concurrent refreshes, within the grace period a
         * deployment opted into: the second gets a sibling. */
        env.m->config->oidc_refresh_reuse_grace = 60;
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        first = first_tokens(&ctx, "openid offline_access", &sess);
        second = refresh(&ctx, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_int_eq(r, 0);
        sibling = refresh(&ctx, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(sibling);
        ck_assert(!session_revoked(&sess));
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.refresh-reuse", NULL, -1), 0);
        {
                size_t n;
                AuditEvent *ev = test_audit_events(env.m->store, "oauth.refresh", "alice", &n);
                ck_assert_uint_eq(n, 2);
                ck_assert_ptr_nonnull(strstr(ev[1].details, "\"within_grace\":true"));
                audit_event_array_free(ev, n);
        }
        /* Both tokens of the family work on. */
        json_decref(refresh(&ctx, oauth_test_str(second, "refresh_token"), NULL, &r, &e));
        ck_assert_int_eq(r, 0);
        json_decref(refresh(&ctx, oauth_test_str(sibling, "refresh_token"), NULL, &r, &e));
        ck_assert_int_eq(r, 0);
}
END_TEST

START_TEST(test_no_grace) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        json_auto_t *first = NULL, *second = NULL, *again = NULL;
        SsoSession sess;
        OAuthError e = {};
        int r;

        /* The same twice in a row, without a grace period: a reuse. */
        env.m->config->oidc_refresh_reuse_grace = 0;
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        first = first_tokens(&ctx, "openid offline_access", &sess);
        second = refresh(&ctx, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_int_eq(r, 0);
        again = refresh(&ctx, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_ptr_null(again);
        ck_assert(session_revoked(&sess));
}
END_TEST

START_TEST(test_scope_narrows_only) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        json_auto_t *first = NULL, *narrow = NULL, *wide = NULL, *unknown = NULL;
        SsoSession sess;
        OAuthError e = {};
        int r;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        first = first_tokens(&ctx, "openid profile offline_access", &sess);

        /* Wider than granted (email), or unknown: refused, token not spent. */
        wide = refresh(&ctx, oauth_test_str(first, "refresh_token"), "openid email", &r, &e);
        ck_assert_ptr_null(wide);
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_str_eq(e.error, "invalid_scope");
        ck_assert_str_eq(e.description, "The scope may only narrow what was granted.");
        e = (OAuthError) {};
        unknown = refresh(&ctx, oauth_test_str(first, "refresh_token"), "openid admin", &r, &e);
        ck_assert_ptr_null(unknown);
        ck_assert_str_eq(e.error, "invalid_scope");

        /* Narrower: granted, in our order. */
        e = (OAuthError) {};
        narrow = refresh(&ctx, oauth_test_str(first, "refresh_token"), "offline_access openid", &r, &e);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(oauth_test_str(narrow, "scope"), "openid offline_access");
}
END_TEST

START_TEST(test_other_client_and_tenant) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {}, globex = {};
        json_auto_t *first = NULL, *stolen = NULL, *foreign = NULL;
        SsoSession sess;
        OAuthError e = {};
        int r;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        oauth_test_context(&env, env.globex, NULL, NULL, &globex);
        first = first_tokens(&ctx, "openid offline_access", &sess);

        stolen = refresh_as(&ctx, env.first, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_ptr_null(stolen);
        ck_assert_str_eq(e.description, "The refresh token was issued to another client.");
        e = (OAuthError) {};
        foreign = refresh_as(&globex, env.other, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_ptr_null(foreign);
        ck_assert_str_eq(e.description, "The refresh token is not valid.");
        /* A client without the grant. */
        e = (OAuthError) {};
        ck_assert_ptr_null(refresh_as(&ctx, env.svc, oauth_test_str(first, "refresh_token"), NULL, &r, &e));
        ck_assert_str_eq(e.error, "unauthorized_client");
        ck_assert(!session_revoked(&sess));
}
END_TEST

/* The tenant's own lifetimes (tenant-settings.h), not the site's: its SSO
 * session, and a refresh token's idle and absolute ends, at the first
 * token and at each rotation (which keeps the absolute end). */
START_TEST(test_tenant_lifetimes) {
        const TenantSettings own = {
                .set = TENANT_SETTING_BIT(TENANT_SETTING_SESSION_LIFETIME) |
                       TENANT_SETTING_BIT(TENANT_SETTING_REFRESH_IDLE_LIFETIME) |
                       TENANT_SETTING_BIT(TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME),
                .session_lifetime = 600,
                .refresh_idle_lifetime = 900,
                .refresh_absolute_lifetime = 3600,
        };
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        json_auto_t *first = NULL, *second = NULL;
        _cleanup_(refresh_token_done) RefreshToken t1 = {}, t2 = {};
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t acme = env.acme->id;
        SsoSession sess;
        OAuthError e = {};
        int r;

        ck_assert_uint_gt(env.m->config->oidc_session_lifetime, 600);
        ck_assert_int_eq(store_tenant_settings_put(env.m->store, acme, &own), 0);
        env.acme = tenant_record_unref(env.acme);
        ck_assert_int_eq(store_tenant_get_by_id(env.m->store, acme, &env.acme), 0);
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);

        first = first_tokens(&ctx, "openid offline_access", &sess);
        ck_assert_int_eq(sess.expires_usec - sess.auth_time_usec, 600 * (int64_t) USEC_PER_SEC);
        token_digest(oauth_test_str(first, "refresh_token"), digest);
        ck_assert_int_eq(store_refresh_get(env.m->store, acme, digest, &t1), 0);
        ck_assert_int_eq(t1.idle_expires_usec - t1.created_usec, 900 * (int64_t) USEC_PER_SEC);
        ck_assert_int_eq(t1.absolute_expires_usec - t1.created_usec, 3600 * (int64_t) USEC_PER_SEC);

        second = refresh(&ctx, oauth_test_str(first, "refresh_token"), NULL, &r, &e);
        ck_assert_int_eq(r, 0);
        token_digest(oauth_test_str(second, "refresh_token"), digest);
        ck_assert_int_eq(store_refresh_get(env.m->store, acme, digest, &t2), 0);
        ck_assert_int_eq(t2.idle_expires_usec - t2.created_usec, 900 * (int64_t) USEC_PER_SEC);
        ck_assert_int_eq(t2.absolute_expires_usec, t1.absolute_expires_usec);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("oauth-refresh");
        TCase *tc = tcase_create("refresh");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_rotation_and_reuse);
        tcase_add_test(tc, test_grace);
        tcase_add_test(tc, test_no_grace);
        tcase_add_test(tc, test_scope_narrows_only);
        tcase_add_test(tc, test_other_client_and_tenant);
        tcase_add_test(tc, test_tenant_lifetimes);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
