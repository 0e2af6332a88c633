/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tenant's entitlements and usage counters (entitlement.h): one row of
 * limits and flags per tenant, one row per counter, one per increment key
 * while it is remembered. */

#include <assert.h>
#include <stdlib.h>

#include "log.h"
#include "api-session.h"
#include "oidc-records.h"
#include "store-internal.h"

#define FEATURES_MAX 64

void entitlements_done(Entitlements *e) {
        strv_free(e->features);
        *e = (Entitlements) { .max_users = -1, .max_applications = -1 };
}

int store_entitlements_get(Store *s, int64_t tenant_id, Entitlements *ret) {
        static const char sql[] =
                "SELECT COALESCE(max_users, -1), COALESCE(max_applications, -1), features, changed_usec "
                "FROM tenant_entitlements WHERE tenant_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        Entitlements e = { .max_users = -1, .max_applications = -1 };
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        rc = db_step(st);
        if (rc == 1) {
                e.max_users = db_column_int64(st, 0);
                e.max_applications = db_column_int64(st, 1);
                e.changed_usec = db_column_int64(st, 3);
                r = strv_split_spaces(db_column_text(st, 2), FEATURES_MAX, &e.features);
                if (r < 0)
                        return r;
        } else if (rc != 0)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = e;
        return 0;
}

int store_entitlements_put(Store *s, int64_t tenant_id, const Entitlements *e) {
        static const char sql[] =
                "INSERT INTO tenant_entitlements (tenant_id, max_users, max_applications, features, changed_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant_id) DO UPDATE SET max_users = ?2, "
                "max_applications = ?3, features = ?4, changed_usec = ?5";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ char *features = NULL;
        int r;

        features = e->features ? strv_join_spaces(e->features) : strdup("");
        if (!features)
                return -ENOMEM;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        if (e->max_users >= 0)
                db_bind_int64(st, 2, e->max_users);
        if (e->max_applications >= 0)
                db_bind_int64(st, 3, e->max_applications);
        db_bind_text(st, 4, features);
        db_bind_int64(st, 5, e->changed_usec > 0 ? e->changed_usec : now_realtime_usec());
        r = store_step_done(s, st);
        /* The tenant went away in between (its foreign key). */
        return r == -ENOTEMPTY ? -ENOENT : r;
}

int store_tenant_count(Store *s, int64_t tenant_id, EntitledResource what, uint64_t at_most, uint64_t *ret) {
        /* The inner LIMIT stops the walk of the index at the limit. The
         * subquery is named: PostgreSQL before 16 asks. */
        static const char users_sql[] =
                "SELECT count(*) FROM (SELECT 1 FROM users WHERE tenant_id = ?1 LIMIT ?2) AS counted";
        static const char apps_sql[] =
                "SELECT count(*) FROM (SELECT 1 FROM applications WHERE tenant_id = ?1 AND name <> '" API_APPLICATION_NAME "' "
                "LIMIT ?2) AS counted";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        /* Checked against the plan, then added by the caller in the same
         * transaction: two creations on two connections must not both
         * count the last free place (an advisory lock on PostgreSQL,
         * store_lock(); users share it with the allocation of their IDs). */
        if (db_in_transaction(s->db)) {
                r = store_lock(s, what == ENTITLED_USERS ? STORE_LOCK_TENANT_IDS : STORE_LOCK_TENANT_APPLICATIONS,
                               tenant_id);
                if (r < 0)
                        return r;
        }
        r = store_stmt(s, what == ENTITLED_USERS ? users_sql : apps_sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, at_most > INT64_MAX ? INT64_MAX : (int64_t) at_most);
        rc = db_step(st);
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = (uint64_t) db_column_int64(st, 0);
        return 0;
}

void usage_counter_array_free(UsageCounter *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                free(a[i].name);
        free(a);
}

int store_usage_increment(Store *s, int64_t tenant_id, const char *counter, int64_t amount, const char *key,
                          int64_t forget_before_usec, int64_t *ret_value, bool *ret_replayed) {
        static const char forget_sql[] = "DELETE FROM usage_increments WHERE created_usec < ?1";
        static const char seen_sql[] =
                "SELECT counter, amount, value_after FROM usage_increments "
                "WHERE tenant_id = ?1 AND idempotency_key = ?2";
        static const char add_sql[] =
                "INSERT INTO usage_counters (tenant_id, counter, value, changed_usec) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT (tenant_id, counter) DO UPDATE SET value = usage_counters.value + ?3, changed_usec = ?4 "
                "RETURNING value";
        /* The key is claimed before the counter moves: of two increments
         * with one key on two connections (two tesserad on one
         * PostgreSQL), the second waits here for the first to commit, then
         * inserts nothing and replays what the first stored. The counter
         * itself moves by one atomic upsert (value = value + amount). */
        static const char key_sql[] =
                "INSERT INTO usage_increments (tenant_id, idempotency_key, counter, amount, value_after, "
                "created_usec) VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING";
        static const char value_sql[] =
                "UPDATE usage_increments SET value_after = ?3 WHERE tenant_id = ?1 AND idempotency_key = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *forget = NULL, *seen = NULL, *add = NULL, *claim = NULL,
                                         *remember = NULL;
        int64_t now = now_realtime_usec(), value;
        int r, rc;

        assert(db_in_transaction(s->db));
        r = store_stmt(s, forget_sql, &forget);
        if (r < 0)
                return r;
        db_bind_int64(forget, 1, forget_before_usec);
        r = store_step_done(s, forget);
        if (r < 0)
                return r;

        if (key) {
                r = store_stmt(s, key_sql, &claim);
                if (r < 0)
                        return r;
                db_bind_int64(claim, 1, tenant_id);
                db_bind_text(claim, 2, key);
                db_bind_text(claim, 3, counter);
                db_bind_int64(claim, 4, amount);
                db_bind_int64(claim, 5, now);
                r = store_step_done(s, claim);
                if (r < 0)
                        return r == -ENOTEMPTY ? -ENOENT : r;
        }
        if (key && db_changes(s->db) == 0) {
                r = store_stmt(s, seen_sql, &seen);
                if (r < 0)
                        return r;
                db_bind_int64(seen, 1, tenant_id);
                db_bind_text(seen, 2, key);
                rc = db_step(seen);
                if (rc == 1) {
                        if (!streq(db_column_text(seen, 0), counter) ||
                            db_column_int64(seen, 1) != amount)
                                return -ENOTUNIQ;
                        *ret_value = db_column_int64(seen, 2);
                        *ret_replayed = true;
                        return 0;
                }
                return rc == 0 ? -EIO : log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }

        r = store_stmt(s, add_sql, &add);
        if (r < 0)
                return r;
        db_bind_int64(add, 1, tenant_id);
        db_bind_text(add, 2, counter);
        db_bind_int64(add, 3, amount);
        db_bind_int64(add, 4, now);
        rc = db_step(add);
        if (rc != 1)
                return rc == -ENOTEMPTY ? -ENOENT : rc;
        value = db_column_int64(add, 0);
        /* RETURNING gives its rows before the statement is done. */
        rc = db_step(add);
        if (rc != 0)
                return rc;

        if (key) {
                r = store_stmt(s, value_sql, &remember);
                if (r < 0)
                        return r;
                db_bind_int64(remember, 1, tenant_id);
                db_bind_text(remember, 2, key);
                db_bind_int64(remember, 3, value);
                r = store_step_done(s, remember);
                if (r < 0)
                        return r;
        }
        *ret_value = value;
        *ret_replayed = false;
        return 0;
}

int store_usage_list(Store *s, int64_t tenant_id, UsageCounter **ret, size_t *ret_n) {
        static const char sql[] =
                "SELECT counter, value, changed_usec FROM usage_counters WHERE tenant_id = ?1 ORDER BY counter";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        UsageCounter *list = NULL;
        size_t n = 0;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        while ((rc = db_step(st)) == 1) {
                UsageCounter *nl = realloc(list, (n + 1) * sizeof(UsageCounter));

                if (!nl) {
                        usage_counter_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                list[n] = (UsageCounter) { .value = db_column_int64(st, 1),
                                           .changed_usec = db_column_int64(st, 2) };
                r = store_column_strdup(st, 0, true, &list[n].name);
                if (r < 0) {
                        usage_counter_array_free(list, n);
                        return r;
                }
                n++;
        }
        if (rc != 0) {
                usage_counter_array_free(list, n);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }
        *ret = list;
        *ret_n = n;
        return 0;
}
