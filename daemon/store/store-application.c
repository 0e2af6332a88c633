/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"
#include "store-oidc.h"

#define APP_SELECT                                                                                       \
        "SELECT a.id, a.tenant_id, t.slug, a.name, a.client_id, a.secret_digest, a.public, a.first_party, " \
        "a.redirect_uris, a.post_logout_redirect_uris, a.grants, a.scopes, a.signing_alg, "              \
        "a.secret_changed_usec, a.created_usec, a.changed_usec, a.pkce_optional, a.allowed_origins "                        \
        "FROM applications a JOIN tenants t ON t.id = a.tenant_id "

/* Far more than any real client registers; bounds what a row can cost. */
#define APP_LIST_MAX 64

static int app_from_row(DbStmt *st, void **ret) {
        _cleanup_(application_record_unrefp) ApplicationRecord *a = application_record_new();
        int r;

        if (!a)
                return -ENOMEM;
        a->id = db_column_int64(st, 0);
        a->tenant_id = db_column_int64(st, 1);
        if (store_column_fixed_blob(st, 5, a->secret_digest, TOKEN_DIGEST_SIZE))
                a->has_secret = true;
        a->public_client = db_column_int64(st, 6);
        a->first_party = db_column_int64(st, 7);
        a->signing_alg = jwt_alg_from_string(db_column_text(st, 12));
        if (a->signing_alg < 0)
                a->signing_alg = JWT_ALG_RS256;
        a->secret_changed_usec = db_column_int64(st, 13);
        a->created_usec = db_column_int64(st, 14);
        a->changed_usec = db_column_int64(st, 15);
        a->pkce_optional = db_column_int64(st, 16);

        if ((r = store_column_strdup(st, 2, true, &a->tenant)) < 0 ||
            (r = store_column_strdup(st, 3, true, &a->name)) < 0 ||
            (r = store_column_strdup(st, 4, true, &a->client_id)) < 0 ||
            (r = strv_split_spaces(db_column_text(st, 8), APP_LIST_MAX, &a->redirect_uris)) < 0 ||
            (r = strv_split_spaces(db_column_text(st, 9), APP_LIST_MAX,
                                   &a->post_logout_redirect_uris)) < 0 ||
            (r = strv_split_spaces(db_column_text(st, 17), APP_LIST_MAX,
                                   &a->allowed_origins)) < 0 ||
            (r = strv_split_spaces(db_column_text(st, 10), APP_LIST_MAX, &a->grants)) < 0 ||
            (r = strv_split_spaces(db_column_text(st, 11), APP_LIST_MAX, &a->scopes)) < 0)
                return r;

        *ret = TAKE_PTR(a);
        return 0;
}

static void app_array_free(void **a, size_t n) {
        application_record_array_free((ApplicationRecord **) a, n);
}

typedef struct JoinedLists {
        char *redirect, *post_logout, *grants, *scopes, *origins;
} JoinedLists;

static void joined_lists_done(JoinedLists *j) {
        free(j->redirect);
        free(j->post_logout);
        free(j->grants);
        free(j->scopes);
        free(j->origins);
}

static int join_lists(const ApplicationRecord *a, JoinedLists *j) {
        *j = (JoinedLists) {
                .redirect = strv_join_spaces(a->redirect_uris),
                .post_logout = strv_join_spaces(a->post_logout_redirect_uris),
                .grants = strv_join_spaces(a->grants),
                .scopes = strv_join_spaces(a->scopes),
                .origins = strv_join_spaces(a->allowed_origins),
        };
        if (!j->redirect || !j->post_logout || !j->grants || !j->scopes || !j->origins) {
                joined_lists_done(j);
                return -ENOMEM;
        }
        return 0;
}

static void bind_secret(DbStmt *st, int idx, const ApplicationRecord *a) {
        if (a->has_secret)
                db_bind_blob(st, idx, a->secret_digest, TOKEN_DIGEST_SIZE);
        else
                db_bind_null(st, idx);
}

int store_application_create(Store *s, const ApplicationRecord *a, ApplicationRecord **ret) {
        static const char sql[] =
                "INSERT INTO applications (tenant_id, name, client_id, secret_digest, public, first_party, "
                "redirect_uris, post_logout_redirect_uris, grants, scopes, signing_alg, secret_changed_usec, "
                "created_usec, changed_usec, pkce_optional, allowed_origins) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?12, ?13, ?14) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_(joined_lists_done) JoinedLists j = {};
        int64_t id;
        int r;

        r = join_lists(a, &j);
        if (r < 0)
                return r;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, a->tenant_id);
        db_bind_text(st, 2, a->name);
        db_bind_text(st, 3, a->client_id);
        bind_secret(st, 4, a);
        db_bind_int64(st, 5, a->public_client);
        db_bind_int64(st, 6, a->first_party);
        db_bind_text(st, 7, j.redirect);
        db_bind_text(st, 8, j.post_logout);
        db_bind_text(st, 9, j.grants);
        db_bind_text(st, 10, j.scopes);
        db_bind_text(st, 11, jwt_alg_to_string(a->signing_alg));
        db_bind_int64(st, 12, now_realtime_usec());
        db_bind_int64(st, 13, a->pkce_optional);
        db_bind_text(st, 14, j.origins);
        r = store_step_int64(s, st, &id);
        if (r < 0)
                return r;
        return ret ? store_application_get_by_id(s, id, ret) : 0;
}

static int app_get(Store *s, const char *sql, int64_t key, const char *text, ApplicationRecord **ret) {
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        if (text && key == 0)
                db_bind_text(st, 1, text);
        else {
                db_bind_int64(st, 1, key);
                if (text)
                        db_bind_text(st, 2, text);
        }
        return store_fetch_one(s, st, app_from_row, (void **) ret);
}

int store_application_get(Store *s, int64_t tenant_id, const char *name, ApplicationRecord **ret) {
        static const char sql[] = APP_SELECT "WHERE a.tenant_id = ?1 AND a.name = ?2";
        if (tenant_id <= 0)
                return -ENOENT;
        return app_get(s, sql, tenant_id, name, ret);
}

int store_application_get_by_client_id(Store *s, const char *client_id, ApplicationRecord **ret) {
        static const char sql[] = APP_SELECT "WHERE a.client_id = ?1";
        return app_get(s, sql, 0, client_id, ret);
}

int store_application_get_by_id(Store *s, int64_t id, ApplicationRecord **ret) {
        static const char sql[] = APP_SELECT "WHERE a.id = ?1";
        return app_get(s, sql, id, NULL, ret);
}

int store_application_list(Store *s, int64_t tenant_id, ApplicationRecord ***ret, size_t *ret_n) {
        static const char sql[] = APP_SELECT "WHERE ?1 = 0 OR a.tenant_id = ?1 ORDER BY t.slug, a.name";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        return store_fetch_all(s, st, app_from_row, app_array_free, (void ***) ret, ret_n);
}

int store_application_page(Store *s, int64_t tenant_id, const char *after_name, unsigned limit,
                           ApplicationRecord ***ret, size_t *ret_n) {
        /* One range read of UNIQUE (tenant_id, name), however deep the page. */
        static const char sql[] = APP_SELECT "WHERE a.tenant_id = ?1 AND a.name > ?2 ORDER BY a.name LIMIT ?3";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_text(st, 2, strempty(after_name));
        db_bind_int64(st, 3, limit);
        return store_fetch_all(s, st, app_from_row, app_array_free, (void ***) ret, ret_n);
}

int store_application_update(Store *s, const ApplicationRecord *a) {
        static const char sql[] =
                "UPDATE applications SET secret_digest = ?2, public = ?3, first_party = ?4, redirect_uris = ?5, "
                "post_logout_redirect_uris = ?6, grants = ?7, scopes = ?8, signing_alg = ?9, "
                "secret_changed_usec = ?10, changed_usec = ?11, pkce_optional = ?12, allowed_origins = ?13 WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_(joined_lists_done) JoinedLists j = {};
        int r;

        r = join_lists(a, &j);
        if (r < 0)
                return r;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, a->id);
        bind_secret(st, 2, a);
        db_bind_int64(st, 3, a->public_client);
        db_bind_int64(st, 4, a->first_party);
        db_bind_text(st, 5, j.redirect);
        db_bind_text(st, 6, j.post_logout);
        db_bind_text(st, 7, j.grants);
        db_bind_text(st, 8, j.scopes);
        db_bind_text(st, 9, jwt_alg_to_string(a->signing_alg));
        db_bind_int64(st, 10, a->secret_changed_usec);
        db_bind_int64(st, 11, now_realtime_usec());
        db_bind_int64(st, 12, a->pkce_optional);
        db_bind_text(st, 13, j.origins);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_application_delete(Store *s, int64_t id) {
        static const char sql[] = "DELETE FROM applications WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        /* Codes, refresh tokens and consents go by ON DELETE CASCADE. */
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}
