/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-oauth-env.h"

#include <stdlib.h>

#include "oauth-client.h"
#include "oauth-consent.h"
#include "oauth-grant.h"
#include "oauth-code.h"
#include "sso-session.h"
#include "store-oidc.h"

static ApplicationRecord *make_app(OAuthTestEnv *env, const TenantRecord *t, const char *name, bool public_client,
                                   bool first_party, bool pkce_optional, const char *grant, char **ret_secret) {
        char *uris[] = { (char *) OAUTH_TEST_REDIRECT, NULL };
        char *code_grants[] = { (char *) "authorization_code", (char *) "refresh_token", NULL };
        char *cc_grants[] = { (char *) "client_credentials", NULL };
        char *logout_uris[] = { (char *) "https://app.example/bye", NULL };
        ApplicationSpec spec = APPLICATION_SPEC_INIT;
        ApplicationRecord *app = NULL;
        char *secret = NULL;
        TesseraError e = {};

        spec.redirect_uris = uris;
        spec.post_logout_redirect_uris = logout_uris;
        spec.grants = grant ? cc_grants : code_grants;
        spec.public_client = public_client;
        spec.first_party = first_party;
        spec.pkce_optional = pkce_optional;
        spec.signing_alg = JWT_ALG_ES256;
        ck_assert_int_eq(application_create(env->m, env->m->store, &test_admin, t, name, &spec, &app, &secret, &e), 0);
        if (ret_secret)
                *ret_secret = secret;
        else
                erase_and_free(secret);
        return app;
}

void oauth_test_env_init(OAuthTestEnv *env) {
        static const uint8_t key[SECRET_KEY_SIZE] = { 42, 1, 2, 3 };
        Config *c = NULL;
        IdRange range;

        *env = (OAuthTestEnv) {};
        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert_int_eq(manager_new(c, &env->m), 0);
        ck_assert_int_eq(secret_key_from_bytes(key, &env->m->secret_key), 0);
        env->dir = test_mkdtemp();
        test_manager_use_dir(env->m, env->dir);
        ck_assert_int_eq(batch_writer_new(env->m->store_pool, &env->writer), 0);

        manager_id_range(env->m, &range);
        env->acme = test_tenant(env->m->store, "acme", &range);
        env->globex = test_tenant(env->m->store, "globex", &range);
        ck_assert_int_eq(test_user_create(env->m->store, env->acme, "alice", 0, "alice@example.com", &env->alice), 0);

        env->web = make_app(env, env->acme, "web", false, false, false, NULL, &env->web_secret);
        env->spa = make_app(env, env->acme, "spa", true, false, false, NULL, NULL);
        env->svc = make_app(env, env->acme, "svc", false, false, false, "client_credentials", &env->svc_secret);
        env->first = make_app(env, env->acme, "first", false, true, false, NULL, &env->first_secret);
        env->other = make_app(env, env->globex, "other", false, false, false, NULL, &env->other_secret);
        env->legacy = make_app(env, env->acme, "legacy", false, false, true, NULL, &env->legacy_secret);
        env->caller = principal_anonymous("http", "192.0.2.7");
}

void oauth_test_env_done(OAuthTestEnv *env) {
        oauth_cache_done(&env->cache);
        env->writer = batch_writer_free(env->writer);
        tenant_record_unref(env->acme);
        tenant_record_unref(env->globex);
        user_record_unref(env->alice);
        application_record_unref(env->web);
        application_record_unref(env->spa);
        application_record_unref(env->svc);
        application_record_unref(env->first);
        application_record_unref(env->other);
        application_record_unref(env->legacy);
        erase_and_free(env->web_secret);
        erase_and_free(env->svc_secret);
        erase_and_free(env->first_secret);
        erase_and_free(env->other_secret);
        erase_and_free(env->legacy_secret);
        env->m = manager_free(env->m);
        test_rm_rf(env->dir);
        free(env->dir);
        *env = (OAuthTestEnv) {};
}

void oauth_test_context(OAuthTestEnv *env, const TenantRecord *t, Store *s, OAuthCache *c, OAuthContext *ret) {
        *ret = (OAuthContext) {
                .manager = env->m,
                .store = s ?: env->m->store,
                .cache = c ?: &env->cache,
                .tenant = tenant_record_ref((TenantRecord *) t),
                .log_id = "test",
        };
        ck_assert_int_ge(asprintf(&ret->issuer, "https://id.example/t/%s", t->slug), 0);
}

void oauth_test_session(OAuthTestEnv *env, SsoSession *ret) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(erase_and_freep) char *cookie = NULL;
        SsoSession found;

        oauth_test_context(env, env->acme, NULL, NULL, &ctx);
        ck_assert_int_eq(sso_session_start(&ctx, &env->caller, env->alice, "pwd", &cookie, ret), 0);
        ck_assert_int_eq(sso_session_find(&ctx, cookie, &found), 0);
        ck_assert_int_eq(found.id, ret->id);
}

char *oauth_test_code(OAuthTestEnv *env, const ApplicationRecord *app, const char *scope, const char *challenge,
                      const SsoSession *session) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(oauth_authz_request_done) OAuthAuthzRequest a = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *checked = NULL;
        OAuthAuthzParams p = {
                .client_id = app->client_id,
                .redirect_uri = OAUTH_TEST_REDIRECT,
                .response_type = "code",
                .scope = scope,
                .code_challenge = challenge,
                .code_challenge_method = challenge ? "S256" : NULL,
                .state = "xyz",
        };
        OAuthAuthzStep step;
        OAuthError e = {};
        char *code = NULL;

        oauth_test_context(env, env->acme, NULL, NULL, &ctx);
        ck_assert_int_eq(oauth_authz_check(&ctx, &env->caller, &p, &a, &checked, &e), 0);
        ck_assert_int_eq(checked->id, app->id);
        ck_assert_int_eq(oauth_consent_grant(&ctx, app, env->alice->id, a.scope), 0);
        ck_assert_int_eq(oauth_authz_continue(&ctx, &env->caller, &a, checked, session, false, &step, &code, &e), 0);
        ck_assert_int_eq(step, OAUTH_AUTHZ_CODE);
        ck_assert_ptr_nonnull(code);
        return code;
}

int oauth_test_commit(OAuthTestEnv *env, OAuthCommit *c, char **ret_response, OAuthError *e) {
        _cleanup_(oauth_commit_freep) OAuthCommit *commit = c;
        _cleanup_(erase_and_freep) char *response = NULL;
        int r;

        r = batch_writer_run(env->writer, oauth_commit_write, commit);
        r = oauth_commit_finish(commit, r, &response, e);
        if (r >= 0 && ret_response)
                *ret_response = TAKE_PTR(response);
        return r;
}

static int write_audit(Store *s, void *userdata) {
        return pending_audit_write(s, userdata);
}

void oauth_test_flush_audit(OAuthTestEnv *env, OAuthContext *ctx) {
        ck_assert_int_eq(batch_writer_run(env->writer, write_audit, &ctx->audit), 0);
        pending_audit_done(&ctx->audit);
}

json_t *oauth_test_redeem(OAuthTestEnv *env, OAuthContext *ctx, const char *code, const char *verifier) {
        _cleanup_(erase_and_freep) char *response = NULL;
        Principal client = oauth_client_principal(&env->caller, env->web);
        OAuthCommit *commit = NULL;
        OAuthError e = {};
        json_t *j;

        ck_assert_int_eq(oauth_grant_authorization_code(ctx, &client, env->web, code, OAUTH_TEST_REDIRECT, verifier,
                                                        &commit, &e),
                         0);
        ck_assert_int_eq(oauth_test_commit(env, commit, &response, &e), 0);
        j = json_loads(response, 0, NULL);
        ck_assert_ptr_nonnull(j);
        return j;
}

const char *oauth_test_str(json_t *j, const char *key) {
        const char *s = json_string_value(json_object_get(j, key));

        ck_assert_msg(s, "no string member %s", key);
        return s;
}
