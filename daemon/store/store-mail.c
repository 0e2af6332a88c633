/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail outbox (store-mail.h). */

#include <stdlib.h>

#include "log.h"
#include "store-internal.h"
#include "store-mail.h"

static const char *const state_names[_OUTBOX_STATE_MAX] = {
        [OUTBOX_QUEUED] = "queued",
        [OUTBOX_SENT] = "sent",
        [OUTBOX_FAILED] = "failed",
};

const char *outbox_state_to_string(OutboxState s) {
        return s >= 0 && s < _OUTBOX_STATE_MAX ? state_names[s] : NULL;
}

OutboxState outbox_state_from_string(const char *s) {
        for (OutboxState i = 0; s && i < _OUTBOX_STATE_MAX; i++)
                if (streq(state_names[i], s))
                        return i;
        return _OUTBOX_STATE_INVALID;
}

void outbox_mail_done(OutboxMail *m) {
        if (!m)
                return;
        free(m->tenant);
        free(m->template_name);
        free(m->recipient);
        free(m->sender_name);
        free(m->subject);
        free(m->message_id);
        free(m->body_text);
        free(m->body_html);
        free(m->last_error);
        *m = (OutboxMail) {};
}

void outbox_mail_array_free(OutboxMail *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                outbox_mail_done(&a[i]);
        free(a);
}

static int bind_blob(DbStmt *st, int idx, const uint8_t *p, size_t n) {
        if (!p)
                return db_bind_null(st, idx);
        return db_bind_blob(st, idx, p, n);
}

static int column_blob(DbStmt *st, int col, uint8_t **ret, size_t *ret_len) {
        size_t n;
        const void *p = db_column_blob(st, col, &n);
        uint8_t *copy;

        if (!p || n == 0) {
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        copy = malloc(n);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, p, n);
        *ret = copy;
        *ret_len = n;
        return 0;
}

/* The sender wakes as soon as a mail is queued, while the transaction
 * that queued it may still be open, and reads the due mails "under the
 * write lock" so that it finds that mail once the transaction commits.
 * SQLite's write lock (BEGIN IMMEDIATE) does that by itself; PostgreSQL
 * lets a reader go on, so there each queuing transaction holds this
 * advisory lock shared until it ends, and the reader takes it exclusive:
 * it waits for the queuing transactions open at that moment. The reader
 * lets it go in the same statement (a session lock, taken and given
 * back), so that it holds nothing afterwards: neither later queuing
 * transactions nor the senders of other instances wait for its claim. */
#define OUTBOX_LOCK_KEY "8387236820507844865"

static int outbox_lock(Store *s, bool exclusive) {
        static const char shared_sql[] = "SELECT pg_advisory_xact_lock_shared(" OUTBOX_LOCK_KEY ")",
                          exclusive_sql[] = "SELECT pg_advisory_unlock(" OUTBOX_LOCK_KEY ") "
                                            "FROM (SELECT pg_advisory_lock(" OUTBOX_LOCK_KEY ") OFFSET 0) AS barrier";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        if (db_dialect(s->db) != DB_DIALECT_POSTGRESQL || !db_in_transaction(s->db))
                return 0;
        r = store_stmt(s, exclusive ? exclusive_sql : shared_sql, &st);
        if (r < 0)
                return r;
        return store_step_done(s, st);
}

int store_outbox_add(Store *s, const OutboxMail *m, int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO outbox (tenant, template, recipient, sender_name, subject, message_id, body_text, "
                "body_html, next_attempt_usec, created_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t now = m->created_usec > 0 ? m->created_usec : now_realtime_usec();
        int64_t new_id;
        int r;

        if (isempty(m->template_name) || isempty(m->recipient) || !m->subject || isempty(m->message_id) ||
            !m->body_text || !m->body_html)
                return -EINVAL;
        r = outbox_lock(s, false);
        if (r < 0)
                return r;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, m->tenant);
        db_bind_text(st, 2, m->template_name);
        db_bind_text(st, 3, m->recipient);
        db_bind_text(st, 4, strempty(m->sender_name));
        db_bind_text(st, 5, m->subject);
        db_bind_text(st, 6, m->message_id);
        r = bind_blob(st, 7, m->body_text, m->body_text_len);
        if (r >= 0)
                r = bind_blob(st, 8, m->body_html, m->body_html_len);
        if (r < 0)
                return r;
        db_bind_int64(st, 9, m->next_attempt_usec > 0 ? m->next_attempt_usec : now);
        db_bind_int64(st, 10, now);
        r = store_step_int64(s, st, &new_id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = new_id;
        return 0;
}

#define OUTBOX_COLUMNS                                                                                        \
        "id, tenant, template, recipient, sender_name, subject, message_id, body_text, body_html, state, "   \
        "attempts, next_attempt_usec, last_error, created_usec, finished_usec"

static int outbox_from_row(DbStmt *st, OutboxMail *ret) {
        _cleanup_(outbox_mail_done) OutboxMail m = {
                .id = db_column_int64(st, 0),
                .attempts = (uint32_t) db_column_int64(st, 10),
                .next_attempt_usec = db_column_int64(st, 11),
                .created_usec = db_column_int64(st, 13),
                .finished_usec = db_column_int64(st, 14),
        };
        int r;

        m.state = outbox_state_from_string(db_column_text(st, 9));
        if (m.state < 0)
                return -EUCLEAN;
        if ((r = store_column_strdup(st, 1, false, &m.tenant)) < 0 ||
            (r = store_column_strdup(st, 2, true, &m.template_name)) < 0 ||
            (r = store_column_strdup(st, 3, true, &m.recipient)) < 0 ||
            (r = store_column_strdup(st, 4, true, &m.sender_name)) < 0 ||
            (r = store_column_strdup(st, 5, true, &m.subject)) < 0 ||
            (r = store_column_strdup(st, 6, true, &m.message_id)) < 0 ||
            (r = column_blob(st, 7, &m.body_text, &m.body_text_len)) < 0 ||
            (r = column_blob(st, 8, &m.body_html, &m.body_html_len)) < 0 ||
            (r = store_column_strdup(st, 12, false, &m.last_error)) < 0)
                return r;
        *ret = m;
        m = (OutboxMail) {};
        return 0;
}

int store_outbox_get(Store *s, int64_t id, OutboxMail *ret) {
        static const char sql[] = "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        return outbox_from_row(st, ret);
}

int store_outbox_due(Store *s, int64_t now_usec, size_t limit, OutboxMail **ret, size_t *ret_n) {
        static const char sql[] = "SELECT " OUTBOX_COLUMNS " FROM outbox "
                                  "WHERE state = 'queued' AND next_attempt_usec <= ?1 "
                                  "ORDER BY next_attempt_usec, id LIMIT ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        OutboxMail *list = NULL;
        size_t n = 0;
        int r, rc;

        r = outbox_lock(s, true);
        if (r < 0)
                return r;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, now_usec);
        db_bind_int64(st, 2, limit > 0 ? (int64_t) MIN(limit, (size_t) INT64_MAX) : 100);

        while ((rc = db_step(st)) == 1) {
                OutboxMail *nl = realloc(list, (n + 1) * sizeof(OutboxMail));

                if (!nl) {
                        outbox_mail_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                r = outbox_from_row(st, &list[n]);
                if (r < 0) {
                        outbox_mail_array_free(list, n);
                        return r;
                }
                n++;
        }
        if (rc != 0) {
                outbox_mail_array_free(list, n);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int store_outbox_claim(Store *s, int64_t now_usec, int64_t lease_usec, OutboxMail *ret) {
        /* The senders of several tesserad on one PostgreSQL must not send
         * a mail twice, nor wait on each other: the due mail that no other
         * transaction holds (FOR UPDATE SKIP LOCKED) is pushed past the
         * lease in the caller's short transaction, so that the others pass
         * over it while it is being sent, without a transaction held open
         * over the relay's answer. The outcome (store_outbox_mark_sent()
         * ...) replaces the lease; a sender that died with its lease
         * leaves the mail to whoever comes when the lease is over. SQLite
         * serves one tesserad, whose sender is the only one: the mail is
         * read as it is, under the write lock. */
        static const char sql_sqlite[] = "SELECT " OUTBOX_COLUMNS " FROM outbox "
                                         "WHERE state = 'queued' AND next_attempt_usec <= ?1 "
                                         "ORDER BY next_attempt_usec, id LIMIT 1";
        static const char sql_pg[] = "UPDATE outbox SET next_attempt_usec = ?2 WHERE id = "
                                     "(SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_usec <= ?1 "
                                     "ORDER BY next_attempt_usec, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                                     "RETURNING " OUTBOX_COLUMNS;
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        bool pg = db_dialect(s->db) == DB_DIALECT_POSTGRESQL;
        OutboxMail m;
        int r, rc;

        if (!db_in_transaction(s->db) || lease_usec <= 0)
                return -EINVAL;
        /* After the mails of the transactions queuing now (outbox_lock()). */
        r = outbox_lock(s, true);
        if (r < 0)
                return r;
        r = store_stmt(s, pg ? sql_pg : sql_sqlite, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, now_usec);
        if (pg)
                db_bind_int64(st, 2, now_usec + lease_usec);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        r = outbox_from_row(st, &m);
        if (r < 0)
                return r;
        /* RETURNING gives its row before the statement is done. */
        rc = db_step(st);
        if (rc < 0) {
                outbox_mail_done(&m);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }
        *ret = m;
        return 0;
}

int store_outbox_next_attempt(Store *s, int64_t *ret_usec) {
        static const char sql[] = "SELECT MIN(next_attempt_usec) FROM outbox WHERE state = 'queued'";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        rc = db_step(st);
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        if (db_column_is_null(st, 0))
                return -ENOENT;
        *ret_usec = db_column_int64(st, 0);
        return 0;
}

int store_outbox_count(Store *s, OutboxState state, uint64_t *ret) {
        static const char sql[] = "SELECT COUNT(*) FROM outbox WHERE state = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        if (!outbox_state_to_string(state))
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, outbox_state_to_string(state));
        rc = db_step(st);
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = (uint64_t) db_column_int64(st, 0);
        return 0;
}

/* One UPDATE of a queued mail; -ENOENT when it is not (or no longer) queued. */
static int update_queued(Store *s, const char *sql, int64_t id, int64_t time_usec, const char *error) {
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, time_usec > 0 ? time_usec : now_realtime_usec());
        db_bind_text(st, 3, error);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* The bodies hold links with single-use tokens: gone once nobody needs
 * them (secure_delete overwrites the freed pages too). */
int store_outbox_mark_sent(Store *s, int64_t id, int64_t now_usec) {
        static const char sql[] =
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, finished_usec = ?2, "
                "last_error = ?3, body_text = NULL, body_html = NULL WHERE id = ?1 AND state = 'queued'";

        return update_queued(s, sql, id, now_usec, NULL);
}

int store_outbox_defer(Store *s, int64_t id, int64_t next_attempt_usec, const char *error) {
        static const char sql[] =
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_usec = ?2, last_error = ?3 "
                "WHERE id = ?1 AND state = 'queued'";

        return update_queued(s, sql, id, next_attempt_usec, error);
}

int store_outbox_mark_failed(Store *s, int64_t id, int64_t now_usec, const char *error) {
        static const char sql[] =
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, finished_usec = ?2, "
                "last_error = ?3, body_text = NULL, body_html = NULL WHERE id = ?1 AND state = 'queued'";

        return update_queued(s, sql, id, now_usec, error);
}

int store_outbox_release(Store *s, int64_t id, int64_t next_attempt_usec) {
        static const char sql[] = "UPDATE outbox SET next_attempt_usec = ?2 WHERE id = ?1 AND state = 'queued'";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, next_attempt_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_outbox_prune(Store *s, int64_t before_usec, uint64_t *ret_n) {
        static const char sql[] = "DELETE FROM outbox WHERE state <> 'queued' AND finished_usec < ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, before_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = (uint64_t) db_changes(s->db);
        return 0;
}
