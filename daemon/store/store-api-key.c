/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tenant's API keys (store-api-key.h). */

#include <stdlib.h>

#include "store-api-key.h"
#include "store-internal.h"

static const char *const kind_names[_API_KEY_KIND_MAX] = {
        [API_KEY_SECRET] = "secret",
        [API_KEY_PUBLISHABLE] = "publishable",
};

const char *api_key_kind_to_string(ApiKeyKind k) {
        return k >= 0 && k < _API_KEY_KIND_MAX ? kind_names[k] : NULL;
}

ApiKeyKind api_key_kind_from_string(const char *s) {
        for (ApiKeyKind k = 0; s && k < _API_KEY_KIND_MAX; k++)
                if (streq(kind_names[k], s))
                        return k;
        return _API_KEY_KIND_INVALID;
}

ApiKeyRecord *api_key_record_free(ApiKeyRecord *k) {
        if (k) {
                free(k->tenant);
                free(k->name);
                free(k->scopes);
                free(k->application);
                free(k);
        }
        return NULL;
}

void api_key_record_array_free(ApiKeyRecord **a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                api_key_record_free(a[i]);
        free(a);
}

#define KEY_SELECT                                                                                         \
        "SELECT k.id, k.key_id, k.tenant_id, t.slug, k.kind, k.env, k.name, k.scopes, k.application_id, " \
        "a.name, k.digest, k.created_usec, k.expires_usec, k.revoked_usec, k.last_used_usec, "            \
        "k.replaced_by FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "                              \
        "LEFT JOIN applications a ON a.id = k.application_id "

static int key_from_row(DbStmt *st, void **ret) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = calloc(1, sizeof(ApiKeyRecord));
        int r;

        if (!k)
                return -ENOMEM;
        k->id = db_column_int64(st, 0);
        snprintf(k->key_id, sizeof(k->key_id), "%s", db_column_text(st, 1) ?: "");
        k->tenant_id = db_column_int64(st, 2);
        k->kind = api_key_kind_from_string(db_column_text(st, 4));
        snprintf(k->env, sizeof(k->env), "%s", db_column_text(st, 5) ?: "");
        k->application_id = db_column_int64(st, 8);
        /* A row whose digest is not one we made matches no key. */
        if (k->kind < 0 || !store_column_fixed_blob(st, 10, k->digest, TOKEN_DIGEST_SIZE))
                return -EBADMSG;
        k->created_usec = db_column_int64(st, 11);
        k->expires_usec = db_column_int64(st, 12);
        k->revoked_usec = db_column_int64(st, 13);
        k->last_used_usec = db_column_int64(st, 14);
        snprintf(k->replaced_by, sizeof(k->replaced_by), "%s", db_column_text(st, 15) ?: "");

        if ((r = store_column_strdup(st, 3, true, &k->tenant)) < 0 ||
            (r = store_column_strdup(st, 6, true, &k->name)) < 0 ||
            (r = store_column_strdup(st, 7, true, &k->scopes)) < 0 ||
            (!db_column_is_null(st, 9) && (r = store_column_strdup(st, 9, true, &k->application)) < 0))
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

static void key_array_free(void **a, size_t n) {
        api_key_record_array_free((ApiKeyRecord **) a, n);
}

int store_api_key_add(Store *s, const ApiKeyRecord *k, int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO api_keys (key_id, tenant_id, kind, env, name, scopes, application_id, digest, "
                "created_usec, expires_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        const char *kind = api_key_kind_to_string(k->kind);
        int64_t id;
        int r;

        if (!kind)
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, k->key_id);
        db_bind_int64(st, 2, k->tenant_id);
        db_bind_text(st, 3, kind);
        db_bind_text(st, 4, k->env);
        db_bind_text(st, 5, strempty(k->name));
        db_bind_text(st, 6, strempty(k->scopes));
        if (k->application_id > 0)
                db_bind_int64(st, 7, k->application_id);
        else
                db_bind_null(st, 7);
        db_bind_blob(st, 8, k->digest, TOKEN_DIGEST_SIZE);
        db_bind_int64(st, 9, k->created_usec);
        db_bind_int64(st, 10, k->expires_usec);
        r = store_step_int64(s, st, &id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = id;
        return 0;
}

int store_api_key_get_by_key_id(Store *s, const char *key_id, ApiKeyRecord **ret) {
        static const char sql[] = KEY_SELECT "WHERE k.key_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, key_id);
        return store_fetch_one(s, st, key_from_row, (void **) ret);
}

int store_api_key_page(Store *s, int64_t tenant_id, int64_t after_id, unsigned limit, ApiKeyRecord ***ret,
                       size_t *ret_n) {
        /* A range read of api_keys_tenant (tenant_id, id). */
        static const char sql[] = KEY_SELECT "WHERE k.tenant_id = ?1 AND k.id > ?2 ORDER BY k.id LIMIT ?3";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, after_id);
        db_bind_int64(st, 3, limit);
        return store_fetch_all(s, st, key_from_row, key_array_free, (void ***) ret, ret_n);
}

int store_api_key_set_revoked(Store *s, int64_t id, int64_t revoked_usec, const char *replaced_by) {
        static const char sql[] =
                "UPDATE api_keys SET revoked_usec = ?2, replaced_by = coalesce(?3, replaced_by) WHERE id = ?1";
        /* A key is rotated once: by a conditional UPDATE (neither revoked
         * nor replaced yet), so that of two rotations at once, on two
         * threads or two instances, one ends the key and the other finds
         * nothing to change (PostgreSQL: after waiting for the first). */
        static const char sql_rotate[] =
                "UPDATE api_keys SET revoked_usec = ?2, replaced_by = ?3 WHERE id = ?1 AND revoked_usec = 0 "
                "AND replaced_by IS NULL";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, replaced_by ? sql_rotate : sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, revoked_usec);
        if (replaced_by)
                db_bind_text(st, 3, replaced_by);
        else
                db_bind_null(st, 3);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* Monotonic by its WHERE (last_used_usec < ?2): instances touching a key
 * at once never move it back, whichever commits last. */
int store_api_key_touch(Store *s, int64_t id, int64_t now_usec) {
        static const char sql[] = "UPDATE api_keys SET last_used_usec = ?2 WHERE id = ?1 AND last_used_usec < ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, now_usec);
        return store_step_done(s, st);
}
