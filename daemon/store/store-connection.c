/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A Store: one connection (db.h) with the schema brought up to date, and
 * the helpers the store-*.c files share to run statements on it. Nothing
 * here knows which backend runs. */

#include <stdlib.h>

#include "log.h"
#include "store-internal.h"
#include "time-util.h"

int store_stmt(Store *s, const char *sql, DbStmt **ret) {
        int r = db_stmt(s->db, sql, ret);

        /* A failure to prepare is logged by the backend, with the SQL;
         * more distinct statements than slots is a programming error. */
        if (r == -E2BIG)
                return log_error_errno(r, "Statement cache full.");
        return r;
}

static bool is_constraint_error(int r) {
        return r == -EEXIST || r == -ENOTEMPTY || r == -EINVAL;
}

int store_step_error(Store *s, int r) {
        if (!is_constraint_error(r))
                log_error("Database error: %s", db_errmsg(s->db));
        return r;
}

int store_step_done(Store *s, DbStmt *st) {
        int r = db_step(st);

        return r < 0 ? store_step_error(s, r) : 0;
}

int store_step_int64(Store *s, DbStmt *st, int64_t *ret) {
        int64_t v;
        int r;

        r = db_step(st);
        if (r < 0)
                return store_step_error(s, r);
        if (r == 0)
                return -ENOENT;
        v = db_column_int64(st, 0);
        while ((r = db_step(st)) > 0)
                ;
        if (r < 0)
                return store_step_error(s, r);
        *ret = v;
        return 0;
}

bool store_column_fixed_blob(DbStmt *st, int col, void *dst, size_t size) {
        size_t n;
        const void *p = db_column_blob(st, col, &n);

        if (!p || n != size)
                return false;
        memcpy(dst, p, size);
        return true;
}

int store_column_strdup(DbStmt *st, int col, bool empty_if_null, char **ret) {
        const char *t = db_column_text(st, col);
        char *c;

        if (!t && !empty_if_null) {
                *ret = NULL;
                return 0;
        }
        c = strdup(t ?: "");
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int store_collect_strv(Store *s, DbStmt *st, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0, allocated = 0;
        int r;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        while ((r = db_step(st)) > 0) {
                if (n + 2 > allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 16);
                        char **nl = realloc(l, na * sizeof(char *));
                        if (!nl)
                                return -ENOMEM;
                        l = nl;
                        allocated = na;
                }
                l[n] = strdup(db_column_text(st, 0) ?: "");
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        if (r < 0)
                return log_error_errno(r, "Database error: %s", db_errmsg(s->db));

        *ret = TAKE_PTR(l);
        return 0;
}

int store_fetch_one(Store *s, DbStmt *st, StoreRowFunc row, void **ret) {
        int r = db_step(st);

        if (r == 0)
                return -ENOENT;
        if (r < 0)
                return log_error_errno(r, "Database error: %s", db_errmsg(s->db));
        /* Without ret the caller only asks whether the row exists. */
        return ret ? row(st, ret) : 0;
}

int store_get_record(Store *s, const char *sql, int64_t key, const char *text, StoreRowFunc row, void **ret) {
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, key);
        if (text)
                db_bind_text(st, 2, text);
        return store_fetch_one(s, st, row, ret);
}

int store_fetch_all(Store *s, DbStmt *st, StoreRowFunc row, StoreArrayFreeFunc array_free,
                    void ***ret, size_t *ret_n) {
        void **list = NULL;
        size_t n = 0, allocated = 0;
        int r;

        while ((r = db_step(st)) > 0) {
                if (n >= allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 16);
                        void **nl = realloc(list, na * sizeof(void *));
                        if (!nl) {
                                array_free(list, n);
                                return -ENOMEM;
                        }
                        list = nl;
                        allocated = na;
                }
                r = row(st, &list[n]);
                if (r < 0) {
                        array_free(list, n);
                        return r;
                }
                n++;
        }
        if (r < 0) {
                array_free(list, n);
                return log_error_errno(r, "Database error: %s", db_errmsg(s->db));
        }

        *ret = list;
        *ret_n = n;
        return 0;
}

int store_open(const StoreConfig *c, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        int r;

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        r = store_config_describe(c, &s->description);
        if (r < 0)
                return log_error_errno(r, "The store configuration names no database.");

        r = db_open(c, &s->db);
        if (r < 0)
                return r;

        r = store_migrate(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        if (s->db) {
                db_rollback(s->db);
                for (size_t i = 0; i < STORE_USER_SEARCH_SHAPES; i++)
                        db_stmt_free(s->user_search[i]);
        }
        for (size_t i = 0; i < STORE_AUDIT_QUERY_SHAPES; i++)
                free(s->audit_query_sql[i]);
        /* The cache keys its statements on the audit queries' texts by
         * address only and never reads them again: freed above is fine. */
        db_close(s->db);
        free(s->description);
        free(s);
        return NULL;
}

int store_ping(Store *s) {
        static const char sql[] = "SELECT 1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        r = db_step(st);
        return r > 0 ? 0 : r == 0 ? -EIO : r;
}

int store_begin(Store *s) {
        return db_begin(s->db);
}

int store_commit(Store *s) {
        return db_commit(s->db);
}

void store_rollback(Store *s) {
        /* NULL is fine, as for any destructor: callers hand over a "txn"
         * that change_begin() never set or store_commit() already took. */
        if (s)
                db_rollback(s->db);
}
