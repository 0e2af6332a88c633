/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/account-sessions.c and user_update_profile(): the signed-in
 * user's own sessions (web, app, host in one list; revoke one, revoke the
 * others, extend within the limits) and profile, through the core, without
 * HTTP. Another user's or another tenant's session is never found. */

#include <inttypes.h>
#include <stdlib.h>

#include "account-sessions.h"
#include "host-session.h"
#include "sso-session.h"
#include "store-oidc.h"
#include "test-oauth-env.h"
#include "time-util.h"
#include "user.h"

static OAuthTestEnv env;
static Principal alice;

static void setup(void) {
        oauth_test_env_init(&env);
        alice = principal_user("http", env.alice, "192.0.2.7");
}

static void teardown(void) {
        oauth_test_env_done(&env);
}

/* A web session of alice and, with offline_access, an app session from it. */
static void sign_in(bool offline, SsoSession *ret) {
        _cleanup_(oauth_context_done) OAuthContext ctx = {};
        _cleanup_(erase_and_freep) char *code = NULL;
        json_t *tokens;

        oauth_test_session(&env, ret);
        if (!offline)
                return;
        oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
        code = oauth_test_code(&env, env.web, "openid offline_access", OAUTH_TEST_CHALLENGE, ret);
        tokens = oauth_test_redeem(&env, &ctx, code, OAUTH_TEST_VERIFIER);
        ck_assert_ptr_nonnull(json_object_get(tokens, "refresh_token"));
        json_decref(tokens);
}

static int64_t open_host_session(const UserRecord *u, const char *tty) {
        HostSessionSpec spec = { .kind = "pam", .service = "sshd", .tty = tty, .remote_host = "192.0.2.9" };
        TesseraError e = {};
        int64_t id = 0;

        ck_assert_int_eq(host_session_open(env.m, env.m->store, &test_admin, u, &spec, &id, &e), 0);
        return id;
}

static size_t list(const char *current_sid, AccountSession **ret) {
        TesseraError e = {};
        size_t n = 0;

        ck_assert_int_eq(account_sessions_list(env.m, env.m->store, &alice, env.alice, current_sid, ret, &n, &e), 0);
        return n;
}

static const AccountSession *find(const AccountSession *l, size_t n, AccountSessionKind kind, size_t nth) {
        for (size_t i = 0; i < n; i++)
                if (l[i].kind == kind && nth-- == 0)
                        return &l[i];
        return NULL;
}

START_TEST(test_list_every_kind) {
        AccountSession *l = NULL;
        const AccountSession *w, *a, *h;
        SsoSession s1, s2;
        char want[ACCOUNT_SESSION_ID_MAX];
        size_t n;

        sign_in(true, &s1);
        sign_in(false, &s2);
        open_host_session(env.alice, "pts/1");

        n = list(s2.sid, &l);
        ck_assert_uint_eq(n, 4);
        /* Web first, newest first: s2 (current), then s1. */
        w = find(l, n, ACCOUNT_SESSION_WEB, 0);
        snprintf(want, sizeof(want), "ses_web_%s", s2.sid);
        ck_assert_str_eq(w->id, want);
        ck_assert(w->current);
        ck_assert_int_eq(w->expires_usec, s2.expires_usec);
        ck_assert_int_ge(w->limit_usec, w->expires_usec);
        ck_assert(!find(l, n, ACCOUNT_SESSION_WEB, 1)->current);

        a = find(l, n, ACCOUNT_SESSION_APP, 0);
        ck_assert_ptr_nonnull(a);
        ck_assert(!a->current);
        snprintf(want, sizeof(want), "ses_web_%s", s1.sid);
        ck_assert_str_eq(a->parent, want);
        ck_assert_str_eq(a->client_id, env.web->client_id);
        ck_assert_str_eq(a->application, "web");
        ck_assert(strncmp(a->id, "ses_app_", 8) == 0);

        h = find(l, n, ACCOUNT_SESSION_HOST, 0);
        ck_assert_str_eq(h->service, "sshd");
        ck_assert_str_eq(h->tty, "pts/1");
        ck_assert_int_eq(h->expires_usec, 0);
        ck_assert(strncmp(h->id, "ses_host_", 9) == 0);
        account_session_array_free(l, n);

        /* Without a current session nothing is current. */
        n = list(NULL, &l);
        for (size_t i = 0; i < n; i++)
                ck_assert(!l[i].current);
        account_session_array_free(l, n);
}
END_TEST

START_TEST(test_only_for_themself) {
        _cleanup_(user_record_unrefp) UserRecord *bob = NULL;
        AccountSession *l = NULL, ext = {};
        TesseraError e = {};
        Principal as_bob, as_client = env.caller;
        size_t n = 0;

        ck_assert_int_eq(test_user_create(env.m->store, env.acme, "bob", 0, "bob@example.com", &bob), 0);
        as_bob = principal_user("http", bob, "192.0.2.8");
        ck_assert_int_eq(account_sessions_list(env.m, env.m->store, &as_bob, env.alice, NULL, &l, &n, &e), -EACCES);
        ck_assert_int_eq(account_sessions_revoke_others(env.m, env.m->store, &as_bob, env.alice, NULL, NULL, &e),
                         -EACCES);
        ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &as_client, env.alice, "ses_web_x", &e),
                         -EACCES);
        ck_assert_int_eq(account_session_extend(env.m, env.m->store, &test_admin, env.alice, "ses_web_x", NULL, &ext,
                                                &e),
                         -EACCES);
        ck_assert_uint_ge(test_audit_count(env.m->store, "me.session-list", "alice@acme", AUDIT_DENIED), 1);
}
END_TEST

START_TEST(test_revoke_one) {
        _cleanup_(user_record_unrefp) UserRecord *bob = NULL;
        AccountSession *l = NULL;
        SsoSession s1, s2, bob_session, after;
        TesseraError e = {};
        char id[ACCOUNT_SESSION_ID_MAX], app_id[ACCOUNT_SESSION_ID_MAX], host_id[ACCOUNT_SESSION_ID_MAX];
        int64_t bob_host;
        size_t n;

        sign_in(true, &s1);
        sign_in(false, &s2);
        n = list(s2.sid, &l);
        snprintf(app_id, sizeof(app_id), "%s", find(l, n, ACCOUNT_SESSION_APP, 0)->id);
        account_session_array_free(l, n);

        /* Another user's sessions, web and host, are not alice's to end. */
        ck_assert_int_eq(test_user_create(env.m->store, env.acme, "bob", 0, "bob@example.com", &bob), 0);
        {
                _cleanup_(oauth_context_done) OAuthContext ctx = {};
                _cleanup_(erase_and_freep) char *cookie = NULL;

                oauth_test_context(&env, env.acme, NULL, NULL, &ctx);
                ck_assert_int_eq(sso_session_start(&ctx, &env.caller, bob, "pwd", &cookie, &bob_session), 0);
        }
        bob_host = open_host_session(bob, "tty3");
        snprintf(id, sizeof(id), "ses_web_%s", bob_session.sid);
        ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &alice, env.alice, id, &e), -ENOENT);
        snprintf(host_id, sizeof(host_id), "ses_host_%" PRIi64, bob_host);
        ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &alice, env.alice, host_id, &e), -ENOENT);
        ck_assert_int_eq(store_sso_session_get_by_id(env.m->store, env.acme->id, bob_session.id, &after), 0);
        ck_assert_int_eq(after.revoked_usec, 0);
        /* Nor is what names nothing. */
        static const char *const bad[] = { "", "ses_web_", "ses_app_", "ses_host_0", "ses_host_x", "nonsense" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &alice, env.alice, bad[i], &e), -ENOENT);

        /* Alice's first web session: it and its refresh family end. */
        snprintf(id, sizeof(id), "ses_web_%s", s1.sid);
        ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &alice, env.alice, id, &e), 0);
        ck_assert_int_eq(store_sso_session_get_by_id(env.m->store, env.acme->id, s1.id, &after), 0);
        ck_assert_int_gt(after.revoked_usec, 0);
        n = list(s2.sid, &l);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(l[0].id, (snprintf(id, sizeof(id), "ses_web_%s", s2.sid), id));
        account_session_array_free(l, n);
        ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &alice, env.alice, app_id, &e), -ENOENT);
        ck_assert_uint_eq(test_audit_count(env.m->store, "me.session-revoke", "alice@acme", AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_revoke_host_session) {
        AccountSession *l = NULL;
        TesseraError e = {};
        char id[ACCOUNT_SESSION_ID_MAX];
        int64_t host;
        size_t n;

        host = open_host_session(env.alice, "pts/4");
        snprintf(id, sizeof(id), "ses_host_%" PRIi64, host);
        ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &alice, env.alice, id, &e), 0);
        n = list(NULL, &l);
        ck_assert_uint_eq(n, 0);
        account_session_array_free(l, n);
        /* Closed: a second time it is not found. */
        ck_assert_int_eq(account_session_revoke(env.m, env.m->store, &alice, env.alice, id, &e), -ENOENT);
}
END_TEST

START_TEST(test_revoke_others) {
        AccountSession *l = NULL;
        SsoSession s1, s2, s3, after;
        TesseraError e = {};
        unsigned ended = 0;
        size_t n;

        sign_in(true, &s1);
        sign_in(true, &s2);       /* current, with its own refresh family */
        sign_in(false, &s3);
        open_host_session(env.alice, "pts/2");
        ck_assert_uint_eq(list(s2.sid, &l), 6);
        account_session_array_free(l, 6);

        ck_assert_int_eq(account_sessions_revoke_others(env.m, env.m->store, &alice, env.alice, s2.sid, &ended, &e),
                         0);
        /* s1 and its family, s3, the host login. */
        ck_assert_uint_eq(ended, 4);
        n = list(s2.sid, &l);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(l[0].kind, ACCOUNT_SESSION_WEB);
        ck_assert(l[0].current);
        ck_assert_int_eq(l[1].kind, ACCOUNT_SESSION_APP);
        ck_assert(l[1].current);     /* the current session's application stays */
        account_session_array_free(l, n);
        ck_assert_int_eq(store_sso_session_get_by_id(env.m->store, env.acme->id, s3.id, &after), 0);
        ck_assert_int_gt(after.revoked_usec, 0);
        ck_assert_uint_eq(test_audit_count(env.m->store, "me.session-revoke-others", "alice@acme", AUDIT_SUCCESS),
                          1);

        /* Without a current session, everything ends. */
        ck_assert_int_eq(account_sessions_revoke_others(env.m, env.m->store, &alice, env.alice, NULL, &ended, &e), 0);
        ck_assert_uint_eq(ended, 2);
        ck_assert_uint_eq(list(NULL, &l), 0);
        free(l);
}
END_TEST

START_TEST(test_extend) {
        AccountSession *l = NULL, got = {};
        SsoSession s1;
        TesseraError e = {};
        char id[ACCOUNT_SESSION_ID_MAX], app_id[ACCOUNT_SESSION_ID_MAX], host_id[ACCOUNT_SESSION_ID_MAX];
        int64_t app_expiry;
        size_t n;

        /* Up to the lifetime from now, within the maximum from the sign-in. */
        env.m->config->oidc_session_lifetime = 3600;
        env.m->config->oidc_session_max_lifetime = 7200;
        sign_in(true, &s1);
        snprintf(host_id, sizeof(host_id), "ses_host_%" PRIi64, open_host_session(env.alice, "pts/5"));
        n = list(s1.sid, &l);
        snprintf(app_id, sizeof(app_id), "%s", find(l, n, ACCOUNT_SESSION_APP, 0)->id);
        app_expiry = find(l, n, ACCOUNT_SESSION_APP, 0)->expires_usec;
        account_session_array_free(l, n);
        snprintf(id, sizeof(id), "ses_web_%s", s1.sid);

        ck_assert_int_eq(account_session_extend(env.m, env.m->store, &alice, env.alice, id, s1.sid, &got, &e), 0);
        ck_assert_int_gt(got.expires_usec, s1.expires_usec);
        ck_assert_int_le(got.expires_usec, s1.auth_time_usec + (int64_t) (7200 * USEC_PER_SEC));
        ck_assert_int_eq(got.limit_usec, s1.auth_time_usec + (int64_t) (7200 * USEC_PER_SEC));
        ck_assert(got.current);
        account_session_done(&got);

        /* At its limit: refused, nothing changed. */
        env.m->config->oidc_session_max_lifetime = 60;
        env.m->config->oidc_session_lifetime = 60;
        ck_assert_int_eq(account_session_extend(env.m, env.m->store, &alice, env.alice, id, s1.sid, &got, &e),
                         -ERANGE);
        ck_assert_ptr_nonnull(strstr(e.message, "limit"));

        /* An app session: its idle expiry, within its absolute one. */
        e = (TesseraError) {};
        ck_assert_int_eq(account_session_extend(env.m, env.m->store, &alice, env.alice, app_id, s1.sid, &got, &e),
                         0);
        ck_assert_int_ge(got.expires_usec, app_expiry);
        ck_assert_int_le(got.expires_usec, got.limit_usec);
        account_session_done(&got);

        /* A host login has no expiry; a made-up id is not found. */
        e = (TesseraError) {};
        ck_assert_int_eq(account_session_extend(env.m, env.m->store, &alice, env.alice, host_id, NULL, &got, &e),
                         -EOPNOTSUPP);
        e = (TesseraError) {};
        ck_assert_int_eq(account_session_extend(env.m, env.m->store, &alice, env.alice, "ses_web_0", NULL, &got, &e),
                         -ENOENT);
        ck_assert_uint_eq(test_audit_count(env.m->store, "me.session-extend", "alice@acme", AUDIT_SUCCESS), 2);
}
END_TEST

START_TEST(test_update_profile) {
        _cleanup_(user_record_unrefp) UserRecord *verified = NULL, *named = NULL, *moved = NULL, *bob = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};
        Principal as_bob;

        spec.email_verified = 1;
        ck_assert_int_eq(user_update(env.m, env.m->store, &test_admin, env.alice, &spec, &e), 0);
        ck_assert_int_eq(store_user_get_by_id(env.m->store, env.alice->id, &verified), 0);
        ck_assert(verified->email_verified);

        /* The name alone keeps the address verified. */
        ck_assert_int_eq(user_update_profile(env.m, env.m->store, &alice, verified, "Alice A.", NULL, &named, &e), 0);
        ck_assert_str_eq(named->real_name, "Alice A.");
        ck_assert(named->email_verified);
        /* A new address is not verified. */
        ck_assert_int_eq(user_update_profile(env.m, env.m->store, &alice, named, NULL, "alice@new.example", &moved,
                                             &e),
                         0);
        ck_assert_str_eq(moved->email, "alice@new.example");
        ck_assert(!moved->email_verified);
        ck_assert_str_eq(moved->real_name, "Alice A.");

        /* Invalid values, another user, another user's address. */
        ck_assert_int_eq(user_update_profile(env.m, env.m->store, &alice, moved, NULL, "no address", NULL, &e),
                         -EINVAL);
        ck_assert_int_eq(user_update_profile(env.m, env.m->store, &alice, moved, "a\nb", NULL, NULL, &e), -EINVAL);
        ck_assert_int_eq(test_user_create(env.m->store, env.acme, "bob", 0, "bob@example.com", &bob), 0);
        as_bob = principal_user("http", bob, "192.0.2.8");
        e = (TesseraError) {};      /* an error once set is kept: the first one says what went wrong */
        ck_assert_int_eq(user_update_profile(env.m, env.m->store, &as_bob, moved, "Mallory", NULL, NULL, &e),
                         -EACCES);
        ck_assert_int_eq(user_update_profile(env.m, env.m->store, &alice, moved, NULL, "bob@example.com", NULL, &e),
                         -EEXIST);
        ck_assert_uint_eq(test_audit_count(env.m->store, "me.update", "alice@acme", AUDIT_SUCCESS), 2);
        ck_assert_uint_ge(test_audit_count(env.m->store, "me.update", "alice@acme", AUDIT_DENIED), 1);
}
END_TEST

int main(void) {
        Suite *s = suite_create("account-sessions");
        TCase *tc = tcase_create("me");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_list_every_kind);
        tcase_add_test(tc, test_only_for_themself);
        tcase_add_test(tc, test_revoke_one);
        tcase_add_test(tc, test_revoke_host_session);
        tcase_add_test(tc, test_revoke_others);
        tcase_add_test(tc, test_extend);
        tcase_add_test(tc, test_update_profile);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
