/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The part of db.h that is the same for every backend: choosing the
 * backend, the statement cache, the transaction state and savepoints. */

#include <stdlib.h>

#include "db-backend.h"
#include "log.h"
#include "macro.h"

static const DbBackend *backend_of(StoreBackend b) {
        switch (b) {
        case STORE_BACKEND_SQLITE:
                return &db_backend_sqlite;
        case STORE_BACKEND_POSTGRESQL:
                return &db_backend_pg;
        default:
                return NULL;
        }
}

int db_open(const StoreConfig *c, Db **ret) {
        const DbBackend *b = backend_of(c->backend);
        Db *db;
        int r;

        if (!b)
                return -EPROTONOSUPPORT;
        db = calloc(1, sizeof(Db));
        if (!db)
                return -ENOMEM;
        db->backend = b;
        r = b->connect(db, c);
        if (r < 0) {
                free(db);
                return r;
        }
        *ret = db;
        return 0;
}

Db *db_close(Db *db) {
        if (!db)
                return NULL;
        db_rollback(db);
        for (size_t i = 0; i < DB_STMT_CACHE_SIZE; i++)
                if (db->stmts[i].stmt)
                        db->backend->finalize(db->stmts[i].stmt);
        db->backend->disconnect(db);
        free(db);
        return NULL;
}

DbDialect db_dialect(const Db *db) {
        return db->backend->dialect;
}

const char *db_backend_name(const Db *db) {
        return db->backend->name;
}

const char *db_errmsg(Db *db) {
        return db->backend->errmsg(db) ?: "unknown error";
}

static unsigned stmt_slot(const char *sql) {
        uintptr_t h = (uintptr_t) sql;
        h ^= h >> 17;
        h *= UINT64_C(0x9e3779b97f4a7c15);
        return (unsigned) (h >> 32) % DB_STMT_CACHE_SIZE;
}

/* Open addressing on the address of the SQL text: entries are never
 * removed, so the first empty slot ends a search. */
static DbCachedStmt *cache_lookup(Db *db, const char *sql) {
        unsigned i = stmt_slot(sql);

        for (unsigned n = 0; n < DB_STMT_CACHE_SIZE; n++, i = (i + 1) % DB_STMT_CACHE_SIZE) {
                DbCachedStmt *e = &db->stmts[i];

                if (e->sql == sql || !e->sql)
                        return e;
        }
        return NULL;
}

int db_stmt(Db *db, const char *sql, DbStmt **ret) {
        DbCachedStmt *e = cache_lookup(db, sql);
        int r;

        if (!e)
                return -E2BIG;
        if (!e->sql) {
                r = db->backend->prepare(db, sql, &e->stmt);
                if (r < 0)
                        return r;
                e->sql = sql;
        }
        *ret = e->stmt;
        return 0;
}

DbStmt *db_stmt_find(Db *db, const char *sql) {
        DbCachedStmt *e = cache_lookup(db, sql);

        return e && e->sql ? e->stmt : NULL;
}

int db_stmt_new(Db *db, const char *sql, DbStmt **ret) {
        return db->backend->prepare(db, sql, ret);
}

DbStmt *db_stmt_free(DbStmt *st) {
        if (st)
                st->db->backend->finalize(st);
        return NULL;
}

void db_stmt_reset(DbStmt *st) {
        if (st)
                st->db->backend->reset(st);
}

Db *db_stmt_db(DbStmt *st) {
        return st->db;
}

int db_bind_int64(DbStmt *st, int idx, int64_t v) {
        return st->db->backend->bind_int64(st, idx, v);
}

int db_bind_text(DbStmt *st, int idx, const char *s) {
        return s ? st->db->backend->bind_text(st, idx, s, strlen(s)) : st->db->backend->bind_null(st, idx);
}

int db_bind_text_n(DbStmt *st, int idx, const char *s, size_t n) {
        return st->db->backend->bind_text(st, idx, s, n);
}

int db_bind_blob(DbStmt *st, int idx, const void *p, size_t n) {
        return st->db->backend->bind_blob(st, idx, p, n);
}

int db_bind_null(DbStmt *st, int idx) {
        return st->db->backend->bind_null(st, idx);
}

int db_step(DbStmt *st) {
        return st->db->backend->step(st);
}

int64_t db_column_int64(DbStmt *st, int col) {
        return st->db->backend->column_int64(st, col);
}

bool db_column_is_null(DbStmt *st, int col) {
        return st->db->backend->column_is_null(st, col);
}

const char *db_column_text(DbStmt *st, int col) {
        return st->db->backend->column_text(st, col);
}

const void *db_column_blob(DbStmt *st, int col, size_t *ret_size) {
        return st->db->backend->column_blob(st, col, ret_size);
}

int64_t db_changes(Db *db) {
        return db->backend->changes(db);
}

int db_exec(Db *db, const char *sql) {
        return db->backend->exec(db, sql);
}

int db_begin(Db *db) {
        int r;

        if (db->in_transaction)
                return -EBUSY;
        r = db->backend->begin(db);
        if (r < 0)
                return r;
        db->in_transaction = true;
        return 0;
}

int db_begin_read(Db *db) {
        int r;

        if (db->in_transaction)
                return -EBUSY;
        r = db->backend->begin_read(db);
        if (r < 0)
                return r;
        db->in_transaction = true;
        return 0;
}

int db_commit(Db *db) {
        int r;

        if (!db->in_transaction)
                return -EINVAL;
        r = db->backend->commit(db);
        if (r < 0) {
                db_rollback(db);
                return r;
        }
        db->in_transaction = false;
        db->in_savepoint = false;
        return 0;
}

void db_rollback(Db *db) {
        if (!db || !db->in_transaction)
                return;
        db->backend->rollback(db);
        db->in_transaction = false;
        db->in_savepoint = false;
}

bool db_in_transaction(const Db *db) {
        return db->in_transaction;
}

/* Savepoints are the same SQL in both dialects: through the cache, since
 * the batch writer sets one for every request it writes. */
static int exec_cached(Db *db, const char *sql) {
        _cleanup_(db_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = db_stmt(db, sql, &st);
        if (r < 0)
                return r;
        r = db_step(st);
        if (r < 0)
                return log_error_errno(r, "Database error: %s (in: %s)", db_errmsg(db), sql);
        return 0;
}

int db_savepoint(Db *db) {
        static const char sql[] = "SAVEPOINT db_item";
        int r;

        if (!db->in_transaction || db->in_savepoint)
                return -EINVAL;
        r = exec_cached(db, sql);
        if (r < 0)
                return r;
        db->in_savepoint = true;
        return 0;
}

int db_savepoint_release(Db *db) {
        static const char sql[] = "RELEASE db_item";
        int r;

        if (!db->in_savepoint)
                return -EINVAL;
        r = exec_cached(db, sql);
        if (r < 0)
                return r;
        db->in_savepoint = false;
        return 0;
}

int db_savepoint_rollback(Db *db) {
        static const char sql[] = "ROLLBACK TO db_item";
        int r;

        if (!db->in_savepoint)
                return -EINVAL;
        r = exec_cached(db, sql);
        if (r < 0)
                return r;
        return db_savepoint_release(db);
}
