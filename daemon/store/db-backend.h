/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a backend of db.h provides, and the parts of a connection that
 * db.c keeps for every backend (the statement cache, the transaction
 * state). Only db.c and the backends (db-sqlite.c, db-pg.c) include this.
 *
 * A backend allocates its statements as a struct whose first member is a
 * DbStmt (so that db.c can hand them out as DbStmt *), and keeps its
 * connection state behind Db.conn. db.c checks the arguments the API
 * documents (a transaction open or not, the cache); a backend's functions
 * are called only in the states db.h allows.
 *
 * A DbStmt lives as long as its connection (the cache hands the same one
 * out for years): a backend that reconnects behind it (PostgreSQL after a
 * failover) prepares it again on the new connection at its next run, and
 * reports the statement that failed with the old one as db.h says
 * (-ECONNRESET, -ENOTCONN), inside a transaction or not. */

#include "db.h"

typedef struct DbBackend DbBackend;

struct DbStmt {
        Db *db;
};

typedef struct DbCachedStmt {
        const char *sql;          /* the static string the statement was made from */
        DbStmt *stmt;
} DbCachedStmt;

struct Db {
        const DbBackend *backend;
        void *conn;               /* the backend's */
        bool in_transaction;
        bool in_savepoint;
        /* Prepared once per connection, keyed by the address of the SQL text. */
        DbCachedStmt stmts[DB_STMT_CACHE_SIZE];
};

struct DbBackend {
        const char *name;
        DbDialect dialect;

        /* Connects to what c names and sets db->conn; db->conn stays NULL
         * on failure (logged by the backend, which knows the details). */
        int (*connect)(Db *db, const StoreConfig *c);
        /* Closes db->conn (statements are finalized before). */
        void (*disconnect)(Db *db);
        const char *(*errmsg)(Db *db);

        /* Allocates a statement (->db set) for sql, which it copies if it
         * must keep it. */
        int (*prepare)(Db *db, const char *sql, DbStmt **ret);
        void (*finalize)(DbStmt *st);
        /* Ends the run and clears the bindings. */
        void (*reset)(DbStmt *st);

        int (*bind_int64)(DbStmt *st, int idx, int64_t v);
        int (*bind_text)(DbStmt *st, int idx, const char *s, size_t n);
        int (*bind_blob)(DbStmt *st, int idx, const void *p, size_t n);
        int (*bind_null)(DbStmt *st, int idx);

        int (*step)(DbStmt *st);
        int64_t (*column_int64)(DbStmt *st, int col);
        bool (*column_is_null)(DbStmt *st, int col);
        const char *(*column_text)(DbStmt *st, int col);
        const void *(*column_blob)(DbStmt *st, int col, size_t *ret_size);

        int64_t (*changes)(Db *db);
        int (*exec)(Db *db, const char *sql);

        /* Called outside a transaction only. */
        int (*begin)(Db *db);
        int (*begin_read)(Db *db);
        /* Called inside one only; on failure db.c calls rollback. */
        int (*commit)(Db *db);
        /* Called inside one only; must cope with a transaction the engine
         * already ended by itself after an error. */
        void (*rollback)(Db *db);
};

extern const DbBackend db_backend_sqlite;
extern const DbBackend db_backend_pg;
