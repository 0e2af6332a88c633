/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Upstream identity providers and linked identities (store-upstream.h). */

#include <stdlib.h>

#include "store-internal.h"
#include "store-upstream.h"

#define PROVIDER_COLUMNS                                                                                   \
        "id, tenant_id, name, kind, display_name, icon_url, client_id, scopes, allowed_domains, signup, " \
        "role, link_by_email, enabled, issuer, authorization_endpoint, token_endpoint, userinfo_endpoint, " \
        "jwks_uri, api_url, allowed_tid, created_usec, changed_usec "
#define PROVIDER_SELECT "SELECT " PROVIDER_COLUMNS "FROM upstream_providers "

#define LINK_SELECT                                                                                 \
        "SELECT l.id, l.tenant_id, l.user_id, l.provider_id, p.name, l.subject, l.email, l.username, " \
        "l.created_usec, l.last_used_usec FROM upstream_links l JOIN upstream_providers p ON p.id = l.provider_id "

/* "a b c" into a list; NULL stays NULL. */
static int split_words(const char *text, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0;

        if (!text) {
                *ret = NULL;
                return 0;
        }
        l = calloc(strlen(text) / 2 + 2, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const char *w = text + strspn(text, " "); *w;) {
                size_t len = strcspn(w, " ");

                l[n] = strndup(w, len);
                if (!l[n])
                        return -ENOMEM;
                n++;
                w += len;
                w += strspn(w, " ");
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* A list into "a b c"; NULL stays NULL. */
static int join_words(char **l, char **ret) {
        size_t len = 1;
        char *t, *p;

        if (!l) {
                *ret = NULL;
                return 0;
        }
        STRV_FOREACH(w, l)
                len += strlen(*w) + 1;
        t = p = malloc(len);
        if (!t)
                return -ENOMEM;
        *p = 0;
        STRV_FOREACH(w, l)
                p = stpcpy(stpcpy(p, w == l ? "" : " "), *w);
        *ret = t;
        return 0;
}

static int provider_from_row(DbStmt *st, void **ret) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = calloc(1, sizeof(UpstreamProvider));
        const char *signup = db_column_text(st, 9), *role = db_column_text(st, 10);

        if (!p)
                return -ENOMEM;
        p->id = db_column_int64(st, 0);
        p->tenant_id = db_column_int64(st, 1);
        if (store_column_strdup(st, 2, true, &p->name) < 0 || store_column_strdup(st, 3, true, &p->kind) < 0 ||
            store_column_strdup(st, 4, true, &p->display_name) < 0 ||
            store_column_strdup(st, 5, false, &p->icon_url) < 0 ||
            store_column_strdup(st, 6, true, &p->client_id) < 0 ||
            split_words(db_column_text(st, 7), &p->scopes) < 0 ||
            split_words(db_column_text(st, 8), &p->allowed_domains) < 0 ||
            store_column_strdup(st, 13, false, &p->issuer) < 0 ||
            store_column_strdup(st, 14, false, &p->authorization_endpoint) < 0 ||
            store_column_strdup(st, 15, false, &p->token_endpoint) < 0 ||
            store_column_strdup(st, 16, false, &p->userinfo_endpoint) < 0 ||
            store_column_strdup(st, 17, false, &p->jwks_uri) < 0 || store_column_strdup(st, 18, false, &p->api_url) < 0 ||
            store_column_strdup(st, 19, false, &p->allowed_tid) < 0)
                return -ENOMEM;
        p->signup = upstream_signup_mode_from_string(signup);
        p->role = user_role_from_string(role);
        /* The schema's CHECKs keep both valid; refuse rather than guess. */
        if (p->signup < 0 || p->role < 0)
                return -EIO;
        p->link_by_email = db_column_int64(st, 11) != 0;
        p->enabled = db_column_int64(st, 12) != 0;
        p->created_usec = (uint64_t) db_column_int64(st, 20);
        p->changed_usec = (uint64_t) db_column_int64(st, 21);
        *ret = TAKE_PTR(p);
        return 0;
}

static void provider_array_free(void **a, size_t n) {
        upstream_provider_array_free((UpstreamProvider **) a, n);
}

/* Binds the fields every write sets, from ?3 on: display_name .. allowed_tid. */
static int bind_fields(DbStmt *st, const UpstreamProvider *p, const char *scopes, const char *domains) {
        int r = 0;

        r = r ?: db_bind_text(st, 3, p->display_name);
        r = r ?: db_bind_text(st, 4, p->icon_url);
        r = r ?: db_bind_text(st, 5, p->client_id);
        r = r ?: db_bind_text(st, 6, scopes);
        r = r ?: db_bind_text(st, 7, domains);
        r = r ?: db_bind_text(st, 8, upstream_signup_mode_to_string(p->signup));
        r = r ?: db_bind_text(st, 9, user_role_to_string(p->role));
        r = r ?: db_bind_int64(st, 10, p->link_by_email);
        r = r ?: db_bind_int64(st, 11, p->enabled);
        r = r ?: db_bind_text(st, 12, p->issuer);
        r = r ?: db_bind_text(st, 13, p->authorization_endpoint);
        r = r ?: db_bind_text(st, 14, p->token_endpoint);
        r = r ?: db_bind_text(st, 15, p->userinfo_endpoint);
        r = r ?: db_bind_text(st, 16, p->jwks_uri);
        r = r ?: db_bind_text(st, 17, p->api_url);
        r = r ?: db_bind_text(st, 18, p->allowed_tid);
        r = r ?: db_bind_int64(st, 19, (int64_t) p->changed_usec);
        return r;
}

static int bind_box(DbStmt *st, int idx, const uint8_t *box, size_t len) {
        if (!box)
                return db_bind_null(st, idx);
        if (len == 0 || len > INT32_MAX)
                return -EINVAL;
        return db_bind_blob(st, idx, box, len);
}

int store_upstream_provider_add(Store *s, UpstreamProvider *p, const uint8_t *secret_box, size_t secret_box_len) {
        static const char sql[] =
                "INSERT INTO upstream_providers (tenant_id, name, display_name, icon_url, client_id, scopes, "
                "allowed_domains, signup, role, link_by_email, enabled, issuer, authorization_endpoint, "
                "token_endpoint, userinfo_endpoint, jwks_uri, api_url, allowed_tid, changed_usec, kind, "
                "client_secret_box, created_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
                "?21, ?22) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ char *scopes = NULL, *domains = NULL;
        int64_t id;
        int r;

        if (join_words(p->scopes, &scopes) < 0 || join_words(p->allowed_domains, &domains) < 0)
                return -ENOMEM;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        r = db_bind_int64(st, 1, p->tenant_id);
        r = r ?: db_bind_text(st, 2, p->name);
        r = r ?: bind_fields(st, p, scopes, domains);
        r = r ?: db_bind_text(st, 20, p->kind);
        r = r ?: bind_box(st, 21, secret_box, secret_box_len);
        r = r ?: db_bind_int64(st, 22, (int64_t) p->created_usec);
        if (r < 0)
                return r;
        r = store_step_int64(s, st, &id);
        if (r < 0)
                return r;
        p->id = id;
        return 0;
}

int store_upstream_provider_update(Store *s, const UpstreamProvider *p, bool set_secret, const uint8_t *secret_box,
                                   size_t secret_box_len) {
        static const char sql_keep[] =
                "UPDATE upstream_providers SET display_name = ?3, icon_url = ?4, client_id = ?5, scopes = ?6, "
                "allowed_domains = ?7, signup = ?8, role = ?9, link_by_email = ?10, enabled = ?11, issuer = ?12, "
                "authorization_endpoint = ?13, token_endpoint = ?14, userinfo_endpoint = ?15, jwks_uri = ?16, "
                "api_url = ?17, allowed_tid = ?18, changed_usec = ?19 WHERE id = ?1 AND tenant_id = ?2";
        static const char sql_secret[] =
                "UPDATE upstream_providers SET display_name = ?3, icon_url = ?4, client_id = ?5, scopes = ?6, "
                "allowed_domains = ?7, signup = ?8, role = ?9, link_by_email = ?10, enabled = ?11, issuer = ?12, "
                "authorization_endpoint = ?13, token_endpoint = ?14, userinfo_endpoint = ?15, jwks_uri = ?16, "
                "api_url = ?17, allowed_tid = ?18, changed_usec = ?19, client_secret_box = ?20 "
                "WHERE id = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ char *scopes = NULL, *domains = NULL;
        int r;

        if (join_words(p->scopes, &scopes) < 0 || join_words(p->allowed_domains, &domains) < 0)
                return -ENOMEM;
        r = store_stmt(s, set_secret ? sql_secret : sql_keep, &st);
        if (r < 0)
                return r;
        r = db_bind_int64(st, 1, p->id);
        r = r ?: db_bind_int64(st, 2, p->tenant_id);
        r = r ?: bind_fields(st, p, scopes, domains);
        if (set_secret)
                r = r ?: bind_box(st, 20, secret_box, secret_box_len);
        if (r < 0)
                return r;
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_upstream_provider_delete(Store *s, int64_t tenant_id, int64_t id) {
        static const char sql[] = "DELETE FROM upstream_providers WHERE id = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_upstream_provider_get(Store *s, int64_t tenant_id, const char *name, UpstreamProvider **ret) {
        static const char sql[] = PROVIDER_SELECT "WHERE tenant_id = ?1 AND name = ?2";

        if (!name)
                return -ENOENT;
        return store_get_record(s, sql, tenant_id, name, provider_from_row, (void **) ret);
}

int store_upstream_provider_get_by_id(Store *s, int64_t tenant_id, int64_t id, UpstreamProvider **ret) {
        static const char sql[] = PROVIDER_SELECT "WHERE id = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        return store_fetch_one(s, st, provider_from_row, (void **) ret);
}

int store_upstream_provider_list(Store *s, int64_t tenant_id, bool enabled_only, UpstreamProvider ***ret,
                                 size_t *ret_n) {
        static const char sql_all[] = PROVIDER_SELECT "WHERE tenant_id = ?1 ORDER BY name";
        static const char sql_enabled[] = PROVIDER_SELECT "WHERE tenant_id = ?1 AND enabled <> 0 ORDER BY name";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, enabled_only ? sql_enabled : sql_all, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        return store_fetch_all(s, st, provider_from_row, provider_array_free, (void ***) ret, ret_n);
}

int store_upstream_provider_count(Store *s, int64_t tenant_id, unsigned *ret) {
        static const char sql[] = "SELECT count(*) FROM upstream_providers WHERE tenant_id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t n;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        r = store_step_int64(s, st, &n);
        if (r < 0)
                return r;
        *ret = (unsigned) n;
        return 0;
}

int store_upstream_provider_secret_box(Store *s, int64_t id, uint8_t **ret, size_t *ret_len) {
        static const char sql[] = "SELECT client_secret_box FROM upstream_providers WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        const void *box;
        uint8_t *copy = NULL;
        size_t n;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        r = db_step(st);
        if (r == 0)
                return -ENOENT;
        if (r < 0)
                return store_step_error(s, r);
        box = db_column_blob(st, 0, &n);
        if (box && n > 0) {
                copy = malloc(n);
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, box, n);
        }
        *ret = copy;
        *ret_len = copy ? n : 0;
        return 0;
}

static int link_from_row(DbStmt *st, UpstreamLink *ret) {
        UpstreamLink l = {
                .id = db_column_int64(st, 0),
                .tenant_id = db_column_int64(st, 1),
                .user_id = db_column_int64(st, 2),
                .provider_id = db_column_int64(st, 3),
                .created_usec = (uint64_t) db_column_int64(st, 8),
                .last_used_usec = (uint64_t) db_column_int64(st, 9),
        };

        if (store_column_strdup(st, 4, true, &l.provider_name) < 0 || store_column_strdup(st, 5, true, &l.subject) < 0 ||
            store_column_strdup(st, 6, false, &l.email) < 0 || store_column_strdup(st, 7, false, &l.username) < 0) {
                upstream_link_done(&l);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}

static int link_fetch_one(Store *s, DbStmt *st, UpstreamLink *ret) {
        int r = db_step(st);

        if (r == 0)
                return -ENOENT;
        if (r < 0)
                return store_step_error(s, r);
        return link_from_row(st, ret);
}

int store_upstream_link_add(Store *s, const UpstreamLink *l, int64_t *ret_id) {
        /* The user and the provider must both be of the link's tenant: a
         * link never crosses tenants, whatever the caller passed. The
         * CASTs give the selected parameters a type where nothing else
         * does (PostgreSQL asks). No row inserted: no id returned. */
        static const char sql[] =
                "INSERT INTO upstream_links (tenant_id, user_id, provider_id, subject, email, username, "
                "created_usec, last_used_usec) "
                "SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), CAST(?3 AS BIGINT), CAST(?4 AS TEXT), "
                "CAST(?5 AS TEXT), CAST(?6 AS TEXT), CAST(?7 AS BIGINT), CAST(?7 AS BIGINT) "
                "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND tenant_id = ?1) "
                "AND EXISTS (SELECT 1 FROM upstream_providers WHERE id = ?3 AND tenant_id = ?1) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t id;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        r = db_bind_int64(st, 1, l->tenant_id);
        r = r ?: db_bind_int64(st, 2, l->user_id);
        r = r ?: db_bind_int64(st, 3, l->provider_id);
        r = r ?: db_bind_text(st, 4, l->subject);
        r = r ?: db_bind_text(st, 5, l->email);
        r = r ?: db_bind_text(st, 6, l->username);
        r = r ?: db_bind_int64(st, 7, (int64_t) l->created_usec);
        if (r < 0)
                return r;
        r = store_step_int64(s, st, &id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = id;
        return 0;
}

int store_upstream_link_find(Store *s, int64_t provider_id, const char *subject, UpstreamLink *ret) {
        static const char sql[] = LINK_SELECT "WHERE l.provider_id = ?1 AND l.subject = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, provider_id);
        db_bind_text(st, 2, subject);
        return link_fetch_one(s, st, ret);
}

int store_upstream_link_get(Store *s, int64_t tenant_id, int64_t id, UpstreamLink *ret) {
        static const char sql[] = LINK_SELECT "WHERE l.id = ?1 AND l.tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        return link_fetch_one(s, st, ret);
}

int store_upstream_link_touch(Store *s, int64_t id, const char *email, const char *username, uint64_t now_usec) {
        static const char sql[] =
                "UPDATE upstream_links SET email = ?2, username = ?3, last_used_usec = ?4 WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        r = db_bind_int64(st, 1, id);
        r = r ?: db_bind_text(st, 2, email);
        r = r ?: db_bind_text(st, 3, username);
        r = r ?: db_bind_int64(st, 4, (int64_t) now_usec);
        if (r < 0)
                return r;
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_upstream_link_list_user(Store *s, int64_t tenant_id, int64_t user_id, UpstreamLink **ret, size_t *ret_n) {
        static const char sql[] = LINK_SELECT "WHERE l.user_id = ?1 AND l.tenant_id = ?2 ORDER BY l.id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        UpstreamLink *a = NULL;
        size_t n = 0, allocated = 0;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_int64(st, 2, tenant_id);
        while ((r = db_step(st)) > 0) {
                if (n >= allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 4);
                        UpstreamLink *b = realloc(a, na * sizeof(UpstreamLink));

                        if (!b) {
                                upstream_link_array_free(a, n);
                                return -ENOMEM;
                        }
                        a = b;
                        allocated = na;
                }
                r = link_from_row(st, &a[n]);
                if (r < 0) {
                        upstream_link_array_free(a, n);
                        return r;
                }
                n++;
        }
        if (r < 0) {
                upstream_link_array_free(a, n);
                return store_step_error(s, r);
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int store_upstream_link_delete(Store *s, int64_t tenant_id, int64_t id) {
        static const char sql[] = "DELETE FROM upstream_links WHERE id = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}
