/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The SQLite backend of db.h: one file in WAL mode, a connection per
 * thread (the pool's), statements prepared once per connection. */

#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "db-backend.h"
#include "db-sqlite.h"
#include "log.h"
#include "macro.h"

typedef struct SqliteStmt {
        DbStmt base;              /* first: handed out as DbStmt * */
        sqlite3_stmt *stmt;
} SqliteStmt;

static sqlite3 *handle(Db *db) {
        return db->conn;
}

static sqlite3_stmt *stmt_of(DbStmt *st) {
        return ((SqliteStmt *) st)->stmt;
}

sqlite3 *db_sqlite_handle(Db *db) {
        return db->backend == &db_backend_sqlite ? handle(db) : NULL;
}

sqlite3_stmt *db_sqlite_stmt(DbStmt *st) {
        return st && st->db->backend == &db_backend_sqlite ? stmt_of(st) : NULL;
}

int db_sqlite_errno(int code) {
        switch (code & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_CONSTRAINT:
                switch (code) {
                case SQLITE_CONSTRAINT_UNIQUE:
                case SQLITE_CONSTRAINT_PRIMARYKEY:
                        return -EEXIST;
                case SQLITE_CONSTRAINT_FOREIGNKEY:
                        return -ENOTEMPTY;
                default:
                        return -EINVAL;
                }
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_FULL:
                /* Not -ENOSPC: that one means "the ID slice is full" to
                 * the core, and a full disk must not read as that. */
                return -EDQUOT;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        default:
                return -EIO;
        }
}

/* The errno of the last failure on the connection, by its extended code
 * (a constraint's kind is only there). */
static int last_errno(Db *db) {
        return db_sqlite_errno(sqlite3_extended_errcode(handle(db))) ?: -EIO;
}

static int exec_sql(sqlite3 *h, const char *sql) {
        char *err = NULL;
        int rc = sqlite3_exec(h, sql, NULL, NULL, &err);

        if (rc != SQLITE_OK) {
                log_error("Database error: %s (in: %s)", err ?: sqlite3_errstr(rc), sql);
                sqlite3_free(err);
                return db_sqlite_errno(sqlite3_extended_errcode(h)) ?: db_sqlite_errno(rc) ?: -EIO;
        }
        return 0;
}

/* Makes sure the database file exists with mode 0600 before SQLite opens
 * it (its WAL and shm files copy that mode), whatever the umask.
 *
 * Only a file that doesn't exist yet is opened here: closing a descriptor
 * drops every POSIX lock the process holds on that file (fcntl(2)), and
 * the other connections of this process (the main loop's, the batch
 * writer's, each HTTP thread's) hold SQLite's locks on it. Without them,
 * any other process that opens the database (sqlite3, a backup, a second
 * tesserad starting by mistake) may checkpoint and delete the WAL under
 * our feet on closing, and every change committed after that goes into an
 * unlinked file: lost at the next start. */
static int prepare_database_file(const char *path) {
        struct stat st;
        int fd;

        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
                /* New, so no connection of ours holds a lock on it yet. */
                int r = fchmod(fd, 0600) < 0 ? -errno : 0;
                close(fd);
                if (r < 0)
                        return log_error_errno(r, "Failed to restrict database %s: %m", path);
                return 0;
        }
        if (errno != EEXIST)
                return log_error_errno(-errno, "Failed to create database %s: %m", path);

        if (lstat(path, &st) < 0)
                return log_error_errno(-errno, "Failed to stat database %s: %m", path);
        if (S_ISLNK(st.st_mode))
                return log_error_errno(-ELOOP, "Database %s is a symbolic link; refusing to follow it.", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "Database %s is not a regular file.", path);
        /* By path, which never opens a descriptor (lstat above ruled a
         * symbolic link out). */
        if ((st.st_mode & 07777) != 0600 && chmod(path, 0600) < 0)
                return log_error_errno(-errno, "Failed to restrict database %s: %m", path);
        return 0;
}

static int sqlite_connect(Db *db, const StoreConfig *c) {
        const char *path = c->path;
        sqlite3 *h = NULL;
        bool memory;
        int rc, r;

        if (!path)
                return log_error_errno(-EINVAL, "The store configuration names no SQLite database.");
        memory = streq(path, ":memory:");

        if (!memory) {
                r = prepare_database_file(path);
                if (r < 0)
                        return r;
        }

        rc = sqlite3_open_v2(path, &h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                     SQLITE_OPEN_EXRESCODE,
                             NULL);
        if (rc != SQLITE_OK) {
                r = log_error_errno(db_sqlite_errno(rc) ?: -EIO, "Failed to open database %s: %s", path,
                                    h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
                sqlite3_close_v2(h);
                return r;
        }

        sqlite3_extended_result_codes(h, 1);
        /* Another connection (an HTTP thread, a second daemon during a
         * restart) may hold the write lock for a moment. */
        sqlite3_busy_timeout(h, 5000);

        /* WAL so readers never block the writer; synchronous=FULL so that a
         * committed transaction survives power loss, not just a crash. */
        r = exec_sql(h, memory ? "PRAGMA foreign_keys = ON;"
                               : "PRAGMA journal_mode = WAL;"
                                 "PRAGMA synchronous = FULL;"
                                 "PRAGMA foreign_keys = ON;"
                                 "PRAGMA secure_delete = ON;");
        if (r < 0) {
                sqlite3_close_v2(h);
                return r;
        }

        db->conn = h;
        return 0;
}

static void sqlite_disconnect(Db *db) {
        sqlite3_close_v2(handle(db));
        db->conn = NULL;
}

static const char *sqlite_errmsg(Db *db) {
        return sqlite3_errmsg(handle(db));
}

static int sqlite_prepare(Db *db, const char *sql, DbStmt **ret) {
        SqliteStmt *s;
        int rc;

        s = calloc(1, sizeof(SqliteStmt));
        if (!s)
                return -ENOMEM;
        s->base.db = db;
        rc = sqlite3_prepare_v3(handle(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL);
        if (rc != SQLITE_OK) {
                int r = log_error_errno(last_errno(db), "Failed to prepare statement: %s: %s",
                                        sqlite3_errmsg(handle(db)), sql);
                free(s);
                return r;
        }
        *ret = &s->base;
        return 0;
}

static void sqlite_finalize(DbStmt *st) {
        sqlite3_finalize(stmt_of(st));
        free(st);
}

static void sqlite_reset(DbStmt *st) {
        sqlite3_reset(stmt_of(st));
        sqlite3_clear_bindings(stmt_of(st));
}

static int sqlite_bind_int64(DbStmt *st, int idx, int64_t v) {
        return db_sqlite_errno(sqlite3_bind_int64(stmt_of(st), idx, v));
}

static int sqlite_bind_text(DbStmt *st, int idx, const char *s, size_t n) {
        if (n > INT_MAX)
                return -E2BIG;
        return db_sqlite_errno(sqlite3_bind_text(stmt_of(st), idx, s, (int) n, SQLITE_STATIC));
}

static int sqlite_bind_blob(DbStmt *st, int idx, const void *p, size_t n) {
        /* A NULL p binds NULL, as db.h says (and as SQLite does). */
        return db_sqlite_errno(sqlite3_bind_blob64(stmt_of(st), idx, p, n, SQLITE_STATIC));
}

static int sqlite_bind_null(DbStmt *st, int idx) {
        return db_sqlite_errno(sqlite3_bind_null(stmt_of(st), idx));
}

static int sqlite_step(DbStmt *st) {
        int rc = sqlite3_step(stmt_of(st));

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return last_errno(st->db);
}

static int64_t sqlite_column_int64(DbStmt *st, int col) {
        return sqlite3_column_int64(stmt_of(st), col);
}

static bool sqlite_column_is_null(DbStmt *st, int col) {
        return sqlite3_column_type(stmt_of(st), col) == SQLITE_NULL;
}

static const char *sqlite_column_text(DbStmt *st, int col) {
        return (const char *) sqlite3_column_text(stmt_of(st), col);
}

static const void *sqlite_column_blob(DbStmt *st, int col, size_t *ret_size) {
        /* The blob first, then its size: the order SQLite asks for. */
        const void *p = sqlite3_column_blob(stmt_of(st), col);
        int n = sqlite3_column_bytes(stmt_of(st), col);

        *ret_size = p && n > 0 ? (size_t) n : 0;
        return p;
}

static int64_t sqlite_changes(Db *db) {
        return sqlite3_changes64(handle(db));
}

static int sqlite_exec(Db *db, const char *sql) {
        return exec_sql(handle(db), sql);
}

/* Transaction control through the statement cache: the batch writer runs
 * a transaction for every group of requests, and sqlite3_exec() would
 * parse the SQL again each time. */
static int exec_prepared(Db *db, const char *sql) {
        _cleanup_(db_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = db_stmt(db, sql, &st);
        if (r < 0)
                return r;
        r = db_step(st);
        if (r < 0)
                return log_error_errno(r, "Database error: %s (in: %s)", sqlite3_errmsg(handle(db)), sql);
        return 0;
}

static int sqlite_begin(Db *db) {
        /* IMMEDIATE takes the write lock now, so that reads inside the
         * transaction (ID allocation) can't be invalidated by another writer. */
        static const char sql[] = "BEGIN IMMEDIATE";
        return exec_prepared(db, sql);
}

static int sqlite_begin_read(Db *db) {
        /* DEFERRED takes no lock until the first read, then holds that
         * read's snapshot of the WAL to the end. */
        static const char sql[] = "BEGIN DEFERRED";
        return exec_prepared(db, sql);
}

static int sqlite_commit(Db *db) {
        static const char sql[] = "COMMIT";
        return exec_prepared(db, sql);
}

static void sqlite_rollback(Db *db) {
        static const char sql[] = "ROLLBACK";

        /* After some errors SQLite has already rolled back by itself. */
        if (!sqlite3_get_autocommit(handle(db)))
                (void) exec_prepared(db, sql);
}

const DbBackend db_backend_sqlite = {
        .name = "sqlite",
        .dialect = DB_DIALECT_SQLITE,
        .connect = sqlite_connect,
        .disconnect = sqlite_disconnect,
        .errmsg = sqlite_errmsg,
        .prepare = sqlite_prepare,
        .finalize = sqlite_finalize,
        .reset = sqlite_reset,
        .bind_int64 = sqlite_bind_int64,
        .bind_text = sqlite_bind_text,
        .bind_blob = sqlite_bind_blob,
        .bind_null = sqlite_bind_null,
        .step = sqlite_step,
        .column_int64 = sqlite_column_int64,
        .column_is_null = sqlite_column_is_null,
        .column_text = sqlite_column_text,
        .column_blob = sqlite_column_blob,
        .changes = sqlite_changes,
        .exec = sqlite_exec,
        .begin = sqlite_begin,
        .begin_read = sqlite_begin_read,
        .commit = sqlite_commit,
        .rollback = sqlite_rollback,
};
