/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The PostgreSQL backend of db.h, on libpq.
 *
 * A Db is one PostgreSQL session; the StorePool gives each thread that
 * asks its own, so the connections of an instance are bounded by its
 * threads (HTTP, workers, the main loop, the writers). Statements are
 * prepared once per session (PQprepare, named by a counter of the
 * connection) with the common dialect's ?N rewritten to $N; parameters
 * go as text (integers in decimal) and blobs in binary, and results come
 * back as text (bytea in hex, decoded on reading).
 *
 * The server may go away (a restart, a failover to the standby). A
 * connection found broken is made again on the next use outside a
 * transaction, with exponential back-off between attempts (so that a
 * server that is down costs a request no more than a quick -ENOTCONN),
 * and the statements are prepared again on the new session as they are
 * used. What the caller learns is exact: -ENOTCONN when nothing was sent
 * (nothing changed), -ECONNRESET when a statement or a COMMIT was under
 * way as the connection broke (its outcome is unknown, and nothing is
 * acknowledged as committed). Only a statement that reads (a SELECT
 * outside a transaction) is sent again by itself on a new connection.
 *
 * Errors map by SQLSTATE (see map_sqlstate()). Unlike SQLite, PostgreSQL
 * aborts the whole transaction on an error in it: a caller that expects
 * a conflict inside a transaction and goes on must use a savepoint
 * (db_savepoint()), as the batch writer does. */

#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db-backend.h"
#include "db-pg.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"

/* Between failed connection attempts: from the first to the last, doubling. */
#define RECONNECT_BACKOFF_MIN_USEC (100 * USEC_PER_MSEC)
#define RECONNECT_BACKOFF_MAX_USEC (5 * USEC_PER_SEC)
/* Unless the URL says otherwise: a server that does not answer is down. */
#define CONNECT_TIMEOUT_SEC "5"

typedef struct PgConn {
        PGconn *pg;
        StoreConfig config;       /* to connect again */
        char *description;        /* for messages; holds no secret */
        unsigned generation;      /* of the session; statements prepared on an older one are again */
        unsigned next_name;
        int64_t changes;
        char *errmsg;
        uint64_t backoff;
        uint64_t retry_after;       /* CLOCK_MONOTONIC; no attempt before */
} PgConn;

typedef struct PgStmt {
        DbStmt base;              /* first: handed out as DbStmt * */
        char *sql;                /* with $N */
        char name[16];
        unsigned generation;      /* the session it was prepared on; 0: none */
        /* Prepared with the types of the parameters as bound (types[]),
         * or without (the server inferred them all). */
        bool typed;
        Oid *types;
        /* Whether the SQL names each parameter: a caller may bind one
         * that a shape of its query leaves out (the server could not
         * type it, so it goes as an untyped NULL). */
        bool *referenced;
        int nparams;
        char **values;            /* owned: texts and integers; blobs point at the caller's */
        int *lengths;
        int *formats;
        bool *owned;
        Oid *bound;               /* the type of each binding; 0 for NULL */
        PGresult *res;
        int row;                  /* current row of res; -1 before the first */
        bool executed;
        void **blobs;             /* the current row's decoded bytea columns */
        size_t *blob_sizes;
} PgStmt;

static PgConn *conn_of(Db *db) {
        return db->conn;
}

static PgStmt *pg_stmt(DbStmt *st) {
        return (PgStmt *) st;
}

PGconn *db_pg_handle(Db *db) {
        return db->backend == &db_backend_pg ? conn_of(db)->pg : NULL;
}

/* libpq's messages end in a newline; ours do not. */
static void set_errmsg(PgConn *c, const char *m) {
        size_t n = strlen(m ?: "");

        while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
                n--;
        free(c->errmsg);
        c->errmsg = strndup(m ?: "", n);
}

int db_pg_socket(Db *db) {
        PGconn *pg = db_pg_handle(db);

        if (!pg || PQstatus(pg) != CONNECTION_OK)
                return -ENOTCONN;
        return PQsocket(pg) < 0 ? -ENOTCONN : PQsocket(pg);
}

int db_pg_notification(Db *db, char **ret_payload) {
        PGconn *pg = db_pg_handle(db);
        PGnotify *n;
        char *p;

        if (!pg || PQstatus(pg) != CONNECTION_OK)
                return -ECONNRESET;
        /* Reads what the socket has (without blocking), then hands out
         * what libpq queued, one at a time: what came in along with a
         * statement's result is queued too. */
        if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) {
                set_errmsg(conn_of(db), PQerrorMessage(pg));
                return -ECONNRESET;
        }
        n = PQnotifies(pg);
        if (!n)
                return 0;
        p = strdup(n->extra ?: "");
        PQfreemem(n);
        if (!p)
                return -ENOMEM;
        *ret_payload = p;
        return 1;
}

int db_pg_errno(const char *sqlstate) {
        if (!sqlstate || strlen(sqlstate) != 5)
                return -EIO;
        if (streq(sqlstate, "23505"))           /* unique_violation */
                return -EEXIST;
        if (streq(sqlstate, "23503"))           /* foreign_key_violation */
                return -ENOTEMPTY;
        if (strneq(sqlstate, "23", 2))          /* not null, check, exclusion, ... */
                return -EINVAL;
        if (streq(sqlstate, "40001") ||         /* serialization_failure */
            streq(sqlstate, "40P01"))           /* deadlock_detected */
                return -EAGAIN;
        if (streq(sqlstate, "55P03") ||         /* lock_not_available */
            streq(sqlstate, "57014") ||         /* query_canceled (a timeout) */
            streq(sqlstate, "53300"))           /* too_many_connections */
                return -EBUSY;
        if (strneq(sqlstate, "08", 2) ||        /* connection exceptions */
            streq(sqlstate, "57P01") ||         /* admin_shutdown */
            streq(sqlstate, "57P02") ||         /* crash_shutdown */
            streq(sqlstate, "57P03"))           /* cannot_connect_now */
                return -ECONNRESET;
        if (streq(sqlstate, "25006"))           /* read_only_sql_transaction: a standby */
                return -EROFS;
        if (streq(sqlstate, "42501") ||         /* insufficient_privilege */
            strneq(sqlstate, "28", 2))          /* invalid authorization */
                return -EACCES;
        if (streq(sqlstate, "53100") ||         /* disk_full */
            streq(sqlstate, "53400"))           /* configuration_limit_exceeded */
                return -EDQUOT;
        if (streq(sqlstate, "53200"))           /* out_of_memory */
                return -ENOMEM;
        if (streq(sqlstate, "22001") ||         /* string_data_right_truncation */
            streq(sqlstate, "54000"))           /* program_limit_exceeded */
                return -E2BIG;
        if (streq(sqlstate, "XX001") || streq(sqlstate, "XX002"))  /* data or index corrupted */
                return -EUCLEAN;
        return -EIO;
}

/* The errno of a failed result (res may be NULL: libpq could not even
 * make one). A broken connection wins over whatever the result says. */
static int result_errno(PgConn *c, const PGresult *res) {
        set_errmsg(c, res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
        if (isempty(c->errmsg))
                set_errmsg(c, PQerrorMessage(c->pg));
        if (PQstatus(c->pg) != CONNECTION_OK)
                return -ECONNRESET;
        return res ? db_pg_errno(PQresultErrorField(res, PG_DIAG_SQLSTATE)) : -EIO;
}

static void conninfo_freep(PQconninfoOption **o) {
        if (*o)
                PQconninfoFree(*o);
}

int db_pg_check_url(const char *url) {
        _cleanup_(conninfo_freep) PQconninfoOption *options = NULL;
        char *error = NULL;

        if (isempty(url))
                return -EINVAL;
        options = PQconninfoParse(url, &error);
        if (!options) {
                PQfreemem(error);
                return -EBADMSG;
        }
        for (const PQconninfoOption *o = options; o->keyword; o++)
                if ((streq(o->keyword, "password") || streq(o->keyword, "sslpassword")) && !isempty(o->val))
                        return -EPERM;
        return 0;
}

static void pg_clearp(PGresult **r) {
        if (*r)
                PQclear(*r);
}

static int connect_now(Db *db) {
        PgConn *c = conn_of(db);
        _cleanup_(erase_and_freep) char *password = NULL;
        /* Earlier keywords are overridden by what the URL (expanded from
         * dbname) says, later ones override it: the timeout and the
         * application name are defaults, the password is ours. */
        const char *keys[] = { "connect_timeout", "fallback_application_name", "client_encoding", "dbname",
                               NULL, NULL };
        const char *values[] = { CONNECT_TIMEOUT_SEC, "tesserad", "UTF8", c->config.url, NULL, NULL };
        PGconn *pg;
        int r;

        r = store_config_read_password(&c->config, &password);
        if (r < 0) {
                set_errmsg(c, "cannot read the password");
                return log_error_errno(r, "%s: failed to read the password from %s: %m", c->description,
                                       c->config.password_file ?: "the credential " STORE_PASSWORD_CREDENTIAL);
        }
        if (password) {
                keys[4] = "password";
                values[4] = password;
        }

        pg = PQconnectdbParams(keys, values, /* expand_dbname= */ 1);
        if (!pg)
                return -ENOMEM;
        if (PQstatus(pg) != CONNECTION_OK) {
                set_errmsg(c, PQerrorMessage(pg));
                PQfinish(pg);
                return -ENOTCONN;
        }
        if (c->pg)
                PQfinish(c->pg);
        c->pg = pg;
        c->generation++;
        return 0;
}

/* A working session for the next statement: the one we have, or a new
 * one when it broke and no transaction depends on it. Never blocks longer
 * than one connection attempt, and not at all within the back-off. */
static int ensure_connected(Db *db) {
        PgConn *c = conn_of(db);
        uint64_t now;
        int r;

        if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
                return 0;
        /* The transaction died with its session: the caller learns it,
         * and rolls back. */
        if (db->in_transaction) {
                set_errmsg(c, "the connection to the server was lost during the transaction");
                return -ECONNRESET;
        }
        now = now_monotonic_usec();
        if (now < c->retry_after) {
                if (isempty(c->errmsg))
                        set_errmsg(c, "the server cannot be reached");
                return -ENOTCONN;
        }
        r = connect_now(db);
        if (r < 0) {
                c->backoff = c->backoff == 0 ? RECONNECT_BACKOFF_MIN_USEC
                                             : MIN(c->backoff * 2, RECONNECT_BACKOFF_MAX_USEC);
                c->retry_after = now + c->backoff;
                log_warning("%s: cannot connect (next attempt in %" PRIu64 " ms): %s", c->description,
                            c->backoff / USEC_PER_MSEC, c->errmsg);
                return r;
        }
        if (c->backoff > 0)
                log_info("%s: connected again.", c->description);
        c->backoff = 0;
        c->retry_after = 0;
        return 0;
}

static int pg_connect(Db *db, const StoreConfig *c) {
        _cleanup_free_ PgConn *pc = NULL;
        int r;

        if (c->backend != STORE_BACKEND_POSTGRESQL || isempty(c->url))
                return log_error_errno(-EINVAL, "The store configuration names no PostgreSQL database.");
        pc = calloc(1, sizeof(PgConn));
        if (!pc)
                return -ENOMEM;
        r = store_config_copy(&pc->config, c);
        if (r < 0)
                return r;
        r = store_config_describe(c, &pc->description);
        if (r < 0) {
                store_config_done(&pc->config);
                return r;
        }
        db->conn = pc;
        r = connect_now(db);
        if (r < 0) {
                log_error("Failed to connect to %s: %s", pc->description, pc->errmsg ?: "");
                db->conn = NULL;
                free(pc->errmsg);
                free(pc->description);
                store_config_done(&pc->config);
                return r;
        }
        TAKE_PTR(pc);
        return 0;
}

static void pg_disconnect(Db *db) {
        PgConn *c = conn_of(db);

        if (!c)
                return;
        if (c->pg)
                PQfinish(c->pg);
        free(c->errmsg);
        free(c->description);
        store_config_done(&c->config);
        free(c);
        db->conn = NULL;
}

static const char *pg_errmsg(Db *db) {
        return conn_of(db)->errmsg;
}

/* ?N (and a bare ?, numbered on) become $N; quoted texts, identifiers
 * and comments are copied as they are. Returns the highest number. */
static int rewrite_placeholders(const char *sql, char **ret, int *ret_nparams, bool **ret_referenced) {
        size_t n = strlen(sql);
        _cleanup_free_ char *out = malloc(n * 2 + 1);
        _cleanup_free_ bool *referenced = NULL;
        char *o = out;
        int highest = 0, next = 1;

        if (!out)
                return -ENOMEM;
        /* No more parameters than characters. */
        referenced = calloc(n + 1, sizeof(bool));
        if (!referenced)
                return -ENOMEM;
        for (const char *p = sql; *p;) {
                if (*p == '\'' || *p == '"') {
                        char q = *p;

                        *o++ = *p++;
                        while (*p) {
                                if (*p == q && p[1] == q) {
                                        *o++ = *p++;
                                        *o++ = *p++;
                                } else if (*p == q) {
                                        *o++ = *p++;
                                        break;
                                } else
                                        *o++ = *p++;
                        }
                } else if (p[0] == '-' && p[1] == '-') {
                        while (*p && *p != '\n')
                                *o++ = *p++;
                } else if (*p == '?') {
                        long v = 0;

                        p++;
                        if (*p >= '0' && *p <= '9') {
                                while (*p >= '0' && *p <= '9' && v < 100000)
                                        v = v * 10 + (*p++ - '0');
                        } else
                                v = next;
                        if (v < 1 || (size_t) v > n)
                                return -EINVAL;
                        referenced[v - 1] = true;
                        next = (int) v + 1;
                        highest = MAX(highest, (int) v);
                        o += sprintf(o, "$%ld", v);
                } else
                        *o++ = *p++;
        }
        *o = '\0';
        *ret = TAKE_PTR(out);
        *ret_nparams = highest;
        *ret_referenced = TAKE_PTR(referenced);
        return 0;
}

static void clear_row(PgStmt *s) {
        if (!s->blobs || !s->res)
                return;
        for (int i = 0; i < PQnfields(s->res); i++)
                if (s->blobs[i]) {
                        PQfreemem(s->blobs[i]);
                        s->blobs[i] = NULL;
                }
}

static void clear_result(PgStmt *s) {
        clear_row(s);
        free(s->blobs);
        s->blobs = NULL;
        free(s->blob_sizes);
        s->blob_sizes = NULL;
        if (s->res)
                PQclear(s->res);
        s->res = NULL;
        s->row = -1;
        s->executed = false;
}

static void clear_bindings(PgStmt *s) {
        for (int i = 0; i < s->nparams; i++) {
                if (s->owned[i])
                        free(s->values[i]);
                s->values[i] = NULL;
                s->owned[i] = false;
                s->lengths[i] = 0;
                s->formats[i] = 0;
                s->bound[i] = 0;
        }
}

static void pg_finalize(DbStmt *st) {
        PgStmt *s = pg_stmt(st);

        if (!s)
                return;
        /* The server's statement goes with the session; statements live
         * as long as their connection (db.h), so none is deallocated. */
        clear_result(s);
        if (s->values)
                clear_bindings(s);
        free(s->values);
        free(s->lengths);
        free(s->formats);
        free(s->owned);
        free(s->bound);
        free(s->types);
        free(s->referenced);
        free(s->sql);
        free(s);
}

/* The types a statement is prepared with: those of its bindings, where
 * the server cannot tell them from the SQL alone ("?2 IS NULL OR x > ?2").
 * A NULL has none (0): the server's guess, or the type an earlier
 * preparation gave it. */
#define TEXTOID 25
#define INT8OID 20
#define BYTEAOID 17

static int prepare_on_server(PgStmt *s, bool typed) {
        PgConn *c = conn_of(s->base.db);
        _cleanup_(pg_clearp) PGresult *res = NULL;
        int r;

        /* A name never redefined on a session: a new one each time. */
        snprintf(s->name, sizeof(s->name), "t%u", c->next_name++);
        for (int i = 0; i < s->nparams; i++)
                if (!s->referenced[i])
                        s->types[i] = TEXTOID;
                else if (typed)
                        s->types[i] = s->bound[i] ?: (s->typed && s->generation == c->generation ? s->types[i] : 0);
                else
                        s->types[i] = 0;
        res = PQprepare(c->pg, s->name, s->sql, s->nparams, s->types);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
                r = result_errno(c, res);
                s->generation = 0;
                /* Parameters whose type only the bindings tell: prepared
                 * at the first run, with them. */
                if (!typed && res && PQresultErrorField(res, PG_DIAG_SQLSTATE) &&
                    streq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42P18"))
                        return -EAGAIN;
                return log_error_errno(r, "Database error: %s (in: %s)", c->errmsg, s->sql);
        }
        s->generation = c->generation;
        s->typed = typed;
        return 0;
}

/* Whether the statement must be prepared (again) before it runs with
 * the current bindings. */
static bool needs_prepare(PgStmt *s) {
        if (s->generation != conn_of(s->base.db)->generation)
                return true;
        if (!s->typed)
                return false;
        for (int i = 0; i < s->nparams; i++)
                if (s->referenced[i] && s->bound[i] != 0 && s->bound[i] != s->types[i])
                        return true;
        return false;
}

static int pg_prepare(Db *db, const char *sql, DbStmt **ret) {
        PgStmt *s;
        int r;

        s = calloc(1, sizeof(PgStmt));
        if (!s)
                return -ENOMEM;
        s->base.db = db;
        s->row = -1;
        r = rewrite_placeholders(sql, &s->sql, &s->nparams, &s->referenced);
        if (r < 0) {
                free(s);
                return log_error_errno(r, "Bad parameter in: %s", sql);
        }
        s->values = calloc(MAX(s->nparams, 1), sizeof(char *));
        s->lengths = calloc(MAX(s->nparams, 1), sizeof(int));
        s->formats = calloc(MAX(s->nparams, 1), sizeof(int));
        s->owned = calloc(MAX(s->nparams, 1), sizeof(bool));
        s->bound = calloc(MAX(s->nparams, 1), sizeof(Oid));
        s->types = calloc(MAX(s->nparams, 1), sizeof(Oid));
        if (!s->values || !s->lengths || !s->formats || !s->owned || !s->bound || !s->types) {
                pg_finalize(&s->base);
                return -ENOMEM;
        }

        /* Prepared now, as SQLite does, so that a mistake in the SQL shows
         * where the statement is made. But not inside a transaction
         * (where a failed preparation would abort it), nor for a
         * statement whose parameters' types only the bindings tell, nor
         * while the server is away: then at its first run. */
        r = db->in_transaction ? 0 : ensure_connected(db);
        if (r >= 0 && !db->in_transaction)
                r = prepare_on_server(s, false);
        if (r < 0 && r != -ENOTCONN && r != -ECONNRESET && r != -EAGAIN) {
                pg_finalize(&s->base);
                return r;
        }
        *ret = &s->base;
        return 0;
}

static void pg_reset(DbStmt *st) {
        PgStmt *s = pg_stmt(st);

        clear_result(s);
        clear_bindings(s);
}

static int bind_owned(PgStmt *s, int idx, char *v, int length, int format, Oid type) {
        if (idx < 1 || idx > s->nparams) {
                free(v);
                return -ERANGE;
        }
        if (s->owned[idx - 1])
                free(s->values[idx - 1]);
        s->values[idx - 1] = v;
        s->owned[idx - 1] = true;
        s->lengths[idx - 1] = length;
        s->formats[idx - 1] = format;
        s->bound[idx - 1] = type;
        return 0;
}

static int pg_bind_int64(DbStmt *st, int idx, int64_t v) {
        char *t;

        if (asprintf(&t, "%" PRIi64, v) < 0)
                return -ENOMEM;
        return bind_owned(pg_stmt(st), idx, t, 0, 0, INT8OID);
}

static int pg_bind_text(DbStmt *st, int idx, const char *p, size_t n) {
        /* Text parameters are NUL-terminated: copied. */
        char *t = strndup(p, n);

        if (!t)
                return -ENOMEM;
        return bind_owned(pg_stmt(st), idx, t, 0, 0, TEXTOID);
}

static int pg_bind_null(DbStmt *st, int idx) {
        PgStmt *s = pg_stmt(st);

        if (idx < 1 || idx > s->nparams)
                return -ERANGE;
        if (s->owned[idx - 1])
                free(s->values[idx - 1]);
        s->values[idx - 1] = NULL;
        s->owned[idx - 1] = false;
        s->formats[idx - 1] = 0;
        s->bound[idx - 1] = 0;
        return 0;
}

static int pg_bind_blob(DbStmt *st, int idx, const void *p, size_t n) {
        PgStmt *s = pg_stmt(st);
        int r;

        if (!p)
                return pg_bind_null(st, idx);
        if (n > INT_MAX)
                return -E2BIG;
        r = pg_bind_null(st, idx);
        if (r < 0)
                return r;
        /* Binary: the bytes as they are, not copied (db.h). An empty
         * blob still needs a pointer that is not NULL. */
        s->values[idx - 1] = n > 0 ? (char *) p : (char *) "";
        s->lengths[idx - 1] = (int) n;
        s->formats[idx - 1] = 1;
        s->bound[idx - 1] = BYTEAOID;
        return 0;
}

static bool is_read(const char *sql) {
        while (*sql == ' ' || *sql == '\n' || *sql == '(')
                sql++;
        return strncasecmp(sql, "SELECT", 6) == 0 || strncasecmp(sql, "WITH", 4) == 0;
}

static int execute(PgStmt *s) {
        Db *db = s->base.db;
        PgConn *c = conn_of(db);
        const char *cmd;
        int r;

        r = ensure_connected(db);
        if (r < 0)
                return r;
        if (needs_prepare(s)) {
                r = prepare_on_server(s, true);
                if (r < 0)
                        return r;
        }
        /* What the SQL does not name is not sent. */
        for (int i = 0; i < s->nparams; i++)
                if (!s->referenced[i] && s->values[i]) {
                        if (s->owned[i])
                                free(s->values[i]);
                        s->values[i] = NULL;
                        s->owned[i] = false;
                        s->formats[i] = 0;
                }
        s->res = PQexecPrepared(c->pg, s->name, s->nparams, (const char *const *) s->values, s->lengths, s->formats,
                                /* text results */ 0);
        switch (s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
                break;
        default:
                r = result_errno(c, s->res);
                PQclear(s->res);
                s->res = NULL;
                return r;
        }
        /* INSERT, UPDATE, DELETE (RETURNING or not) say how many rows. */
        cmd = PQcmdTuples(s->res);
        if (!isempty(cmd))
                c->changes = strtoll(cmd, NULL, 10);
        if (PQnfields(s->res) > 0) {
                s->blobs = calloc(PQnfields(s->res), sizeof(void *));
                s->blob_sizes = calloc(PQnfields(s->res), sizeof(size_t));
                if (!s->blobs || !s->blob_sizes)
                        return -ENOMEM;
        }
        s->executed = true;
        s->row = -1;
        return 0;
}

static int pg_step(DbStmt *st) {
        PgStmt *s = pg_stmt(st);
        int r;

        if (!s->executed) {
                r = execute(s);
                /* A read outside a transaction that met a session the
                 * server had closed (a restart, a failover) is sent once
                 * more, on a new one: it changes nothing. */
                if (r == -ECONNRESET && !s->base.db->in_transaction && is_read(s->sql)) {
                        conn_of(s->base.db)->retry_after = 0;
                        r = execute(s);
                }
                if (r < 0)
                        return r;
        }
        clear_row(s);
        if (!s->res || s->row + 1 >= PQntuples(s->res)) {
                s->row = PQntuples(s->res);
                return 0;
        }
        s->row++;
        return 1;
}

static bool valid_cell(PgStmt *s, int col) {
        return s->res && s->row >= 0 && s->row < PQntuples(s->res) && col >= 0 && col < PQnfields(s->res);
}

static bool pg_column_is_null(DbStmt *st, int col) {
        PgStmt *s = pg_stmt(st);

        return !valid_cell(s, col) || PQgetisnull(s->res, s->row, col);
}

static int64_t pg_column_int64(DbStmt *st, int col) {
        PgStmt *s = pg_stmt(st);
        const char *v;

        if (pg_column_is_null(st, col))
                return 0;
        v = PQgetvalue(s->res, s->row, col);
        /* Booleans (EXISTS, comparisons) come as t and f. */
        if (streq(v, "t"))
                return 1;
        if (streq(v, "f"))
                return 0;
        return strtoll(v, NULL, 10);
}

static const char *pg_column_text(DbStmt *st, int col) {
        PgStmt *s = pg_stmt(st);

        if (pg_column_is_null(st, col))
                return NULL;
        return PQgetvalue(s->res, s->row, col);
}

static const void *pg_column_blob(DbStmt *st, int col, size_t *ret_size) {
        PgStmt *s = pg_stmt(st);
        size_t n;
        unsigned char *b;

        if (pg_column_is_null(st, col)) {
                *ret_size = 0;
                return NULL;
        }
        if (s->blobs[col]) {
                *ret_size = s->blob_sizes[col];
                return s->blobs[col];
        }
        if (PQftype(s->res, col) != BYTEAOID) {
                /* A text read as bytes, as SQLite allows. */
                *ret_size = (size_t) PQgetlength(s->res, s->row, col);
                return PQgetvalue(s->res, s->row, col);
        }
        b = PQunescapeBytea((const unsigned char *) PQgetvalue(s->res, s->row, col), &n);
        if (!b) {
                *ret_size = 0;
                return NULL;
        }
        s->blobs[col] = b;
        s->blob_sizes[col] = n;
        *ret_size = n;
        return b;
}

static int64_t pg_changes(Db *db) {
        return conn_of(db)->changes;
}

static int command(Db *db, const char *sql, const char *expect_status) {
        PgConn *c = conn_of(db);
        _cleanup_(pg_clearp) PGresult *res = NULL;
        int r;

        r = ensure_connected(db);
        if (r < 0)
                return log_error_errno(r, "Database error: %s (in: %s)", c->errmsg, sql);
        res = PQexec(c->pg, sql);
        if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)) {
                r = result_errno(c, res);
                return log_error_errno(r, "Database error: %s (in: %s)", c->errmsg, sql);
        }
        /* COMMIT of a transaction that failed says ROLLBACK, without an
         * error: nothing was committed, and the caller must know. */
        if (expect_status && !streq(PQcmdStatus(res), expect_status)) {
                set_errmsg(c, "the transaction was rolled back by the server");
                return log_error_errno(-EIO, "Database error: %s (in: %s)", c->errmsg, sql);
        }
        return 0;
}

static int pg_exec(Db *db, const char *sql) {
        return command(db, sql, NULL);
}

static int begin(Db *db, const char *sql) {
        PgConn *c = conn_of(db);
        int r;

        r = command(db, sql, NULL);
        /* The session was gone before the transaction began: nothing is
         * lost, start it on a new one. */
        if (r == -ECONNRESET) {
                c->retry_after = 0;
                r = command(db, sql, NULL);
        }
        return r;
}

static int pg_begin(Db *db) {
        return begin(db, "BEGIN");
}

static int pg_begin_read(Db *db) {
        return begin(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

static int pg_commit(Db *db) {
        return command(db, "COMMIT", "COMMIT");
}

static void pg_rollback(Db *db) {
        PgConn *c = conn_of(db);
        _cleanup_(pg_clearp) PGresult *res = NULL;

        /* A session that broke took its transaction along. */
        if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) == PQTRANS_IDLE)
                return;
        res = PQexec(c->pg, "ROLLBACK");
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
                log_warning("%s: ROLLBACK failed: %s", c->description, PQerrorMessage(c->pg));
}

const DbBackend db_backend_pg = {
        .name = "postgresql",
        .dialect = DB_DIALECT_POSTGRESQL,
        .connect = pg_connect,
        .disconnect = pg_disconnect,
        .errmsg = pg_errmsg,
        .prepare = pg_prepare,
        .finalize = pg_finalize,
        .reset = pg_reset,
        .bind_int64 = pg_bind_int64,
        .bind_text = pg_bind_text,
        .bind_blob = pg_bind_blob,
        .bind_null = pg_bind_null,
        .step = pg_step,
        .column_int64 = pg_column_int64,
        .column_is_null = pg_column_is_null,
        .column_text = pg_column_text,
        .column_blob = pg_column_blob,
        .changes = pg_changes,
        .exec = pg_exec,
        .begin = pg_begin,
        .begin_read = pg_begin_read,
        .commit = pg_commit,
        .rollback = pg_rollback,
};
