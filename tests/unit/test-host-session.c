/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core/host-session.c and store/store-host-session.c: host login sessions
 * opened and closed by the login stack, listed by whom may see them. */

#include <stdlib.h>

#include "test-auth-util.h"
#include "host-session.h"

static Manager *m;

static void setup(void) {
        m = auth_test_manager_new();
}

static void teardown(void) {
        m = manager_free(m);
}

START_TEST(test_open_close_list) {
        _cleanup_(user_record_unrefp) UserRecord *alice = auth_test_user(m, "alice", "pw"),
                                                 *bob = auth_test_user(m, "bob", "pw");
        HostSessionSpec spec = { .kind = "pam", .service = "sshd", .tty = "ssh", .remote_host = "192.0.2.7",
                             .remote_user = "", .pid = 777 };
        HostSessionFilter all = {}, only_alice = { .user_id = alice->id }, open_only = { .open_only = true };
        HostSessionRecord *list = NULL;
        TesseraError e = {};
        int64_t id1, id2, id3;
        size_t n;

        ck_assert_int_eq(host_session_open(m, m->store, &auth_test_root, alice, &spec, &id1, &e), 0);
        spec.tty = "pts/3";
        ck_assert_int_eq(host_session_open(m, m->store, &auth_test_root, alice, &spec, &id2, &e), 0);
        ck_assert_int_eq(host_session_open(m, m->store, &auth_test_root, bob, &spec, &id3, &e), 0);
        ck_assert_int_gt(id2, id1);

        ck_assert_int_eq(host_session_list(m, m->store, &auth_test_root, &all, &list, &n, &e), 0);
        ck_assert_uint_eq(n, 3);
        /* Newest first, with the user's names. */
        ck_assert_int_eq(list[0].id, id3);
        ck_assert_str_eq(list[0].user_name, "bob");
        ck_assert_str_eq(list[2].user_name, "alice");
        ck_assert_str_eq(list[2].tenant, "acme");
        ck_assert_str_eq(list[2].kind, "pam");
        ck_assert_str_eq(list[2].service, "sshd");
        ck_assert_str_eq(list[2].tty, "ssh");
        ck_assert_str_eq(list[2].remote_host, "192.0.2.7");
        ck_assert_uint_eq(list[2].pid, 777);
        ck_assert_int_gt(list[2].opened_usec, 0);
        ck_assert_int_eq(list[2].closed_usec, 0);
        host_session_record_array_free(list, n);

        /* Close by id, and without one (the newest from the same tty and pid). */
        ck_assert_int_eq(host_session_close(m, m->store, &auth_test_root, alice, id1, NULL, &e), 0);
        ck_assert_int_eq(host_session_close(m, m->store, &auth_test_root, alice, 0, &spec, &e), 0);
        e = (TesseraError) {};
        ck_assert_int_eq(host_session_close(m, m->store, &auth_test_root, alice, id1, NULL, &e), -ENOENT);
        e = (TesseraError) {};
        /* Bob's session is not Alice's to close. */
        ck_assert_int_eq(host_session_close(m, m->store, &auth_test_root, alice, id3, NULL, &e), -ENOENT);

        ck_assert_int_eq(host_session_list(m, m->store, &auth_test_root, &open_only, &list, &n, &e), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(list[0].id, id3);
        host_session_record_array_free(list, n);
        ck_assert_int_eq(host_session_list(m, m->store, &auth_test_root, &only_alice, &list, &n, &e), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_gt(list[0].closed_usec, 0);
        host_session_record_array_free(list, n);

        ck_assert_uint_eq(auth_test_audit_count(m, "session.open", AUDIT_SUCCESS), 3);
        ck_assert_uint_eq(auth_test_audit_count(m, "session.close", AUDIT_SUCCESS), 2);
        ck_assert(auth_test_audit_contains(m, "\"service\":\"sshd\""));
}
END_TEST

START_TEST(test_authorization) {
        _cleanup_(user_record_unrefp) UserRecord *alice = auth_test_user(m, "alice", "pw"),
                                                 *bob = auth_test_user(m, "bob", "pw");
        Principal as_alice = principal_local("pam", alice->uid, false, NULL);
        HostSessionSpec spec = { .kind = "pam", .service = "login" };
        HostSessionFilter mine = { .user_id = alice->id }, bobs = { .user_id = bob->id }, all = {};
        HostSessionRecord *list = NULL;
        TesseraError e = {};
        int64_t id;
        size_t n;

        /* A user opens and lists their own sessions, not another's. */
        ck_assert_int_eq(host_session_open(m, m->store, &as_alice, alice, &spec, &id, &e), 0);
        ck_assert_int_eq(host_session_open(m, m->store, &as_alice, bob, &spec, &id, &e), -EACCES);
        e = (TesseraError) {};
        ck_assert_int_eq(host_session_list(m, m->store, &as_alice, &mine, &list, &n, &e), 0);
        ck_assert_uint_eq(n, 1);
        host_session_record_array_free(list, n);
        ck_assert_int_eq(host_session_list(m, m->store, &as_alice, &bobs, &list, &n, &e), -EACCES);
        e = (TesseraError) {};
        ck_assert_int_eq(host_session_list(m, m->store, &as_alice, &all, &list, &n, &e), -EACCES);
        ck_assert_uint_eq(auth_test_audit_count(m, "session.open", AUDIT_DENIED), 1);

        /* A session needs a kind. */
        e = (TesseraError) {};
        spec.kind = NULL;
        ck_assert_int_eq(host_session_open(m, m->store, &auth_test_root, alice, &spec, &id, &e), -EINVAL);
}
END_TEST

int main(void) {
        Suite *s = suite_create("session");
        TCase *tc = tcase_create("session");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_open_close_list);
        tcase_add_test(tc, test_authorization);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
