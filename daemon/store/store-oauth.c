/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"
#include "store-oidc.h"

static void bind_digest(DbStmt *st, int idx, const uint8_t d[TOKEN_DIGEST_SIZE]) {
        db_bind_blob(st, idx, d, TOKEN_DIGEST_SIZE);
}

static void copy_text(DbStmt *st, int col, char *buf, size_t size) {
        snprintf(buf, size, "%s", db_column_text(st, col) ?: "");
}

static int run(Store *s, const char *sql, DbStmt **st) {
        return store_stmt(s, sql, st);
}

/* Codes and refresh tokens belong to a tenant through their application:
 * every lookup by digest or id names the tenant it is made for, so that no
 * artefact of one tenant is ever found in another. */
#define OF_TENANT(param) "application_id IN (SELECT id FROM applications WHERE tenant_id = " param ")"

/* -- SSO sessions (kept in the table oidc_sessions) ------------------------ */

#define SSO_SESSION_SELECT \
        "SELECT id, sid, tenant_id, user_id, amr, auth_time_usec, expires_usec, revoked_usec FROM oidc_sessions "

static int sso_session_from_row(Store *s, DbStmt *st, SsoSession *ret) {
        int rc = db_step(st);

        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = (SsoSession) {
                .id = db_column_int64(st, 0),
                .tenant_id = db_column_int64(st, 2),
                .user_id = db_column_int64(st, 3),
                .auth_time_usec = db_column_int64(st, 5),
                .expires_usec = db_column_int64(st, 6),
                .revoked_usec = db_column_int64(st, 7),
        };
        copy_text(st, 1, ret->sid, sizeof(ret->sid));
        copy_text(st, 4, ret->amr, sizeof(ret->amr));
        return 0;
}

int store_sso_session_create(Store *s, const SsoSession *sess, const uint8_t cookie_digest[TOKEN_DIGEST_SIZE],
                             int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO oidc_sessions (sid, cookie_digest, tenant_id, user_id, amr, auth_time_usec, expires_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t new_id;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, sess->sid);
        bind_digest(st, 2, cookie_digest);
        db_bind_int64(st, 3, sess->tenant_id);
        db_bind_int64(st, 4, sess->user_id);
        db_bind_text(st, 5, sess->amr);
        db_bind_int64(st, 6, sess->auth_time_usec);
        db_bind_int64(st, 7, sess->expires_usec);
        r = store_step_int64(s, st, &new_id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = new_id;
        return 0;
}

int store_sso_session_get_by_cookie(Store *s, int64_t tenant_id, const uint8_t cookie_digest[TOKEN_DIGEST_SIZE],
                                    SsoSession *ret) {
        static const char sql[] = SSO_SESSION_SELECT "WHERE cookie_digest = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, cookie_digest);
        db_bind_int64(st, 2, tenant_id);
        return sso_session_from_row(s, st, ret);
}

int store_sso_session_get_by_id(Store *s, int64_t tenant_id, int64_t id, SsoSession *ret) {
        static const char sql[] = SSO_SESSION_SELECT "WHERE id = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        return sso_session_from_row(s, st, ret);
}

int store_sso_session_get_by_sid(Store *s, int64_t tenant_id, const char *sid, SsoSession *ret) {
        static const char sql[] = SSO_SESSION_SELECT "WHERE sid = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, sid);
        db_bind_int64(st, 2, tenant_id);
        return sso_session_from_row(s, st, ret);
}

/* Revocation is idempotent (revoked_usec = 0 in the WHERE): two instances
 * revoking at once both succeed, and the first time stands. */
int store_sso_session_revoke(Store *s, int64_t tenant_id, int64_t id, int64_t now_usec) {
        static const char sql_session[] =
                "UPDATE oidc_sessions SET revoked_usec = ?2 WHERE id = ?1 AND tenant_id = ?3 AND revoked_usec = 0";
        static const char sql_tokens[] =
                "UPDATE refresh_tokens SET revoked_usec = ?2 WHERE session_id = ?1 AND revoked_usec = 0 "
                "AND EXISTS (SELECT 1 FROM oidc_sessions WHERE id = ?1 AND tenant_id = ?3)";
        _cleanup_(store_stmt_resetp) DbStmt *a = NULL, *b = NULL;
        int r;

        r = run(s, sql_session, &a);
        if (r < 0)
                return r;
        db_bind_int64(a, 1, id);
        db_bind_int64(a, 2, now_usec);
        db_bind_int64(a, 3, tenant_id);
        r = store_step_done(s, a);
        if (r < 0)
                return r;
        r = run(s, sql_tokens, &b);
        if (r < 0)
                return r;
        db_bind_int64(b, 1, id);
        db_bind_int64(b, 2, now_usec);
        db_bind_int64(b, 3, tenant_id);
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
                _cleanup_(store_stmt_resetp) DbStmt *st = NULL;

                r = run(s, sqls[i], &st);
                if (r < 0)
                        return r;
                db_bind_int64(st, 1, user_id);
                db_bind_int64(st, 2, tenant_id);
                db_bind_int64(st, 3, now_usec);
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
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ SsoSession *list = NULL;
        size_t n = 0;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, user_id);
        db_bind_int64(st, 3, now_usec);
        db_bind_int64(st, 4, (int64_t) max);
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
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        db_bind_int64(st, 3, expires_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* -- authorization codes ----------------------------------------------------- */

int store_code_create(Store *s, const AuthorizationCode *c) {
        static const char sql[] =
                "INSERT INTO authorization_codes (digest, application_id, session_id, redirect_uri, scope, nonce, "
                "code_challenge, created_usec, expires_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, c->digest);
        db_bind_int64(st, 2, c->application_id);
        db_bind_int64(st, 3, c->session_id);
        db_bind_text(st, 4, c->redirect_uri);
        db_bind_text(st, 5, c->scope);
        db_bind_text(st, 6, c->nonce);
        db_bind_text(st, 7, c->code_challenge);
        db_bind_int64(st, 8, c->created_usec);
        db_bind_int64(st, 9, c->expires_usec);
        return store_step_done(s, st);
}

int store_code_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], AuthorizationCode *ret) {
        static const char sql[] =
                "SELECT application_id, session_id, redirect_uri, scope, nonce, code_challenge, created_usec, "
                "expires_usec, used_usec, issued_jti, issued_family FROM authorization_codes "
                "WHERE digest = ?1 AND " OF_TENANT("?2");
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        AuthorizationCode c = {};
        int r, rc;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, tenant_id);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));

        memcpy(c.digest, digest, TOKEN_DIGEST_SIZE);
        c.application_id = db_column_int64(st, 0);
        c.session_id = db_column_int64(st, 1);
        c.created_usec = db_column_int64(st, 6);
        c.expires_usec = db_column_int64(st, 7);
        c.used_usec = db_column_int64(st, 8);
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

/* The one place where a code is spent, by a conditional UPDATE (used_usec
 * = 0) whose count of changed rows says who won: of any number of
 * redemptions on any number of connections or instances, one changes the
 * row.
 * (PostgreSQL, READ COMMITTED: a second UPDATE of the row waits for the
 * first transaction, then checks its WHERE again against the row as
 * committed and changes nothing; SQLite: one writer at a time.) */
int store_code_claim(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], int64_t now_usec,
                     const char *jti, const char *family) {
        static const char sql[] =
                "UPDATE authorization_codes SET used_usec = ?2, issued_jti = ?3, issued_family = ?4 "
                "WHERE digest = ?1 AND used_usec = 0 AND expires_usec > ?2 AND " OF_TENANT("?5");
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, now_usec);
        db_bind_text(st, 3, jti);
        db_bind_text(st, 4, family);
        db_bind_int64(st, 5, tenant_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0;
}

/* -- refresh tokens --------------------------------------------------------- */

int store_refresh_create(Store *s, const RefreshToken *t, int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO refresh_tokens (digest, family, application_id, session_id, user_id, scope, "
                "auth_time_usec, amr, created_usec, idle_expires_usec, absolute_expires_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t new_id;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, t->digest);
        db_bind_text(st, 2, t->family);
        db_bind_int64(st, 3, t->application_id);
        if (t->session_id > 0)
                db_bind_int64(st, 4, t->session_id);
        db_bind_int64(st, 5, t->user_id);
        db_bind_text(st, 6, t->scope);
        db_bind_int64(st, 7, t->auth_time_usec);
        db_bind_text(st, 8, t->amr);
        db_bind_int64(st, 9, t->created_usec);
        db_bind_int64(st, 10, t->idle_expires_usec);
        db_bind_int64(st, 11, t->absolute_expires_usec);
        r = store_step_int64(s, st, &new_id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = new_id;
        return 0;
}

#define REFRESH_SELECT                                                                                  \
        "SELECT id, family, application_id, COALESCE(session_id, 0), user_id, scope, auth_time_usec, amr, " \
        "created_usec, idle_expires_usec, absolute_expires_usec, rotated_usec, revoked_usec, digest "       \
        "FROM refresh_tokens "

static int refresh_from_stmt(Store *s, DbStmt *st, RefreshToken *ret) {
        RefreshToken t = {};
        int rc = db_step(st);

        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        t.id = db_column_int64(st, 0);
        copy_text(st, 1, t.family, sizeof(t.family));
        t.application_id = db_column_int64(st, 2);
        t.session_id = db_column_int64(st, 3);
        t.user_id = db_column_int64(st, 4);
        t.auth_time_usec = db_column_int64(st, 6);
        copy_text(st, 7, t.amr, sizeof(t.amr));
        t.created_usec = db_column_int64(st, 8);
        t.idle_expires_usec = db_column_int64(st, 9);
        t.absolute_expires_usec = db_column_int64(st, 10);
        t.rotated_usec = db_column_int64(st, 11);
        t.revoked_usec = db_column_int64(st, 12);
        (void) store_column_fixed_blob(st, 13, t.digest, TOKEN_DIGEST_SIZE);
        if (store_column_strdup(st, 5, true, &t.scope) < 0)
                return -ENOMEM;
        *ret = t;
        return 0;
}

int store_refresh_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], RefreshToken *ret) {
        static const char sql[] = REFRESH_SELECT "WHERE digest = ?1 AND " OF_TENANT("?2");
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        bind_digest(st, 1, digest);
        db_bind_int64(st, 2, tenant_id);
        return refresh_from_stmt(s, st, ret);
}

int store_refresh_get_by_id(Store *s, int64_t tenant_id, int64_t id, RefreshToken *ret) {
        static const char sql[] = REFRESH_SELECT "WHERE id = ?1 AND " OF_TENANT("?2");
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        return refresh_from_stmt(s, st, ret);
}

/* Rotation and reuse detection: a conditional UPDATE (rotated_usec = 0
 * AND revoked_usec = 0); of concurrent rotations one changes the row, the
 * others see it rotated and are reuses (oauth-refresh.c).
 * (PostgreSQL, READ COMMITTED: a second UPDATE of the row waits for the
 * first transaction, then checks its WHERE again against the row as
 * committed and changes nothing; SQLite: one writer at a time.) */
int store_refresh_mark_rotated(Store *s, int64_t id, int64_t now_usec) {
        static const char sql[] =
                "UPDATE refresh_tokens SET rotated_usec = ?2 WHERE id = ?1 AND rotated_usec = 0 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, now_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0;
}

int store_refresh_revoke_family(Store *s, const char *family, int64_t now_usec) {
        static const char sql[] =
                "UPDATE refresh_tokens SET revoked_usec = ?2 WHERE family = ?1 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, family);
        db_bind_int64(st, 2, now_usec);
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
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        RefreshFamily *list = NULL;
        size_t n = 0;
        int r, rc;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, user_id);
        db_bind_int64(st, 3, now_usec);
        db_bind_int64(st, 4, (int64_t) max);
        while ((rc = db_step(st)) == 1) {
                RefreshFamily *nl = realloc(list, (n + 1) * sizeof(RefreshFamily)), *f;

                if (!nl) {
                        refresh_family_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                f = &list[n];
                *f = (RefreshFamily) {
                        .current_id = db_column_int64(st, 1),
                        .application_id = db_column_int64(st, 2),
                        .application = strdup(db_column_text(st, 3) ?: ""),
                        .client_id = strdup(db_column_text(st, 4) ?: ""),
                        .session_id = db_column_int64(st, 5),
                        .started_usec = db_column_int64(st, 7),
                        .used_usec = db_column_int64(st, 8),
                        .idle_expires_usec = db_column_int64(st, 9),
                        .absolute_expires_usec = db_column_int64(st, 10),
                };
                copy_text(st, 0, f->family, sizeof(f->family));
                copy_text(st, 6, f->amr, sizeof(f->amr));
                n++;
                if (!f->application || !f->client_id) {
                        refresh_family_array_free(list, n);
                        return -ENOMEM;
                }
        }
        if (rc != 0) {
                refresh_family_array_free(list, n);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int store_refresh_set_idle_expiry(Store *s, int64_t tenant_id, int64_t id, int64_t idle_expires_usec) {
        static const char sql[] =
                "UPDATE refresh_tokens SET idle_expires_usec = ?3 WHERE id = ?1 AND " OF_TENANT("?2")
                " AND rotated_usec = 0 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        db_bind_int64(st, 3, idle_expires_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_refresh_family_revoked(Store *s, const char *family) {
        static const char sql[] =
                "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family = ?1 AND revoked_usec > 0)";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t v;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, family);
        r = store_step_int64(s, st, &v);
        if (r < 0)
                return r;
        return v != 0;
}

/* -- revocations and consents --------------------------------------------------- */

int store_revoked_token_add(Store *s, const char *jti, int64_t expires_usec) {
        static const char sql[] = "INSERT INTO revoked_tokens (jti, expires_usec) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, jti);
        db_bind_int64(st, 2, expires_usec);
        return store_step_done(s, st);
}

int store_token_revoked(Store *s, int64_t tenant_id, const char *jti, const char *sid) {
        /* A sid that names no live session of the tenant (revoked, gone
         * with its user, or never this tenant's) revokes the token: fail
         * closed. The CAST types ?2 at its first use (PostgreSQL asks). */
        static const char sql[] =
                "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?1) "
                "OR (CAST(?2 AS TEXT) IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM oidc_sessions WHERE sid = ?2 AND tenant_id = ?3 AND revoked_usec = 0))";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t v;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, jti);
        db_bind_text(st, 2, sid);
        db_bind_int64(st, 3, tenant_id);
        r = store_step_int64(s, st, &v);
        if (r < 0)
                return r;
        return v != 0;
}

int store_consent_get(Store *s, int64_t tenant_id, int64_t user_id, int64_t application_id, char **ret_scope) {
        static const char sql[] =
                "SELECT scope FROM consents WHERE user_id = ?1 AND application_id = ?2 "
                "AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?3) "
                "AND EXISTS (SELECT 1 FROM applications WHERE id = ?2 AND tenant_id = ?3)";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_int64(st, 2, application_id);
        db_bind_int64(st, 3, tenant_id);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return rc;
        return store_column_strdup(st, 0, true, ret_scope);
}

int store_consent_set(Store *s, int64_t tenant_id, int64_t user_id, int64_t application_id, const char *scope,
                      int64_t now_usec) {
        /* Only a user and an application of the same tenant, that tenant.
         * The CASTs give the selected parameters a type where nothing else
         * does (PostgreSQL asks). */
        static const char sql[] =
                "INSERT INTO consents (user_id, application_id, scope, created_usec) "
                "SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), CAST(?3 AS TEXT), CAST(?4 AS BIGINT) "
                "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?5) "
                "AND EXISTS (SELECT 1 FROM applications WHERE id = ?2 AND tenant_id = ?5) "
                "ON CONFLICT (user_id, application_id) DO UPDATE SET scope = excluded.scope, "
                "created_usec = excluded.created_usec";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = run(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_int64(st, 2, application_id);
        db_bind_text(st, 3, scope);
        db_bind_int64(st, 4, now_usec);
        db_bind_int64(st, 5, tenant_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
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
                _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
                r = run(s, sqls[i], &st);
                if (r < 0)
                        return r;
                db_bind_int64(st, 1, now_usec);
                r = store_step_done(s, st);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* -- savepoints ------------------------------------------------------------------ */

int store_savepoint(Store *s) {
        return db_savepoint(s->db);
}

int store_savepoint_release(Store *s) {
        return db_savepoint_release(s->db);
}

int store_savepoint_rollback(Store *s) {
        return db_savepoint_rollback(s->db);
}
