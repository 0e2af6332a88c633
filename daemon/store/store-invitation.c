/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Invitations to a tenant (store-invitation.h). */

#include <stdlib.h>

#include "store-internal.h"
#include "store-invitation.h"

#define INVITATION_SELECT                                                                        \
        "SELECT id, tenant_id, digest, email, role, coalesce(invited_by, ''), created_usec, "   \
        "sent_usec, expires_usec, accepted_usec, coalesce(user_id, 0), revoked_usec FROM invitations "

static void from_row(DbStmt *st, Invitation *i) {
        *i = (Invitation) {
                .id = db_column_int64(st, 0),
                .tenant_id = db_column_int64(st, 1),
                .role = user_role_from_string(db_column_text(st, 4)),
                .created_usec = db_column_int64(st, 6),
                .sent_usec = db_column_int64(st, 7),
                .expires_usec = db_column_int64(st, 8),
                .accepted_usec = db_column_int64(st, 9),
                .user_id = db_column_int64(st, 10),
                .revoked_usec = db_column_int64(st, 11),
        };
        (void) store_column_fixed_blob(st, 2, i->digest, TOKEN_DIGEST_SIZE);
        snprintf(i->email, sizeof(i->email), "%s", db_column_text(st, 3) ?: "");
        snprintf(i->invited_by, sizeof(i->invited_by), "%s", db_column_text(st, 5) ?: "");
        if (i->role < 0)
                i->role = USER_ROLE_MEMBER;
}

static int get_one(Store *s, DbStmt *st, Invitation *ret) {
        int rc = db_step(st);

        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return rc;
        from_row(st, ret);
        return 0;
}

int store_invitation_add(Store *s, Invitation *i) {
        static const char sql[] =
                "INSERT INTO invitations (tenant_id, digest, email, role, invited_by, created_usec, sent_usec, "
                "expires_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t new_id;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, i->tenant_id);
        db_bind_blob(st, 2, i->digest, TOKEN_DIGEST_SIZE);
        db_bind_text(st, 3, i->email);
        db_bind_text(st, 4, user_role_to_string(i->role));
        db_bind_text(st, 5, i->invited_by[0] ? i->invited_by : NULL);
        db_bind_int64(st, 6, i->created_usec);
        db_bind_int64(st, 7, i->expires_usec);
        r = store_step_int64(s, st, &new_id);
        if (r < 0)
                return r;
        i->id = new_id;
        return 0;
}

int store_invitation_get(Store *s, int64_t tenant_id, int64_t id, Invitation *ret) {
        static const char sql[] = INVITATION_SELECT "WHERE id = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        return get_one(s, st, ret);
}

int store_invitation_get_by_digest(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE],
                                   Invitation *ret) {
        static const char sql[] = INVITATION_SELECT "WHERE digest = ?1 AND tenant_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_blob(st, 1, digest, TOKEN_DIGEST_SIZE);
        db_bind_int64(st, 2, tenant_id);
        return get_one(s, st, ret);
}

int store_invitation_get_pending_email(Store *s, int64_t tenant_id, const char *email, Invitation *ret) {
        /* By the index invitations_pending_email: NOCASE in SQLite, on
         * lower(email) in PostgreSQL. */
        static const char sql_sqlite[] = INVITATION_SELECT
                "WHERE tenant_id = ?1 AND email = ?2 COLLATE NOCASE AND accepted_usec = 0 AND revoked_usec = 0";
        static const char sql_pg[] = INVITATION_SELECT
                "WHERE tenant_id = ?1 AND lower(email) = lower(?2) AND accepted_usec = 0 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, DB_SQL(s->db, sql_sqlite, sql_pg), &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_text(st, 2, email);
        return get_one(s, st, ret);
}

int store_invitation_list_pending(Store *s, int64_t tenant_id, int64_t after_id, unsigned limit, Invitation **ret,
                                  size_t *ret_n) {
        static const char sql[] = INVITATION_SELECT
                "WHERE tenant_id = ?1 AND id > ?2 AND accepted_usec = 0 AND revoked_usec = 0 ORDER BY id LIMIT ?3";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ Invitation *a = NULL;
        size_t n = 0;
        int r, rc;

        a = calloc(MAX(limit, 1U), sizeof(Invitation));
        if (!a)
                return -ENOMEM;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_int64(st, 2, after_id);
        db_bind_int64(st, 3, limit);
        while (n < limit && (rc = db_step(st)) == 1)
                from_row(st, &a[n++]);
        if (n < limit && rc != 0)
                return rc;
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

int store_invitation_renew(Store *s, int64_t tenant_id, int64_t id, const uint8_t digest[TOKEN_DIGEST_SIZE],
                           int64_t sent_usec, int64_t expires_usec) {
        static const char sql[] =
                "UPDATE invitations SET digest = ?3, sent_usec = ?4, expires_usec = ?5 "
                "WHERE id = ?1 AND tenant_id = ?2 AND accepted_usec = 0 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        db_bind_blob(st, 3, digest, TOKEN_DIGEST_SIZE);
        db_bind_int64(st, 4, sent_usec);
        db_bind_int64(st, 5, expires_usec);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* Accepted or revoked once, by a conditional UPDATE (accepted_usec = 0
 * AND revoked_usec = 0): of two acceptances on two instances one changes
 * the row, the other gets 0 and rolls back the user it made
 * (invitation.c). */
int store_invitation_finish(Store *s, int64_t tenant_id, int64_t id, int64_t user_id, int64_t now_usec) {
        static const char sql_accept[] =
                "UPDATE invitations SET accepted_usec = ?3, user_id = ?4 "
                "WHERE id = ?1 AND tenant_id = ?2 AND accepted_usec = 0 AND revoked_usec = 0";
        static const char sql_revoke[] =
                "UPDATE invitations SET revoked_usec = ?3 "
                "WHERE id = ?1 AND tenant_id = ?2 AND accepted_usec = 0 AND revoked_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, user_id > 0 ? sql_accept : sql_revoke, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, tenant_id);
        db_bind_int64(st, 3, now_usec);
        if (user_id > 0)
                db_bind_int64(st, 4, user_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0;
}
