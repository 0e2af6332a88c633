/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"
#include "store-oidc.h"

int store_signing_key_add(Store *s, int64_t tenant_id, const StoredSigningKey *k) {
        static const char sql[] =
                "INSERT INTO signing_keys (tenant_id, kid, alg, public_jwk, sealed_private, created_usec, retired_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_text(st, 2, k->kid);
        db_bind_text(st, 3, jwt_alg_to_string(k->alg));
        db_bind_text(st, 4, k->public_jwk);
        db_bind_blob(st, 5, k->sealed, k->sealed_size);
        db_bind_int64(st, 6, k->created_usec > 0 ? k->created_usec : now_realtime_usec());
        return store_step_done(s, st);
}

int store_signing_key_list(Store *s, int64_t tenant_id, int64_t retired_after_usec, StoredSigningKey **ret,
                           size_t *ret_n) {
        static const char sql[] =
                "SELECT id, kid, alg, public_jwk, sealed_private, created_usec, retired_usec FROM signing_keys "
                "WHERE tenant_id = ?1 AND (retired_usec = 0 OR retired_usec > ?2) ORDER BY created_usec DESC, id DESC "
                "LIMIT 64";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        StoredSigningKey *list = NULL;
        size_t n = 0;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, retired_after_usec);

        while ((rc = db_step(st)) == 1) {
                StoredSigningKey *nl = realloc(list, (n + 1) * sizeof(StoredSigningKey)), *k;
                size_t size;
                const void *sealed = db_column_blob(st, 4, &size);

                if (!nl) {
                        stored_signing_key_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                k = &list[n++];
                *k = (StoredSigningKey) {
                        .id = db_column_int64(st, 0),
                        .alg = jwt_alg_from_string(db_column_text(st, 2)),
                        .created_usec = db_column_int64(st, 5),
                        .retired_usec = db_column_int64(st, 6),
                        .sealed = malloc(size > 0 ? size : 1),
                        .sealed_size = size,
                };
                if (k->sealed && size > 0)
                        memcpy(k->sealed, sealed, size);
                if (!k->sealed || store_column_strdup(st, 1, true, &k->kid) < 0 ||
                    store_column_strdup(st, 3, true, &k->public_jwk) < 0) {
                        stored_signing_key_array_free(list, n);
                        return -ENOMEM;
                }
        }
        if (rc != 0) {
                stored_signing_key_array_free(list, n);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int store_signing_key_retire_all(Store *s, int64_t tenant_id, int64_t now_usec) {
        static const char sql[] = "UPDATE signing_keys SET retired_usec = ?2 WHERE tenant_id = ?1 AND retired_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, now_usec);
        return store_step_done(s, st);
}

int store_signing_key_prune(Store *s, int64_t tenant_id, int64_t retired_before_usec) {
        static const char sql[] =
                "DELETE FROM signing_keys WHERE tenant_id = ?1 AND retired_usec > 0 AND retired_usec < ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, retired_before_usec);
        return store_step_done(s, st);
}
