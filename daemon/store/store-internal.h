/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the SQLite implementation files of the store; nothing outside
 * daemon/store-*.c includes this. */

#include <sqlite3.h>

#include "store.h"
#include "time-util.h"

#define STORE_STMT_CACHE_SIZE 256
/* plan (4) x sort (2) x state (any and 4) x role (2) x created after (2) x before (2) x cursor (2) */
#define STORE_USER_SEARCH_SHAPES (4 * 2 * 5 * 2 * 2 * 2 * 2)
/* Which of actor, target and action are given, times any result, success or a refusal. */
#define STORE_AUDIT_QUERY_SHAPES 24

typedef struct StoreStmt {
        const char *sql;          /* the static string the statement was made from */
        sqlite3_stmt *stmt;
} StoreStmt;

struct Store {
        sqlite3 *db;
        char *path;
        bool in_transaction;
        /* Prepared once per connection, keyed by the address of the SQL text. */
        StoreStmt stmts[STORE_STMT_CACHE_SIZE];
        /* store_user_search()'s statements, one per shape of query (which
         * filters are given), built and prepared on first use. */
        sqlite3_stmt *user_search[STORE_USER_SEARCH_SHAPES];
        /* The SQL of each shape of the audit query (store-audit.c), made
         * on first use: the statement cache keys on these addresses. */
        char *audit_query_sql[STORE_AUDIT_QUERY_SHAPES];
};

/* Maps an SQLite result code to a negative errno. */
int store_errno(int sqlite_code);

/* Returns the prepared statement for sql (a string with static storage),
 * preparing it on first use. Statements come back reset and unbound; use
 * _cleanup_(store_stmt_resetp) to leave them so. */
int store_stmt(Store *s, const char *sql, sqlite3_stmt **ret);

static inline void store_stmt_resetp(sqlite3_stmt **st) {
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}

/* Runs a statement that returns no rows; -EEXIST on a uniqueness conflict. */
int store_step_done(Store *s, sqlite3_stmt *st);

/* Binding helpers: NULL strings bind as SQL NULL. */
int store_bind_text(sqlite3_stmt *st, int idx, const char *s);
int store_bind_int64(sqlite3_stmt *st, int idx, int64_t v);

/* Copies a text column; NULL stays NULL unless empty_if_null is set. */
int store_column_strdup(sqlite3_stmt *st, int col, bool empty_if_null, char **ret);

/* Collects the first column of each row as a NULL-terminated string list. */
int store_collect_strv(Store *s, sqlite3_stmt *st, char ***ret);

/* Row readers turn the current row into a record; array frees release a
 * list of such records. Both work on untyped pointers so that one fetch
 * loop serves every record type. */
typedef int (*StoreRowFunc)(sqlite3_stmt *st, void **ret);
typedef void (*StoreArrayFreeFunc)(void **a, size_t n);

/* Steps once: -ENOENT without a row, else the record read from it (ret
 * may be NULL to test for existence only). */
int store_fetch_one(Store *s, sqlite3_stmt *st, StoreRowFunc row, void **ret);
/* Prepares sql, binds key to ?1 and, when set, text to ?2, and fetches one
 * record with row. */
int store_get_record(Store *s, const char *sql, int64_t key, const char *text, StoreRowFunc row, void **ret);
/* Steps to the end, collecting a record per row. */
int store_fetch_all(Store *s, sqlite3_stmt *st, StoreRowFunc row, StoreArrayFreeFunc array_free,
                    void ***ret, size_t *ret_n);

/* Users (store-user.c): the columns store_user_from_row() reads, and the
 * free of a list of them. */
#define USER_COLUMNS                                                                            \
        "u.id, u.tenant_id, t.slug, u.name, u.uid, u.gid, u.real_name, u.email, "              \
        "u.email_verified, u.home, u.shell, u.password_hash, u.password_changed_usec, u.role, " \
        "u.disabled, u.locked_until_usec, u.expires_usec, u.created_usec, u.changed_usec "
#define USER_SELECT "SELECT " USER_COLUMNS "FROM users u JOIN tenants t ON t.id = u.tenant_id "
int store_user_from_row(sqlite3_stmt *st, void **ret);
void store_user_array_free(void **a, size_t n);

/* A tenant's settings (store-tenant-settings.c): the columns of
 * tenant_settings in the order store_tenant_settings_from_row() reads
 * them from column first on; NULL columns are unset (the site's). */
#define TENANT_SETTINGS_COLUMNS                                                                   \
        "open_signup, password_min_length, password_dictionary_check, password_min_classes, "     \
        "password_max_repeat, password_user_check, mfa_required, session_lifetime, "              \
        "refresh_idle_lifetime, refresh_absolute_lifetime"
void store_tenant_settings_from_row(sqlite3_stmt *st, int first, TenantSettings *ret);

int store_migrate(Store *s);
