/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "log.h"
#include "store-internal.h"
#include "time-util.h"

int store_errno(int code) {
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

static unsigned stmt_slot(const char *sql) {
        uintptr_t h = (uintptr_t) sql;
        h ^= h >> 17;
        h *= UINT64_C(0x9e3779b97f4a7c15);
        return (unsigned) (h >> 32) % STORE_STMT_CACHE_SIZE;
}

int store_stmt(Store *s, const char *sql, sqlite3_stmt **ret) {
        unsigned i = stmt_slot(sql);

        for (unsigned n = 0; n < STORE_STMT_CACHE_SIZE; n++, i = (i + 1) % STORE_STMT_CACHE_SIZE) {
                StoreStmt *e = &s->stmts[i];
                int rc;

                if (e->sql == sql) {
                        *ret = e->stmt;
                        return 0;
                }
                if (e->sql)
                        continue;

                rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->stmt, NULL);
                if (rc != SQLITE_OK)
                        return log_error_errno(store_errno(rc), "Failed to prepare statement: %s: %s",
                                               sqlite3_errmsg(s->db), sql);
                e->sql = sql;
                *ret = e->stmt;
                return 0;
        }

        /* More distinct statements than slots is a programming error. */
        return log_error_errno(-E2BIG, "Statement cache full.");
}

int store_step_done(Store *s, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                return 0;
        rc = sqlite3_extended_errcode(s->db);
        if ((rc & 0xff) != SQLITE_CONSTRAINT)
                log_error("Database error: %s", sqlite3_errmsg(s->db));
        return store_errno(rc);
}

int store_bind_text(sqlite3_stmt *st, int idx, const char *s) {
        int rc = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
        return store_errno(rc);
}

int store_bind_int64(sqlite3_stmt *st, int idx, int64_t v) {
        return store_errno(sqlite3_bind_int64(st, idx, v));
}

int store_column_strdup(sqlite3_stmt *st, int col, bool empty_if_null, char **ret) {
        const unsigned char *t = sqlite3_column_text(st, col);
        char *c;

        if (!t && !empty_if_null) {
                *ret = NULL;
                return 0;
        }
        c = strdup(t ? (const char *) t : "");
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int store_collect_strv(Store *s, sqlite3_stmt *st, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0, allocated = 0;
        int rc;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n + 2 > allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 16);
                        char **nl = realloc(l, na * sizeof(char *));
                        if (!nl)
                                return -ENOMEM;
                        l = nl;
                        allocated = na;
                }
                l[n] = strdup((const char *) sqlite3_column_text(st, 0) ?: "");
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        if (rc != SQLITE_DONE)
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));

        *ret = TAKE_PTR(l);
        return 0;
}

int store_fetch_one(Store *s, sqlite3_stmt *st, StoreRowFunc row, void **ret) {
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));
        /* Without ret the caller only asks whether the row exists. */
        return ret ? row(st, ret) : 0;
}

int store_get_record(Store *s, const char *sql, int64_t key, const char *text, StoreRowFunc row, void **ret) {
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, key);
        if (text)
                store_bind_text(st, 2, text);
        return store_fetch_one(s, st, row, ret);
}

int store_fetch_all(Store *s, sqlite3_stmt *st, StoreRowFunc row, StoreArrayFreeFunc array_free,
                    void ***ret, size_t *ret_n) {
        void **list = NULL;
        size_t n = 0, allocated = 0;
        int rc, r;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
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
        if (rc != SQLITE_DONE) {
                array_free(list, n);
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));
        }

        *ret = list;
        *ret_n = n;
        return 0;
}

static int exec_sql(Store *s, const char *sql) {
        char *err = NULL;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);

        if (rc != SQLITE_OK) {
                log_error("Database error: %s (in: %s)", err ?: sqlite3_errstr(rc), sql);
                sqlite3_free(err);
                return store_errno(rc);
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

int store_open(const StoreConfig *c, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        const char *path = c->path;
        bool memory;
        int rc, r;

        if (c->backend != STORE_BACKEND_SQLITE || !path)
                return log_error_errno(-EINVAL, "The store configuration names no SQLite database.");
        memory = streq(path, ":memory:");

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;

        if (!memory) {
                r = prepare_database_file(path);
                if (r < 0)
                        return r;
        }

        rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                     SQLITE_OPEN_EXRESCODE,
                             NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(store_errno(rc), "Failed to open database %s: %s", path,
                                       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));

        sqlite3_extended_result_codes(s->db, 1);
        /* Another connection (an HTTP thread, a second daemon during a
         * restart) may hold the write lock for a moment. */
        sqlite3_busy_timeout(s->db, 5000);

        /* WAL so readers never block the writer; synchronous=FULL so that a
         * committed transaction survives power loss, not just a crash. */
        r = exec_sql(s, memory ? "PRAGMA foreign_keys = ON;"
                               : "PRAGMA journal_mode = WAL;"
                                 "PRAGMA synchronous = FULL;"
                                 "PRAGMA foreign_keys = ON;"
                                 "PRAGMA secure_delete = ON;");
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
        if (s->in_transaction)
                store_rollback(s);
        for (size_t i = 0; i < STORE_STMT_CACHE_SIZE; i++)
                sqlite3_finalize(s->stmts[i].stmt);
        for (size_t i = 0; i < STORE_USER_SEARCH_SHAPES; i++)
                sqlite3_finalize(s->user_search[i]);
        for (size_t i = 0; i < STORE_AUDIT_QUERY_SHAPES; i++)
                free(s->audit_query_sql[i]);
        sqlite3_close_v2(s->db);
        free(s->path);
        free(s);
        return NULL;
}

int store_ping(Store *s) {
        static const char sql[] = "SELECT 1";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        return sqlite3_step(st) == SQLITE_ROW ? 0 : store_errno(sqlite3_errcode(s->db));
}

/* Transaction control through the statement cache: the batch writer runs
 * a transaction for every group of requests, and sqlite3_exec() would
 * parse the SQL again each time. */
static int exec_prepared(Store *s, const char *sql) {
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return 0;
        rc = sqlite3_extended_errcode(s->db);
        log_error("Database error: %s (in: %s)", sqlite3_errmsg(s->db), sql);
        return store_errno(rc);
}

int store_begin(Store *s) {
        static const char sql[] = "BEGIN IMMEDIATE";
        int r;

        if (s->in_transaction)
                return -EBUSY;
        /* IMMEDIATE takes the write lock now, so that reads inside the
         * transaction (ID allocation) can't be invalidated by another writer. */
        r = exec_prepared(s, sql);
        if (r < 0)
                return r;
        s->in_transaction = true;
        return 0;
}

int store_commit(Store *s) {
        static const char sql[] = "COMMIT";
        int r;

        if (!s->in_transaction)
                return -EINVAL;
        r = exec_prepared(s, sql);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        s->in_transaction = false;
        return 0;
}

void store_rollback(Store *s) {
        static const char sql[] = "ROLLBACK";

        /* NULL is fine, as for any destructor: callers hand over a "txn"
         * that change_begin() never set or store_commit() already took. */
        if (!s || !s->in_transaction)
                return;
        /* After some errors SQLite has already rolled back by itself. */
        if (!sqlite3_get_autocommit(s->db))
                (void) exec_prepared(s, sql);
        s->in_transaction = false;
}
