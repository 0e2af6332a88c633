/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/audit-retention.c and the store's side of it: pruning the audit
 * trail by age and by size, in batches, never an event still open for
 * repeats, and the export that comes before every delete. */

#include <jansson.h>
#include <sys/stat.h>

#include "audit-retention.h"
#include "test-util.h"
#include "time-util.h"

#define DAY (86400 * (int64_t) USEC_PER_SEC)
#define NOW (1700000000 * (int64_t) USEC_PER_SEC)

static char *dir;

static void setup(void) {
        dir = test_mkdtemp();
        test_store = test_store_open(dir);
}

static void teardown(void) {
        test_store = store_close(test_store);
        test_rm_rf(dir);
        dir = (free(dir), NULL);
}

/* n successes (never merged) stamped t, with targets "<tag>-<i>". */
static void add_events(Store *s, const char *tag, unsigned n, int64_t t) {
        ck_assert_int_eq(store_begin(s), 0);
        for (unsigned i = 0; i < n; i++) {
                char target[64];
                AuditEvent e = {
                        .time_usec = t,
                        .channel = "http",
                        .actor_uid = -1,
                        .action = "oauth.token",
                        .tenant = "acme",
                        .target = target,
                        .result = AUDIT_SUCCESS,
                        .remote = "192.0.2.1",
                        .details = "{\"grant\":\"client_credentials\"}",
                };
                snprintf(target, sizeof(target), "%s-%u", tag, i);
                ck_assert_int_eq(store_audit_append(s, &e), 0);
        }
        ck_assert_int_eq(store_commit(s), 0);
}

static size_t count_rows(Store *s, const char *target_prefix) {
        AuditEvent *list = NULL;
        size_t n = 0, matching = 0;

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .limit = 1000000 }, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (!target_prefix || (list[i].target && strneq(list[i].target, target_prefix, strlen(target_prefix))))
                        matching++;
        audit_event_array_free(list, n);
        return matching;
}

static int64_t first_id(Store *s) {
        AuditEvent *list = NULL;
        size_t n = 0;
        int64_t id;

        ck_assert_int_eq(store_audit_list(s, &(AuditFilter) { .limit = 1 }, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        id = list[0].id;
        audit_event_array_free(list, n);
        return id;
}

static unsigned batches;

static bool count_batches(void *userdata) {
        batches++;
        return true;
}

START_TEST(test_by_age) {
        AuditRetentionOptions o = { .max_age_usec = 90 * DAY };
        uint64_t pruned = 0;

        add_events(test_store, "ancient", 2500, NOW - 100 * DAY);
        add_events(test_store, "recent", 10, NOW - 10 * DAY);
        batches = 0;
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, count_batches, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 2500);
        /* In batches of AUDIT_PRUNE_BATCH, each a transaction of its own. */
        ck_assert_uint_eq(batches, 3);
        ck_assert_uint_eq(count_rows(test_store, "ancient"), 0);
        ck_assert_uint_eq(count_rows(test_store, "recent"), 10);

        /* Nothing more to do. */
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, NULL, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 0);
}
END_TEST

START_TEST(test_by_size) {
        AuditRetentionOptions o = { .max_rows = 1000 };
        uint64_t pruned = 0;
        int64_t first;

        add_events(test_store, "old", 2000, NOW - DAY);
        add_events(test_store, "newer", 1500, NOW - DAY / 2);
        first = first_id(test_store);
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, NULL, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 2500);
        /* The newest 1000 stay. */
        ck_assert_uint_eq(count_rows(test_store, NULL), 1000);
        ck_assert_uint_eq(count_rows(test_store, "newer"), 1000);
        ck_assert_int_eq(first_id(test_store), first + 2500);
}
END_TEST

START_TEST(test_open_events_stay) {
        /* Events that repeats may still be counted on stay, whatever the
         * limits say, and so does everything after them. */
        AuditRetentionOptions o = { .max_age_usec = 1, .max_rows = 10 };
        uint64_t pruned = 0;

        add_events(test_store, "closed", 50, NOW - (int64_t) AUDIT_MERGE_WINDOW_USEC - 10 * (int64_t) USEC_PER_SEC);
        add_events(test_store, "open", 50, NOW - (int64_t) USEC_PER_SEC);
        add_events(test_store, "closed-later", 5, NOW - DAY);
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, NULL, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 50);
        ck_assert_uint_eq(count_rows(test_store, "open"), 50);
        ck_assert_uint_eq(count_rows(test_store, "closed-later"), 5);
}
END_TEST

START_TEST(test_no_limits) {
        AuditRetentionOptions o = {};
        uint64_t pruned = 42;

        add_events(test_store, "ancient", 10, NOW - 1000 * DAY);
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, NULL, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 0);
        ck_assert_uint_eq(count_rows(test_store, NULL), 10);
}
END_TEST

static bool stop_now(void *userdata) {
        return false;
}

START_TEST(test_stop_between_batches) {
        AuditRetentionOptions o = { .max_age_usec = DAY };
        uint64_t pruned = 0;

        add_events(test_store, "ancient", 2500, NOW - 100 * DAY);
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, stop_now, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, AUDIT_PRUNE_BATCH);
        ck_assert_uint_eq(count_rows(test_store, NULL), 2500 - AUDIT_PRUNE_BATCH);
}
END_TEST

START_TEST(test_export_first) {
        _cleanup_free_ char *path = NULL;
        AuditRetentionOptions o = { .max_age_usec = 90 * DAY };
        _cleanup_(fclosep) FILE *f = NULL;
        char line[4096];
        unsigned n = 0;
        uint64_t pruned = 0;
        struct stat st;
        int64_t first = 0;

        ck_assert_int_ge(asprintf(&path, "%s/audit-export.jsonl", dir), 0);
        o.export_file = path;
        add_events(test_store, "ancient", 1200, NOW - 100 * DAY);
        /* A refusal counted 3 times: exported with its count. */
        for (int i = 0; i < 3; i++) {
                AuditEvent e = {
                        .time_usec = NOW - 99 * DAY + i,
                        .channel = "http",
                        .actor_uid = -1,
                        .action = "oauth.token",
                        .target = "ancient-refusal",
                        .result = AUDIT_DENIED,
                        .remote = "192.0.2.9",
                        .details = "{\"why\":\"wrong secret\"}",
                        /* Refused under an operator's impersonation. */
                        .operator_name = "olga",
                        .reason = "ticket 42",
                };
                ck_assert_int_eq(store_audit_append(test_store, &e), 0);
        }
        add_events(test_store, "recent", 3, NOW - DAY);
        first = first_id(test_store);

        ck_assert_int_eq(audit_prune(test_store, &o, NOW, NULL, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 1201);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);

        /* Every deleted event is in the file, once, in order. */
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f)) {
                json_t *j = json_loads(line, 0, NULL);

                ck_assert_ptr_nonnull(j);
                ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), first + n);
                ck_assert_str_eq(json_string_value(json_object_get(j, "action")), "oauth.token");
                if (n < 1200) {
                        ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
                        ck_assert_str_eq(json_string_value(json_object_get(j, "result")), "success");
                        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "details"), "grant")),
                                         "client_credentials");
                        ck_assert(json_is_null(json_object_get(j, "actor_uid")));
                        ck_assert(json_is_null(json_object_get(j, "operator")));
                } else {
                        ck_assert_str_eq(json_string_value(json_object_get(j, "operator")), "olga");
                        ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "ticket 42");
                        ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 3);
                        ck_assert_str_eq(json_string_value(json_object_get(j, "result")), "denied");
                        ck_assert_str_eq(json_string_value(json_object_get(j, "remote")), "192.0.2.9");
                        ck_assert_int_eq(json_integer_value(json_object_get(j, "last_usec")), NOW - 99 * DAY + 2);
                }
                json_decref(j);
                n++;
        }
        ck_assert_uint_eq(n, 1201);
        ck_assert_uint_eq(count_rows(test_store, "recent"), 3);
        ck_assert_uint_eq(count_rows(test_store, NULL), 3);

        /* A later pass appends. */
        add_events(test_store, "later", 2, NOW - 95 * DAY);
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, NULL, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 0);   /* behind the recent ones, which stay */
        ck_assert_int_eq(audit_prune(test_store, &o, NOW + 90 * DAY, NULL, NULL, &pruned), 0);
        ck_assert_uint_eq(pruned, 5);
        fclose(TAKE_PTR(f));
        f = fopen(path, "re");
        for (n = 0; fgets(line, sizeof(line), f); n++)
                ;
        ck_assert_uint_eq(n, 1206);
}
END_TEST

START_TEST(test_export_fails_nothing_deleted) {
        _cleanup_free_ char *path = NULL;
        AuditRetentionOptions o = { .max_age_usec = DAY };
        uint64_t pruned = 42;

        /* No such directory: the export can't be written. */
        ck_assert_int_ge(asprintf(&path, "%s/missing/audit.jsonl", dir), 0);
        o.export_file = path;
        add_events(test_store, "ancient", 10, NOW - 100 * DAY);
        ck_assert_int_eq(audit_prune(test_store, &o, NOW, NULL, NULL, &pruned), -ENOENT);
        ck_assert_uint_eq(pruned, 0);
        ck_assert_uint_eq(count_rows(test_store, NULL), 10);
}
END_TEST

START_TEST(test_thread) {
        /* The daemon's way: a thread with a connection of its own prunes at
         * once when started, and stops when freed. */
        _cleanup_(store_pool_freep) StorePool *pool = test_store_pool(dir);
        AuditRetentionOptions o = { .max_age_usec = DAY, .interval_usec = 3600 * USEC_PER_SEC };
        AuditRetention *r = NULL;

        add_events(test_store, "ancient", 1500, now_realtime_usec() - 100 * DAY);
        add_events(test_store, "recent", 5, now_realtime_usec());
        ck_assert_int_eq(audit_retention_start(pool, &o, &r), 0);
        /* Its first pass ends in a moment; wait for it, with a bound. */
        for (int i = 0; i < 3000 && count_rows(test_store, "ancient") > 0; i++)
                usleep(10000);
        ck_assert_uint_eq(count_rows(test_store, "ancient"), 0);
        ck_assert_uint_eq(count_rows(test_store, "recent"), 5);
        /* Freed while it sleeps an hour: returns at once. */
        r = audit_retention_free(r);
        ck_assert_ptr_null(r);
}
END_TEST

int main(void) {
        Suite *s = suite_create("audit-retention");
        TCase *tc = tcase_create("prune");

        log_set_max_level(LOG_WARNING);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_by_age);
        tcase_add_test(tc, test_by_size);
        tcase_add_test(tc, test_open_events_stay);
        tcase_add_test(tc, test_no_limits);
        tcase_add_test(tc, test_stop_between_batches);
        tcase_add_test(tc, test_export_first);
        tcase_add_test(tc, test_export_fails_nothing_deleted);
        tcase_add_test(tc, test_thread);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
