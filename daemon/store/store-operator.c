/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The platform's operators and their tokens (operator.h). */

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-internal.h"

void operator_record_done(OperatorRecord *o) {
        free(o->name);
        free(o->email);
        if (o->password_hash)
                explicit_bzero(o->password_hash, strlen(o->password_hash));
        free(o->password_hash);
        free(o->totp_secret_box);   /* sealed: nothing to wipe */
        *o = (OperatorRecord) {};
}

void operator_record_array_free(OperatorRecord *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                operator_record_done(&a[i]);
        free(a);
}

int store_operator_create(Store *s, const OperatorRecord *o, int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO operators (name, email, password_hash, totp_secret_box, created_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t new_id;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, o->name);
        db_bind_text(st, 2, o->email);
        db_bind_text(st, 3, o->password_hash);
        db_bind_blob(st, 4, o->totp_secret_box, o->totp_secret_box_len);
        db_bind_int64(st, 5, o->created_usec > 0 ? o->created_usec : now_realtime_usec());
        r = store_step_int64(s, st, &new_id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = new_id;
        return 0;
}

#define OPERATOR_COLUMNS \
        "id, name, email, password_hash, totp_secret_box, totp_last_step, created_usec, last_signin_usec"

static int read_operator(DbStmt *st, OperatorRecord *ret) {
        OperatorRecord o = {
                .id = db_column_int64(st, 0),
                .totp_last_step = db_column_int64(st, 5),
                .created_usec = db_column_int64(st, 6),
                .last_signin_usec = db_column_int64(st, 7),
        };
        size_t n;
        const void *box = db_column_blob(st, 4, &n);

        if (store_column_strdup(st, 1, true, &o.name) < 0 || store_column_strdup(st, 2, true, &o.email) < 0 ||
            store_column_strdup(st, 3, true, &o.password_hash) < 0 || !(o.totp_secret_box = malloc(MAX(n, (size_t) 1)))) {
                operator_record_done(&o);
                return -ENOMEM;
        }
        if (n > 0)
                memcpy(o.totp_secret_box, box, n);
        o.totp_secret_box_len = n;
        *ret = o;
        return 0;
}

int store_operator_get(Store *s, const char *name, OperatorRecord *ret) {
        static const char sql[] = "SELECT " OPERATOR_COLUMNS " FROM operators WHERE name = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, name);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        return read_operator(st, ret);
}

int store_operator_list(Store *s, OperatorRecord **ret, size_t *ret_n) {
        static const char sql[] = "SELECT " OPERATOR_COLUMNS " FROM operators ORDER BY name";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        OperatorRecord *list = NULL;
        size_t n = 0;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        while ((rc = db_step(st)) == 1) {
                OperatorRecord *nl = realloc(list, (n + 1) * sizeof(OperatorRecord));

                if (!nl) {
                        operator_record_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                r = read_operator(st, &list[n]);
                if (r < 0) {
                        operator_record_array_free(list, n);
                        return r;
                }
                n++;
        }
        if (rc != 0) {
                operator_record_array_free(list, n);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int store_operator_delete(Store *s, const char *name) {
        static const char sql[] = "DELETE FROM operators WHERE name = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, name);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_operator_signed_in(Store *s, int64_t id, int64_t step, int64_t now_usec) {
        static const char sql[] =
                "UPDATE operators SET totp_last_step = ?2, last_signin_usec = ?3 WHERE id = ?1 AND totp_last_step < ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, step);
        db_bind_int64(st, 3, now_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ESTALE;
}

void platform_token_done(PlatformToken *t) {
        free(t->operator_name);
        free(t->reason);
        *t = (PlatformToken) {};
}

int store_platform_token_put(Store *s, const uint8_t digest[static STORE_DIGEST_SIZE], const PlatformToken *t) {
        static const char sql[] =
                "INSERT INTO platform_tokens (digest, operator_id, tenant_id, reason, created_usec, expires_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
        static const char purge_sql[] = "DELETE FROM platform_tokens WHERE expires_usec < ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL, *purge = NULL;
        int r;

        /* Each new token clears the expired ones: there are few, and the
         * index finds them. */
        r = store_stmt(s, purge_sql, &purge);
        if (r < 0)
                return r;
        db_bind_int64(purge, 1, t->created_usec);
        r = store_step_done(s, purge);
        if (r < 0)
                return r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_blob(st, 1, digest, STORE_DIGEST_SIZE);
        db_bind_int64(st, 2, t->operator_id);
        if (t->tenant_id > 0)
                db_bind_int64(st, 3, t->tenant_id);
        db_bind_text(st, 4, t->tenant_id > 0 ? t->reason : NULL);
        db_bind_int64(st, 5, t->created_usec);
        db_bind_int64(st, 6, t->expires_usec);
        return store_step_done(s, st);
}

int store_platform_token_get(Store *s, const uint8_t digest[static STORE_DIGEST_SIZE], int64_t now_usec,
                             PlatformToken *ret) {
        static const char sql[] =
                "SELECT p.operator_id, o.name, COALESCE(p.tenant_id, 0), p.reason, p.created_usec, p.expires_usec "
                "FROM platform_tokens p JOIN operators o ON o.id = p.operator_id WHERE p.digest = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        PlatformToken t = {};
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_blob(st, 1, digest, STORE_DIGEST_SIZE);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        if (db_column_int64(st, 5) <= now_usec)
                return -ETIME;
        t = (PlatformToken) {
                .operator_id = db_column_int64(st, 0),
                .tenant_id = db_column_int64(st, 2),
                .created_usec = db_column_int64(st, 4),
                .expires_usec = db_column_int64(st, 5),
        };
        if (store_column_strdup(st, 1, true, &t.operator_name) < 0 ||
            store_column_strdup(st, 3, false, &t.reason) < 0) {
                platform_token_done(&t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}
