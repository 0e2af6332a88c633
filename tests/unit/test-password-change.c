/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core/password-change.c: the one password change every door uses: who
 * may, the password policy, the current password through the
 * authentication core (lockout, account state, audit), the hash on a
 * worker, the commit; and users created with a password. */

#include <pthread.h>
#include <stdlib.h>

#include "auth-lockout.h"
#include "password-change.h"
#include "password.h"
#include "tenant.h"
#include "test-auth-util.h"

static Manager *m;
static TestGate gate;

static void setup(void) {
        m = auth_test_manager_new();
        ck_assert_int_ge(sd_event_new(&m->event), 0);
        /* One worker: tests that hold it with a gate decide the order. */
        ck_assert_int_eq(worker_pool_new(m->event, 1, 4, &m->workers), 0);
        test_gate_init(&gate);
}

static void teardown(void) {
        /* Lets a gate still closed go, so that the workers can stop. */
        test_gate_open(&gate);
        m = manager_free(m);
        test_gate_destroy(&gate);
}

/* What done saw, copied before the operation frees it. */
typedef struct Seen {
        unsigned calls;
        pthread_t thread;
        int result;
        char message[256];
        bool checked;
        AuthResult check;
        UserRecord *user;
} Seen;

static void on_done(const PasswordChangeOutcome *o, void *userdata) {
        Seen *s = userdata;

        s->calls++;
        s->thread = pthread_self();
        s->result = o->result;
        snprintf(s->message, sizeof(s->message), "%s", o->result < 0 ? tessera_error_message(&o->error) : "");
        s->checked = o->checked;
        s->check = o->check;
        user_record_unref(s->user);
        s->user = o->user ? user_record_ref(o->user) : NULL;
}

static void seen_done(Seen *s) {
        s->user = user_record_unref(s->user);
}

static void run_until_done(Seen *s) {
        while (s->calls == 0)
                ck_assert_int_ge(sd_event_run(m->event, UINT64_MAX), 0);
        ck_assert_uint_eq(s->calls, 1);
        /* On the main loop, never on a worker. */
        ck_assert(pthread_equal(s->thread, pthread_self()));
}

static Principal self_of(const UserRecord *u) {
        return (Principal) { .kind = PRINCIPAL_LOCAL, .channel = "dbus", .uid = u->uid, .name = u->name,
                             .remote = ":1.42" };
}

static const AuthContext ctx = { .action = "auth.chauthtok", .service = "user.set-password" };

/* Starts a change that must be accepted, and runs it to its end. */
static void change(const Principal *p, const UserRecord *u, const char *current, const char *new_password, Seen *s) {
        TesseraError e = {};

        ck_assert_msg(password_change_start(m, p, u, current, new_password, &ctx, on_done, s, &e) == 0, "%s",
                      tessera_error_message(&e));
        run_until_done(s);
}

static int verify(const UserRecord *u, const char *password) {
        _cleanup_(user_record_unrefp) UserRecord *r = auth_test_reload(m, u);
        return r->password_hash ? password_verify(password, r->password_hash) : -ENOENT;
}

START_TEST(test_self_with_current) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        Principal self = self_of(u);
        Seen s = {};

        change(&self, u, "first-password", "second-password", &s);
        ck_assert_msg(s.result == 0, "%s", s.message);
        ck_assert(s.checked);
        ck_assert_int_eq(s.check.outcome, AUTH_SUCCESS);
        /* The record as stored now. */
        ck_assert_int_eq(password_verify("second-password", s.user->password_hash), 1);
        ck_assert_int_gt(s.user->password_changed_usec, 0);
        ck_assert_int_eq(verify(u, "second-password"), 1);
        ck_assert_int_eq(verify(u, "first-password"), 0);
        /* The check and the change, each audited by the user. */
        ck_assert_uint_eq(test_audit_count(m->store, "auth.chauthtok", "alice@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_SUCCESS), 1);
        seen_done(&s);
}
END_TEST

START_TEST(test_wrong_current_counts_towards_lockout) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        Principal self = self_of(u);
        AuthState st;
        Seen s = {};

        for (unsigned i = 1; i <= m->config->lockout_failures; i++) {
                s = (Seen) {};
                change(&self, u, "a-wrong-guess", "second-password", &s);
                ck_assert_int_eq(s.result, -EKEYREJECTED);
                ck_assert_ptr_nonnull(strstr(s.message, "The current password is not correct."));
                ck_assert(s.checked);
                ck_assert_int_eq(s.check.outcome, AUTH_FAILED);
                ck_assert_ptr_null(s.user);
                /* Counted as a login's failure is, until the count locks. */
                ck_assert_int_eq(store_auth_state_get(m->store, u->id, &st), 0);
                if (i < m->config->lockout_failures)
                        ck_assert_uint_eq(st.failed_count, i);
                else
                        ck_assert_uint_eq(st.lock_level, 1);
        }
        /* The last failure locked the account, as a login's would have. */
        ck_assert_int_gt(s.check.locked_until_usec, 0);
        ck_assert_ptr_nonnull(strstr(s.message, "locked"));
        ck_assert_uint_eq(test_audit_count(m->store, "auth.chauthtok", "alice@acme", AUDIT_FAILURE),
                          m->config->lockout_failures);

        /* Now the right password is not even looked at. */
        s = (Seen) {};
        change(&self, u, "first-password", "second-password", &s);
        ck_assert_int_eq(s.result, -ENOLCK);
        ck_assert_int_eq(s.check.outcome, AUTH_LOCKED);
        ck_assert_int_eq(verify(u, "first-password"), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_SUCCESS), 0);
}
END_TEST

START_TEST(test_locked_account_refused) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password"), *locked = NULL;
        Principal self = self_of(u);
        TesseraError e = {};
        Seen s = {};

        ck_assert_int_eq(user_set_locked_until(m, m->store, &test_admin, u, LOCKED_INDEFINITELY, &e), 0);
        locked = auth_test_reload(m, u);
        change(&self, locked, "first-password", "second-password", &s);
        ck_assert_int_eq(s.result, -ENOLCK);
        ck_assert(s.checked);
        ck_assert_int_eq(s.check.outcome, AUTH_ACCOUNT_LOCKED);
        ck_assert_int_eq(verify(u, "first-password"), 1);

        /* Disabled: refused too, with its own error. */
        ck_assert_int_eq(user_set_locked_until(m, m->store, &test_admin, locked, 0, &e), 0);
        locked = user_record_unref(locked);
        locked = auth_test_reload(m, u);
        ck_assert_int_eq(user_set_disabled(m, m->store, &test_admin, locked, true, &e), 0);
        s = (Seen) {};
        change(&self, locked, "first-password", "second-password", &s);
        ck_assert_int_eq(s.result, -EKEYREVOKED);
        ck_assert_int_eq(s.check.outcome, AUTH_ACCOUNT_DISABLED);
        ck_assert_int_eq(verify(u, "first-password"), 1);
}
END_TEST

START_TEST(test_policy_refused_at_once) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        _cleanup_(user_record_unrefp) UserRecord *v = auth_test_user(m, "longname", "first-password");
        Principal self = self_of(u);
        static const struct {
                const char *current, *new_password, *message;
        } cases[] = {
                { "first-password", "short", "at least 8 characters" },
                { "first-password", "first-password", "must differ from the current one" },
                /* An administrator is held to the policy too. */
                { NULL, "Alice", "at least 8 characters" },
        };
        TesseraError e = {};
        Seen s = {};

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                e = (TesseraError) {};
                ck_assert_int_eq(password_change_start(m, cases[i].current ? &self : &test_admin, u, cases[i].current,
                                                       cases[i].new_password, &ctx, on_done, &s, &e),
                                 -EINVAL);
                ck_assert_msg(strstr(tessera_error_message(&e), cases[i].message), "%s", tessera_error_message(&e));
        }
        /* The user's name is no password, in any case. */
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_start(m, &test_admin, v, NULL, "LongName", &ctx, on_done, &s, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "must not be the user name"));

        /* Refused before anything was queued: done never runs, nothing
         * was checked, each refusal is audited once. */
        while (sd_event_run(m->event, 0) > 0)
                ;
        ck_assert_uint_eq(s.calls, 0);
        ck_assert_uint_eq(test_audit_count(m->store, "auth.chauthtok", NULL, -1), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_INVALID), 3);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "longname@acme", AUDIT_INVALID), 1);
        ck_assert_int_eq(verify(u, "first-password"), 1);
        ck_assert_int_eq(verify(v, "first-password"), 1);
}
END_TEST

/* The policy is the user's tenant's, as it is at the change: every door
 * that sets a password comes through here. */
START_TEST(test_tenant_policy) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        const TenantSettings longer = {
                .set = TENANT_SETTING_BIT(TENANT_SETTING_PASSWORD_MIN_LENGTH),
                .password_min_length = 12,
        };
        UserSpec spec = USER_SPEC_INIT;
        Principal self = self_of(u);
        TesseraError e = {};
        Seen s = {};

        /* A dictionary word, refused by libpwquality's cracklib check. */
        ck_assert_int_eq(password_change_start(m, &self, u, "first-password", "sunshine99", &ctx, on_done, &s, &e),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "dictionary"));

        /* The tenant asks 12 characters: 11 are refused, at once. */
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &t), 0);
        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t, &longer, 0, &e), 0);
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_start(m, &self, u, "first-password", "rx7#Lq2mZw9", &ctx, on_done, &s, &e),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "at least 12 characters"));
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_start(m, &test_admin, u, NULL, "rx7#Lq2mZw9", &ctx, on_done, &s, &e),
                         -EINVAL);
        /* New users too, with their e-mail address. */
        t = tenant_record_unref(t);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &t), 0);
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "bruce", &spec, "rx7#Lq2mZw9", on_done, &s,
                                                     &e),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "at least 12 characters"));
        spec.email = "dark.knight@example.com";
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "bruce", &spec, "the knight is dark 7",
                                                     on_done, &s, &e),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "e-mail address"));
        ck_assert_uint_eq(s.calls, 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_INVALID), 3);
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", "bruce@acme", AUDIT_INVALID), 2);

        change(&self, u, "first-password", "rx7#Lq2mZw9!", &s);
        ck_assert_msg(s.result == 0, "%s", s.message);
        ck_assert_int_eq(verify(u, "rx7#Lq2mZw9!"), 1);
        seen_done(&s);
}
END_TEST

START_TEST(test_admin_sets_without_current) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        _cleanup_(user_record_unrefp) UserRecord *none = auth_test_user(m, "bob", NULL);
        Seen s = {};

        change(&test_admin, u, NULL, "set-by-admin", &s);
        ck_assert_msg(s.result == 0, "%s", s.message);
        ck_assert(!s.checked);
        ck_assert_int_eq(verify(u, "set-by-admin"), 1);
        seen_done(&s);

        /* Also a first password, for a user who has none. */
        s = (Seen) {};
        change(&test_admin, none, NULL, "first-of-bob", &s);
        ck_assert_int_eq(s.result, 0);
        ck_assert_int_eq(verify(none, "first-of-bob"), 1);
        seen_done(&s);

        ck_assert_uint_eq(test_audit_count(m->store, "auth.chauthtok", NULL, -1), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", NULL, AUDIT_SUCCESS), 2);
}
END_TEST

START_TEST(test_self_without_current_refused) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        _cleanup_(user_record_unrefp) UserRecord *none = auth_test_user(m, "bob", NULL);
        Principal self = self_of(u), bob = self_of(none);
        TesseraError e = {};
        Seen s = {};

        ck_assert(password_change_needs_current(&self, u));
        ck_assert(!password_change_needs_current(&test_admin, u));
        ck_assert_int_eq(password_change_start(m, &self, u, NULL, "second-password", &ctx, on_done, &s, &e), -EACCES);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "Give the current password of alice@acme"));
        /* Nobody changes somebody else's, current password or not. */
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_start(m, &test_nobody, u, "first-password", "second-password", &ctx, on_done,
                                               &s, &e),
                         -EACCES);
        /* Without a password, there is nothing to prove. */
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_start(m, &bob, none, "anything", "second-password", &ctx, on_done, &s, &e),
                         -EACCES);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "No password is set for 'bob@acme'"));

        ck_assert_uint_eq(s.calls, 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_DENIED), 2);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "bob@acme", AUDIT_DENIED), 1);
        ck_assert_int_eq(verify(u, "first-password"), 1);
}
END_TEST

/* Waits until the current password was checked and the hash is queued
 * behind the gate: the moment between check and commit. */
static void run_until_checked(const char *target) {
        while (test_audit_count(m->store, "auth.chauthtok", target, AUDIT_SUCCESS) == 0)
                ck_assert_int_ge(sd_event_run(m->event, UINT64_MAX), 0);
}

START_TEST(test_changed_meanwhile_by_an_administrator) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        _cleanup_free_ char *reset = NULL;
        Principal self = self_of(u);
        TesseraError e = {};
        Seen s = {};

        /* The user proves "first-password"; the worker is then held, so
         * that their new password waits to be hashed... */
        ck_assert_int_eq(password_change_start(m, &self, u, "first-password", "second-password", &ctx, on_done, &s, &e),
                         0);
        ck_assert_int_eq(worker_pool_submit(m->workers, test_gate_work, NULL, &gate), 0);
        run_until_checked("alice@acme");
        /* ...while an administrator resets the password. */
        ck_assert_int_eq(password_hash("reset-by-admin", m->config->hash_prefix, m->config->hash_cost, &reset), 0);
        ck_assert_int_eq(user_set_password_hash(m, m->store, &test_admin, u, reset, NULL, NULL, &e), 0);
        test_gate_open(&gate);
        run_until_done(&s);

        /* The proof was of a password that is no longer: refused, and
         * the administrator's reset stands. */
        ck_assert_int_eq(s.result, -EKEYREJECTED);
        ck_assert_ptr_nonnull(strstr(s.message, "changed meanwhile"));
        ck_assert(s.checked);
        ck_assert_int_eq(s.check.outcome, AUTH_SUCCESS);
        ck_assert_int_eq(verify(u, "reset-by-admin"), 1);
        ck_assert_int_eq(verify(u, "second-password"), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_FAILURE), 1);
}
END_TEST

START_TEST(test_admin_change_applies_to_the_record_as_stored) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        _cleanup_(user_record_unrefp) UserRecord *now = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};
        Seen s = {};

        /* An administrator's reset waits for the worker; meanwhile the
         * account is locked and renamed: neither is undone by the reset. */
        ck_assert_int_eq(worker_pool_submit(m->workers, test_gate_work, NULL, &gate), 0);
        test_gate_wait_started(&gate);
        ck_assert_int_eq(password_change_start(m, &test_admin, u, NULL, "set-by-admin", &ctx, on_done, &s, &e), 0);
        ck_assert_int_eq(user_set_locked_until(m, m->store, &test_admin, u, LOCKED_INDEFINITELY, &e), 0);
        spec.real_name = "Alice Liddell";
        now = auth_test_reload(m, u);
        ck_assert_int_eq(user_update(m, m->store, &test_admin, now, &spec, &e), 0);
        test_gate_open(&gate);
        run_until_done(&s);

        ck_assert_int_eq(s.result, 0);
        now = user_record_unref(now);
        now = auth_test_reload(m, u);
        ck_assert_int_eq(now->locked_until_usec, LOCKED_INDEFINITELY);
        ck_assert_str_eq(now->real_name, "Alice Liddell");
        ck_assert_int_eq(password_verify("set-by-admin", now->password_hash), 1);
        seen_done(&s);
}
END_TEST

START_TEST(test_user_gone_meanwhile) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        TesseraError e = {};
        Seen s = {};

        ck_assert_int_eq(worker_pool_submit(m->workers, test_gate_work, NULL, &gate), 0);
        test_gate_wait_started(&gate);
        ck_assert_int_eq(password_change_start(m, &test_admin, u, NULL, "set-by-admin", &ctx, on_done, &s, &e), 0);
        ck_assert_int_eq(user_delete(m, m->store, &test_admin, u, &e), 0);
        test_gate_open(&gate);
        run_until_done(&s);
        ck_assert_int_eq(s.result, -ENOENT);
        ck_assert_ptr_nonnull(strstr(s.message, "no longer exists"));
}
END_TEST

START_TEST(test_busy) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "first-password");
        WorkerPool *small = NULL;
        TesseraError e = {};
        Seen s = {};

        /* One worker, held; no room in the queue. */
        ck_assert_int_eq(worker_pool_new(m->event, 1, 1, &small), 0);
        m->workers = worker_pool_free(m->workers);
        m->workers = small;
        ck_assert_int_eq(worker_pool_submit(m->workers, test_gate_work, NULL, &gate), 0);
        test_gate_wait_started(&gate);
        ck_assert_int_eq(worker_pool_submit(m->workers, test_gate_work, NULL, &gate), 0);

        ck_assert_int_eq(password_change_start(m, &test_admin, u, NULL, "set-by-admin", &ctx, on_done, &s, &e),
                         -EBUSY);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "try again"));
        test_gate_open(&gate);
        m->workers = worker_pool_free(m->workers);
        ck_assert_uint_eq(s.calls, 0);
        ck_assert_int_eq(verify(u, "first-password"), 1);
}
END_TEST

/* --- a user created with a password -------------------------------------- */

START_TEST(test_create_user) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        UserSpec spec = USER_SPEC_INIT;
        char real_name[] = "Bruce Wayne";
        TesseraError e = {};
        Seen s = {};

        user_record_unref(auth_test_user(m, "first", NULL));      /* makes tenant acme */
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &t), 0);
        spec.real_name = real_name;
        spec.shell = "/bin/sh";
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "bruce", &spec, "I am the night", on_done, &s,
                                                     &e),
                         0);
        /* The attributes were copied: the caller's may go. */
        memset(real_name, 'x', sizeof(real_name) - 1);
        run_until_done(&s);
        ck_assert_msg(s.result == 0, "%s", s.message);
        ck_assert_str_eq(s.user->name, "bruce");
        ck_assert_str_eq(s.user->real_name, "Bruce Wayne");
        ck_assert_str_eq(s.user->shell, "/bin/sh");
        ck_assert_int_eq(password_verify("I am the night", s.user->password_hash), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", "bruce@acme", AUDIT_SUCCESS), 1);
        seen_done(&s);
}
END_TEST

START_TEST(test_create_user_refused_at_once) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        UserSpec spec = USER_SPEC_INIT, bad_shell = USER_SPEC_INIT;
        TesseraError e = {};
        Seen s = {};

        user_record_unref(auth_test_user(m, "first", NULL));      /* makes tenant acme */
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &t), 0);
        /* The name, judged by the core alone, with its message. */
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "Not Valid", &spec, "a fine password", on_done,
                                                     &s, &e),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "is not a valid user name"));
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", "Not Valid@acme", AUDIT_INVALID), 1);
        /* The attributes. */
        bad_shell.shell = "bin/sh";
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "bruce", &bad_shell, "a fine password", on_done,
                                                     &s, &e),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "shell"));
        /* The password policy. */
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "bruce", &spec, "short", on_done, &s, &e),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "at least 8"));
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "brucewayne", &spec, "BruceWayne", on_done, &s,
                                                     &e),
                         -EINVAL);
        /* Who may. */
        e = (TesseraError) {};
        ck_assert_int_eq(password_change_create_user(m, &test_nobody, t, "bruce", &spec, "a fine password", on_done, &s,
                                                     &e),
                         -EACCES);

        ck_assert_uint_eq(s.calls, 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", "bruce@acme", AUDIT_INVALID), 2);
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", "bruce@acme", AUDIT_DENIED), 1);
        ck_assert_int_eq(store_user_get(m->store, t->id, "bruce", NULL), -ENOENT);
}
END_TEST

START_TEST(test_create_user_tenant_gone_meanwhile) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        UserSpec spec = USER_SPEC_INIT;
        IdRange range;
        TesseraError e = {};
        Seen s = {};

        manager_id_range(m, &range);
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_tenant_create(m->store, "wayne", NULL, &range, &t), 0);
        ck_assert_int_eq(store_commit(m->store), 0);

        ck_assert_int_eq(worker_pool_submit(m->workers, test_gate_work, NULL, &gate), 0);
        test_gate_wait_started(&gate);
        ck_assert_int_eq(password_change_create_user(m, &test_admin, t, "bruce", &spec, "I am the night", on_done, &s,
                                                     &e),
                         0);
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_tenant_delete(m->store, t->id), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
        test_gate_open(&gate);
        run_until_done(&s);
        ck_assert_int_eq(s.result, -ENOENT);
        ck_assert_ptr_nonnull(strstr(s.message, "tenant was deleted"));
}
END_TEST

/* --- from another thread, with a Store of its own ---------------------------- */

typedef struct RunArgs {
        const UserRecord *user;
        const char *current, *new_password;
        Principal principal;
        PasswordChangeOutcome outcome;
        int result;
} RunArgs;

static void *run_thread(void *userdata) {
        RunArgs *a = userdata;
        Store *s = NULL;

        /* As an HTTP thread: its own connection from the pool. */
        ck_assert_int_eq(store_pool_thread(m->store_pool, &s), 0);
        a->result = password_change_run(m, s, &a->principal, a->user, a->current, a->new_password, &ctx, &a->outcome);
        return NULL;
}

START_TEST(test_run_on_another_thread) {
        _cleanup_free_ char *dir = test_mkdtemp();
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        RunArgs wrong = {}, right = {};
        pthread_t thread;

        /* A database that several connections share. */
        test_manager_use_dir(m, dir);
        u = auth_test_user(m, "alice", "first-password");

        wrong = (RunArgs) { .user = u, .current = "a-wrong-guess", .new_password = "second-password",
                            .principal = self_of(u) };
        ck_assert_int_eq(pthread_create(&thread, NULL, run_thread, &wrong), 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        ck_assert_int_eq(wrong.result, -EKEYREJECTED);
        ck_assert_int_eq(wrong.outcome.result, -EKEYREJECTED);
        ck_assert(wrong.outcome.checked);
        ck_assert_int_eq(wrong.outcome.check.outcome, AUTH_FAILED);
        ck_assert_ptr_null(wrong.outcome.user);
        password_change_outcome_done(&wrong.outcome);

        right = (RunArgs) { .user = u, .current = "first-password", .new_password = "second-password",
                            .principal = self_of(u) };
        ck_assert_int_eq(pthread_create(&thread, NULL, run_thread, &right), 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        ck_assert_int_eq(right.result, 0);
        ck_assert_int_eq(password_verify("second-password", right.outcome.user->password_hash), 1);
        password_change_outcome_done(&right.outcome);
        ck_assert_ptr_null(right.outcome.user);
        ck_assert_int_eq(verify(u, "second-password"), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "auth.chauthtok", "alice@acme", AUDIT_FAILURE), 1);

        /* Refused at once, as from the main loop. */
        ck_assert_int_eq(password_change_run(m, m->store, &test_admin, u, NULL, "short", &ctx, &wrong.outcome), -EINVAL);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&wrong.outcome.error), "at least 8"));
        password_change_outcome_done(&wrong.outcome);

        m->store_pool = store_pool_free(m->store_pool);
        m->store = NULL;
        test_rm_rf(dir);
}
END_TEST

int main(void) {
        Suite *s = suite_create("password-change");
        TCase *tc = tcase_create("change");
        TCase *create = tcase_create("create");
        TCase *run = tcase_create("run");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_self_with_current);
        tcase_add_test(tc, test_wrong_current_counts_towards_lockout);
        tcase_add_test(tc, test_locked_account_refused);
        tcase_add_test(tc, test_policy_refused_at_once);
        tcase_add_test(tc, test_tenant_policy);
        tcase_add_test(tc, test_admin_sets_without_current);
        tcase_add_test(tc, test_self_without_current_refused);
        tcase_add_test(tc, test_changed_meanwhile_by_an_administrator);
        tcase_add_test(tc, test_admin_change_applies_to_the_record_as_stored);
        tcase_add_test(tc, test_user_gone_meanwhile);
        tcase_add_test(tc, test_busy);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(create, setup, teardown);
        tcase_add_test(create, test_create_user);
        tcase_add_test(create, test_create_user_refused_at_once);
        tcase_add_test(create, test_create_user_tenant_gone_meanwhile);
        suite_add_tcase(s, create);

        tcase_add_checked_fixture(run, setup, teardown);
        tcase_add_test(run, test_run_on_another_thread);
        suite_add_tcase(s, run);
        return test_run_suite(s);
}
