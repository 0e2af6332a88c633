/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/auth.c: the decisions of the authentication core: passwords,
 * unknown users, account states, lockout, TOTP and backup codes, the
 * audit trail. */

#include <liboath/oath.h>
#include <stdlib.h>

#include "test-auth-util.h"
#include "auth-lockout.h"
#include "auth-totp.h"
#include "password.h"
#include "time-util.h"
#include "totp.h"
#include "tenant.h"
#include "user.h"

static Manager *m;

static void setup(void) {
        m = auth_test_manager_new();
}

static void teardown(void) {
        m = manager_free(m);
}

/* Enrolls u in TOTP; returns the seed (20 bytes) and the backup codes. */
static void enroll(const UserRecord *u, uint8_t seed[static TOTP_SECRET_SIZE], char ***ret_codes) {
        _cleanup_(erase_and_freep) char *b32 = NULL, *uri = NULL;
        char code[TOTP_DIGITS + 1], *decoded = NULL;
        size_t n = 0;
        char **codes = NULL;
        TesseraError e = {};

        ck_assert_int_eq(auth_totp_begin(m, m->store, &auth_test_root, u, &b32, &uri, &e), 0);
        ck_assert_ptr_nonnull(strstr(uri, b32));
        /* Decode the seed as an app would. */
        ck_assert_int_eq(oath_base32_decode(b32, strlen(b32), &decoded, &n), 0);
        ck_assert_uint_eq(n, TOTP_SECRET_SIZE);
        memcpy(seed, decoded, n);
        free(decoded);

        /* Confirm with the code of the previous step, so that tests can
         * log in with the current one. */
        ck_assert_int_eq(totp_code_at(seed, TOTP_SECRET_SIZE, totp_step_at(now_realtime_usec()) - 1, code), 0);
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &auth_test_root, u, code, &codes, &e), 0);
        ck_assert_uint_eq(strv_length(codes), BACKUP_CODE_COUNT);
        if (ret_codes)
                *ret_codes = codes;
        else
                strv_free_erase(codes);
}

/* A well-formed code that matches none of the steps in the window. */
static void wrong_code(const uint8_t *seed, char out[static TOTP_DIGITS + 1]) {
        for (unsigned i = 0;; i++) {
                char tmp[16];
                bool taken = false;
                snprintf(tmp, sizeof(tmp), "%06u", i % 1000000u);
                memcpy(out, tmp, TOTP_DIGITS + 1);
                for (int64_t o = -2; o <= 2; o++) {
                        char c[TOTP_DIGITS + 1];
                        ck_assert_int_eq(totp_code_at(seed, TOTP_SECRET_SIZE,
                                                      totp_step_at(now_realtime_usec()) + o, c), 0);
                        taken = taken || streq(c, out);
                }
                if (!taken)
                        return;
        }
}

static void code_now(const uint8_t *seed, int64_t offset, char code[static TOTP_DIGITS + 1]) {
        ck_assert_int_eq(totp_code_at(seed, TOTP_SECRET_SIZE, totp_step_at(now_realtime_usec()) + offset,
                                      code), 0);
}

START_TEST(test_password) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "correct horse");
        AuthResult r;

        ck_assert_int_eq(auth_test_login(m, u, "correct horse", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_str_eq(r.factor, "password");
        ck_assert_int_eq(r.user_id, u->id);
        ck_assert(!r.rehash);
        ck_assert_int_eq(auth_test_login(m, u, "correct horse!", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(r.locked_until_usec, 0);

        /* No usable password (a failed conversation): a failure, counted and recorded. */
        ck_assert_int_eq(auth_test_login(m, u, NULL, NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert(auth_test_audit_contains(m, "no usable password given"));
        AuthState st;
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        ck_assert_uint_eq(st.failed_count, 3);

        ck_assert_uint_eq(auth_test_audit_count(m, "auth.login", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.login", AUDIT_FAILURE), 3);
        /* The context is recorded; the secrets are not. */
        ck_assert(auth_test_audit_contains(m, "\"service\":\"test\""));
        ck_assert(auth_test_audit_contains(m, "\"tty\":\"pts/1\""));
        ck_assert(auth_test_audit_contains(m, "\"reason\":\"wrong password\""));
        ck_assert(auth_test_audit_contains(m, "alice@acme"));
        ck_assert(!auth_test_audit_contains(m, "correct horse"));
}
END_TEST

START_TEST(test_unknown_and_no_password) {
        _cleanup_(user_record_unrefp) UserRecord *nopw = auth_test_user(m, "nopw", NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *found = NULL;
        AuthResult r;

        ck_assert_int_eq(auth_test_login(m, NULL, "anything", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_USER_UNKNOWN);
        ck_assert_int_eq(r.user_id, 0);
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.login", AUDIT_INVALID), 1);
        ck_assert(auth_test_audit_contains(m, "unknown user"));

        /* No password set: never matches, not even an empty one. */
        ck_assert_int_eq(auth_test_login(m, nopw, "", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, nopw, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert(auth_test_audit_contains(m, "no password set"));

        /* A locked shadow-style hash ("!...") matches nothing either. */
        u = auth_test_user(m, "bang", "pw");
        UserRecord changed = *u;
        changed.password_hash = (char *) "!$y$j75$abc$def";
        ck_assert_int_eq(store_user_update(m->store, &changed), 0);
        found = auth_test_reload(m, u);
        ck_assert_int_eq(auth_test_login(m, found, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
}
END_TEST

START_TEST(test_find_user) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *f = NULL;

        ck_assert_int_eq(auth_find_user(m, m->store, "alice", &f), 0);
        ck_assert_int_eq(f->id, u->id);
        f = user_record_unref(f);
        ck_assert_int_eq(auth_find_user(m, m->store, "alice@acme", &f), 0);
        f = user_record_unref(f);
        ck_assert_int_eq(auth_find_user(m, m->store, "bob", &f), -ENOENT);
        ck_assert_int_eq(auth_find_user(m, m->store, "root", &f), -ENOENT);
        /* Tenants the host doesn't show are not ours here. */
        ck_assert_int_eq(auth_find_user(m, m->store, "alice@globex", &f), -ENOENT);
        ck_assert_int_eq(auth_find_user(m, m->store, "Alice", &f), -ENOENT);
        ck_assert_int_eq(auth_find_user(m, m->store, "", &f), -ENOENT);
        ck_assert_int_eq(auth_find_user(m, m->store, "a:b", &f), -ENOENT);
        ck_assert_ptr_null(f);
}
END_TEST

START_TEST(test_account_states) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *cur = NULL;
        TesseraError e = {};
        AuthResult r;
        char msg[256];

        ck_assert_int_eq(auth_account_check(m, m->store, &auth_test_root, NULL, u, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_SUCCESS);

        ck_assert_int_eq(user_set_disabled(m, m->store, &auth_test_root, u, true, &e), 0);
        cur = auth_test_reload(m, u);
        /* The right password and a wrong one get the same answer: nothing
         * is learnt about the password of an account that can't be used,
         * and nothing is counted. */
        ck_assert_int_eq(auth_test_login(m, cur, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_ACCOUNT_DISABLED);
        ck_assert_int_eq(auth_test_login(m, cur, "wrong", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_ACCOUNT_DISABLED);
        ck_assert_int_eq(auth_account_check(m, m->store, &auth_test_root, NULL, cur, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_ACCOUNT_DISABLED);
        auth_result_message(&r, 0, msg, sizeof(msg));
        ck_assert_str_eq(msg, "The account is disabled; ask an administrator.");
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.login", AUDIT_DENIED), 2);
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.account", AUDIT_DENIED), 1);

        ck_assert_int_eq(user_set_disabled(m, m->store, &auth_test_root, cur, false, &e), 0);
        cur = user_record_unref(cur);
        cur = auth_test_reload(m, u);
        UserSpec spec = USER_SPEC_INIT;
        spec.expires_usec = 1000;   /* long past */
        ck_assert_int_eq(user_update(m, m->store, &auth_test_root, cur, &spec, &e), 0);
        cur = user_record_unref(cur);
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(auth_test_login(m, cur, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_ACCOUNT_EXPIRED);

        spec.expires_usec = 0;
        ck_assert_int_eq(user_update(m, m->store, &auth_test_root, cur, &spec, &e), 0);
        cur = user_record_unref(cur);
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(user_set_locked_until(m, m->store, &auth_test_root, cur, LOCKED_INDEFINITELY, &e), 0);
        cur = user_record_unref(cur);
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(auth_test_login(m, cur, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_ACCOUNT_LOCKED);
        ck_assert_int_eq(auth_account_check(m, m->store, &auth_test_root, NULL, cur, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_ACCOUNT_LOCKED);

        /* A state changed after step 1 counts: the record is read again. */
        ck_assert_int_eq(user_set_locked_until(m, m->store, &auth_test_root, cur, 0, &e), 0);
        ck_assert_int_eq(auth_test_login(m, cur, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
}
END_TEST

START_TEST(test_lockout) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *cur = NULL;
        int64_t before = now_realtime_usec();
        AuthState st;
        AuthResult r;
        char msg[256];

        m->config->lockout_failures = 3;
        m->config->lockout_time = 60;
        m->config->lockout_max_time = 200;

        /* Two failures, then success: counted, then forgotten. */
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        ck_assert_uint_eq(st.failed_count, 2);
        ck_assert_int_eq(auth_test_login(m, u, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        ck_assert_uint_eq(st.failed_count, 0);
        ck_assert_int_ge(st.last_success_usec, before);

        /* Three in a row lock the account for lockout_time. */
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(r.locked_until_usec, 0);
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_ge(r.locked_until_usec, before + 60 * (int64_t) USEC_PER_SEC);
        ck_assert_int_le(r.locked_until_usec, now_realtime_usec() + 60 * (int64_t) USEC_PER_SEC);
        auth_result_message(&r, r.locked_until_usec - 60 * (int64_t) USEC_PER_SEC, msg, sizeof(msg));
        ck_assert_str_eq(msg, "Too many failed attempts: the account is locked for a minute.");
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.lock", AUDIT_SUCCESS), 1);

        /* Locked: even the right password is turned away, not counted. */
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(cur->locked_until_usec, r.locked_until_usec);
        ck_assert_int_eq(user_record_state(cur, now_realtime_usec()), USER_STATE_LOCKED);
        ck_assert_int_eq(auth_test_login(m, cur, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_LOCKED);
        ck_assert_int_eq(r.locked_until_usec, cur->locked_until_usec);
        auth_result_message(&r, r.locked_until_usec - 150 * (int64_t) USEC_PER_SEC, msg, sizeof(msg));
        ck_assert_str_eq(msg, "The account is locked after too many failed attempts; try again in 3 minutes.");
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        ck_assert_uint_eq(st.failed_count, 0);
        ck_assert_uint_eq(st.lock_level, 1);

        /* Once the lock ran out, the next three lock for twice as long,
         * then at most lockout_max_time. */
        int64_t expected[] = { 120, 200, 200 };
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                int64_t t0;

                ck_assert_int_eq(store_user_set_locked_until(m->store, u->id, 1), 0);
                t0 = now_realtime_usec();
                for (int k = 0; k < 3; k++)
                        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
                ck_assert_int_ge(r.locked_until_usec, t0 + expected[i] * (int64_t) USEC_PER_SEC);
                ck_assert_int_le(r.locked_until_usec,
                                 now_realtime_usec() + expected[i] * (int64_t) USEC_PER_SEC);
        }

        /* An administrator's unlock forgets it all: the next lock is short again. */
        TesseraError e = {};
        cur = user_record_unref(cur);
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(user_set_locked_until(m, m->store, &auth_test_root, cur, 0, &e), 0);
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        ck_assert_uint_eq(st.failed_count, 0);
        ck_assert_uint_eq(st.lock_level, 0);
        ck_assert_int_eq(auth_test_login(m, u, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
}
END_TEST

/* An unknown name's attempt, as the PAM socket makes one (the name as typed). */
static AuthOutcome unknown_login(const char *name, AuthResult *ret) {
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        AuthContext ctx = { .service = "test" };

        ck_assert_int_eq(auth_attempt_new(m, NULL, name, "pw", NULL, AUTH_TOTP_REQUIRED, false, &at), 0);
        auth_attempt_verify(at);
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, &ctx, at, ret), 0);
        return ret->outcome;
}

/* An unknown name is told what a real account is told after as many
 * failures, "locked" included, for as long; only the outcome and the
 * audit trail know better. */
START_TEST(test_unknown_names_lock_alike) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *cur = NULL;
        int64_t now;
        AuthResult real, ghost;
        char real_msg[256], ghost_msg[256];

        m->config->lockout_failures = 3;
        m->config->lockout_time = 60;
        m->config->lockout_max_time = 200;

        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &real), AUTH_FAILED);
                /* "ghost", "GHOST" and "ghost@acme" are one name on this host. */
                ck_assert_int_eq(unknown_login(i == 0 ? "ghost" : i == 1 ? "GHOST" : "ghost@acme", &ghost),
                                 AUTH_USER_UNKNOWN);
                ck_assert_int_eq(real.apparent, AUTH_FAILED);
                ck_assert_int_eq(ghost.apparent, AUTH_FAILED);
                ck_assert_int_eq(ghost.locked_until_usec > 0, real.locked_until_usec > 0);
                now = now_realtime_usec();
                auth_result_message(&real, now, real_msg, sizeof(real_msg));
                auth_result_message(&ghost, now, ghost_msg, sizeof(ghost_msg));
                ck_assert_str_eq(ghost_msg, real_msg);
        }
        ck_assert_str_eq(ghost_msg, "Too many failed attempts: the account is locked for a minute.");
        ck_assert_int_le(llabs(ghost.locked_until_usec - real.locked_until_usec), 5 * (int64_t) USEC_PER_SEC);

        /* Locked: the same answer, whatever the password. */
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(auth_test_login(m, cur, "pw", NULL, AUTH_TOTP_REQUIRED, &real), AUTH_LOCKED);
        ck_assert_int_eq(unknown_login("ghost", &ghost), AUTH_USER_UNKNOWN);
        ck_assert_int_eq(ghost.apparent, AUTH_LOCKED);
        now = now_realtime_usec();
        auth_result_message(&real, now, real_msg, sizeof(real_msg));
        auth_result_message(&ghost, now, ghost_msg, sizeof(ghost_msg));
        ck_assert_str_eq(ghost_msg, real_msg);
        ck_assert_str_eq(ghost_msg, "The account is locked after too many failed attempts; try again in a minute.");

        /* An account that can't be used is answered as an unknown name,
         * its holder (auth_result_holder_message()) learns its state. */
        {
                _cleanup_(user_record_unrefp) UserRecord *dis = auth_test_user(m, "dis", "pw"), *cur2 = NULL,
                                                         *after = NULL;
                TesseraError e = {};

                ck_assert_int_eq(user_set_disabled(m, m->store, &auth_test_root, dis, true, &e), 0);
                cur2 = auth_test_reload(m, dis);
                for (int i = 0; i < 3; i++)
                        ck_assert_int_eq(auth_test_login(m, cur2, "pw", NULL, AUTH_TOTP_REQUIRED, &real),
                                         AUTH_ACCOUNT_DISABLED);
                ck_assert_int_eq(real.apparent, AUTH_FAILED);
                auth_result_message(&real, now_realtime_usec(), real_msg, sizeof(real_msg));
                ck_assert_str_eq(real_msg, "Too many failed attempts: the account is locked for a minute.");
                auth_result_holder_message(&real, now_realtime_usec(), real_msg, sizeof(real_msg));
                ck_assert_str_eq(real_msg, "The account is disabled; ask an administrator.");
                ck_assert_int_eq(auth_test_login(m, cur2, "pw", NULL, AUTH_TOTP_REQUIRED, &real),
                                 AUTH_ACCOUNT_DISABLED);
                ck_assert_int_eq(real.apparent, AUTH_LOCKED);
                /* The lock is only apparent: the account's own state is unchanged. */
                after = auth_test_reload(m, dis);
                ck_assert_int_eq(after->locked_until_usec, 0);
        }

        /* Another unknown name has its own count; the audit trail knows. */
        ck_assert_int_eq(unknown_login("casper", &ghost), AUTH_USER_UNKNOWN);
        ck_assert_int_eq(ghost.apparent, AUTH_FAILED);
        ck_assert_int_eq(ghost.locked_until_usec, 0);
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.login", AUDIT_INVALID), 5);
}
END_TEST

/* The table of unknown names: bounded, the least recently failed name
 * making room in a full set. */
START_TEST(test_unknown_lockouts_table) {
        _cleanup_(unknown_lockouts_freep) UnknownLockouts *l = unknown_lockouts_new();
        uint8_t keys[9][AUTH_LOCKOUT_KEY_SIZE] = {}, other[AUTH_LOCKOUT_KEY_SIZE] = { 1, 2, 3 };
        int64_t until, t = 1000 * (int64_t) USEC_PER_SEC;

        ck_assert_ptr_nonnull(l);
        m->config->lockout_failures = 2;
        m->config->lockout_time = 60;
        /* Nine keys of one set (the first two bytes pick it). */
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                keys[i][31] = (uint8_t) i;

        ck_assert(!unknown_lockouts_fail(l, m->config, keys[0], t, &until));
        ck_assert_int_eq(until, 0);
        ck_assert(!unknown_lockouts_fail(l, m->config, keys[0], t + 1, &until));
        ck_assert_int_eq(until, t + 1 + 60 * (int64_t) USEC_PER_SEC);
        ck_assert(unknown_lockouts_fail(l, m->config, keys[0], t + 2, &until));
        ck_assert_int_eq(until, t + 1 + 60 * (int64_t) USEC_PER_SEC);
        ck_assert(!unknown_lockouts_fail(l, m->config, other, t + 3, &until));
        /* Seven more fill the set. */
        for (size_t i = 1; i < 8; i++)
                ck_assert(!unknown_lockouts_fail(l, m->config, keys[i], t + 10 + (int64_t) i, &until));
        ck_assert(unknown_lockouts_fail(l, m->config, keys[0], t + 20, &until));
        /* A ninth pushes out the one that failed least recently, key 1:
         * key 0 failed longer ago, but it is locked still, and stays. */
        ck_assert(!unknown_lockouts_fail(l, m->config, keys[8], t + 30, &until));
        ck_assert(unknown_lockouts_fail(l, m->config, keys[0], t + 31, &until));
        ck_assert(!unknown_lockouts_fail(l, m->config, keys[2], t + 32, &until));
        ck_assert_int_eq(until, t + 32 + 60 * (int64_t) USEC_PER_SEC);     /* key 2 kept its first failure */
        ck_assert(!unknown_lockouts_fail(l, m->config, keys[1], t + 33, &until));
        ck_assert_int_eq(until, 0);                                          /* key 1 starts over */
        /* Other sets keep theirs. */
        ck_assert(!unknown_lockouts_fail(l, m->config, other, t + 34, &until));
        ck_assert_int_eq(until, t + 34 + 60 * (int64_t) USEC_PER_SEC);
}
END_TEST

START_TEST(test_lockout_interval_and_admin_lock) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *cur = NULL;
        TesseraError e = {};
        AuthState st;
        AuthResult r;

        m->config->lockout_failures = 3;
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        /* Failures from long ago (before the interval) start a new count. */
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        st.first_failure_usec -= 2 * (int64_t) m->config->lockout_interval * (int64_t) USEC_PER_SEC;
        ck_assert_int_eq(store_auth_state_put(m->store, u->id, &st), 0);
        ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(r.locked_until_usec, 0);
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        ck_assert_uint_eq(st.failed_count, 1);

        /* lockout_failures = 0: never locked. */
        m->config->lockout_failures = 0;
        for (int i = 0; i < 10; i++)
                ck_assert_int_eq(auth_test_login(m, u, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);

        /* An automatic lock never shortens an administrator's. */
        m->config->lockout_failures = 1;
        ck_assert_int_eq(user_set_locked_until(m, m->store, &auth_test_root, u, LOCKED_INDEFINITELY, &e), 0);
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
        ck_assert_int_eq(auth_test_login(m, cur, "x", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_ACCOUNT_LOCKED);
        cur = user_record_unref(cur);
        cur = auth_test_reload(m, u);
        ck_assert_int_eq(cur->locked_until_usec, LOCKED_INDEFINITELY);
}
END_TEST

START_TEST(test_totp_login) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw");
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1], next[TOTP_DIGITS + 1], prev[TOTP_DIGITS + 1], wrong[TOTP_DIGITS + 1];
        AuthResult r;

        /* Many failures follow: keep the lockout out of this. */
        m->config->lockout_failures = 0;
        ck_assert_int_eq(auth_user_has_totp(m->store, u->id), 0);
        enroll(u, seed, NULL);
        ck_assert_int_eq(auth_user_has_totp(m->store, u->id), 1);
        code_now(seed, 0, code);
        code_now(seed, 1, next);
        code_now(seed, -1, prev);

        /* The password alone is not enough any more. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "pw", "", AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert(auth_test_audit_contains(m, "code missing"));
        /* The code of the confirming step was spent by the confirmation. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", prev, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert(auth_test_audit_contains(m, "code used before"));
        /* A right code with a wrong password: no, and the code stays unspent. */
        ck_assert_int_eq(auth_test_login(m, u, "wrong", code, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        wrong_code(seed, wrong);
        ck_assert_int_eq(auth_test_login(m, u, "pw", wrong, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert(auth_test_audit_contains(m, "\"reason\":\"wrong code\""));

        ck_assert_int_eq(auth_test_login(m, u, "pw", code, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_str_eq(r.factor, "password+totp");
        ck_assert(auth_test_audit_contains(m, "\"factor\":\"password+totp\""));
        ck_assert(!auth_test_audit_contains(m, code));
        /* The same code again: a replay. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", code, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        /* The next step's code (clock skew) is fine once. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", next, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        /* After a later step was used, an earlier one is refused too. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", code, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
}
END_TEST

START_TEST(test_totp_policies) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"),
                                                 *plain = auth_test_user(m, "bob", "pw");
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1];
        AuthResult r;

        enroll(u, seed, NULL);
        code_now(seed, 0, code);

        /* optional: no code is the password alone; a code given must be right. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", NULL, AUTH_TOTP_OPTIONAL, &r), AUTH_SUCCESS);
        ck_assert_str_eq(r.factor, "password");
        ck_assert_int_eq(auth_test_login(m, u, "pw", "12345x", AUTH_TOTP_OPTIONAL, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "pw", code, AUTH_TOTP_OPTIONAL, &r), AUTH_SUCCESS);
        ck_assert_str_eq(r.factor, "password+totp");
        /* never: the code isn't even looked at. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", "garbage", AUTH_TOTP_NEVER, &r), AUTH_SUCCESS);
        ck_assert_str_eq(r.factor, "password");
        ck_assert(auth_test_audit_contains(m, "\"totp_policy\":\"never\""));
        /* Users without TOTP: the password, whatever the policy. */
        ck_assert_int_eq(auth_test_login(m, plain, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_int_eq(auth_test_login(m, plain, "pw", "123456", AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
}
END_TEST

/* The tenant's mfa_required: a user it names who has no TOTP is not
 * signed in by the right password, on any channel that asks codes; the
 * rest sign in as before. */
START_TEST(test_mfa_required) {
        _cleanup_(user_record_unrefp) UserRecord *ada = auth_test_user(m, "ada", "pw"), *admin = NULL,
                                                 *member = auth_test_user(m, "max", "pw"),
                                                 *enrolled = auth_test_user(m, "eve", "pw");
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TenantSettings change = { .set = TENANT_SETTING_BIT(TENANT_SETTING_MFA_REQUIRED) };
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1], msg[256];
        TesseraError e = {};
        AuthResult r;

        spec.role = USER_ROLE_ADMIN;
        ck_assert_int_eq(user_update(m, m->store, &auth_test_root, ada, &spec, &e), 0);
        admin = auth_test_reload(m, ada);
        ck_assert_int_eq(admin->role, USER_ROLE_ADMIN);
        enroll(enrolled, seed, NULL);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &t), 0);

        change.mfa_required = MFA_REQUIRED_ADMINS;
        ck_assert_int_eq(tenant_settings_update(m, m->store, &auth_test_root, t, &change, 0, &e), 0);
        ck_assert_int_eq(auth_mfa_required_for(m, m->store, admin), 1);
        ck_assert_int_eq(auth_mfa_required_for(m, m->store, member), 0);
        ck_assert_int_eq(auth_test_login(m, admin, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_MFA_ENROLMENT_REQUIRED);
        ck_assert(auth_test_audit_contains(m, "the tenant requires a second factor"));
        auth_result_message(&r, now_realtime_usec(), msg, sizeof(msg));
        ck_assert_ptr_nonnull(strstr(msg, "two-step verification"));
        /* Not a failure: nothing counts towards the lockout. */
        for (unsigned i = 0; i < m->config->lockout_failures + 1; i++)
                ck_assert_int_eq(auth_test_login(m, admin, "pw", NULL, AUTH_TOTP_OPTIONAL, &r),
                                 AUTH_MFA_ENROLMENT_REQUIRED);
        /* A wrong password says nothing of the rule. */
        ck_assert_int_eq(auth_test_login(m, admin, "wrong", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        /* A channel that asks no code at all (a password change's check). */
        ck_assert_int_eq(auth_test_login(m, admin, "pw", NULL, AUTH_TOTP_NEVER, &r), AUTH_SUCCESS);
        ck_assert_int_eq(auth_test_login(m, member, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);

        change.mfa_required = MFA_REQUIRED_EVERYONE;
        ck_assert_int_eq(tenant_settings_update(m, m->store, &auth_test_root, t, &change, 0, &e), 0);
        ck_assert_int_eq(auth_test_login(m, member, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_MFA_ENROLMENT_REQUIRED);
        /* Enrolled users give their code, as ever. */
        code_now(seed, 0, code);
        ck_assert_int_eq(auth_test_login(m, enrolled, "pw", code, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);

        ck_assert_int_eq(tenant_settings_update(m, m->store, &auth_test_root, t, &(TenantSettings) {},
                                                TENANT_SETTING_BIT(TENANT_SETTING_MFA_REQUIRED), &e), 0);
        ck_assert_int_eq(auth_test_login(m, member, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
}
END_TEST

START_TEST(test_two_step) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw");
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL, *bad = NULL;
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1], wrong[TOTP_DIGITS + 1];
        AuthContext ctx = { .service = "web" };
        AuthResult r;

        enroll(u, seed, NULL);
        code_now(seed, 0, code);

        /* A wrong password never gets to the second step. */
        ck_assert_int_eq(auth_attempt_new(m, u, NULL, "nope", NULL, AUTH_TOTP_REQUIRED, true, &bad), 0);
        auth_attempt_verify(bad);
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, &ctx, bad, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_FAILED);

        ck_assert_int_eq(auth_attempt_new(m, u, NULL, "pw", NULL, AUTH_TOTP_REQUIRED, true, &at), 0);
        /* Finishing without verifying is a programming error, refused. */
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, &ctx, at, &r), -EINVAL);
        auth_attempt_verify(at);
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, &ctx, at, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_NEED_SECOND_FACTOR);
        ck_assert_int_eq(r.user_id, u->id);

        wrong_code(seed, wrong);
        ck_assert_int_eq(auth_second_factor(m, m->store, &auth_test_root, &ctx, r.user_id, wrong, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_FAILED);
        ck_assert_int_eq(auth_second_factor(m, m->store, &auth_test_root, &ctx, u->id, code, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_SUCCESS);
        ck_assert_str_eq(r.factor, "totp");
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.second-factor", AUDIT_SUCCESS), 1);

        /* Users without TOTP have no second step to pass. */
        _cleanup_(user_record_unrefp) UserRecord *bob = auth_test_user(m, "bob", "pw");
        ck_assert_int_eq(auth_second_factor(m, m->store, &auth_test_root, &ctx, bob->id, "123456", &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_FAILED);
        ck_assert_int_eq(auth_second_factor(m, m->store, &auth_test_root, &ctx, 99999, "123456", &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_USER_UNKNOWN);
}
END_TEST

START_TEST(test_backup_codes) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw");
        _cleanup_(strv_free_erasep) char **codes = NULL;
        uint8_t seed[TOTP_SECRET_SIZE];
        char upper[BACKUP_CODE_LEN + 1], msg[256];
        AuthResult r;

        enroll(u, seed, &codes);

        ck_assert_int_eq(auth_test_login(m, u, "pw", codes[0], AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_str_eq(r.factor, "password+backup-code");
        ck_assert_uint_eq(r.backup_codes_left, BACKUP_CODE_COUNT - 1);
        auth_result_message(&r, 0, msg, sizeof(msg));
        ck_assert_str_eq(msg, "A backup code was used; 9 left.");
        /* Single use. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", codes[0], AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert(auth_test_audit_contains(m, "wrong or used backup code"));

        /* As a person might type it: upper case, no dash. */
        for (size_t i = 0, j = 0; codes[1][i]; i++)
                if (codes[1][i] != '-') {
                        upper[j++] = (char) (codes[1][i] >= 'a' ? codes[1][i] - 'a' + 'A' : codes[1][i]);
                        upper[j] = '\0';
                }
        ck_assert_int_eq(auth_test_login(m, u, "pw", upper, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_uint_eq(r.backup_codes_left, BACKUP_CODE_COUNT - 2);

        ck_assert_int_eq(auth_test_login(m, u, "pw", "zzzzz-zzzzz", AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "pw", "not a code at all", AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        ck_assert(auth_test_audit_contains(m, "malformed code"));
        ck_assert(!auth_test_audit_contains(m, codes[2]));
}
END_TEST

/* A backup code spent at a login leaves one fewer: announced for the user
 * (BackupCodesLeft), whichever step took it. A TOTP code or a refused
 * backup code changes nothing that is shown. */
START_TEST(test_backup_code_announced) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw");
        _cleanup_(strv_free_erasep) char **codes = NULL;
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1];
        AuthContext ctx = { .service = "web" };
        TestEvents *events;
        AuthResult r;

        enroll(u, seed, &codes);
        events = test_events_follow(m);

        ck_assert_int_eq(auth_test_login(m, u, "pw", codes[0], AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_uint_eq(test_events_count(events, CHANGE_TOTP, CHANGE_UPDATED, "alice"), 1);
        ck_assert_int_eq(auth_second_factor(m, m->store, &auth_test_root, &ctx, u->id, codes[1], &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_SUCCESS);
        ck_assert_uint_eq(test_events_count(events, CHANGE_TOTP, CHANGE_UPDATED, "alice"), 2);

        ck_assert_int_eq(auth_test_login(m, u, "pw", codes[0], AUTH_TOTP_REQUIRED, &r), AUTH_FAILED);
        code_now(seed, 0, code);
        ck_assert_int_eq(auth_test_login(m, u, "pw", code, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert_uint_eq(test_events_count(events, CHANGE_TOTP, CHANGE_UPDATED, "alice"), 2);

        m = manager_free(m);
        test_events_free(events);
}
END_TEST

START_TEST(test_seed_sealed) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw");
        _cleanup_(totp_record_done) TotpRecord t = {};
        static const uint8_t other[SECRET_KEY_SIZE] = { 9 };
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1];
        AuthResult r;

        enroll(u, seed, NULL);
        ck_assert_int_eq(store_totp_get(m->store, u->id, &t), 0);
        ck_assert_ptr_null(memmem(t.secret_box, t.secret_box_len, seed, sizeof(seed)));

        /* With another key the seed can't be read: the login fails closed,
         * as an error, not a success. */
        m->secret_key = secret_key_free(m->secret_key);
        ck_assert_int_eq(secret_key_from_bytes(other, &m->secret_key), 0);
        code_now(seed, 0, code);
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        ck_assert_int_eq(auth_attempt_new(m, u, NULL, "pw", code, AUTH_TOTP_REQUIRED, false, &at), 0);
        auth_attempt_verify(at);
        ck_assert_int_lt(auth_attempt_finish(m, m->store, &auth_test_root, NULL, at, &r), 0);
}
END_TEST

START_TEST(test_password_changed_meanwhile) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "old");
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        _cleanup_free_ char *hash = NULL;
        TesseraError e = {};
        AuthResult r;

        ck_assert_int_eq(auth_attempt_new(m, u, NULL, "old", NULL, AUTH_TOTP_REQUIRED, false, &at), 0);
        auth_attempt_verify(at);
        ck_assert_int_eq(password_hash("new", m->config->hash_prefix, m->config->hash_cost, &hash), 0);
        ck_assert_int_eq(user_set_password_hash(m, m->store, &auth_test_root, u, hash, NULL, NULL, &e), 0);
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, NULL, at, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_FAILED);
}
END_TEST

START_TEST(test_rehash) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *cur = NULL;
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        AuthResult r;

        /* The policy moved on: the next successful login rehashes. */
        m->config->hash_cost = 2;
        ck_assert_int_eq(auth_attempt_new(m, u, NULL, "pw", NULL, AUTH_TOTP_REQUIRED, false, &at), 0);
        auth_attempt_verify(at);
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, NULL, at, &r), 0);
        ck_assert_int_eq(r.outcome, AUTH_SUCCESS);
        ck_assert(r.rehash);
        auth_attempt_rehash(at);
        ck_assert_int_eq(auth_attempt_store_rehash(m, m->store, &auth_test_root, at), 1);

        cur = auth_test_reload(m, u);
        ck_assert_str_ne(cur->password_hash, u->password_hash);
        ck_assert(!password_hash_needs_upgrade(cur->password_hash, m->config->hash_prefix, m->config->hash_cost));
        ck_assert_int_eq(password_verify("pw", cur->password_hash), 1);
        ck_assert_int_eq(cur->password_changed_usec, u->password_changed_usec);
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.rehash", AUDIT_SUCCESS), 1);
        ck_assert_int_eq(auth_test_login(m, cur, "pw", NULL, AUTH_TOTP_REQUIRED, &r), AUTH_SUCCESS);
        ck_assert(!r.rehash);
}
END_TEST

START_TEST(test_rehash_loses_to_a_new_password) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *changed = NULL,
                                                 *cur = NULL;
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        AuthResult r;

        m->config->hash_cost = 2;
        ck_assert_int_eq(auth_attempt_new(m, u, NULL, "pw", NULL, AUTH_TOTP_REQUIRED, false, &at), 0);
        auth_attempt_verify(at);
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, NULL, at, &r), 0);
        ck_assert(r.rehash);
        auth_attempt_rehash(at);

        /* The password changes (another door, another tesserad) between
         * the verification and the rehash's write. */
        changed = auth_test_reload(m, u);
        free(changed->password_hash);
        ck_assert_int_eq(password_hash("new pw", m->config->hash_prefix, m->config->hash_cost,
                                       &changed->password_hash), 0);
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_user_update(m->store, changed), 0);
        ck_assert_int_eq(store_commit(m->store), 0);

        /* The new password wins: nothing is written. */
        ck_assert_int_eq(auth_attempt_store_rehash(m, m->store, &auth_test_root, at), 0);
        cur = auth_test_reload(m, u);
        ck_assert_str_eq(cur->password_hash, changed->password_hash);
        ck_assert_int_eq(password_verify("new pw", cur->password_hash), 1);
        ck_assert_uint_eq(auth_test_audit_count(m, "auth.rehash", AUDIT_SUCCESS), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("auth");
        TCase *tc = tcase_create("auth");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_password);
        tcase_add_test(tc, test_unknown_and_no_password);
        tcase_add_test(tc, test_find_user);
        tcase_add_test(tc, test_account_states);
        tcase_add_test(tc, test_lockout);
        tcase_add_test(tc, test_lockout_interval_and_admin_lock);
        tcase_add_test(tc, test_unknown_names_lock_alike);
        tcase_add_test(tc, test_unknown_lockouts_table);
        tcase_add_test(tc, test_totp_login);
        tcase_add_test(tc, test_totp_policies);
        tcase_add_test(tc, test_mfa_required);
        tcase_add_test(tc, test_two_step);
        tcase_add_test(tc, test_backup_codes);
        tcase_add_test(tc, test_backup_code_announced);
        tcase_add_test(tc, test_seed_sealed);
        tcase_add_test(tc, test_rehash_loses_to_a_new_password);
        tcase_add_test(tc, test_password_changed_meanwhile);
        tcase_add_test(tc, test_rehash);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
