/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"

int store_user_from_row(DbStmt *st, void **ret) {
        _cleanup_(user_record_unrefp) UserRecord *u = user_record_new();
        int r;

        if (!u)
                return -ENOMEM;
        u->id = db_column_int64(st, 0);
        u->tenant_id = db_column_int64(st, 1);
        u->uid = (uid_t) db_column_int64(st, 4);
        u->gid = (gid_t) db_column_int64(st, 5);
        u->email_verified = db_column_int64(st, 8);
        u->password_changed_usec = db_column_int64(st, 12);
        u->role = user_role_from_string(db_column_text(st, 13));
        u->disabled = db_column_int64(st, 14);
        u->locked_until_usec = db_column_int64(st, 15);
        u->expires_usec = db_column_int64(st, 16);
        u->created_usec = db_column_int64(st, 17);
        u->changed_usec = db_column_int64(st, 18);
        if (u->role < 0)
                u->role = USER_ROLE_MEMBER;

        if ((r = store_column_strdup(st, 2, true, &u->tenant)) < 0 ||
            (r = store_column_strdup(st, 3, true, &u->name)) < 0 ||
            (r = store_column_strdup(st, 6, true, &u->real_name)) < 0 ||
            (r = store_column_strdup(st, 7, false, &u->email)) < 0 ||
            (r = store_column_strdup(st, 9, true, &u->home)) < 0 ||
            (r = store_column_strdup(st, 10, true, &u->shell)) < 0 ||
            (r = store_column_strdup(st, 11, false, &u->password_hash)) < 0)
                return r;

        *ret = TAKE_PTR(u);
        return 0;
}

void store_user_array_free(void **a, size_t n) {
        user_record_array_free((UserRecord **) a, n);
}

/* Every user has a user-private group with gid = uid, so the groups table
 * holds every ID in use: allocate past the highest one, or, once the slice
 * is full up to its end, in the first gap. */
static int allocate_id(Store *s, uint32_t id_min, uint32_t id_max, uint32_t *ret) {
        static const char sql_next[] =
                "SELECT COALESCE(MAX(gid) + 1, ?1) FROM groups WHERE gid BETWEEN ?1 AND ?2";
        static const char sql_gap[] =
                "SELECT CAST(?1 AS BIGINT) WHERE NOT EXISTS (SELECT 1 FROM groups WHERE gid = ?1) "
                "UNION ALL "
                "SELECT MIN(g.gid + 1) FROM groups g WHERE g.gid BETWEEN ?1 AND ?2 - 1 "
                "AND NOT EXISTS (SELECT 1 FROM groups h WHERE h.gid = g.gid + 1) "
                "LIMIT 1";
        _cleanup_(store_stmt_resetp) DbStmt *next = NULL, *gap = NULL;
        int64_t id;
        int r, rc;

        r = store_stmt(s, sql_next, &next);
        if (r < 0)
                return r;
        db_bind_int64(next, 1, id_min);
        db_bind_int64(next, 2, id_max);
        rc = db_step(next);
        if (rc != 1)
                return rc;
        id = db_column_int64(next, 0);
        if (id >= id_min && id <= id_max) {
                *ret = (uint32_t) id;
                return 0;
        }

        r = store_stmt(s, sql_gap, &gap);
        if (r < 0)
                return r;
        db_bind_int64(gap, 1, id_min);
        db_bind_int64(gap, 2, id_max);
        rc = db_step(gap);
        if (rc != 1 || db_column_is_null(gap, 0))
                return rc == 1 ? -ENOSPC : rc;
        id = db_column_int64(gap, 0);
        if (id < id_min || id > id_max)
                return -ENOSPC;
        *ret = (uint32_t) id;
        return 0;
}

int store_allocate_id(Store *s, int64_t tenant_id, uint32_t requested, uint32_t *ret) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        int r;

        /* The highest ID read here is inserted by the caller: no other
         * creation in the slice may read it in between, or two would take
         * the same ID and the second insert fail on the unique gid. On
         * SQLite the one writer (BEGIN IMMEDIATE) sees to that; on
         * PostgreSQL an advisory lock per tenant (store_lock()), held to
         * the commit. Outside a transaction (a caller that only asks)
         * nothing is held. */
        if (db_in_transaction(s->db)) {
                r = store_lock(s, STORE_LOCK_TENANT_IDS, tenant_id);
                if (r < 0)
                        return r;
        }
        r = store_tenant_get_by_id(s, tenant_id, &t);
        if (r < 0)
                return r;
        if (requested == 0)
                return allocate_id(s, t->id_min, t->id_max, ret);
        if (requested < t->id_min || requested > t->id_max)
                return -ERANGE;
        *ret = requested;
        return 0;
}

int store_user_create(Store *s, const UserRecord *u, UserRecord **ret) {
        static const char sql_user[] =
                "INSERT INTO users (tenant_id, name, uid, gid, real_name, email, email_verified, home, shell, "
                "password_hash, password_changed_usec, role, disabled, locked_until_usec, expires_usec, "
                "created_usec, changed_usec) "
                "VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15) RETURNING id";
        static const char sql_group[] =
                "INSERT INTO groups (tenant_id, name, gid, description, private_user_id, created_usec, changed_usec) "
                "VALUES (?1, ?2, ?3, '', ?4, ?5, ?5)";
        _cleanup_(store_stmt_resetp) DbStmt *su = NULL, *sg = NULL;
        int64_t now = now_realtime_usec(), user_id;
        uint32_t uid;
        int64_t new_id;
        int r;

        if (!db_in_transaction(s->db))
                return -EINVAL;

        r = store_allocate_id(s, u->tenant_id, u->uid, &uid);
        if (r < 0)
                return r;

        r = store_stmt(s, sql_user, &su);
        if (r < 0)
                return r;
        db_bind_int64(su, 1, u->tenant_id);
        db_bind_text(su, 2, u->name);
        db_bind_int64(su, 3, uid);
        db_bind_text(su, 4, strempty(u->real_name));
        db_bind_text(su, 5, u->email);
        db_bind_int64(su, 6, u->email_verified);
        db_bind_text(su, 7, u->home);
        db_bind_text(su, 8, u->shell);
        db_bind_text(su, 9, u->password_hash);
        db_bind_int64(su, 10, u->password_hash ? now : 0);
        db_bind_text(su, 11, user_role_to_string(u->role) ?: "member");
        db_bind_int64(su, 12, u->disabled);
        db_bind_int64(su, 13, u->locked_until_usec);
        db_bind_int64(su, 14, u->expires_usec);
        db_bind_int64(su, 15, now);
        r = store_step_int64(s, su, &new_id);
        if (r < 0)
                return r;
        user_id = new_id;

        r = store_stmt(s, sql_group, &sg);
        if (r < 0)
                return r;
        db_bind_int64(sg, 1, u->tenant_id);
        db_bind_text(sg, 2, u->name);
        db_bind_int64(sg, 3, uid);
        db_bind_int64(sg, 4, user_id);
        db_bind_int64(sg, 5, now);
        r = store_step_done(s, sg);
        if (r < 0)
                return r;

        return ret ? store_user_get_by_id(s, user_id, ret) : 0;
}

int store_user_get(Store *s, int64_t tenant_id, const char *name, UserRecord **ret) {
        static const char sql[] = USER_SELECT "WHERE u.tenant_id = ?1 AND u.name = ?2";
        return store_get_record(s, sql, tenant_id, name, store_user_from_row, (void **) ret);
}

int store_user_get_by_uid(Store *s, uid_t uid, UserRecord **ret) {
        static const char sql[] = USER_SELECT "WHERE u.uid = ?1";
        return store_get_record(s, sql, uid, NULL, store_user_from_row, (void **) ret);
}

int store_user_get_by_id(Store *s, int64_t id, UserRecord **ret) {
        static const char sql[] = USER_SELECT "WHERE u.id = ?1";
        return store_get_record(s, sql, id, NULL, store_user_from_row, (void **) ret);
}

int store_user_get_by_email(Store *s, int64_t tenant_id, const char *email, UserRecord **ret) {
        /* By the index users_email: NOCASE in SQLite, on lower(email) in
         * PostgreSQL. */
        static const char sql_sqlite[] = USER_SELECT "WHERE u.tenant_id = ?1 AND u.email = ?2 COLLATE NOCASE";
        static const char sql_pg[] = USER_SELECT "WHERE u.tenant_id = ?1 AND lower(u.email) = lower(?2)";
        return store_get_record(s, DB_SQL(s->db, sql_sqlite, sql_pg), tenant_id, email, store_user_from_row,
                                (void **) ret);
}

int store_user_list(Store *s, int64_t tenant_id, UserRecord ***ret, size_t *ret_n) {
        static const char sql[] = USER_SELECT "WHERE ?1 = 0 OR u.tenant_id = ?1 ORDER BY t.slug, u.name";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        return store_fetch_all(s, st, store_user_from_row, store_user_array_free, (void ***) ret, ret_n);
}

int store_user_update(Store *s, const UserRecord *u) {
        static const char sql[] =
                "UPDATE users SET gid = ?2, real_name = ?3, email = ?4, email_verified = ?5, home = ?6, "
                "shell = ?7, password_hash = ?8, password_changed_usec = ?9, role = ?10, disabled = ?11, "
                "locked_until_usec = ?12, expires_usec = ?13, changed_usec = ?14 WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, u->id);
        db_bind_int64(st, 2, u->gid);
        db_bind_text(st, 3, strempty(u->real_name));
        db_bind_text(st, 4, u->email);
        db_bind_int64(st, 5, u->email_verified);
        db_bind_text(st, 6, u->home);
        db_bind_text(st, 7, u->shell);
        db_bind_text(st, 8, u->password_hash);
        db_bind_int64(st, 9, u->password_changed_usec);
        db_bind_text(st, 10, user_role_to_string(u->role) ?: "member");
        db_bind_int64(st, 11, u->disabled);
        db_bind_int64(st, 12, u->locked_until_usec);
        db_bind_int64(st, 13, u->expires_usec);
        db_bind_int64(st, 14, now_realtime_usec());
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_user_replace_password_hash(Store *s, int64_t id, const char *old_hash, const char *new_hash) {
        /* Compare and swap: a password set meanwhile, on this connection
         * or another (another tesserad on the same PostgreSQL), makes the
         * WHERE false, and wins. PostgreSQL re-checks it against the row
         * as committed by a concurrent change it waited for. */
        static const char sql[] =
                "UPDATE users SET password_hash = ?3, changed_usec = ?4 WHERE id = ?1 AND password_hash = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        if (!old_hash || !new_hash)
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_text(st, 2, old_hash);
        db_bind_text(st, 3, new_hash);
        db_bind_int64(st, 4, now_realtime_usec());
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0;
}

int store_user_delete(Store *s, int64_t id) {
        static const char sql[] = "DELETE FROM users WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        /* The user-private group and the memberships go by ON DELETE CASCADE. */
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_user_groups(Store *s, int64_t user_id, char ***ret) {
        static const char sql[] =
                "SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id "
                "WHERE m.user_id = ?1 ORDER BY g.name";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        return store_collect_strv(s, st, ret);
}

int store_user_count_role(Store *s, int64_t tenant_id, UserRole role, unsigned *ret) {
        static const char sql[] = "SELECT count(*) FROM users WHERE tenant_id = ?1 AND role = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        /* "The tenant keeps an owner" is counted, then the caller commits
         * a demotion or a deletion: two such changes on two instances must
         * not both count the other's owner (an advisory lock on
         * PostgreSQL, store_lock(); the second one counts after the first
         * committed, in READ COMMITTED). */
        if (db_in_transaction(s->db)) {
                r = store_lock(s, STORE_LOCK_TENANT_ROLES, tenant_id);
                if (r < 0)
                        return r;
        }
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_text(st, 2, user_role_to_string(role));
        rc = db_step(st);
        if (rc != 1)
                return rc;
        *ret = (unsigned) db_column_int64(st, 0);
        return 0;
}

int store_user_search_email(Store *s, const char *prefix, const char *after_email, int64_t after_id, size_t limit,
                            UserRecord ***ret, size_t *ret_n) {
        /* LIKE with the prefix escaped, which SQLite turns into a range of
         * the NOCASE index (users_email_any_tenant); the position in that
         * order continues a page. SQLite's LIKE ignores the case of ASCII
         * letters, PostgreSQL's does not: there both sides are lower()ed,
         * for an index on lower(email) (text_pattern_ops, or the "C"
         * collation, for LIKE to use it). */
        static const char sql_sqlite[] =
                USER_SELECT "WHERE u.email IS NOT NULL AND u.email LIKE ?1 ESCAPE '\\' "
                "AND (?2 IS NULL OR (u.email COLLATE NOCASE, u.id) > (?2, ?3)) "
                "ORDER BY u.email COLLATE NOCASE, u.id LIMIT ?4";
        static const char sql_pg[] =
                USER_SELECT "WHERE u.email IS NOT NULL AND lower(u.email) LIKE lower(?1) ESCAPE '\\' "
                "AND (CAST(?2 AS TEXT) IS NULL OR (lower(u.email), u.id) > (lower(?2), ?3)) "
                "ORDER BY lower(u.email), u.id LIMIT ?4";
        const char *sql = DB_SQL(s->db, sql_sqlite, sql_pg);
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ char *pattern = NULL;
        char *p;
        int r;

        pattern = malloc(strlen(prefix) * 2 + 2);
        if (!pattern)
                return -ENOMEM;
        p = pattern;
        for (const char *c = prefix; *c; c++) {
                if (*c == '%' || *c == '_' || *c == '\\')
                        *p++ = '\\';
                *p++ = *c;
        }
        *p++ = '%';
        *p = '\0';

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, pattern);
        db_bind_text(st, 2, after_email);
        db_bind_int64(st, 3, after_id);
        db_bind_int64(st, 4, (int64_t) limit);
        return store_fetch_all(s, st, store_user_from_row, store_user_array_free, (void ***) ret, ret_n);
}
