/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/oauth-token.c, oauth-claims.c, oauth-client-credentials.c,
 * oauth-userinfo.c, oauth-bearer.c: minting tokens, and what makes an access token valid
 * here and now. */

#include "jwt.h"
#include "oauth-bearer.h"
#include "json-text.h"
#include "oauth-claims.h"
#include "oauth-client.h"
#include "oauth-grant.h"
#include "oauth-token.h"
#include "oauth-userinfo.h"
#include "sso-session.h"
#include "store-oidc.h"
#include "test-oauth-env.h"
#include "time-util.h"

static OAuthTestEnv env;

static void setup(void) {
        oauth_test_env_init(&env);
}

static void teardown(void) {
        oauth_test_env_done(&env);
}

/* A user's tokens from a code flow. */
static json_t *user_tokens(OAuthContext *ctx, const char *scope, SsoSession *ret_session) {
        _cleanup_(erase_and_freep) char *code = NULL;

        oauth_test_session(&env, ret_session);
        code = oauth_test_code(&env, env.web, scope, OAUTH_TEST_CHALLENGE, ret_session);
        return oauth_test_redeem(&env, ctx, code, OAUTH_TEST_VERIFIER);
}

/* A JWT signed with the tenant's own ES256 key, with the header and claims
 * of a real access token but for what the test changes: typ, iss, exp. */
static char *forge_typ(OAuthContext *ctx, const char *typ, const char *iss, int64_t exp) {
        _cleanup_free_ char *text = NULL;
        char *token = NULL;
        KeySet *ks;
        JsonText j;

        ck_assert_int_eq(oauth_cache_keys(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, &ks), 0);
        json_text_begin(&j);
        json_text_str(&j, "iss", iss);
        json_text_str(&j, "sub", env.svc->client_id);
        json_text_str(&j, "aud", ctx->issuer);
        json_text_str(&j, "client_id", env.svc->client_id);
        json_text_str(&j, "scope", "");
        json_text_int(&j, "iat", exp - 600);
        json_text_int(&j, "exp", exp);
        json_text_str(&j, "jti", "forged-jti");
        text = json_text_end(&j);
        ck_assert_int_eq(jwt_sign_text(key_set_active(ks, JWT_ALG_ES256), typ, text, &token), 0);
        return token;
}

static char *forge(OAuthContext *ctx, const char *iss, int64_t exp) {
        return forge_typ(ctx, "at+jwt", iss, exp);
}

static char *client_token(OAuthContext *ctx, const char *scope) {
        Principal client = oauth_client_principal(&env.caller, env.svc);
        json_auto_t *j = NULL;
        char *response = NULL;
        OAuthError e = {};

        ck_assert_int_eq(oauth_grant_client_credentials(ctx, &client, env.svc, scope, &response, &e), 0);
        j = json_loads(response, 0, NULL);
        free(response);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(oauth_test_str(j, "token_type"), "Bearer");
        return strdup(oauth_test_str(j, "access_token"));
}

START_TEST(test_access_token_verification) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {}, globex = {};
        _cleanup_free_ char *cc = NULL, *expired = NULL, *foreign_iss = NULL, *good_forged = NULL, *tampered = NULL,
                            *other_typ = NULL;
        json_auto_t *user = NULL, *claims = NULL;
        int64_t now = now_realtime_usec() / (int64_t) USEC_PER_SEC;
        SsoSession sess;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        oauth_test_context(&env, env.globex, NULL, NULL, &globex);

        /* A client's token and a user's token verify. */
        cc = client_token(&ctx, NULL);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, cc, &claims), 0);
        ck_assert_str_eq(oauth_test_str(claims, "sub"), env.svc->client_id);
        ck_assert_str_eq(oauth_test_str(claims, "aud"), ctx.issuer);
        user = user_tokens(&ctx, "openid profile", &sess);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(user, "access_token"), NULL), 0);

        /* Our forgery with the right claims verifies: the cases below fail
         * for what they change, not for how they were made. */
        good_forged = forge(&ctx, ctx.issuer, now + 600);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, good_forged, NULL), 0);

        /* Expired. */
        expired = forge(&ctx, ctx.issuer, now - 5);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, expired, NULL), -ETIME);
        /* Another issuer (signed with our key all the same). */
        foreign_iss = forge(&ctx, "https://id.example/t/globex", now + 600);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, foreign_iss, NULL), -EKEYREJECTED);
        /* Another tenant's: its keys, its issuer. */
        ck_assert_int_eq(oauth_verify_access_token(&globex, cc, NULL), -EKEYREJECTED);
        /* An ID token is no access token (typ JWT, aud the client); nor is
         * any other JWT of ours, whatever its claims say. */
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(user, "id_token"), NULL), -EKEYREJECTED);
        other_typ = forge_typ(&ctx, "JWT", ctx.issuer, now + 600);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, other_typ, NULL), -EKEYREJECTED);
        /* A changed signature. */
        tampered = strdup(cc);
        tampered[strlen(tampered) - 2] = tampered[strlen(tampered) - 2] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(oauth_verify_access_token(&ctx, tampered, NULL), -EKEYREJECTED);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, "not.a.jwt", NULL), -EKEYREJECTED);

        /* Revoked by its jti: refused at once, though the cache knows its
         * signature. */
        ck_assert_int_eq(store_revoked_token_add(env.m->store, oauth_test_str(claims, "jti"),
                                                 (now + 3600) * (int64_t) USEC_PER_SEC),
                         0);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, cc, NULL), -EKEYREJECTED);

        /* Its session ended: a user's token is refused too. */
        ck_assert_int_eq(sso_session_end(&ctx, &env.caller, &sess), 0);
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(user, "access_token"), NULL), -EKEYREJECTED);
}
END_TEST

START_TEST(test_client_credentials) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        Principal client = oauth_client_principal(&env.caller, env.svc), web = oauth_client_principal(&env.caller, env.web);
        _cleanup_free_ char *token = NULL;
        json_auto_t *claims = NULL;
        char *response = NULL;
        OAuthError e = {};

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        token = client_token(&ctx, "profile");
        ck_assert_int_eq(oauth_verify_access_token(&ctx, token, &claims), 0);
        ck_assert_str_eq(oauth_test_str(claims, "scope"), "profile");
        ck_assert_ptr_null(json_object_get(claims, "sid"));

        /* No user: no openid, no offline_access. */
        ck_assert_int_eq(oauth_grant_client_credentials(&ctx, &client, env.svc, "openid", &response, &e), -EINVAL);
        ck_assert_str_eq(e.error, "invalid_scope");
        e = (OAuthError) {};
        ck_assert_int_eq(oauth_grant_client_credentials(&ctx, &client, env.svc, "admin", &response, &e), -EINVAL);
        ck_assert_str_eq(e.description, "A requested scope is unknown or not allowed.");
        /* A client without the grant. */
        e = (OAuthError) {};
        ck_assert_int_eq(oauth_grant_client_credentials(&ctx, &web, env.web, NULL, &response, &e), -EINVAL);
        ck_assert_str_eq(e.error, "unauthorized_client");
        ck_assert_ptr_null(response);
        oauth_test_flush_audit(&env, &ctx);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.token", "svc", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.token", "svc", AUDIT_DENIED), 2);
}
END_TEST

START_TEST(test_id_token_and_userinfo) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_free_ char *info = NULL, *cc = NULL;
        json_auto_t *tokens = NULL, *id = NULL, *j = NULL;
        char sub[64];
        SsoSession sess;
        OAuthError e = {};

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        tokens = user_tokens(&ctx, "openid email", &sess);
        ck_assert_int_eq(oauth_verify_jwt(&ctx, oauth_test_str(tokens, "id_token"), NULL, &id), 0);
        ck_assert_int_eq(oauth_subject(env.m, env.alice, sub), 0);
        ck_assert_str_eq(oauth_test_str(id, "sub"), sub);
        ck_assert_str_eq(oauth_test_str(id, "aud"), env.web->client_id);
        ck_assert_str_eq(oauth_test_str(id, "sid"), sess.sid);
        ck_assert_str_eq(oauth_test_str(id, "email"), "alice@example.com");
        ck_assert_ptr_null(json_object_get(id, "preferred_username"));

        ck_assert_int_eq(oauth_userinfo(&ctx, &env.caller, oauth_test_str(tokens, "access_token"), &info, &e), 0);
        j = json_loads(info, 0, NULL);
        ck_assert_str_eq(oauth_test_str(j, "sub"), sub);
        ck_assert_str_eq(oauth_test_str(j, "email"), "alice@example.com");

        /* A client's token has no user. */
        cc = client_token(&ctx, NULL);
        ck_assert_int_eq(oauth_userinfo(&ctx, &env.caller, cc, &info, &e), -EACCES);
        ck_assert_str_eq(e.error, "insufficient_scope");

        /* A user who can no longer sign in. */
        {
                _cleanup_(user_record_unrefp) UserRecord *u = NULL;
                ck_assert_int_eq(store_user_get_by_id(env.m->store, env.alice->id, &u), 0);
                u->disabled = true;
                ck_assert_int_eq(store_begin(env.m->store), 0);
                ck_assert_int_eq(store_user_update(env.m->store, u), 0);
                ck_assert_int_eq(store_commit(env.m->store), 0);
        }
        e = (OAuthError) {};
        ck_assert_int_eq(oauth_userinfo(&ctx, &env.caller, oauth_test_str(tokens, "access_token"), &info, &e), -ENOENT);
        ck_assert_str_eq(e.error, "invalid_token");
        ck_assert_str_eq(e.description, "The user of this token can no longer sign in.");
        oauth_test_flush_audit(&env, &ctx);
        ck_assert_uint_eq(test_audit_count(env.m->store, "oauth.userinfo", NULL, AUDIT_DENIED), 2);
}
END_TEST

/* The holder of a bearer token, for the JSON API: the user through the
 * token's SSO session, or the client; looked up again each time, so that
 * a disabled user, an ended session or a client that lost its grant no
 * longer holds anything. */
START_TEST(test_bearer_holder) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {}, globex = {};
        _cleanup_free_ char *cc = NULL, *forged = NULL;
        json_auto_t *user = NULL;
        int64_t now = now_realtime_usec() / (int64_t) USEC_PER_SEC;
        OAuthBearer b = {};
        SsoSession sess;

        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        oauth_test_context(&env, env.globex, NULL, NULL, &globex);

        user = user_tokens(&ctx, "openid profile", &sess);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, oauth_test_str(user, "access_token"), &b), 0);
        ck_assert_ptr_nonnull(b.user);
        ck_assert_ptr_null(b.app);
        ck_assert_int_eq(b.user->id, env.alice->id);
        oauth_bearer_done(&b);
        ck_assert_ptr_null(b.claims);

        cc = client_token(&ctx, NULL);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, cc, &b), 0);
        ck_assert_ptr_null(b.user);
        ck_assert_ptr_nonnull(b.app);
        ck_assert_str_eq(b.app->client_id, env.svc->client_id);
        oauth_bearer_done(&b);

        /* Another tenant holds nothing of acme's. */
        ck_assert_int_eq(oauth_bearer_verify(&globex, cc, &b), -EKEYREJECTED);
        /* Expired, and no token at all. */
        forged = forge(&ctx, ctx.issuer, now - 5);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, forged, &b), -ETIME);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, "x", &b), -EKEYREJECTED);

        /* The user disabled: the token verifies, its holder can't use it,
         * and the error says why. */
        {
                _cleanup_(user_record_unrefp) UserRecord *u = NULL;
                ck_assert_int_eq(store_user_get_by_id(env.m->store, env.alice->id, &u), 0);
                u->disabled = true;
                ck_assert_int_eq(store_begin(env.m->store), 0);
                ck_assert_int_eq(store_user_update(env.m->store, u), 0);
                ck_assert_int_eq(store_commit(env.m->store), 0);
        }
        ck_assert_int_eq(oauth_verify_access_token(&ctx, oauth_test_str(user, "access_token"), NULL), 0);
        ck_assert_int_eq(oauth_bearer_verify(&ctx, oauth_test_str(user, "access_token"), &b), -EKEYREVOKED);
        ck_assert_ptr_null(b.user);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("oauth-token");
        TCase *tc = tcase_create("token");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_access_token_verification);
        tcase_add_test(tc, test_client_credentials);
        tcase_add_test(tc, test_id_token_and_userinfo);
        tcase_add_test(tc, test_bearer_holder);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
