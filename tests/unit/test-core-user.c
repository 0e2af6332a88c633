/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/user.c: user operations with validation, authorization and audit,
 * each change and its audit event in one transaction. */

#include "names.h"
#include "test-util.h"
#include "time-util.h"
#include "user.h"

static Manager *m;
static TenantRecord *acme;

static void setup(void) {
        m = test_manager_new();
        acme = test_tenant(m->store, "acme", NULL);
}

static void teardown(void) {
        acme = tenant_record_unref(acme);
        m = manager_free(m);
}

static UserRecord *create(const char *name, const UserSpec *spec) {
        UserSpec none = USER_SPEC_INIT;
        UserRecord *u = NULL;
        TesseraError e = {};

        ck_assert_msg(user_create(m, m->store, &test_admin, acme, name, spec ?: &none, &u, &e) == 0,
                      "creating %s: %s", name, e.message);
        ck_assert_ptr_nonnull(u);
        return u;
}

static UserRecord *reload(const UserRecord *u) {
        UserRecord *r = NULL;

        ck_assert_int_eq(store_user_get_by_id(m->store, u->id, &r), 0);
        return r;
}

/* Asserts that the store holds no users and no groups at all. */
static void assert_nothing_stored(void) {
        UserRecord **users = NULL;
        GroupRecord **groups = NULL;
        size_t n_users = 0, n_groups = 0;

        ck_assert_int_eq(store_user_list(m->store, 0, &users, &n_users), 0);
        ck_assert_int_eq(store_group_list(m->store, 0, &groups, &n_groups), 0);
        user_record_array_free(users, n_users);
        group_record_array_free(groups, n_groups);
        ck_assert_uint_eq(n_users, 0);
        ck_assert_uint_eq(n_groups, 0);
}

START_TEST(test_create_denied) {
        UserSpec spec = USER_SPEC_INIT;
        UserRecord *u = NULL;
        TesseraError e = {};

        ck_assert_int_eq(user_create(m, m->store, &test_nobody, acme, "alice", &spec, &u, &e), -EACCES);
        ck_assert_int_eq(e.code, -EACCES);
        ck_assert_ptr_null(u);
        assert_nothing_stored();
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", "alice@acme", AUDIT_DENIED), 1);
        ck_assert_uint_eq(test_audit_count(m->store, NULL, NULL, -1), 1);
        ck_assert_uint_eq(atomic_load(&m->generation), 0);
}
END_TEST

START_TEST(test_create) {
        UserSpec spec = USER_SPEC_INIT;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *stored = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *pg = NULL;
        TesseraError e = {};
        AuditEvent *ev;
        size_t n;

        spec.real_name = "Alice Liddell";
        spec.email = "alice@example.com";
        spec.password_hash = "$y$j9T$salt$hash";
        spec.role = USER_ROLE_ADMIN;

        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "alice", &spec, &u, &e), 0);
        ck_assert_int_eq(e.code, 0);
        ck_assert_str_eq(u->name, "alice");
        ck_assert_str_eq(u->tenant, "acme");
        ck_assert_uint_eq(u->uid, 200000);
        ck_assert_uint_eq(u->gid, 200000);
        ck_assert_str_eq(u->real_name, "Alice Liddell");
        ck_assert_str_eq(u->email, "alice@example.com");
        ck_assert(!u->email_verified);
        /* Home from the template, shell from the configuration. */
        ck_assert_str_eq(u->home, "/home/alice");
        ck_assert_str_eq(u->shell, "/bin/bash");
        ck_assert_str_eq(u->password_hash, "$y$j9T$salt$hash");
        ck_assert_int_eq(u->role, USER_ROLE_ADMIN);
        ck_assert_uint_eq(atomic_load(&m->generation), 1);

        stored = reload(u);
        ck_assert_str_eq(stored->name, "alice");
        ck_assert_int_eq(store_group_get_by_gid(m->store, u->uid, &pg), 0);
        ck_assert_int_eq(pg->private_user_id, u->id);

        /* Recorded in the same database, as a success, by root over D-Bus. */
        ev = test_audit_events(m->store, "user.create", "alice@acme", &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(ev[0].result, AUDIT_SUCCESS);
        ck_assert_int_eq(ev[0].actor_uid, 0);
        ck_assert_str_eq(ev[0].tenant, "acme");
        audit_event_array_free(ev, n);
}
END_TEST

START_TEST(test_create_defaults) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *v = NULL;
        UserSpec spec = USER_SPEC_INIT;

        free(m->config->home_template);
        m->config->home_template = strdup("/home/%t/%u");
        ck_assert_ptr_nonnull(m->config->home_template);

        u = create("alice", NULL);
        ck_assert_str_eq(u->home, "/home/acme/alice");
        ck_assert_int_eq(u->role, USER_ROLE_MEMBER);
        ck_assert_str_eq(u->real_name, "");
        ck_assert_ptr_null(u->email);
        ck_assert_ptr_null(u->password_hash);
        ck_assert_int_eq(u->expires_usec, 0);

        /* Given values win over the defaults; "" means no e-mail. */
        spec.home = "/srv/bob";
        spec.shell = "/bin/zsh";
        spec.email = "";
        spec.email_verified = 1;
        spec.uid = 300000;
        v = create("bob", &spec);
        ck_assert_str_eq(v->home, "/srv/bob");
        ck_assert_str_eq(v->shell, "/bin/zsh");
        ck_assert_ptr_null(v->email);
        ck_assert_uint_eq(v->uid, 300000);
}
END_TEST

START_TEST(test_create_invalid_name) {
        static const char *const names[] = { "Alice", "1alice", "ali:ce", "alice@acme", "",
                                             "abcdefghijklmnopqrstuvwxyz0123456" };
        UserSpec spec = USER_SPEC_INIT;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *target = NULL;
                UserRecord *u = NULL;
                TesseraError e = {};
                AuditEvent *ev;
                size_t n;

                ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, names[i], &spec, &u, &e), -EINVAL);
                ck_assert_int_eq(e.code, -EINVAL);
                ck_assert_ptr_nonnull(strstr(e.message, "not a valid user name"));
                ck_assert_ptr_null(u);

                ck_assert_int_ge(asprintf(&target, "%s@acme", names[i]), 0);
                ev = test_audit_events(m->store, "user.create", target, &n);
                ck_assert_uint_eq(n, 1);
                ck_assert_int_eq(ev[0].result, AUDIT_INVALID);
                ck_assert_ptr_nonnull(ev[0].details);
                ck_assert_ptr_nonnull(strstr(ev[0].details, "\"errno\":22"));
                audit_event_array_free(ev, n);
        }

        {
                UserRecord *u = NULL;
                TesseraError e = {};
                ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, NULL, &spec, &u, &e), -EINVAL);
        }

        /* Nothing half written: no user, no private group, no success. */
        assert_nothing_stored();
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", NULL, AUDIT_SUCCESS), 0);
        ck_assert_uint_eq(atomic_load(&m->generation), 0);
}
END_TEST

/* A message quotes the name it refuses; cut to fit, it must still be UTF-8
 * (it goes out as a D-Bus string and in JSON), and control bytes must not
 * reach the one who reads it. */
START_TEST(test_create_invalid_name_message_is_utf8) {
        char name[2 * 150 + 8] = "\x1b[J";
        UserSpec spec = USER_SPEC_INIT;
        UserRecord *u = NULL;
        TesseraError e = {};

        for (int i = 0; i < 150; i++)
                strcat(name, "\xc3\xa9");              /* é, two bytes each: the cut falls inside one */
        ck_assert_uint_eq(strlen(name) % 2, 1);
        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, name, &spec, &u, &e), -EINVAL);
        ck_assert(utf8_is_valid(e.message));
        ck_assert_ptr_null(strchr(e.message, '\x1b'));
        ck_assert_ptr_nonnull(strstr(e.message, "\xc3\xa9"));
}
END_TEST

START_TEST(test_create_invalid_spec) {
        static const UserSpec specs[] = {
                { .role = -1, .email_verified = -1, .expires_usec = -1, .real_name = "Alice:Liddell" },
                { .role = -1, .email_verified = -1, .expires_usec = -1, .real_name = "Alice\n" },
                { .role = -1, .email_verified = -1, .expires_usec = -1, .email = "not-an-address" },
                { .role = -1, .email_verified = -1, .expires_usec = -1, .home = "home/alice" },
                { .role = -1, .email_verified = -1, .expires_usec = -1, .home = "/home/../root" },
                { .role = -1, .email_verified = -1, .expires_usec = -1, .shell = "/bin/sh:" },
                { .role = _USER_ROLE_MAX, .email_verified = -1, .expires_usec = -1 },
                { .role = -1, .email_verified = -1, .expires_usec = -2 },
        };

        for (size_t i = 0; i < ELEMENTSOF(specs); i++) {
                TesseraError e = {};

                ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "alice", &specs[i], NULL, &e), -EINVAL);
                ck_assert_int_eq(e.code, -EINVAL);
        }
        assert_nothing_stored();
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", "alice@acme", AUDIT_INVALID), ELEMENTSOF(specs));
}
END_TEST

START_TEST(test_create_home_template_invalid) {
        TesseraError e = {};
        UserSpec spec = USER_SPEC_INIT;

        /* A template that gives no valid path for this user. */
        free(m->config->home_template);
        m->config->home_template = strdup("/home/%u/");
        ck_assert_ptr_nonnull(m->config->home_template);
        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "alice", &spec, NULL, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "home_template"));
        assert_nothing_stored();
}
END_TEST

START_TEST(test_create_conflicts) {
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL;
        _unused_ _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(m->store, acme, "ops");
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};
        UserRecord **list = NULL;
        size_t n = 0;

        spec.email = "alice@example.com";
        alice = create("alice", &spec);

        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "alice", &spec, NULL, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "already exists"));

        e = (TesseraError) {};
        spec.email = NULL;
        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "ops", &spec, NULL, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "group named 'ops'"));

        e = (TesseraError) {};
        spec.email = "ALICE@example.com";
        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "bob", &spec, NULL, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "e-mail"));

        e = (TesseraError) {};
        spec.email = NULL;
        spec.uid = 400000;
        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "carol", &spec, NULL, &e), -ERANGE);
        ck_assert_ptr_nonnull(strstr(e.message, "outside the ID slice"));

        e = (TesseraError) {};
        spec.uid = alice->uid;
        ck_assert_int_eq(user_create(m, m->store, &test_admin, acme, "dave", &spec, NULL, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "already in use"));

        ck_assert_int_eq(store_user_list(m->store, 0, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        user_record_array_free(list, n);
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", NULL, AUDIT_INVALID), 5);
        ck_assert_uint_eq(test_audit_count(m->store, "user.create", NULL, AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_update_email_resets_verified) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};

        spec.email = "alice@example.com";
        spec.email_verified = 1;
        u = create("alice", &spec);
        ck_assert(u->email_verified);

        /* Another attribute, or the same address in another case: still verified. */
        spec = (UserSpec) USER_SPEC_INIT;
        spec.real_name = "Alice";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), 0);
        u = (user_record_unref(u), NULL);
        ck_assert_int_eq(store_user_get(m->store, acme->id, "alice", &u), 0);
        ck_assert(u->email_verified);
        ck_assert_str_eq(u->real_name, "Alice");

        spec = (UserSpec) USER_SPEC_INIT;
        spec.email = "ALICE@example.com";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), 0);
        u = (user_record_unref(u), NULL);
        ck_assert_int_eq(store_user_get(m->store, acme->id, "alice", &u), 0);
        ck_assert_str_eq(u->email, "ALICE@example.com");
        ck_assert(u->email_verified);

        /* A new address is not proven yet. */
        spec.email = "alice@example.org";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), 0);
        u = (user_record_unref(u), NULL);
        ck_assert_int_eq(store_user_get(m->store, acme->id, "alice", &u), 0);
        ck_assert_str_eq(u->email, "alice@example.org");
        ck_assert(!u->email_verified);

        /* Unless the caller says it is, in the same change. */
        spec.email = "alice@example.net";
        spec.email_verified = 1;
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), 0);
        u = (user_record_unref(u), NULL);
        ck_assert_int_eq(store_user_get(m->store, acme->id, "alice", &u), 0);
        ck_assert(u->email_verified);

        /* "" clears the address, and with it the verification. */
        spec = (UserSpec) USER_SPEC_INIT;
        spec.email = "";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), 0);
        u = (user_record_unref(u), NULL);
        ck_assert_int_eq(store_user_get(m->store, acme->id, "alice", &u), 0);
        ck_assert_ptr_null(u->email);
        ck_assert(!u->email_verified);

        ck_assert_int_eq(e.code, 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.update", "alice@acme", AUDIT_SUCCESS), 5);
}
END_TEST

START_TEST(test_update_fields) {
        _cleanup_(user_record_unrefp) UserRecord *u = create("alice", NULL), *r = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};

        spec.home = "/srv/alice";
        spec.shell = "/bin/zsh";
        spec.role = USER_ROLE_OWNER;
        spec.expires_usec = 4102444800000000;
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), 0);
        r = reload(u);
        ck_assert_str_eq(r->home, "/srv/alice");
        ck_assert_str_eq(r->shell, "/bin/zsh");
        ck_assert_int_eq(r->role, USER_ROLE_OWNER);
        ck_assert_int_eq(r->expires_usec, 4102444800000000);
        /* What was not given stays. */
        ck_assert_uint_eq(r->uid, u->uid);
        ck_assert_str_eq(r->name, "alice");
        ck_assert_uint_eq(atomic_load(&m->generation), 2);
}
END_TEST

START_TEST(test_update_denied_and_invalid) {
        _cleanup_(user_record_unrefp) UserRecord *u = create("alice", NULL), *r = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};

        spec.shell = "/bin/zsh";
        ck_assert_int_eq(user_update(m, m->store, &test_nobody, u, &spec, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "user.update", "alice@acme", AUDIT_DENIED), 1);

        e = (TesseraError) {};
        spec.shell = "zsh";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "shell"));
        ck_assert_uint_eq(test_audit_count(m->store, "user.update", "alice@acme", AUDIT_INVALID), 1);

        r = reload(u);
        ck_assert_str_eq(r->shell, "/bin/bash");
}
END_TEST

START_TEST(test_update_email_clash) {
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL, *bob = NULL, *r = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};

        spec.email = "alice@example.com";
        alice = create("alice", &spec);
        spec.email = "bob@example.com";
        bob = create("bob", &spec);

        spec.email = "Alice@Example.com";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, bob, &spec, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "e-mail"));
        ck_assert_uint_eq(test_audit_count(m->store, "user.update", "bob@acme", AUDIT_INVALID), 1);
        r = reload(bob);
        ck_assert_str_eq(r->email, "bob@example.com");
}
END_TEST

START_TEST(test_change_inside_open_transaction) {
        _cleanup_(user_record_unrefp) UserRecord *u = create("alice", NULL), *r = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};

        /* A change that cannot get its transaction fails cleanly. */
        ck_assert_int_eq(store_begin(m->store), 0);
        spec.shell = "/bin/zsh";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), -EBUSY);
        ck_assert_int_eq(e.code, -EBUSY);
        e = (TesseraError) {};
        ck_assert_int_eq(user_set_disabled(m, m->store, &test_admin, u, true, &e), -EBUSY);
        store_rollback(m->store);

        r = reload(u);
        ck_assert_str_eq(r->shell, "/bin/bash");
        ck_assert(!r->disabled);
        /* And the store is usable afterwards. */
        e = (TesseraError) {};
        ck_assert_int_eq(user_update(m, m->store, &test_admin, u, &spec, &e), 0);
}
END_TEST

START_TEST(test_set_password) {
        _cleanup_(user_record_unrefp) UserRecord *alice = create("alice", NULL), *r = NULL;
        Principal self = { .kind = PRINCIPAL_LOCAL, .channel = "dbus", .uid = alice->uid, .name = "alice" };
        Principal other = { .kind = PRINCIPAL_LOCAL, .channel = "dbus", .uid = alice->uid + 1, .name = "bob" };
        TesseraError e = {};

        /* A user changes their own password only with the current one checked. */
        ck_assert_int_eq(user_set_password_hash(m, m->store, &self, alice, "$6$a$b", NULL, NULL, &e), -EACCES);
        e = (TesseraError) {};
        ck_assert_int_eq(user_set_password_hash(m, m->store, &other, alice, "$6$a$b", "$6$x$y", NULL, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_DENIED), 2);
        r = reload(alice);
        ck_assert_ptr_null(r->password_hash);
        r = user_record_unref(r);

        /* Admins set any password, and get the record as stored. */
        e = (TesseraError) {};
        ck_assert_int_eq(user_set_password_hash(m, m->store, &test_admin, alice, "$6$a$b", NULL, &r, &e), 0);
        ck_assert_str_eq(r->password_hash, "$6$a$b");
        ck_assert_int_gt(r->password_changed_usec, 0);
        ck_assert_int_ge(r->changed_usec, r->password_changed_usec);
        r = user_record_unref(r);

        /* The user, having proven "$6$a$b". */
        ck_assert_int_eq(user_set_password_hash(m, m->store, &self, alice, "$6$c$d", "$6$a$b", NULL, &e), 0);
        r = reload(alice);
        ck_assert_str_eq(r->password_hash, "$6$c$d");
        r = user_record_unref(r);
        /* The same proof again: that password is gone, and so is its worth. */
        ck_assert_int_eq(user_set_password_hash(m, m->store, &self, alice, "$6$e$f", "$6$a$b", NULL, &e), -EKEYREJECTED);
        ck_assert_ptr_nonnull(strstr(tessera_error_message(&e), "changed meanwhile"));
        r = reload(alice);
        ck_assert_str_eq(r->password_hash, "$6$c$d");
        ck_assert_uint_eq(test_audit_count(m->store, "user.set-password", "alice@acme", AUDIT_SUCCESS), 2);
}
END_TEST

START_TEST(test_lock_and_disable) {
        _cleanup_(user_record_unrefp) UserRecord *u = create("alice", NULL), *r = NULL;
        TesseraError e = {};

        ck_assert_int_eq(user_set_locked_until(m, m->store, &test_nobody, u, LOCKED_INDEFINITELY, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "user.lock", "alice@acme", AUDIT_DENIED), 1);

        e = (TesseraError) {};
        ck_assert_int_eq(user_set_locked_until(m, m->store, &test_admin, u, LOCKED_INDEFINITELY, &e), 0);
        r = reload(u);
        ck_assert_int_eq(user_record_state(r, now_realtime_usec()), USER_STATE_LOCKED);
        r = user_record_unref(r);
        ck_assert_int_eq(user_set_locked_until(m, m->store, &test_admin, u, 0, &e), 0);
        r = reload(u);
        ck_assert_int_eq(user_record_state(r, now_realtime_usec()), USER_STATE_ACTIVE);
        r = user_record_unref(r);
        ck_assert_uint_eq(test_audit_count(m->store, "user.lock", "alice@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "user.unlock", "alice@acme", AUDIT_SUCCESS), 1);

        ck_assert_int_eq(user_set_disabled(m, m->store, &test_admin, u, true, &e), 0);
        r = reload(u);
        ck_assert_int_eq(user_record_state(r, now_realtime_usec()), USER_STATE_DISABLED);
        ck_assert_uint_eq(test_audit_count(m->store, "user.disable", "alice@acme", AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_delete) {
        _cleanup_(user_record_unrefp) UserRecord *u = create("alice", NULL);
        TesseraError e = {};

        ck_assert_int_eq(user_delete(m, m->store, &test_nobody, u, &e), -EACCES);
        ck_assert_int_eq(store_user_get_by_id(m->store, u->id, NULL), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.delete", "alice@acme", AUDIT_DENIED), 1);

        e = (TesseraError) {};
        ck_assert_int_eq(user_delete(m, m->store, &test_admin, u, &e), 0);
        ck_assert_int_eq(store_user_get_by_id(m->store, u->id, NULL), -ENOENT);
        ck_assert_int_eq(store_group_get_by_gid(m->store, u->uid, NULL), -ENOENT);
        ck_assert_uint_eq(test_audit_count(m->store, "user.delete", "alice@acme", AUDIT_SUCCESS), 1);

        ck_assert_int_eq(user_delete(m, m->store, &test_admin, u, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "no longer exists"));
        ck_assert_uint_eq(test_audit_count(m->store, "user.delete", "alice@acme", AUDIT_INVALID), 1);
}
END_TEST

START_TEST(test_lookup) {
        _cleanup_(user_record_unrefp) UserRecord *alice = create("alice", NULL), *u = NULL;
        _cleanup_free_ char *q = NULL;
        TesseraError e = {};

        ck_assert_int_eq(user_lookup(m, m->store, "acme", "alice", &u, &e), 0);
        ck_assert_int_eq(u->id, alice->id);
        u = user_record_unref(u);

        m->config->default_tenant = strdup("acme");
        ck_assert_ptr_nonnull(m->config->default_tenant);
        ck_assert_int_eq(user_lookup(m, m->store, "", "alice", &u, &e), 0);
        u = user_record_unref(u);

        ck_assert_int_eq(user_lookup(m, m->store, "acme", "bob", &u, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "User 'bob@acme' does not exist"));
        e = (TesseraError) {};
        ck_assert_int_eq(user_lookup(m, m->store, "globex", "alice", &u, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "Tenant 'globex'"));
        ck_assert_int_eq(user_lookup(m, m->store, "acme", "Alice", &u, NULL), -EINVAL);
        ck_assert_ptr_null(u);

        q = user_qualified_name(alice);
        ck_assert_str_eq(q, "alice@acme");
}
END_TEST

static Suite *core_user_suite(void) {
        Suite *s = suite_create("core-user");
        TCase *tc;

        tc = tcase_create("create");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_create_denied);
        tcase_add_test(tc, test_create);
        tcase_add_test(tc, test_create_defaults);
        tcase_add_test(tc, test_create_invalid_name);
        tcase_add_test(tc, test_create_invalid_name_message_is_utf8);
        tcase_add_test(tc, test_create_invalid_spec);
        tcase_add_test(tc, test_create_home_template_invalid);
        tcase_add_test(tc, test_create_conflicts);
        suite_add_tcase(s, tc);

        tc = tcase_create("change");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_update_email_resets_verified);
        tcase_add_test(tc, test_update_fields);
        tcase_add_test(tc, test_update_denied_and_invalid);
        tcase_add_test(tc, test_update_email_clash);
        tcase_add_test(tc, test_change_inside_open_transaction);
        tcase_add_test(tc, test_set_password);
        tcase_add_test(tc, test_lock_and_disable);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_lookup);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        log_set_max_level(LOG_WARNING);
        return test_run_suite(core_user_suite());
}
