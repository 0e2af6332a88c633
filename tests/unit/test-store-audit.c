/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store-audit.c and audit.c: the append-only audit trail. */

#include <stdlib.h>

#include "db-sqlite.h"
#include "store-internal.h"
#include "test-pg-util.h"
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

/* The events a query should give, worked out the slow way from the
 * events as written: the tenant's, matching every filter, newest first. */
typedef struct Written {
        int64_t id, time_usec;
        const char *tenant, *actor, *target, *action;
        AuditResult result;
} Written;

static bool selected(const Written *w, const AuditQuery *q) {
        return streq(w->tenant, q->tenant) && (!q->actor || streq(w->actor, q->actor)) &&
               (!q->target || streq(w->target, q->target)) && (!q->action || streq(w->action, q->action)) &&
               (q->result < 0 || (int) w->result == q->result) && w->time_usec >= q->since_usec &&
               (q->until_usec <= 0 || w->time_usec <= q->until_usec);
}

static int newest_first(const void *a, const void *b) {
        const Written *x = a, *y = b;

        if (x->time_usec != y->time_usec)
                return x->time_usec > y->time_usec ? -1 : 1;
        return x->id > y->id ? -1 : x->id < y->id;
}

static const char *const actors[] = { "alice", "bob", "op" };
static const char *const targets[] = { "alice@acme", "bob@acme", "carol@acme", "dave@acme" };
static const char *const actions[] = { "user.create", "user.update", "auth.password" };
static const char *const tenants[] = { "acme", "globex" };

/* The id of the event just appended, on either backend. */
static int64_t last_event_id(Store *s) {
        static const char sql[] = "SELECT max(id) FROM audit_events";
        _cleanup_(db_stmt_resetp) DbStmt *st = NULL;
        int64_t id;

        ck_assert_int_eq(db_stmt(s->db, sql, &st), 0);
        ck_assert_int_eq(db_step(st), 1);
        id = db_column_int64(st, 0);
        ck_assert_int_gt(id, 0);
        return id;
}

static size_t write_events(Store *s, Written *w, size_t n) {
        ck_assert_int_eq(store_begin(s), 0);
        for (size_t i = 0; i < n; i++) {
                /* Times in steps of 3 events, so that ties are broken by id;
                 * not in id order, as events given their own time are not. */
                AuditEvent e = {
                        .time_usec = 1000000 + (int64_t) ((i * 7919) % n) / 3 * 10,
                        .channel = "http",
                        .actor_uid = -1,
                        .actor = actors[i % 3],
                        .target = targets[(i / 3) % 4],
                        .action = actions[(i / 2) % 3],
                        .tenant = tenants[(i / 5) % 2],
                        /* Mostly successes, as a real trail has. */
                        .result = i % 11 == 0 ? AUDIT_DENIED : i % 13 == 0 ? AUDIT_FAILURE : AUDIT_SUCCESS,
                        /* Refusals differ, so that none is counted on another. */
                        .details = NULL,
                        .remote = NULL,
                };
                char remote[32];

                snprintf(remote, sizeof(remote), "192.0.2.%zu", i);
                e.remote = remote;
                ck_assert_int_eq(store_audit_append(s, &e), 0);
                w[i] = (Written) { .id = last_event_id(s), .time_usec = e.time_usec,
                                   .tenant = e.tenant, .actor = e.actor, .target = e.target, .action = e.action,
                                   .result = e.result };
        }
        ck_assert_int_eq(store_commit(s), 0);
        return n;
}

/* Walks every page of q and compares with the slow answer. */
static void check_pages(Store *s, const Written *w, size_t n_written, AuditQuery q) {
        _cleanup_free_ Written *expected = calloc(n_written, sizeof(Written));
        size_t n_expected = 0, seen = 0;

        for (size_t i = 0; i < n_written; i++)
                if (selected(&w[i], &q))
                        expected[n_expected++] = w[i];
        qsort(expected, n_expected, sizeof(Written), newest_first);

        for (;;) {
                AuditEvent *page = NULL;
                size_t n = 0;

                ck_assert_int_eq(store_audit_query(s, &q, &page, &n), 0);
                ck_assert_uint_le(n, q.limit);
                for (size_t i = 0; i < n; i++, seen++) {
                        ck_assert_uint_lt(seen, n_expected);
                        ck_assert_int_eq(page[i].id, expected[seen].id);
                        ck_assert_str_eq(page[i].tenant, q.tenant);
                }
                if (n > 0) {
                        q.has_before = true;
                        q.before_time_usec = page[n - 1].time_usec;
                        q.before_id = page[n - 1].id;
                }
                audit_event_array_free(page, n);
                if (n < q.limit)
                        break;
        }
        ck_assert_uint_eq(seen, n_expected);
}

START_TEST(test_query_pages_and_filters) {
        Store *s = test_store;
        Written w[600];
        size_t n = write_events(s, w, ELEMENTSOF(w));
        AuditQuery base = { .tenant = "acme", .result = -1, .limit = 7 };

        check_pages(s, w, n, base);
        check_pages(s, w, n, (AuditQuery) { .tenant = "globex", .result = -1, .limit = 50 });
        check_pages(s, w, n, (AuditQuery) { .tenant = "initech", .result = -1, .limit = 5 });
        for (size_t i = 0; i < ELEMENTSOF(actors); i++) {
                AuditQuery q = base;

                q.actor = actors[i];
                check_pages(s, w, n, q);
                q.action = "user.update";
                check_pages(s, w, n, q);
        }
        for (size_t i = 0; i < ELEMENTSOF(targets); i++) {
                AuditQuery q = base;

                q.target = targets[i];
                check_pages(s, w, n, q);
                q.result = AUDIT_SUCCESS;
                check_pages(s, w, n, q);
        }
        for (int r = 0; r < _AUDIT_RESULT_MAX; r++) {
                AuditQuery q = base;

                q.result = r;
                check_pages(s, w, n, q);
                q.actor = "bob";
                q.target = "carol@acme";
                q.action = "auth.password";
                check_pages(s, w, n, q);
        }
        base.since_usec = 1000000 + 300;
        check_pages(s, w, n, base);
        base.until_usec = 1000000 + 1000;
        check_pages(s, w, n, base);
        base.action = "user.create";
        base.limit = 1;
        check_pages(s, w, n, base);
}
END_TEST

/* Each shape of the query reads through an index, in its order: no full
 * scan, no sort, and a page costs steps in proportion to its size, not to
 * the trail's. */
START_TEST(test_query_uses_indexes) {
        Store *s = test_store;
        _cleanup_free_ Written *w = calloc(6000, sizeof(Written));
        AuditQuery shapes[] = {
                { .tenant = "acme", .result = -1, .limit = 20 },
                /* The rare ones lie at the far end of the time order. */
                { .tenant = "acme", .actor = "rare", .result = -1, .limit = 20 },
                { .tenant = "acme", .target = "rare@acme", .result = -1, .limit = 20 },
                { .tenant = "acme", .action = "rare.action", .result = -1, .limit = 20 },
                { .tenant = "acme", .result = AUDIT_ERROR, .limit = 20 },
                { .tenant = "acme", .result = AUDIT_SUCCESS, .limit = 20 },
                { .tenant = "acme", .actor = "alice", .action = "user.create", .result = AUDIT_SUCCESS, .limit = 20 },
                { .tenant = "acme", .actor = "rare", .action = "rare.action", .result = AUDIT_ERROR, .limit = 20 },
                { .tenant = "acme", .since_usec = 1000000 + 5000, .until_usec = 1000000 + 9000, .result = -1,
                  .limit = 20 },
        };

        write_events(s, w, 6000);
        for (int i = 0; i < 30; i++) {
                char remote[32];
                AuditEvent e = { .time_usec = 10 + i, .channel = "http", .actor_uid = -1, .actor = "rare",
                                 .target = "rare@acme", .action = "rare.action", .tenant = "acme",
                                 .result = AUDIT_ERROR, .remote = remote };

                snprintf(remote, sizeof(remote), "198.51.100.%d", i);
                ck_assert_int_eq(store_audit_append(s, &e), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(shapes); i++) {
                AuditEvent *page = NULL;
                sqlite3_stmt *st = NULL;
                DbStmt *found;
                size_t n = 0;
                int steps;

                ck_assert_int_eq(store_audit_query(s, &shapes[i], &page, &n), 0);
                ck_assert_uint_eq(n, 20);
                audit_event_array_free(page, n);
                for (size_t j = 0; j < STORE_AUDIT_QUERY_SHAPES; j++)
                        if (s->audit_query_sql[j] && (found = db_stmt_find(s->db, s->audit_query_sql[j])) &&
                            sqlite3_stmt_status(db_sqlite_stmt(found), SQLITE_STMTSTATUS_RUN, 0) > 0)
                                st = db_sqlite_stmt(found);
                ck_assert_ptr_nonnull(st);
                ck_assert_msg(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1) == 0, "shape %zu scans", i);
                ck_assert_msg(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_SORT, 1) == 0, "shape %zu sorts", i);
                /* 6000 events: a scan would take tens of thousands of steps. */
                steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
                ck_assert_msg(steps < 3000, "shape %zu: %d steps", i, steps);
                sqlite3_stmt_status(st, SQLITE_STMTSTATUS_RUN, 1);
        }
}
END_TEST

/* What an operator caused is marked on the event, from the principal, in
 * change_audit(): their name, and for an impersonation the reason; a
 * repeated refusal with another reason is an event of its own. */
START_TEST(test_operator_marked) {
        Store *s = test_store;
        Principal op = { .kind = PRINCIPAL_OPERATOR, .channel = "http", .name = "olga", .uid = -1 };
        Principal imp = { .kind = PRINCIPAL_IMPERSONATION, .channel = "http", .name = "olga", .uid = -1,
                          .tenant_id = 1, .reason = "ticket 42" };
        Principal user = { .kind = PRINCIPAL_USER, .channel = "http", .name = "alice", .uid = -1, .tenant_id = 1 };
        AuditQuery q = { .tenant = "acme", .result = -1, .limit = 10 };
        AuditEvent *list = NULL;
        size_t n = 0;

        ck_assert_int_eq(change_audit(s, &user, "user.update", "acme", "bob@acme", AUDIT_SUCCESS, NULL), 0);
        ck_assert_int_eq(change_audit(s, &op, "entitlement.write", "acme", "acme", AUDIT_SUCCESS, NULL), 0);
        ck_assert_int_eq(change_audit(s, &imp, "user.update", "acme", "bob@acme", AUDIT_SUCCESS, NULL), 0);
        ck_assert_int_eq(change_audit(s, &imp, "user.delete", "acme", "bob@acme", AUDIT_DENIED, NULL), 0);
        imp.reason = "ticket 43";
        ck_assert_int_eq(change_audit(s, &imp, "user.delete", "acme", "bob@acme", AUDIT_DENIED, NULL), 0);

        ck_assert_int_eq(store_audit_query(s, &q, &list, &n), 0);
        ck_assert_uint_eq(n, 5);
        /* Newest first. */
        ck_assert_str_eq(list[0].reason, "ticket 43");
        ck_assert_str_eq(list[0].operator_name, "olga");
        ck_assert_str_eq(list[1].reason, "ticket 42");
        ck_assert_str_eq(list[2].reason, "ticket 42");
        ck_assert_str_eq(list[2].operator_name, "olga");
        ck_assert_str_eq(list[2].actor, "olga");
        ck_assert_str_eq(list[3].operator_name, "olga");
        ck_assert_ptr_null(list[3].reason);
        ck_assert_ptr_null(list[4].operator_name);
        ck_assert_ptr_null(list[4].reason);
        audit_event_array_free(list, n);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_query_pages_and_filters);
        /* SQLite's statement counters; PostgreSQL's plans are not checked yet. */
        if (!test_pg_url())
                tcase_add_test(tc, test_query_uses_indexes);
        tcase_add_test(tc, test_operator_marked);
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
