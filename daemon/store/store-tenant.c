/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"

/* A tenant with its settings, NULL where it has no row of them. */
#define TENANT_COLUMNS                                                                            \
        "t.id, t.slug, t.display_name, t.slice, t.id_min, t.id_max, t.created_usec, t.changed_usec, " \
        TENANT_SETTINGS_COLUMNS
#define TENANT_FROM "tenants t LEFT JOIN tenant_settings s ON s.tenant_id = t.id"

static int tenant_from_row(DbStmt *st, void **ret) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_new();
        int r;

        if (!t)
                return -ENOMEM;
        t->id = db_column_int64(st, 0);
        r = store_column_strdup(st, 1, true, &t->slug);
        if (r < 0)
                return r;
        r = store_column_strdup(st, 2, true, &t->display_name);
        if (r < 0)
                return r;
        t->slice = (uint32_t) db_column_int64(st, 3);
        t->id_min = (uint32_t) db_column_int64(st, 4);
        t->id_max = (uint32_t) db_column_int64(st, 5);
        t->created_usec = db_column_int64(st, 6);
        t->changed_usec = db_column_int64(st, 7);
        store_tenant_settings_from_row(st, 8, &t->settings);
        *ret = TAKE_PTR(t);
        return 0;
}

static void tenant_array_free(void **a, size_t n) {
        tenant_record_array_free((TenantRecord **) a, n);
}

/* The lowest slice index no tenant holds, so that slices freed by deleted
 * tenants are found again. */
static int allocate_slice(Store *s, const IdRange *range, uint32_t *ret) {
        static const char sql[] =
                "SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM tenants WHERE slice = 0) "
                "UNION ALL "
                "SELECT MIN(t.slice + 1) FROM tenants t "
                "WHERE NOT EXISTS (SELECT 1 FROM tenants u WHERE u.slice = t.slice + 1) "
                "LIMIT 1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        uint64_t n_slices = ((uint64_t) range->max - range->min + 1) / range->slice_size;
        int64_t slice;
        int r, rc;

        /* The free slice read here is taken by the caller's insert: no
         * other tenant's creation may read it in between (an advisory
         * lock on PostgreSQL, store_lock()). */
        if (db_in_transaction(s->db)) {
                r = store_lock(s, STORE_LOCK_TENANT_SLICES, 0);
                if (r < 0)
                        return r;
        }
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        rc = db_step(st);
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        slice = db_column_int64(st, 0);
        if (slice < 0 || (uint64_t) slice >= n_slices)
                return -ENOSPC;
        *ret = (uint32_t) slice;
        return 0;
}

int store_tenant_create(Store *s, const char *slug, const char *display_name, const IdRange *range,
                        TenantRecord **ret) {
        static const char sql[] =
                "INSERT INTO tenants (slug, display_name, slice, id_min, id_max, created_usec, changed_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        uint32_t slice = 0;
        uint64_t id_min;
        int64_t new_id;
        int r;

        r = allocate_slice(s, range, &slice);
        if (r < 0)
                return r;
        id_min = range->min + (uint64_t) slice * range->slice_size;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, slug);
        db_bind_text(st, 2, strempty(display_name));
        db_bind_int64(st, 3, slice);
        db_bind_int64(st, 4, (int64_t) id_min);
        db_bind_int64(st, 5, (int64_t) (id_min + range->slice_size - 1));
        db_bind_int64(st, 6, now_realtime_usec());
        r = store_step_int64(s, st, &new_id);
        if (r < 0)
                return r;

        return ret ? store_tenant_get_by_id(s, new_id, ret) : 0;
}

int store_tenant_get(Store *s, const char *slug, TenantRecord **ret) {
        static const char sql[] = "SELECT " TENANT_COLUMNS " FROM " TENANT_FROM " WHERE t.slug = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, slug);
        return store_fetch_one(s, st, tenant_from_row, (void **) ret);
}

int store_tenant_get_by_id(Store *s, int64_t id, TenantRecord **ret) {
        static const char sql[] = "SELECT " TENANT_COLUMNS " FROM " TENANT_FROM " WHERE t.id = ?1";
        return store_get_record(s, sql, id, NULL, tenant_from_row, (void **) ret);
}

int store_tenant_list(Store *s, TenantRecord ***ret, size_t *ret_n) {
        static const char sql[] = "SELECT " TENANT_COLUMNS " FROM " TENANT_FROM " ORDER BY t.slug";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        return store_fetch_all(s, st, tenant_from_row, tenant_array_free, (void ***) ret, ret_n);
}

int store_tenant_update(Store *s, const TenantRecord *t) {
        static const char sql[] = "UPDATE tenants SET display_name = ?2, changed_usec = ?3 WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, t->id);
        db_bind_text(st, 2, t->display_name);
        db_bind_int64(st, 3, now_realtime_usec());
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_tenant_purge(Store *s, int64_t id) {
        /* In this order: a user-private group goes with its user, and
         * nothing refers to a tenant once its users, groups and
         * applications are gone (the rest cascades). */
        static const char *const sql[] = {
                "DELETE FROM users WHERE tenant_id = ?1",
                "DELETE FROM groups WHERE tenant_id = ?1",
                "DELETE FROM applications WHERE tenant_id = ?1",
                "DELETE FROM tenants WHERE id = ?1",
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(sql); i++) {
                _cleanup_(store_stmt_resetp) DbStmt *st = NULL;

                r = store_stmt(s, sql[i], &st);
                if (r < 0)
                        return r;
                db_bind_int64(st, 1, id);
                r = store_step_done(s, st);
                if (r < 0)
                        return r;
        }
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_tenant_delete(Store *s, int64_t id) {
        static const char sql_used[] =
                "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1) "
                "OR EXISTS (SELECT 1 FROM groups WHERE tenant_id = ?1)";
        static const char sql[] = "DELETE FROM tenants WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *used = NULL, *st = NULL;
        int r, rc;

        r = store_stmt(s, sql_used, &used);
        if (r < 0)
                return r;
        db_bind_int64(used, 1, id);
        rc = db_step(used);
        if (rc != 1)
                return rc;
        if (db_column_int64(used, 0))
                return -ENOTEMPTY;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}
