/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"
#include "store-oidc.h"

static void bind_digest(sqlite3_stmt *st, int idx, const uint8_t d[TOKEN_DIGEST_SIZE]) {
        sqlite3_bind_blob(st, idx, d, TOKEN_DIGEST_SIZE, SQLITE_STATIC);
}

static void copy_text(sqlite3_stmt *st, int col, char *buf, size_t size) {
        snprintf(buf, size, "%s", (const char *) sqlite3_column_text(st, col) ?: "");
}

static int run(Store *s, const char *sql, sqlite3_stmt **st) {
        return store_stmt(s, sql, st);
}

/* Codes and refresh tokens belong to a tenant through their application:
 * every lookup by digest or id names the tenant it is made for, so that no
 * artefact of one tenant is ever found in another. */
#define OF_TENANT(param) "application_id IN (SELECT id FROM applications WHERE tenant_id = " param ")"

/* -- SSO sessions (kept in the table oidc_sessions) ------------------------ */

#define SSO_SESSION_SELECT \
        "SELECT id, sid, tenant_id, user_id, amr, auth_time_usec, expires_usec, revoked_usec FROM oidc_sessions "

static int sso_session_from_row(Store *s, sqlite3_stmt *st, SsoSession *ret) {
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));
        *ret = (SsoSession) {
                .id = sqlite3_column_int64(st, 0),
                .tenant_id = sqlite3_column_int64(st, 2),
                .user_id = sqlite3_column_int64(st, 3),
                .auth_time_usec = sqlite3_column_int64(st, 5),
                .expires_usec = sqlite3_column_int64(st, 6),
                .revoked_usec = sqlite3_column_int64(st, 7),
        };
        copy_text(st, 1, ret->sid, sizeof(ret->sid));
        copy_text(st, 4, ret->amr, sizeof(ret->amr));
        return 0;
}

int store_sso_session_create(Store *s, const SsoSession *sess, const uint8_t cookie_digest[TOKEN_DIGEST_SIZE],
                             int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO oidc_sessions (sid, cookie_digest, tenant_id, user_id, amr, auth_time_usec, expires_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, sess->sid);
        bind_digest(st, 2, cookie_digest);
        store_bind_int64(st, 3, sess->tenant_id);
        store_bind_int64(st, 4, sess->user_id);
        store_bind_text(st, 5, sess->amr);
        store_bind_int64(st, 6, sess->auth_time_usec);
        store_bind_int64(st, 7, sess->expires_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_sso_session_get_by_cookie(Store *s, int64_t tenant_id, const uint8_t cookie_digest[TOKEN_DIGEST_SIZE],
                                    SsoSession *ret) {
        static const char sql[] = SSO_SESSION_SELECT "WHERE cookie_digest = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, cookie_digest);
        store_bind_int64(st, 2, tenant_id);
        return sso_session_from_row(s, st, ret);
}

int store_sso_session_get_by_id(Store *s, int64_t tenant_id, int64_t id, SsoSession *ret) {
        static const char sql[] = SSO_SESSION_SELECT "WHERE id = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, id);
        store_bind_int64(st, 2, tenant_id);
        return sso_session_from_row(s, st, ret);
}

int store_sso_session_get_by_sid(Store *s, int64_t tenant_id, const char *sid, SsoSession *ret) {
        static const char sql[] = SSO_SESSION_SELECT "WHERE sid = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, sid);
        store_bind_int64(st, 2, tenant_id);
        return sso_session_from_row(s, st, ret);
}

int store_sso_session_revoke(Store *s, int64_t tenant_id, int64_t id, int64_t now_usec) {
        static const char sql_session[] =
                "UPDATE oidc_sessions SET revoked_usec = ?2 WHERE id = ?1 AND tenant_id = ?3 AND revoked_usec = 0";
        static const char sql_tokens[] =
                "UPDATE refresh_tokens SET revoked_usec = ?2 WHERE session_id = ?1 AND revoked_usec = 0 "
                "AND EXISTS (SELECT 1 FROM oidc_sessions WHERE id = ?1 AND tenant_id = ?3)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *a = NULL, *b = NULL;
        int r;

        r = run(s, sql_session, &a);
        if (r < 0)
                return r;
        store_bind_int64(a, 1, id);
        store_bind_int64(a, 2, now_usec);
        store_bind_int64(a, 3, tenant_id);
        r = store_step_done(s, a);
        if (r < 0)
                return r;
        r = run(s, sql_tokens, &b);
        if (r < 0)
                return r;
        store_bind_int64(b, 1, id);
        store_bind_int64(b, 2, now_usec);
        store_bind_int64(b, 3, tenant_id);
        return store_step_done(s, b);
}

int store_user_revoke_sessions(Store *s, int64_t tenant_id, int64_t user_id, int64_t now_usec) {
        static const char sql_sessions[] =
                "UPDATE oidc_sessions SET revoked_usec = ?3 WHERE user_id = ?1 AND tenant_id = ?2 AND revoked_usec = 0";
        /* Every refresh token, of a session or not: the whole families. */
        static const char sql_tokens[] =
                "UPDATE refresh_tokens SET revoked_usec = ?3 WHERE user_id = ?1 AND revoked_usec = 0 "
                "AND " OF_TENANT("?2");
        const char *const sqls[] = { sql_sessions, sql_tokens };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(sqls); i++) {
                _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;

                r = run(s, sqls[i], &st);
                if (r < 0)
                        return r;
                store_bind_int64(st, 1, user_id);
                store_bind_int64(st, 2, tenant_id);
                store_bind_int64(st, 3, now_usec);
                r = store_step_done(s, st);
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_sso_session_list_user(Store *s, int64_t tenant_id, int64_t user_id, int64_t now_usec, size_t max,
                                SsoSession **ret, size_t *ret_n) {
        static const char sql[] = SSO_SESSION_SELECT
                "WHERE tenant_id = ?1 AND user_id = ?2 AND revoked_usec = 0 AND expires_usec > ?3 "
                "ORDER BY id DESC LIMIT ?4";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        _cleanup_free_ SsoSession *list = NULL;
        size_t n = 0;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, tenant_id);
        store_bind_int64(st, 2, user_id);
        store_bind_int64(st, 3, now_usec);
        store_bind_int64(st, 4, (int64_t) max);
        for (;;) {
                SsoSession one, *nl;

                r = sso_session_from_row(s, st, &one);
                if (r == -ENOENT)
                        break;
                if (r < 0)
                        return r;
                nl = realloc(list, (n + 1) * sizeof(SsoSession));
                if (!nl)
                        return -ENOMEM;
                list = nl;
                list[n++] = one;
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int store_sso_session_set_expiry(Store *s, int64_t tenant_id, int64_t id, int64_t expires_usec) {
        static const char sql[] =
                "UPDATE oidc_sessions SET expires_usec = ?3 WHERE id = ?1 AND tenant_id = ?2 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, id);
        store_bind_int64(st, 2, tenant_id);
        store_bind_int64(st, 3, expires_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* -- authorization codes ----------------------------------------------------- */

int store_code_create(Store *s, const AuthorizationCode *c) {
        static const char sql[] =
                "INSERT INTO authorization_codes (digest, application_id, session_id, redirect_uri, scope, nonce, "
                "code_challenge, created_usec, expires_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, c->digest);
        store_bind_int64(st, 2, c->application_id);
        store_bind_int64(st, 3, c->session_id);
        store_bind_text(st, 4, c->redirect_uri);
        store_bind_text(st, 5, c->scope);
        store_bind_text(st, 6, c->nonce);
        store_bind_text(st, 7, c->code_challenge);
        store_bind_int64(st, 8, c->created_usec);
        store_bind_int64(st, 9, c->expires_usec);
        return store_step_done(s, st);
}

int store_code_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], AuthorizationCode *ret) {
        static const char sql[] =
                "SELECT application_id, session_id, redirect_uri, scope, nonce, code_challenge, created_usec, "
                "expires_usec, used_usec, issued_jti, issued_family FROM authorization_codes "
                "WHERE digest = ?1 AND " OF_TENANT("?2");
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        AuthorizationCode c = {};
        int r, rc;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        store_bind_int64(st, 2, tenant_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));

        memcpy(c.digest, digest, TOKEN_DIGEST_SIZE);
        c.application_id = sqlite3_column_int64(st, 0);
        c.session_id = sqlite3_column_int64(st, 1);
        c.created_usec = sqlite3_column_int64(st, 6);
        c.expires_usec = sqlite3_column_int64(st, 7);
        c.used_usec = sqlite3_column_int64(st, 8);
        if (store_column_strdup(st, 2, true, &c.redirect_uri) < 0 || store_column_strdup(st, 3, true, &c.scope) < 0 ||
            store_column_strdup(st, 4, false, &c.nonce) < 0 ||
            store_column_strdup(st, 5, false, &c.code_challenge) < 0 ||
            store_column_strdup(st, 9, false, &c.issued_jti) < 0 ||
            store_column_strdup(st, 10, false, &c.issued_family) < 0) {
                authorization_code_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int store_code_claim(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], int64_t now_usec,
                     const char *jti, const char *family) {
        static const char sql[] =
                "UPDATE authorization_codes SET used_usec = ?2, issued_jti = ?3, issued_family = ?4 "
                "WHERE digest = ?1 AND used_usec = 0 AND expires_usec > ?2 AND " OF_TENANT("?5");
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        store_bind_int64(st, 2, now_usec);
        store_bind_text(st, 3, jti);
        store_bind_text(st, 4, family);
        store_bind_int64(st, 5, tenant_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0;
}

/* -- refresh tokens --------------------------------------------------------- */

int store_refresh_create(Store *s, const RefreshToken *t, int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO refresh_tokens (digest, family, application_id, session_id, user_id, scope, "
                "auth_time_usec, amr, created_usec, idle_expires_usec, absolute_expires_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, t->digest);
        store_bind_text(st, 2, t->family);
        store_bind_int64(st, 3, t->application_id);
        if (t->session_id > 0)
                store_bind_int64(st, 4, t->session_id);
        store_bind_int64(st, 5, t->user_id);
        store_bind_text(st, 6, t->scope);
        store_bind_int64(st, 7, t->auth_time_usec);
        store_bind_text(st, 8, t->amr);
        store_bind_int64(st, 9, t->created_usec);
        store_bind_int64(st, 10, t->idle_expires_usec);
        store_bind_int64(st, 11, t->absolute_expires_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

#define REFRESH_SELECT                                                                                  \
        "SELECT id, family, application_id, COALESCE(session_id, 0), user_id, scope, auth_time_usec, amr, " \
        "created_usec, idle_expires_usec, absolute_expires_usec, rotated_usec, revoked_usec, digest "       \
        "FROM refresh_tokens "

static int refresh_from_stmt(Store *s, sqlite3_stmt *st, RefreshToken *ret) {
        RefreshToken t = {};
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));
        t.id = sqlite3_column_int64(st, 0);
        copy_text(st, 1, t.family, sizeof(t.family));
        t.application_id = sqlite3_column_int64(st, 2);
        t.session_id = sqlite3_column_int64(st, 3);
        t.user_id = sqlite3_column_int64(st, 4);
        t.auth_time_usec = sqlite3_column_int64(st, 6);
        copy_text(st, 7, t.amr, sizeof(t.amr));
        t.created_usec = sqlite3_column_int64(st, 8);
        t.idle_expires_usec = sqlite3_column_int64(st, 9);
        t.absolute_expires_usec = sqlite3_column_int64(st, 10);
        t.rotated_usec = sqlite3_column_int64(st, 11);
        t.revoked_usec = sqlite3_column_int64(st, 12);
        if (sqlite3_column_bytes(st, 13) == TOKEN_DIGEST_SIZE)
                memcpy(t.digest, sqlite3_column_blob(st, 13), TOKEN_DIGEST_SIZE);
        if (store_column_strdup(st, 5, true, &t.scope) < 0)
                return -ENOMEM;
        *ret = t;
        return 0;
}

int store_refresh_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], RefreshToken *ret) {
        static const char sql[] = REFRESH_SELECT "WHERE digest = ?1 AND " OF_TENANT("?2");
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        store_bind_int64(st, 2, tenant_id);
        return refresh_from_stmt(s, st, ret);
}

int store_refresh_get_by_id(Store *s, int64_t tenant_id, int64_t id, RefreshToken *ret) {
        static const char sql[] = REFRESH_SELECT "WHERE id = ?1 AND " OF_TENANT("?2");
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, id);
        store_bind_int64(st, 2, tenant_id);
        return refresh_from_stmt(s, st, ret);
}

int store_refresh_mark_rotated(Store *s, int64_t id, int64_t now_usec) {
        static const char sql[] =
                "UPDATE refresh_tokens SET rotated_usec = ?2 WHERE id = ?1 AND rotated_usec = 0 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, id);
        store_bind_int64(st, 2, now_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0;
}

int store_refresh_revoke_family(Store *s, const char *family, int64_t now_usec) {
        static const char sql[] =
                "UPDATE refresh_tokens SET revoked_usec = ?2 WHERE family = ?1 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, family);
        store_bind_int64(st, 2, now_usec);
        return store_step_done(s, st);
}

int store_refresh_family_list_user(Store *s, int64_t tenant_id, int64_t user_id, int64_t now_usec, size_t max,
                                   RefreshFamily **ret, size_t *ret_n) {
        static const char sql[] =
                "SELECT r.family, r.id, r.application_id, a.name, a.client_id, COALESCE(r.session_id, 0), r.amr, "
                "(SELECT MIN(f.created_usec) FROM refresh_tokens f WHERE f.family = r.family), r.created_usec, "
                "r.idle_expires_usec, r.absolute_expires_usec "
                "FROM refresh_tokens r JOIN applications a ON a.id = r.application_id "
                /* Every refresh token is issued within an SSO session (a
                 * code's, then its rotations'): the user's are found
                 * through the indexes of their sessions. */
                "WHERE r.session_id IN (SELECT id FROM oidc_sessions WHERE user_id = ?2 AND tenant_id = ?1) "
                "AND r.user_id = ?2 AND a.tenant_id = ?1 AND r.rotated_usec = 0 AND r.revoked_usec = 0 "
                "AND r.idle_expires_usec > ?3 AND r.absolute_expires_usec > ?3 ORDER BY r.id DESC LIMIT ?4";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        RefreshFamily *list = NULL;
        size_t n = 0;
        int r, rc;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, tenant_id);
        store_bind_int64(st, 2, user_id);
        store_bind_int64(st, 3, now_usec);
        store_bind_int64(st, 4, (int64_t) max);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                RefreshFamily *nl = realloc(list, (n + 1) * sizeof(RefreshFamily)), *f;

                if (!nl) {
                        refresh_family_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                f = &list[n];
                *f = (RefreshFamily) {
                        .current_id = sqlite3_column_int64(st, 1),
                        .application_id = sqlite3_column_int64(st, 2),
                        .application = strdup((const char *) sqlite3_column_text(st, 3) ?: ""),
                        .client_id = strdup((const char *) sqlite3_column_text(st, 4) ?: ""),
                        .session_id = sqlite3_column_int64(st, 5),
                        .started_usec = sqlite3_column_int64(st, 7),
                        .used_usec = sqlite3_column_int64(st, 8),
                        .idle_expires_usec = sqlite3_column_int64(st, 9),
                        .absolute_expires_usec = sqlite3_column_int64(st, 10),
                };
                copy_text(st, 0, f->family, sizeof(f->family));
                copy_text(st, 6, f->amr, sizeof(f->amr));
                n++;
                if (!f->application || !f->client_id) {
                        refresh_family_array_free(list, n);
                        return -ENOMEM;
                }
        }
        if (rc != SQLITE_DONE) {
                refresh_family_array_free(list, n);
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int store_refresh_set_idle_expiry(Store *s, int64_t tenant_id, int64_t id, int64_t idle_expires_usec) {
        static const char sql[] =
                "UPDATE refresh_tokens SET idle_expires_usec = ?3 WHERE id = ?1 AND " OF_TENANT("?2")
                " AND rotated_usec = 0 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, id);
        store_bind_int64(st, 2, tenant_id);
        store_bind_int64(st, 3, idle_expires_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_refresh_family_revoked(Store *s, const char *family) {
        static const char sql[] =
                "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family = ?1 AND revoked_usec > 0)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, family);
        if (sqlite3_step(st) != SQLITE_ROW)
                return store_errno(sqlite3_errcode(s->db));
        return sqlite3_column_int(st, 0);
}

/* -- revocations and consents --------------------------------------------------- */

int store_revoked_token_add(Store *s, const char *jti, int64_t expires_usec) {
        static const char sql[] = "INSERT OR IGNORE INTO revoked_tokens (jti, expires_usec) VALUES (?1, ?2)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, jti);
        store_bind_int64(st, 2, expires_usec);
        return store_step_done(s, st);
}

int store_token_revoked(Store *s, int64_t tenant_id, const char *jti, const char *sid) {
        /* A sid that names no live session of the tenant (revoked, gone
         * with its user, or never this tenant's) revokes the token: fail
         * closed. */
        static const char sql[] =
                "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?1) "
                "OR (?2 IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM oidc_sessions WHERE sid = ?2 AND tenant_id = ?3 AND revoked_usec = 0))";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, jti);
        store_bind_text(st, 2, sid);
        store_bind_int64(st, 3, tenant_id);
        if (sqlite3_step(st) != SQLITE_ROW)
                return store_errno(sqlite3_errcode(s->db));
        return sqlite3_column_int(st, 0);
}

int store_consent_get(Store *s, int64_t tenant_id, int64_t user_id, int64_t application_id, char **ret_scope) {
        static const char sql[] =
                "SELECT scope FROM consents WHERE user_id = ?1 AND application_id = ?2 "
                "AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?3) "
                "AND EXISTS (SELECT 1 FROM applications WHERE id = ?2 AND tenant_id = ?3)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r, rc;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, user_id);
        store_bind_int64(st, 2, application_id);
        store_bind_int64(st, 3, tenant_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_errno(rc);
        return store_column_strdup(st, 0, true, ret_scope);
}

int store_consent_set(Store *s, int64_t tenant_id, int64_t user_id, int64_t application_id, const char *scope,
                      int64_t now_usec) {
        /* Only a user and an application of the same tenant, that tenant. */
        static const char sql[] =
                "INSERT INTO consents (user_id, application_id, scope, created_usec) SELECT ?1, ?2, ?3, ?4 "
                "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?5) "
                "AND EXISTS (SELECT 1 FROM applications WHERE id = ?2 AND tenant_id = ?5) "
                "ON CONFLICT (user_id, application_id) DO UPDATE SET scope = excluded.scope, "
                "created_usec = excluded.created_usec";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, user_id);
        store_bind_int64(st, 2, application_id);
        store_bind_text(st, 3, scope);
        store_bind_int64(st, 4, now_usec);
        store_bind_int64(st, 5, tenant_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_oidc_purge(Store *s, int64_t now_usec) {
        /* Used codes stay a day, so that a late replay still revokes what
         * the code issued. */
        static const char sql_codes[] = "DELETE FROM authorization_codes WHERE expires_usec < ?1 - 86400000000";
        static const char sql_revoked[] = "DELETE FROM revoked_tokens WHERE expires_usec < ?1";
        static const char sql_refresh[] =
                "DELETE FROM refresh_tokens WHERE absolute_expires_usec < ?1 OR idle_expires_usec < ?1";
        /* The mailed tokens of the account flows (store-account-token.h),
         * kept a day past their expiry so that a late click is told
         * "expired" rather than "unknown". */
        static const char sql_account[] = "DELETE FROM account_tokens WHERE expires_usec < ?1 - 86400000000";
        const char *const sqls[] = { sql_codes, sql_revoked, sql_refresh, sql_account };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(sqls); i++) {
                _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
                r = run(s, sqls[i], &st);
                if (r < 0)
                        return r;
                store_bind_int64(st, 1, now_usec);
                r = store_step_done(s, st);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* -- savepoints ------------------------------------------------------------------ */

static int exec_static(Store *s, const char *sql) {
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        return store_step_done(s, st);
}

int store_savepoint(Store *s) {
        static const char sql[] = "SAVEPOINT batch_item";
        return s->in_transaction ? exec_static(s, sql) : -EINVAL;
}

int store_savepoint_release(Store *s) {
        static const char sql[] = "RELEASE batch_item";
        return exec_static(s, sql);
}

int store_savepoint_rollback(Store *s) {
        static const char sql_rollback[] = "ROLLBACK TO batch_item";
        int r = exec_static(s, sql_rollback);
        return r < 0 ? r : store_savepoint_release(s);
}
