/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the implementation files of the store; nothing outside
 * daemon/store/ includes this (tests may). They speak db.h, never a
 * database's own API: SQL that differs between backends is chosen with
 * DB_SQL() (db.h). */

#include "db.h"
#include "log.h"
#include "store.h"
#include "time-util.h"
/* plan (4) x sort (2) x state (any and 4) x role (2) x created after (2) x before (2) x cursor (2) */
#define STORE_USER_SEARCH_SHAPES (4 * 2 * 5 * 2 * 2 * 2 * 2)
/* Which of actor, target and action are given, times any result, success or a refusal. */
#define STORE_AUDIT_QUERY_SHAPES 24

struct Store {
        Db *db;                   /* the connection, with its statement cache */
        char *description;        /* what it connects to, for messages */
        /* store_user_search()'s statements, one per shape of query (which
         * filters are given), built and prepared on first use. */
        DbStmt *user_search[STORE_USER_SEARCH_SHAPES];
        /* The SQL of each shape of the audit query (store-audit.c), made
         * on first use: the statement cache keys on these addresses. */
        char *audit_query_sql[STORE_AUDIT_QUERY_SHAPES];
};

/* Returns the prepared statement for sql (a string with static storage),
 * preparing it on first use (db_stmt()). Statements come back reset and
 * unbound; use _cleanup_(store_stmt_resetp) to leave them so. */
int store_stmt(Store *s, const char *sql, DbStmt **ret);

static inline void store_stmt_resetp(DbStmt **st) {
        db_stmt_resetp(st);
}

/* Runs a statement that returns no rows (or whose rows don't matter);
 * -EEXIST on a uniqueness conflict. Logs failures but constraint ones,
 * which callers expect and report themselves. */
int store_step_done(Store *s, DbStmt *st);

/* Runs a statement that returns one row (a SELECT of an aggregate, an
 * INSERT ... RETURNING id) to its end and reads the first column of its
 * first row: -ENOENT without a row. To the end, so that a write is
 * complete (in autocommit mode, committed) when this returns: resetting
 * a statement halfway would finish it without a word on failure. Logged
 * as store_step_done() does. */
int store_step_int64(Store *s, DbStmt *st, int64_t *ret);

/* Copies a blob column of exactly size bytes (a digest) to dst; false,
 * leaving dst alone, when the column is NULL or of another size. */
bool store_column_fixed_blob(DbStmt *st, int col, void *dst, size_t size);

/* Logs a failure of a step of st (not a constraint one) and returns r. */
int store_step_error(Store *s, int r);

/* Copies a text column; NULL stays NULL unless empty_if_null is set. */
int store_column_strdup(DbStmt *st, int col, bool empty_if_null, char **ret);

/* Collects the first column of each row as a NULL-terminated string list. */
int store_collect_strv(Store *s, DbStmt *st, char ***ret);

/* Row readers turn the current row into a record; array frees release a
 * list of such records. Both work on untyped pointers so that one fetch
 * loop serves every record type. */
typedef int (*StoreRowFunc)(DbStmt *st, void **ret);
typedef void (*StoreArrayFreeFunc)(void **a, size_t n);

/* Steps once: -ENOENT without a row, else the record read from it (ret
 * may be NULL to test for existence only). */
int store_fetch_one(Store *s, DbStmt *st, StoreRowFunc row, void **ret);
/* Prepares sql, binds key to ?1 and, when set, text to ?2, and fetches one
 * record with row. */
int store_get_record(Store *s, const char *sql, int64_t key, const char *text, StoreRowFunc row, void **ret);
/* Steps to the end, collecting a record per row. */
int store_fetch_all(Store *s, DbStmt *st, StoreRowFunc row, StoreArrayFreeFunc array_free,
                    void ***ret, size_t *ret_n);

/* Users (store-user.c): the columns store_user_from_row() reads, and the
 * free of a list of them. */
#define USER_COLUMNS                                                                            \
        "u.id, u.tenant_id, t.slug, u.name, u.uid, u.gid, u.real_name, u.email, "              \
        "u.email_verified, u.home, u.shell, u.password_hash, u.password_changed_usec, u.role, " \
        "u.disabled, u.locked_until_usec, u.expires_usec, u.created_usec, u.changed_usec "
#define USER_SELECT "SELECT " USER_COLUMNS "FROM users u JOIN tenants t ON t.id = u.tenant_id "
int store_user_from_row(DbStmt *st, void **ret);
void store_user_array_free(void **a, size_t n);

/* A tenant's settings (store-tenant-settings.c): the columns of
 * tenant_settings in the order store_tenant_settings_from_row() reads
 * them from column first on; NULL columns are unset (the site's). */
#define TENANT_SETTINGS_COLUMNS                                                                   \
        "open_signup, password_min_length, password_dictionary_check, password_min_classes, "     \
        "password_max_repeat, password_user_check, mfa_required, session_lifetime, "              \
        "refresh_idle_lifetime, refresh_absolute_lifetime"
void store_tenant_settings_from_row(DbStmt *st, int first, TenantSettings *ret);

/* Brings the schema to this tesserad's version, in the backend's dialect
 * (store-schema.c for SQLite). */
int store_migrate(Store *s);
