/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The authentication state of users: failure counters, TOTP enrollments,
 * backup code digests. The decisions are made in auth.c; this only reads
 * and writes rows. */

#include <stdlib.h>

#include "log.h"
#include "store-internal.h"

int store_auth_state_get(Store *s, int64_t user_id, AuthState *ret) {
        static const char sql[] =
                "SELECT failed_count, first_failure_usec, last_failure_usec, lock_level, last_success_usec "
                "FROM auth_state WHERE user_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        rc = db_step(st);
        if (rc == 0) {
                *ret = (AuthState) {};
                return 0;
        }
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = (AuthState) {
                .failed_count = (uint32_t) db_column_int64(st, 0),
                .first_failure_usec = db_column_int64(st, 1),
                .last_failure_usec = db_column_int64(st, 2),
                .lock_level = (uint32_t) db_column_int64(st, 3),
                .last_success_usec = db_column_int64(st, 4),
        };
        return 0;
}

int store_auth_state_lock(Store *s, int64_t user_id, AuthState *ret) {
        /* The counter is read, counted on and written back in the caller's
         * transaction (auth-lockout.c decides on the window and the lock
         * level): the row must be locked from this read to the commit, or
         * two failures on two connections (two tesserad on one
         * PostgreSQL) read the same count and one of them is lost. An
         * upsert that changes nothing locks the row whether it existed or
         * not (SELECT ... FOR UPDATE would lock nothing for a user who
         * never failed), waits for a transaction holding it, and returns
         * the row as that one committed it. SQLite: its write lock does the
         * same already. */
        static const char sql[] =
                "INSERT INTO auth_state (user_id) SELECT CAST(?1 AS BIGINT) "
                "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) "
                "ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id "
                "RETURNING failed_count, first_failure_usec, last_failure_usec, lock_level, last_success_usec";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        AuthState a;
        int r, rc;

        if (!db_in_transaction(s->db))
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;         /* no such user (any more) */
        if (rc != 1)
                return rc == -ENOTEMPTY ? -ENOENT : store_step_error(s, rc);
        a = (AuthState) {
                .failed_count = (uint32_t) db_column_int64(st, 0),
                .first_failure_usec = db_column_int64(st, 1),
                .last_failure_usec = db_column_int64(st, 2),
                .lock_level = (uint32_t) db_column_int64(st, 3),
                .last_success_usec = db_column_int64(st, 4),
        };
        /* RETURNING gives its row before the statement is done. */
        rc = db_step(st);
        if (rc < 0)
                return store_step_error(s, rc);
        *ret = a;
        return 0;
}

int store_auth_state_put(Store *s, int64_t user_id, const AuthState *a) {
        static const char sql[] =
                "INSERT INTO auth_state (user_id, failed_count, first_failure_usec, last_failure_usec, lock_level, "
                "last_success_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                "ON CONFLICT (user_id) DO UPDATE SET failed_count = ?2, first_failure_usec = ?3, "
                "last_failure_usec = ?4, lock_level = ?5, last_success_usec = ?6";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_int64(st, 2, a->failed_count);
        db_bind_int64(st, 3, a->first_failure_usec);
        db_bind_int64(st, 4, a->last_failure_usec);
        db_bind_int64(st, 5, a->lock_level);
        db_bind_int64(st, 6, a->last_success_usec);
        /* A user deleted meanwhile fails the foreign key: report it as gone. */
        r = store_step_done(s, st);
        return r == -ENOTEMPTY ? -ENOENT : r;
}

int store_user_set_locked_until(Store *s, int64_t user_id, int64_t until_usec) {
        static const char sql[] = "UPDATE users SET locked_until_usec = ?2 WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_int64(st, 2, until_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

void totp_record_done(TotpRecord *t) {
        if (!t)
                return;
        if (t->secret_box)
                explicit_bzero(t->secret_box, t->secret_box_len);
        free(t->secret_box);
        *t = (TotpRecord) {};
}

int store_totp_get(Store *s, int64_t user_id, TotpRecord *ret) {
        static const char sql[] =
                "SELECT secret_box, last_step, created_usec, confirmed_usec FROM totp WHERE user_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        const void *blob;
        uint8_t *copy;
        size_t n;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));

        blob = db_column_blob(st, 0, &n);
        if (!blob || n == 0)
                return -EBADMSG;
        copy = malloc(n);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, blob, n);

        *ret = (TotpRecord) {
                .secret_box = copy,
                .secret_box_len = n,
                .last_step = db_column_int64(st, 1),
                .created_usec = db_column_int64(st, 2),
                .confirmed_usec = db_column_int64(st, 3),
        };
        return 0;
}

int store_totp_put(Store *s, int64_t user_id, const TotpRecord *t) {
        static const char sql[] =
                "INSERT INTO totp (user_id, secret_box, last_step, created_usec, confirmed_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5) "
                "ON CONFLICT (user_id) DO UPDATE SET secret_box = ?2, last_step = ?3, created_usec = ?4, "
                "confirmed_usec = ?5";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        if (!t->secret_box || t->secret_box_len == 0 || t->secret_box_len > INT32_MAX)
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        r = db_bind_blob(st, 2, t->secret_box, t->secret_box_len);
        if (r < 0)
                return r;
        db_bind_int64(st, 3, t->last_step);
        db_bind_int64(st, 4, t->created_usec);
        db_bind_int64(st, 5, t->confirmed_usec);
        r = store_step_done(s, st);
        return r == -ENOTEMPTY ? -ENOENT : r;
}

int store_totp_advance(Store *s, int64_t user_id, int64_t step, int64_t confirmed_usec) {
        /* The condition on last_step makes this the one place where a code
         * is spent: of two connections racing with the same code, one
         * changes the row and the other finds nothing to change. */
        static const char sql[] =
                "UPDATE totp SET last_step = ?2, "
                "confirmed_usec = CASE WHEN ?3 > 0 AND confirmed_usec = 0 THEN ?3 ELSE confirmed_usec END "
                "WHERE user_id = ?1 AND last_step < ?2";
        static const char sql_exists[] = "SELECT 1 FROM totp WHERE user_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL, *ex = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_int64(st, 2, step);
        db_bind_int64(st, 3, confirmed_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (db_changes(s->db) > 0)
                return 0;

        r = store_stmt(s, sql_exists, &ex);
        if (r < 0)
                return r;
        db_bind_int64(ex, 1, user_id);
        r = store_fetch_one(s, ex, NULL, NULL);
        return r == -ENOENT ? -ENOENT : r < 0 ? r : -ESTALE;
}

int store_totp_delete(Store *s, int64_t user_id) {
        static const char sql[] = "DELETE FROM totp WHERE user_id = ?1";
        static const char sql_codes[] = "DELETE FROM backup_codes WHERE user_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL, *sc = NULL;
        int r, n;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        n = db_changes(s->db);

        r = store_stmt(s, sql_codes, &sc);
        if (r < 0)
                return r;
        db_bind_int64(sc, 1, user_id);
        r = store_step_done(s, sc);
        if (r < 0)
                return r;
        return n > 0 ? 0 : -ENOENT;
}

int store_backup_codes_replace(Store *s, int64_t user_id, const uint8_t (*digests)[STORE_DIGEST_SIZE], size_t n) {
        static const char sql_delete[] = "DELETE FROM backup_codes WHERE user_id = ?1";
        static const char sql_insert[] =
                "INSERT INTO backup_codes (user_id, digest, created_usec) VALUES (?1, ?2, ?3)";
        _cleanup_(store_stmt_resetp) DbStmt *del = NULL;
        int64_t now = now_realtime_usec();
        int r;

        if (!db_in_transaction(s->db))
                return -EINVAL;

        r = store_stmt(s, sql_delete, &del);
        if (r < 0)
                return r;
        db_bind_int64(del, 1, user_id);
        r = store_step_done(s, del);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(store_stmt_resetp) DbStmt *ins = NULL;

                r = store_stmt(s, sql_insert, &ins);
                if (r < 0)
                        return r;
                db_bind_int64(ins, 1, user_id);
                r = db_bind_blob(ins, 2, digests[i], STORE_DIGEST_SIZE);
                if (r < 0)
                        return r;
                db_bind_int64(ins, 3, now);
                r = store_step_done(s, ins);
                if (r == -ENOTEMPTY)
                        return -ENOENT;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Spent by DELETE: of two connections with one code, one deletes the row
 * (changes() == 1) and the other finds none (PostgreSQL: it waits for the
 * first to commit, then sees the row gone). */
int store_backup_code_consume(Store *s, int64_t user_id, const uint8_t digest[static STORE_DIGEST_SIZE]) {
        static const char sql[] = "DELETE FROM backup_codes WHERE user_id = ?1 AND digest = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        r = db_bind_blob(st, 2, digest, STORE_DIGEST_SIZE);
        if (r < 0)
                return r;
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_backup_codes_count(Store *s, int64_t user_id, unsigned *ret) {
        static const char sql[] = "SELECT COUNT(*) FROM backup_codes WHERE user_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        rc = db_step(st);
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = (unsigned) db_column_int64(st, 0);
        return 0;
}
