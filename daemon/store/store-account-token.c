/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Single-use tokens of the account flows (store-account-token.h). */

#include "store-account-token.h"
#include "store-internal.h"

static const char *const purpose_names[_ACCOUNT_TOKEN_PURPOSE_MAX] = {
        [ACCOUNT_TOKEN_VERIFY_EMAIL] = "verify-email",
        [ACCOUNT_TOKEN_RESET_PASSWORD] = "reset-password",
};

const char *account_token_purpose_to_string(AccountTokenPurpose p) {
        return p >= 0 && p < _ACCOUNT_TOKEN_PURPOSE_MAX ? purpose_names[p] : NULL;
}

AccountTokenPurpose account_token_purpose_from_string(const char *s) {
        for (AccountTokenPurpose p = 0; s && p < _ACCOUNT_TOKEN_PURPOSE_MAX; p++)
                if (streq(purpose_names[p], s))
                        return p;
        return _ACCOUNT_TOKEN_PURPOSE_INVALID;
}

static void bind_digest(DbStmt *st, int idx, const uint8_t d[TOKEN_DIGEST_SIZE]) {
        db_bind_blob(st, idx, d, TOKEN_DIGEST_SIZE);
}

int store_account_token_add(Store *s, const AccountToken *t) {
        static const char sql[] =
                "INSERT INTO account_tokens (digest, purpose, tenant_id, user_id, email, created_usec, expires_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        const char *purpose = account_token_purpose_to_string(t->purpose);
        int r;

        if (!purpose)
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, t->digest);
        db_bind_text(st, 2, purpose);
        db_bind_int64(st, 3, t->tenant_id);
        db_bind_int64(st, 4, t->user_id);
        db_bind_text(st, 5, t->email);
        db_bind_int64(st, 6, t->created_usec);
        db_bind_int64(st, 7, t->expires_usec);
        return store_step_done(s, st);
}

int store_account_token_get(Store *s, int64_t tenant_id, AccountTokenPurpose purpose,
                            const uint8_t digest[TOKEN_DIGEST_SIZE], AccountToken *ret) {
        static const char sql[] =
                "SELECT user_id, email, created_usec, expires_usec, used_usec FROM account_tokens "
                "WHERE digest = ?1 AND tenant_id = ?2 AND purpose = ?3";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        const char *name = account_token_purpose_to_string(purpose);
        AccountToken t = { .purpose = purpose, .tenant_id = tenant_id };
        int r, rc;

        if (!name)
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, tenant_id);
        db_bind_text(st, 3, name);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return rc;
        memcpy(t.digest, digest, TOKEN_DIGEST_SIZE);
        t.user_id = db_column_int64(st, 0);
        snprintf(t.email, sizeof(t.email), "%s", db_column_text(st, 1) ?: "");
        t.created_usec = db_column_int64(st, 2);
        t.expires_usec = db_column_int64(st, 3);
        t.used_usec = db_column_int64(st, 4);
        *ret = t;
        return 0;
}

/* Password-reset and e-mail verification tokens are spent here, by a
 * conditional UPDATE (used_usec = 0): one of any number of concurrent
 * uses changes the row (PostgreSQL: the others wait for it, then find the
 * condition false). */
int store_account_token_claim(Store *s, int64_t tenant_id, AccountTokenPurpose purpose,
                              const uint8_t digest[TOKEN_DIGEST_SIZE], int64_t now_usec) {
        static const char sql[] =
                "UPDATE account_tokens SET used_usec = ?2 "
                "WHERE digest = ?1 AND tenant_id = ?3 AND purpose = ?4 AND used_usec = 0 AND expires_usec > ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        const char *name = account_token_purpose_to_string(purpose);
        int r;

        if (!name)
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, now_usec);
        db_bind_int64(st, 3, tenant_id);
        db_bind_text(st, 4, name);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0;
}

int store_account_token_void_user(Store *s, int64_t user_id, AccountTokenPurpose purpose, int64_t now_usec) {
        static const char sql[] =
                "UPDATE account_tokens SET used_usec = ?3 WHERE user_id = ?1 AND purpose = ?2 AND used_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        const char *name = account_token_purpose_to_string(purpose);
        int r;

        if (!name)
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_text(st, 2, name);
        db_bind_int64(st, 3, now_usec);
        return store_step_done(s, st);
}

int store_account_token_purge(Store *s, int64_t expired_before_usec) {
        static const char sql[] = "DELETE FROM account_tokens WHERE expires_usec < ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, expired_before_usec);
        return store_step_done(s, st);
}
