/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-account.h"
#include "store-internal.h"

static void bind_digest(DbStmt *st, int idx, const uint8_t d[TOKEN_DIGEST_SIZE]) {
        db_bind_blob(st, idx, d, TOKEN_DIGEST_SIZE);
}

int store_mfa_challenge_create(Store *s, const uint8_t digest[TOKEN_DIGEST_SIZE], const MfaChallenge *c,
                               int64_t now_usec) {
        static const char sql_prune[] = "DELETE FROM mfa_challenges WHERE expires_usec < ?1";
        static const char sql[] =
                "INSERT INTO mfa_challenges (digest, tenant_id, user_id, created_usec, expires_usec, amr) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
        _cleanup_(store_stmt_resetp) DbStmt *p = NULL, *st = NULL;
        int r;

        /* Expired ones are worth nothing: the table stays as small as
         * the sign-ins of the last few minutes, without a timer. */
        r = store_stmt(s, sql_prune, &p);
        if (r < 0)
                return r;
        db_bind_int64(p, 1, now_usec);
        r = store_step_done(s, p);
        if (r < 0)
                return r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, c->tenant_id);
        db_bind_int64(st, 3, c->user_id);
        db_bind_int64(st, 4, c->created_usec);
        db_bind_int64(st, 5, c->expires_usec);
        db_bind_text(st, 6, c->amr[0] ? c->amr : "pwd");
        return store_step_done(s, st);
}

int store_mfa_challenge_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], MfaChallenge *ret) {
        static const char sql[] =
                "SELECT user_id, created_usec, expires_usec, used_usec, amr FROM mfa_challenges "
                "WHERE digest = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, tenant_id);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = (MfaChallenge) {
                .tenant_id = tenant_id,
                .user_id = db_column_int64(st, 0),
                .created_usec = db_column_int64(st, 1),
                .expires_usec = db_column_int64(st, 2),
                .used_usec = db_column_int64(st, 3),
        };
        snprintf(ret->amr, sizeof(ret->amr), "%s", db_column_text(st, 4) ?: "pwd");
        return 0;
}

/* The MFA token of the JSON API's sign-in is spent here, by a conditional
 * UPDATE (used_usec = 0): one of any number of concurrent uses on any
 * number of instances changes the row. */
int store_mfa_challenge_claim(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], int64_t now_usec) {
        static const char sql[] =
                "UPDATE mfa_challenges SET used_usec = ?3 "
                "WHERE digest = ?1 AND tenant_id = ?2 AND used_usec = 0 AND expires_usec > ?3";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, tenant_id);
        db_bind_int64(st, 3, now_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0;
}

int store_owner_email_exists(Store *s, const char *email) {
        /* Addresses compare without case: SQLite by the NOCASE index
         * (users_owner_email), PostgreSQL by one on lower(email). */
        static const char sql_sqlite[] =
                "SELECT EXISTS (SELECT 1 FROM users WHERE email = ?1 COLLATE NOCASE AND role = 'owner')";
        static const char sql_pg[] =
                "SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(?1) AND role = 'owner')";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        /* No index makes owners' addresses unique across tenants: a
         * sign-up reads here and inserts in its transaction, and no other
         * sign-up may read in between (an advisory lock on PostgreSQL,
         * store_lock()). */
        if (db_in_transaction(s->db)) {
                r = store_lock(s, STORE_LOCK_OWNER_EMAILS, 0);
                if (r < 0)
                        return r;
        }
        r = store_stmt(s, DB_SQL(s->db, sql_sqlite, sql_pg), &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, email);
        rc = db_step(st);
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        return db_column_int64(st, 0) != 0;
}
