/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store_copy(): a SQLite store into an empty PostgreSQL database
 * (store-copy.h). It speaks db.h only: the two dialects of the schema
 * hold the same tables and columns at one version (store-schema-pg.c), so
 * a row read from one is written to the other column by column, typed by
 * the target's catalog (bigint, text, bytea: the whole dialect). */

#include "store-copy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "siphash.h"
#include "store-internal.h"
#include "store-schema-pg.h"

/* Every table of the schema, in the order of its migrations: a table that
 * refers to another was created after it, so filling them in this order
 * keeps every foreign key satisfied row by row (no table refers to
 * itself). A table a new migration adds goes here too: the copy refuses
 * to run when either database holds one this list does not name. */
static const char *const copy_tables[] = {
        "tenants",
        "users",
        "groups",
        "group_members",
        "audit_events",
        "auth_state",
        "totp",
        "backup_codes",
        "sessions",
        "applications",
        "signing_keys",
        "oidc_sessions",
        "authorization_codes",
        "refresh_tokens",
        "revoked_tokens",
        "consents",
        "outbox",
        "tenant_settings",
        "mfa_challenges",
        "account_tokens",
        "api_keys",
        "invitations",
        "tenant_entitlements",
        "usage_counters",
        "usage_increments",
        "operators",
        "platform_tokens",
        "upstream_providers",
        "upstream_links",
        "upstream_flows",
};

_Static_assert(ELEMENTSOF(copy_tables) <= STORE_COPY_TABLES_MAX, "raise STORE_COPY_TABLES_MAX");

typedef enum ColumnKind {
        COLUMN_INTEGER,           /* bigint */
        COLUMN_TEXT,
        COLUMN_BLOB,              /* bytea */
} ColumnKind;

typedef struct Column {
        char *name;
        ColumnKind kind;
        bool identity;            /* GENERATED ... AS IDENTITY: its sequence moves past the copied ids */
} Column;

typedef struct Table {
        const char *name;
        Column *columns;
        size_t n_columns;
        char *select_sql, *insert_sql;
} Table;

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n_columns; i++)
                free(t->columns[i].name);
        free(t->columns);
        free(t->select_sql);
        free(t->insert_sql);
        *t = (Table) {};
}

/* The checksum's key: fixed, for it only has to be the same on both
 * sides (nobody chooses the rows to collide: they are the operator's). */
static const uint8_t checksum_key[SIPHASH_KEY_SIZE] = "tessera-copy-v1";

typedef struct Buffer {
        uint8_t *data;
        size_t size, allocated;
} Buffer;

static int buffer_append(Buffer *b, const void *p, size_t n) {
        if (b->size + n > b->allocated) {
                size_t want = MAX(b->allocated * 2, b->size + n + 256);
                uint8_t *d = realloc(b->data, want);

                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->allocated = want;
        }
        if (n > 0)
                memcpy(b->data + b->size, p, n);
        b->size += n;
        return 0;
}

static int buffer_append_tagged(Buffer *b, char tag, const void *p, uint64_t n) {
        int r;

        r = buffer_append(b, &tag, 1);
        if (r >= 0)
                r = buffer_append(b, &n, sizeof(n));
        if (r >= 0)
                r = buffer_append(b, p, n);
        return r;
}

/* One hash of the current row of st, whose columns are t's in order: a
 * tag and the length before each value, so that no two rows read alike. */
static int row_hash(const Table *t, DbStmt *st, Buffer *b, uint64_t *ret) {
        int r = 0;

        b->size = 0;
        for (size_t i = 0; i < t->n_columns && r >= 0; i++) {
                int col = (int) i;

                if (db_column_is_null(st, col)) {
                        r = buffer_append_tagged(b, 'N', NULL, 0);
                        continue;
                }
                switch (t->columns[i].kind) {
                case COLUMN_INTEGER: {
                        int64_t v = db_column_int64(st, col);

                        r = buffer_append_tagged(b, 'I', &v, sizeof(v));
                        break;
                }
                case COLUMN_TEXT: {
                        const char *s = db_column_text(st, col) ?: "";

                        r = buffer_append_tagged(b, 'T', s, strlen(s));
                        break;
                }
                case COLUMN_BLOB: {
                        size_t n = 0;
                        const void *p = db_column_blob(st, col, &n);

                        r = buffer_append_tagged(b, 'B', p, p ? n : 0);
                        break;
                }
                }
        }
        if (r < 0)
                return r;
        *ret = siphash24(checksum_key, b->data, b->size);
        return 0;
}

static int query_int64(Db *db, const char *sql, const char *arg, int64_t *ret) {
        DbStmt *st = NULL;
        int r;

        r = db_stmt_new(db, sql, &st);
        if (r < 0)
                return r;
        if (arg)
                r = db_bind_text(st, 1, arg);
        if (r >= 0)
                r = db_step(st);
        if (r == 0)
                r = -ENOENT;
        if (r > 0) {
                *ret = db_column_int64(st, 0);
                r = 0;
        } else
                log_error_errno(r, "Database error: %s (in: %s)", db_errmsg(db), sql);
        db_stmt_free(st);
        return r;
}

/* The columns of t as the target's catalog has them, and the two
 * statements that move its rows. Names come from the catalog and the
 * list above, never from input; quoted all the same. */
static int table_load(Db *target, const char *name, Table *ret) {
        static const char columns_sql[] =
                "SELECT column_name, data_type, is_identity FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position";
        _cleanup_(table_done) Table t = { .name = name };
        _cleanup_free_ char *select_list = NULL, *params = NULL;
        DbStmt *st = NULL;
        int r;

        r = db_stmt_new(target, columns_sql, &st);
        if (r < 0)
                return r;
        r = db_bind_text(st, 1, name);
        while (r >= 0 && (r = db_step(st)) > 0) {
                const char *column = db_column_text(st, 0), *type = db_column_text(st, 1),
                           *identity = db_column_text(st, 2);
                Column *c, *a;

                a = reallocarray(t.columns, t.n_columns + 1, sizeof(Column));
                if (!a) {
                        r = -ENOMEM;
                        break;
                }
                t.columns = a;
                c = &t.columns[t.n_columns];
                *c = (Column) { .identity = (identity && streq(identity, "YES")) };
                if (!column || !type)
                        r = -EPROTO;
                else if (streq(type, "bigint"))
                        c->kind = COLUMN_INTEGER;
                else if (streq(type, "text"))
                        c->kind = COLUMN_TEXT;
                else if (streq(type, "bytea"))
                        c->kind = COLUMN_BLOB;
                else
                        r = -EPROTO;
                if (r == -EPROTO) {
                        log_error_errno(r, "Column %s.%s of the target has type %s, which the copy does not know.",
                                            name, strna(column), strna(type));
                        break;
                }
                c->name = strdup(column);
                if (!c->name) {
                        r = -ENOMEM;
                        break;
                }
                t.n_columns++;
        }
        if (r < 0 && r != -EPROTO && r != -ENOMEM)
                log_error_errno(r, "Failed to read the columns of %s: %s", name, db_errmsg(target));
        db_stmt_free(st);
        if (r < 0)
                return r;
        if (t.n_columns == 0)
                return log_error_errno(-EPROTO, "The target has no table %s after creating the schema.", name);

        for (size_t i = 0; i < t.n_columns; i++) {
                char *s;

                if (asprintf(&s, "%s%s\"%s\"", strempty(select_list), i ? ", " : "", t.columns[i].name) < 0)
                        return -ENOMEM;
                free(select_list);
                select_list = s;
                if (asprintf(&s, "%s%s?%zu", strempty(params), i ? ", " : "", i + 1) < 0)
                        return -ENOMEM;
                free(params);
                params = s;
        }
        if (asprintf(&t.select_sql, "SELECT %s FROM \"%s\"", select_list, name) < 0) {
                t.select_sql = NULL;
                return -ENOMEM;
        }
        if (asprintf(&t.insert_sql, "INSERT INTO \"%s\" (%s) VALUES (%s)", name, select_list, params) < 0) {
                t.insert_sql = NULL;
                return -ENOMEM;
        }
        *ret = t;
        t = (Table) {};
        return 0;
}

/* Binds the current row of from to the parameters of to, column by column. */
static int bind_row(const Table *t, DbStmt *from, DbStmt *to) {
        int r = 0;

        for (size_t i = 0; i < t->n_columns && r >= 0; i++) {
                int col = (int) i, idx = (int) i + 1;

                if (db_column_is_null(from, col)) {
                        r = db_bind_null(to, idx);
                        continue;
                }
                switch (t->columns[i].kind) {
                case COLUMN_INTEGER:
                        r = db_bind_int64(to, idx, db_column_int64(from, col));
                        break;
                case COLUMN_TEXT:
                        r = db_bind_text(to, idx, db_column_text(from, col) ?: "");
                        break;
                case COLUMN_BLOB: {
                        size_t n = 0;
                        const void *p = db_column_blob(from, col, &n);

                        /* An empty blob may read as NULL with size 0: not SQL NULL. */
                        r = db_bind_blob(to, idx, p ?: "", p ? n : 0);
                        break;
                }
                }
        }
        return r;
}

/* Copies every row of t, counting and hashing them as they are read. */
static int table_copy(const Table *t, Db *source, Db *target, StoreCopyTable *report) {
        _cleanup_free_ uint8_t *buffer_data = NULL;
        Buffer b = {};
        DbStmt *from = NULL, *to = NULL;
        bool insert_failed = false;
        int r;

        r = db_stmt_new(source, t->select_sql, &from);
        if (r < 0)
                return r;
        r = db_stmt_new(target, t->insert_sql, &to);
        if (r < 0) {
                db_stmt_free(from);
                return r;
        }
        while ((r = db_step(from)) > 0) {
                uint64_t h;

                r = row_hash(t, from, &b, &h);
                if (r < 0)
                        break;
                report->source_rows++;
                report->source_checksum += h;

                r = bind_row(t, from, to);
                if (r >= 0)
                        r = db_step(to);
                db_stmt_reset(to);
                if (r < 0) {
                        log_error_errno(r, "Failed to copy row %" PRIu64 " of %s: %s", report->source_rows, t->name,
                                        db_errmsg(target));
                        insert_failed = true;
                        break;
                }
        }
        if (r < 0 && !insert_failed)
                log_error_errno(r, "Failed to read %s from the source: %s", t->name, db_errmsg(source));
        buffer_data = b.data;
        db_stmt_free(to);
        db_stmt_free(from);
        return r < 0 ? r : 0;
}

/* Reads t back from the target, in the same transaction as the copy. */
static int table_verify(const Table *t, Db *target, StoreCopyTable *report) {
        _cleanup_free_ uint8_t *buffer_data = NULL;
        Buffer b = {};
        DbStmt *st = NULL;
        int r;

        r = db_stmt_new(target, t->select_sql, &st);
        if (r < 0)
                return r;
        while ((r = db_step(st)) > 0) {
                uint64_t h;

                r = row_hash(t, st, &b, &h);
                if (r < 0)
                        break;
                report->target_rows++;
                report->target_checksum += h;
        }
        if (r < 0)
                log_error_errno(r, "Failed to read %s back from the target: %s", t->name, db_errmsg(target));
        buffer_data = b.data;
        db_stmt_free(st);
        if (r < 0)
                return r;
        if (report->target_rows != report->source_rows || report->target_checksum != report->source_checksum)
                return log_error_errno(-EBADE,
                                       "Table %s differs after the copy: %" PRIu64 " rows in the source, %" PRIu64
                                       " read back%s. Nothing was kept in the target.",
                                       t->name, report->source_rows, report->target_rows,
                                       report->target_rows == report->source_rows ? ", with other values" : "");
        return 0;
}

/* The next id the database hands out comes after every copied one (the
 * ids were given, so the identity's sequence never moved). */
static int table_reset_identity(const Table *t, Db *target) {
        for (size_t i = 0; i < t->n_columns; i++) {
                _cleanup_free_ char *sql = NULL;
                int64_t ignored;
                int r;

                if (!t->columns[i].identity)
                        continue;
                if (asprintf(&sql,
                             "SELECT setval(pg_get_serial_sequence('\"%1$s\"', '%2$s'), "
                             "COALESCE((SELECT max(\"%2$s\") FROM \"%1$s\"), 0) + 1, false)",
                             t->name, t->columns[i].name) < 0)
                        return -ENOMEM;
                r = query_int64(target, sql, NULL, &ignored);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Both databases hold exactly the tables of copy_tables (the target's
 * own tessera_schema aside): a table this build does not list would be
 * left behind without a word. */
static int check_table_set(Db *source, Db *target) {
        static const char sqlite_sql[] =
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                          pg_sql[] =
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'tessera_schema'";
        int64_t n_source, n_target;
        int r;

        r = query_int64(source, sqlite_sql, NULL, &n_source);
        if (r < 0)
                return r;
        r = query_int64(target, pg_sql, NULL, &n_target);
        if (r < 0)
                return r;
        if (n_source != (int64_t) ELEMENTSOF(copy_tables) || n_target != (int64_t) ELEMENTSOF(copy_tables))
                return log_error_errno(-EPROTO,
                                       "The source holds %" PRIi64 " tables and the target %" PRIi64
                                       ", but this build copies %zu: refusing to leave any behind.",
                                       n_source, n_target, ELEMENTSOF(copy_tables));
        return 0;
}

/* Opens the source and holds it alone until it is closed: in exclusive
 * locking mode SQLite keeps every lock it takes, and the first write lock
 * (BEGIN IMMEDIATE) is only granted while no other connection has the
 * file open. A tesserad running on it keeps its connections open, so the
 * copy fails with -EBUSY (after the busy timeout) rather than copy a
 * database that changes under it; and a tesserad started during the copy
 * cannot read it until we are done. */
static int open_source(const StoreConfig *from, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        struct stat st;
        int r;

        if (from->backend != STORE_BACKEND_SQLITE || !from->path)
                return log_error_errno(-EOPNOTSUPP, "The source of a copy must be a SQLite database.");
        /* db_open() would create an empty one. */
        if (stat(from->path, &st) < 0)
                return log_error_errno(-errno, "Cannot read the database %s: %m", from->path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "%s is not a database file.", from->path);

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        r = store_config_describe(from, &s->description);
        if (r < 0)
                return r;
        r = db_open(from, &s->db);
        if (r < 0)
                return r;
        r = db_exec(s->db, "PRAGMA locking_mode = EXCLUSIVE");
        if (r < 0)
                return r;
        r = db_begin(s->db);
        if (r == -EBUSY)
                return log_error_errno(r, "%s is in use: stop tesserad (and anything else that has it open) first.",
                                       from->path);
        if (r < 0)
                return r;
        db_rollback(s->db);

        /* As tesserad would on start: the copy is of this build's schema. */
        r = store_migrate(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static int check_target_empty(Db *target, const char *what) {
        static const char sql[] =
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema()";
        int64_t n;
        int r;

        r = query_int64(target, sql, NULL, &n);
        if (r < 0)
                return r;
        if (n > 0)
                return log_error_errno(-ENOTEMPTY,
                                       "%s is not empty (%" PRIi64 " tables, sequences or indexes in its schema). "
                                       "Refusing to touch it: copy into a new, empty database.",
                                       what, n);
        return 0;
}

int store_copy(const StoreConfig *from, const StoreConfig *to, StoreCopyReport *ret) {
        _cleanup_(store_closep) Store *source = NULL;
        _cleanup_free_ char *target_what = NULL;
        StoreCopyReport report = {};
        Db *target = NULL;
        int r;

        if (to->backend != STORE_BACKEND_POSTGRESQL)
                return log_error_errno(-EOPNOTSUPP, "The target of a copy must be a PostgreSQL database.");
        r = store_config_describe(to, &target_what);
        if (r < 0)
                return r;

        r = open_source(from, &source);
        if (r < 0)
                return r;
        /* db_open() logs why it could not connect. */
        r = db_open(to, &target);
        if (r < 0)
                return r;

        /* One snapshot of the source, one transaction on the target: the
         * schema, the rows and the check commit together or not at all. */
        r = db_begin_read(source->db);
        if (r < 0)
                goto finish;
        r = db_begin(target);
        if (r < 0)
                goto finish;
        r = check_target_empty(target, target_what);
        if (r < 0)
                goto finish;
        r = store_pg_migrate_in_transaction(target, target_what);
        if (r < 0)
                goto finish;
        report.schema_version = store_latest_schema_version();
        r = check_table_set(source->db, target);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < ELEMENTSOF(copy_tables); i++) {
                _cleanup_(table_done) Table t = {};
                StoreCopyTable *rt = &report.tables[report.n_tables++];

                rt->name = copy_tables[i];
                r = table_load(target, copy_tables[i], &t);
                if (r >= 0)
                        r = table_copy(&t, source->db, target, rt);
                if (r >= 0)
                        r = table_reset_identity(&t, target);
                if (r >= 0)
                        r = table_verify(&t, target, rt);
                if (r < 0)
                        goto finish;
                log_debug("Copied %s: %" PRIu64 " rows.", rt->name, rt->target_rows);
        }

        r = db_commit(target);
        if (r < 0)
                log_error_errno(r, "Failed to commit the copy into %s: %s", target_what, db_errmsg(target));

finish:
        if (target)
                db_rollback(target);
        db_close(target);
        db_rollback(source->db);
        if (r < 0)
                return r;
        *ret = report;
        return 0;
}
