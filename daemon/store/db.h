/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The store's narrow view of a database: a connection, prepared
 * statements with positional parameters, typed columns, transactions and
 * errors as negative errno. The store-*.c files speak only this; what a
 * connection is (an SQLite file, a PostgreSQL server) is a backend's
 * business: a table of functions (DbBackend, db-backend.h) chosen by the
 * StoreConfig alone. Nothing outside daemon/store includes this (tests
 * and bench may).
 *
 *     db_open(&config, &db);
 *     db_stmt(db, sql, &st);                 sql: a string with static storage
 *     db_bind_int64(st, 1, tenant_id);
 *     while ((r = db_step(st)) > 0)
 *             x = db_column_int64(st, 0);
 *     db_stmt_reset(st);                     or _cleanup_(db_stmt_resetp)
 *
 * SQL that both backends run is written in the common dialect:
 *   - parameters ?1..?N (a backend that numbers them otherwise rewrites
 *     them; a parameter may appear several times);
 *   - INSERT ... RETURNING id instead of a "last insert id";
 *   - INSERT ... ON CONFLICT DO NOTHING / DO UPDATE instead of INSERT OR
 *     IGNORE / OR REPLACE;
 *   - integers for booleans (0/1), BIGINT-sized; texts and blobs as such;
 *   - lower() where case must not matter, no COLLATE, no functions of
 *     one engine only.
 * Where a query must differ (an index only one engine has, a hint for
 * one planner), the caller picks one of two static strings by
 * db_dialect(): DB_SQL(db, sqlite_sql, postgresql_sql). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store-config.h"

typedef struct Db Db;           /* one connection, for one thread at a time */
typedef struct DbStmt DbStmt;   /* a statement prepared on a connection */

typedef enum DbDialect {
        DB_DIALECT_SQLITE,
        DB_DIALECT_POSTGRESQL,
        _DB_DIALECT_MAX,
        _DB_DIALECT_INVALID = -EINVAL,
} DbDialect;

/* Errors, the same from every backend (a backend maps its own codes):
 *   -EEXIST      a unique or primary key constraint failed
 *   -ENOTEMPTY   a foreign key constraint failed (a row still referenced,
 *                or a reference to no row)
 *   -EINVAL      another constraint failed (NOT NULL, CHECK); also a
 *                misuse of this API (commit outside a transaction)
 *   -EBUSY       the database is locked by another connection and waiting
 *                for it timed out; also begin inside a transaction
 *   -EAGAIN      a serialization failure or a deadlock: the transaction
 *                was rolled back and may be run again from its start
 *   -ENOTCONN    no connection to the database, and none could be made:
 *                nothing was sent, nothing changed
 *   -ECONNRESET  the connection broke while a statement ran: its effect
 *                (a COMMIT's in particular) is unknown
 *   -ENOMEM, -EROFS (read-only database), -EACCES (permission),
 *   -EDQUOT (disk or quota full; not -ENOSPC, which means "the ID slice
 *   is full" to the core), -ENOENT (the database cannot be opened),
 *   -E2BIG (a value too big), -EUCLEAN (a corrupt database),
 *   -EIO (anything else).
 * Preparing (db_stmt(), db_stmt_new()), db_exec(), db_open() and the
 * transaction functions log their failures (with the SQL); the others do
 * not: db_errmsg() says what the database said about the last failure,
 * for the caller's log line (a caller that expects a conflict, -EEXIST,
 * need not log at all). */

/* Opens a connection to the database c names (c->backend picks the
 * backend). Creates nothing but what the backend needs to connect (the
 * SQLite file, mode 0600); the schema is the store's (store_migrate()). */
int db_open(const StoreConfig *c, Db **ret);
/* Rolls back an open transaction, finalizes every statement, closes. */
Db *db_close(Db *db);

DbDialect db_dialect(const Db *db);
/* "sqlite", "postgresql". */
const char *db_backend_name(const Db *db);
/* What the database said about the last failure on this connection; never
 * NULL, valid until the next call on the connection. */
const char *db_errmsg(Db *db);

#define DB_SQL(db, sqlite_sql, postgresql_sql) \
        (db_dialect(db) == DB_DIALECT_POSTGRESQL ? (postgresql_sql) : (sqlite_sql))

/* Statements. */

/* Returns the statement for sql, prepared on this connection on first
 * use and cached for the connection's life, keyed by the address of sql:
 * sql must have static storage (or outlive the connection) and each
 * address must always hold the same text. The statement comes back reset
 * and unbound; leave it so (db_stmt_reset(), or
 * _cleanup_(db_stmt_resetp)). -E2BIG when the cache is full (more
 * distinct statements than DB_STMT_CACHE_SIZE: a programming error). */
#define DB_STMT_CACHE_SIZE 256
int db_stmt(Db *db, const char *sql, DbStmt **ret);

/* Prepares sql (any storage; copied as needed) outside the cache, for
 * statements built at run time; the caller frees it with db_stmt_free()
 * before closing the connection. */
int db_stmt_new(Db *db, const char *sql, DbStmt **ret);
DbStmt *db_stmt_free(DbStmt *st);

/* Ends a run of the statement (the rows not read are dropped) and clears
 * its bindings. Accepts NULL. */
void db_stmt_reset(DbStmt *st);
static inline void db_stmt_resetp(DbStmt **st) {
        if (*st)
                db_stmt_reset(*st);
}

/* The connection a statement belongs to. */
Db *db_stmt_db(DbStmt *st);

/* The cached statement of sql if it was prepared on this connection, else
 * NULL (tests look at a statement's plan through the backend's own API). */
DbStmt *db_stmt_find(Db *db, const char *sql);

/* Binding, by position from 1 (?1 is 1). Texts and blobs are not copied:
 * they must stay valid and unchanged until the statement is reset. NULL
 * text binds SQL NULL. A parameter left unbound is NULL. A statement built
 * at run time may leave out some of the parameters its callers bind (one
 * binding code for every shape of a query: store-user-search.c,
 * store-audit.c): binding a number the SQL does not name is not an error,
 * and a backend that types parameters must give such a one a type of its
 * own (PostgreSQL refuses an untyped $2 between $1 and $3). */
int db_bind_int64(DbStmt *st, int idx, int64_t v);
int db_bind_text(DbStmt *st, int idx, const char *s);
/* The first n bytes of s (which may hold any byte but NUL). */
int db_bind_text_n(DbStmt *st, int idx, const char *s, size_t n);
/* A blob of n bytes; a NULL p binds SQL NULL. */
int db_bind_blob(DbStmt *st, int idx, const void *p, size_t n);
int db_bind_null(DbStmt *st, int idx);

/* Runs the statement (on the first call after binding) and moves to its
 * next row: 1 with a row to read, 0 when done, negative errno on failure
 * (the statement must then be reset). */
int db_step(DbStmt *st);

/* Columns of the current row, from 0. Only valid after db_step() returned
 * 1, until the next db_step() or reset. NULL reads as 0, NULL or an empty
 * blob of size 0; booleans as 0 and 1. */
int64_t db_column_int64(DbStmt *st, int col);
bool db_column_is_null(DbStmt *st, int col);
/* NUL-terminated; NULL for SQL NULL. Owned by the statement. */
const char *db_column_text(DbStmt *st, int col);
/* The bytes of a blob column and their number; NULL with size 0 for SQL
 * NULL (and perhaps for an empty blob). Owned by the statement. */
const void *db_column_blob(DbStmt *st, int col, size_t *ret_size);

/* Rows inserted, changed or deleted by the last INSERT, UPDATE or DELETE
 * that ran to completion on this connection. */
int64_t db_changes(Db *db);

/* Runs one or more statements without parameters, separated by ';', that
 * return no rows (schema changes, settings). Not cached. */
int db_exec(Db *db, const char *sql);

/* Transactions. db_begin() starts a transaction for writing: SQLite takes
 * the write lock at once (BEGIN IMMEDIATE), so that a read inside it (an
 * ID allocation) cannot be invalidated by another writer; PostgreSQL
 * starts one and relies on the row locks and conditional updates the
 * callers use (each says which). -EBUSY if one is open already.
 * db_commit() rolls back if the commit fails. db_rollback() accepts NULL
 * and a connection with no transaction open (then does nothing). */
int db_begin(Db *db);
/* A transaction for reading only: the reads inside it see one state of the
 * database (SQLite: BEGIN DEFERRED, which holds one snapshot of the WAL
 * from the first read; PostgreSQL: REPEATABLE READ, READ ONLY). Ended
 * with db_rollback(). -EBUSY if one is open already. */
int db_begin_read(Db *db);
int db_commit(Db *db);
void db_rollback(Db *db);
bool db_in_transaction(const Db *db);

/* One savepoint inside the open transaction (-EINVAL without one), so
 * that a failed part (one request of a batch) can be undone alone: then
 * released (kept) or rolled back (undone; that releases it too). Not
 * nested. */
int db_savepoint(Db *db);
int db_savepoint_release(Db *db);
int db_savepoint_rollback(Db *db);
