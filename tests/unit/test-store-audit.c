/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store-audit.c and audit.c: the append-only audit trail. */

#include "test-util.h"

static void append(Store *s, const char *action, const char *tenant, const char *target, AuditResult result) {
        AuditEvent e = {
                .channel = "dbus",
                .actor_uid = 1000,
                .actor = "root",
                .action = action,
                .tenant = tenant,
                .target = target,
                .result = result,
        };

        ck_assert_int_eq(store_audit_append(s, &e), 0);
}

START_TEST(test_round_trip) {
        Store *s = test_store;
        AuditEvent full = {
                .time_usec = 12345,
                .channel = "pam",
                .actor_uid = 0,
                .actor = "root",
                .action = "auth.password",
                .tenant = "acme",
                .target = "alice@acme",
                .result = AUDIT_FAILURE,
                .remote = "192.0.2.1",
                .details = "{\"service\":\"sshd\"}",
        };
        AuditEvent sparse = {
                .channel = "http",
                .actor_uid = -1,
                .action = "tenant.create",
                .result = AUDIT_INVALID,
        };
        AuditEvent *list = NULL;
        int64_t before = (int64_t) time(NULL) * 1000000;
        size_t n = 0;

        ck_assert_int_eq(store_audit_append(s, &full), 0);
        ck_assert_int_eq(store_audit_append(s, &sparse), 0);

        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_gt(list[0].id, 0);
        ck_assert_int_gt(list[1].id, list[0].id);

        ck_assert_int_eq(list[0].time_usec, 12345);
        ck_assert_str_eq(list[0].channel, "pam");
        ck_assert_int_eq(list[0].actor_uid, 0);
        ck_assert_str_eq(list[0].actor, "root");
        ck_assert_str_eq(list[0].action, "auth.password");
        ck_assert_str_eq(list[0].tenant, "acme");
        ck_assert_str_eq(list[0].target, "alice@acme");
        ck_assert_int_eq(list[0].result, AUDIT_FAILURE);
        ck_assert_str_eq(list[0].remote, "192.0.2.1");
        ck_assert_str_eq(list[0].details, "{\"service\":\"sshd\"}");
        /* Once, so far: the last time is the first. */
        ck_assert_uint_eq(list[0].count, 1);
        ck_assert_int_eq(list[0].last_usec, 12345);

        /* Time 0 means now; an unknown actor uid comes back as -1. */
        ck_assert_int_ge(list[1].time_usec, before);
        ck_assert_str_eq(list[1].channel, "http");
        ck_assert_int_eq(list[1].actor_uid, -1);
        ck_assert_ptr_null(list[1].actor);
        ck_assert_ptr_null(list[1].tenant);
        ck_assert_ptr_null(list[1].target);
        ck_assert_ptr_null(list[1].remote);
        ck_assert_ptr_null(list[1].details);
        ck_assert_int_eq(list[1].result, AUDIT_INVALID);

        audit_event_array_free(list, n);
}
END_TEST

START_TEST(test_empty) {
        Store *s = test_store;
        AuditEvent *list = NULL;
        size_t n = 42;

        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 0);
        audit_event_array_free(list, n);
}
END_TEST

START_TEST(test_filters) {
        Store *s = test_store;
        AuditEvent *list = NULL;
        size_t n = 0;
        int64_t third;

        append(s, "user.create", "acme", "alice@acme", AUDIT_SUCCESS);
        append(s, "user.create", "globex", "alice@globex", AUDIT_SUCCESS);
        append(s, "user.delete", "acme", "alice@acme", AUDIT_DENIED);
        append(s, "group.create", "acme", "ops@acme", AUDIT_SUCCESS);
        append(s, "user.create", "acme", "bob@acme", AUDIT_INVALID);

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .tenant = "acme" }, &list, &n), 0);
        ck_assert_uint_eq(n, 4);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(list[i].tenant, "acme");
        third = list[1].id;
        audit_event_array_free(list, n);

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .target = "alice@acme" }, &list, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(list[0].action, "user.create");
        ck_assert_str_eq(list[1].action, "user.delete");
        ck_assert_int_eq(list[1].result, AUDIT_DENIED);
        audit_event_array_free(list, n);

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .action = "user.create" }, &list, &n), 0);
        ck_assert_uint_eq(n, 3);
        audit_event_array_free(list, n);

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .action = "user.create", .tenant = "acme" }, &list, &n),
                         0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(list[1].target, "bob@acme");
        audit_event_array_free(list, n);

        /* Paging: events after an id, at most limit of them. */
        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .after_id = third }, &list, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(list[0].target, "ops@acme");
        audit_event_array_free(list, n);

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .limit = 2 }, &list, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(list[0].target, "alice@acme");
        ck_assert_str_eq(list[1].target, "alice@globex");
        audit_event_array_free(list, n);

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .tenant = "initech" }, &list, &n), 0);
        ck_assert_uint_eq(n, 0);
        audit_event_array_free(list, n);
}
END_TEST

START_TEST(test_default_limit) {
        Store *s = test_store;
        AuditEvent *list = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_begin(s), 0);
        for (unsigned i = 0; i < 1005; i++)
                append(s, "auth.password", "acme", "alice@acme", AUDIT_SUCCESS);
        ck_assert_int_eq(store_commit(s), 0);

        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 1000);
        audit_event_array_free(list, n);
        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .limit = 5000 }, &list, &n), 0);
        ck_assert_uint_eq(n, 1005);
        audit_event_array_free(list, n);
}
END_TEST

START_TEST(test_transactions) {
        Store *s = test_store;

        /* An event recorded inside a change goes or stays with it. */
        ck_assert_int_eq(store_begin(s), 0);
        append(s, "user.create", "acme", "ghost@acme", AUDIT_SUCCESS);
        store_rollback(s);
        ck_assert_uint_eq(test_audit_count(s, NULL, "ghost@acme", -1), 0);

        ck_assert_int_eq(store_begin(s), 0);
        append(s, "user.create", "acme", "alice@acme", AUDIT_SUCCESS);
        ck_assert_int_eq(store_commit(s), 0);
        ck_assert_uint_eq(test_audit_count(s, "user.create", "alice@acme", AUDIT_SUCCESS), 1);
}
END_TEST

/* A refusal as the token endpoint records one. */
static void refusal(Store *s, const char *remote, const char *details, int64_t t) {
        AuditEvent e = {
                .time_usec = t,
                .channel = "http",
                .actor_uid = -1,
                .actor = "app_1",
                .action = "oauth.token",
                .tenant = "acme",
                .target = "app_1",
                .result = AUDIT_DENIED,
                .remote = remote,
                .details = details,
        };

        ck_assert_int_eq(store_audit_append(s, &e), 0);
}

START_TEST(test_repeats_counted) {
        Store *s = test_store;
        int64_t t = 1700000000 * (int64_t) USEC_PER_SEC;
        AuditEvent *list = NULL;
        size_t n = 0;

        /* A thousand identical refusals within the window: one event. */
        for (int i = 0; i < 1000; i++)
                refusal(s, "192.0.2.1", "{\"why\":\"wrong secret\"}", t + i * 1000);
        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(list[0].count, 1000);
        ck_assert_int_eq(list[0].time_usec, t);
        ck_assert_int_eq(list[0].last_usec, t + 999 * 1000);
        ck_assert_str_eq(list[0].remote, "192.0.2.1");
        audit_event_array_free(list, n);

        /* Any difference is another event: the address, the details. */
        refusal(s, "192.0.2.2", "{\"why\":\"wrong secret\"}", t + 1000000);
        refusal(s, "192.0.2.1", "{\"why\":\"no secret\"}", t + 1000000);
        refusal(s, NULL, NULL, t + 1000000);
        refusal(s, NULL, NULL, t + 2000000);
        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(list[1].count, 1);
        ck_assert_uint_eq(list[2].count, 1);
        /* NULL columns match NULL columns. */
        ck_assert_uint_eq(list[3].count, 2);
        audit_event_array_free(list, n);

        /* Past the window from the first, a new event begins. */
        refusal(s, "192.0.2.1", "{\"why\":\"wrong secret\"}", t + (int64_t) AUDIT_MERGE_WINDOW_USEC + 1);
        refusal(s, "192.0.2.1", "{\"why\":\"wrong secret\"}", t + (int64_t) AUDIT_MERGE_WINDOW_USEC + 2);
        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(list[0].count, 1000);
        ck_assert_uint_eq(list[4].count, 2);
        ck_assert_int_eq(list[4].time_usec, t + (int64_t) AUDIT_MERGE_WINDOW_USEC + 1);
        audit_event_array_free(list, n);
}
END_TEST

START_TEST(test_successes_never_counted) {
        Store *s = test_store;

        for (int i = 0; i < 10; i++)
                append(s, "user.create", "acme", "alice@acme", AUDIT_SUCCESS);
        ck_assert_uint_eq(test_audit_count(s, "user.create", "alice@acme", AUDIT_SUCCESS), 10);
        {
                AuditEvent *list = NULL;
                size_t n = 0;

                ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
                ck_assert_uint_eq(n, 10);
                for (size_t i = 0; i < n; i++)
                        ck_assert_uint_eq(list[i].count, 1);
                audit_event_array_free(list, n);
        }
        /* Every refusing result is counted, each apart from the others. */
        for (int i = 0; i < 3; i++) {
                append(s, "user.create", "acme", "alice@acme", AUDIT_INVALID);
                append(s, "user.create", "acme", "alice@acme", AUDIT_DENIED);
                append(s, "user.create", "acme", "alice@acme", AUDIT_FAILURE);
                append(s, "user.create", "acme", "alice@acme", AUDIT_ERROR);
        }
        ck_assert_uint_eq(test_audit_count(s, "user.create", "alice@acme", -1), 22);
        ck_assert_uint_eq(test_audit_count(s, "user.create", "alice@acme", AUDIT_DENIED), 3);
}
END_TEST

START_TEST(test_repeat_rolled_back) {
        Store *s = test_store;
        int64_t t = 1700000000 * (int64_t) USEC_PER_SEC;

        /* A repeat counted inside a transaction goes with it. */
        refusal(s, "192.0.2.1", NULL, t);
        ck_assert_int_eq(store_begin(s), 0);
        refusal(s, "192.0.2.1", NULL, t + 1);
        store_rollback(s);
        ck_assert_uint_eq(test_audit_count(s, "oauth.token", "app_1", AUDIT_DENIED), 1);
        refusal(s, "192.0.2.1", NULL, t + 2);
        ck_assert_uint_eq(test_audit_count(s, "oauth.token", "app_1", AUDIT_DENIED), 2);
}
END_TEST

START_TEST(test_result_names) {
        static const char *const names[] = { "success", "failure", "denied", "invalid", "error" };

        for (int i = 0; i < _AUDIT_RESULT_MAX; i++) {
                ck_assert_str_eq(audit_result_to_string(i), names[i]);
                ck_assert_int_eq(audit_result_from_string(names[i]), i);
        }
        ck_assert_str_eq(audit_result_to_string(_AUDIT_RESULT_MAX), "unknown");
        ck_assert_str_eq(audit_result_to_string(-1), "unknown");
        ck_assert_int_eq(audit_result_from_string("Success"), -EINVAL);
        ck_assert_int_eq(audit_result_from_string(NULL), -EINVAL);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_empty);
        tcase_add_test(tc, test_filters);
        tcase_add_test(tc, test_default_limit);
        tcase_add_test(tc, test_transactions);
        tcase_add_test(tc, test_repeats_counted);
        tcase_add_test(tc, test_successes_never_counted);
        tcase_add_test(tc, test_repeat_rolled_back);
}

int main(void) {
        Suite *suite = suite_create("store-audit");
        TCase *tc;

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "audit", add_tests);

        tc = tcase_create("results");
        tcase_add_test(tc, test_result_names);
        suite_add_tcase(suite, tc);
        return test_run_suite(suite);
}
