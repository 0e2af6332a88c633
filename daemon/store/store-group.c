/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"

#define GROUP_SELECT                                                                     \
        "SELECT g.id, g.tenant_id, t.slug, g.name, g.gid, g.description, "              \
        "COALESCE(g.private_user_id, 0), g.created_usec, g.changed_usec "               \
        "FROM groups g JOIN tenants t ON t.id = g.tenant_id "

static int group_from_row(DbStmt *st, void **ret) {
        _cleanup_(group_record_unrefp) GroupRecord *g = group_record_new();
        int r;

        if (!g)
                return -ENOMEM;
        g->id = db_column_int64(st, 0);
        g->tenant_id = db_column_int64(st, 1);
        g->gid = (gid_t) db_column_int64(st, 4);
        g->private_user_id = db_column_int64(st, 6);
        g->created_usec = db_column_int64(st, 7);
        g->changed_usec = db_column_int64(st, 8);
        if ((r = store_column_strdup(st, 2, true, &g->tenant)) < 0 ||
            (r = store_column_strdup(st, 3, true, &g->name)) < 0 ||
            (r = store_column_strdup(st, 5, true, &g->description)) < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

static void group_array_free(void **a, size_t n) {
        group_record_array_free((GroupRecord **) a, n);
}

int store_group_create(Store *s, const GroupRecord *g, GroupRecord **ret) {
        static const char sql[] =
                "INSERT INTO groups (tenant_id, name, gid, description, created_usec, changed_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        uint32_t gid;
        int64_t new_id;
        int r;

        if (!db_in_transaction(s->db))
                return -EINVAL;

        r = store_allocate_id(s, g->tenant_id, g->gid, &gid);
        if (r < 0)
                return r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, g->tenant_id);
        db_bind_text(st, 2, g->name);
        db_bind_int64(st, 3, gid);
        db_bind_text(st, 4, strempty(g->description));
        db_bind_int64(st, 5, now_realtime_usec());
        r = store_step_int64(s, st, &new_id);
        if (r < 0)
                return r;

        return ret ? store_group_get_by_id(s, new_id, ret) : 0;
}

int store_group_get(Store *s, int64_t tenant_id, const char *name, GroupRecord **ret) {
        static const char sql[] = GROUP_SELECT "WHERE g.tenant_id = ?1 AND g.name = ?2";
        return store_get_record(s, sql, tenant_id, name, group_from_row, (void **) ret);
}

int store_group_get_by_gid(Store *s, gid_t gid, GroupRecord **ret) {
        static const char sql[] = GROUP_SELECT "WHERE g.gid = ?1";
        return store_get_record(s, sql, gid, NULL, group_from_row, (void **) ret);
}

int store_group_get_by_id(Store *s, int64_t id, GroupRecord **ret) {
        static const char sql[] = GROUP_SELECT "WHERE g.id = ?1";
        return store_get_record(s, sql, id, NULL, group_from_row, (void **) ret);
}

int store_group_list(Store *s, int64_t tenant_id, GroupRecord ***ret, size_t *ret_n) {
        static const char sql[] = GROUP_SELECT "WHERE ?1 = 0 OR g.tenant_id = ?1 ORDER BY t.slug, g.name";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        return store_fetch_all(s, st, group_from_row, group_array_free, (void ***) ret, ret_n);
}

int store_group_update(Store *s, const GroupRecord *g) {
        static const char sql[] = "UPDATE groups SET description = ?2, changed_usec = ?3 WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, g->id);
        db_bind_text(st, 2, strempty(g->description));
        db_bind_int64(st, 3, now_realtime_usec());
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_group_delete(Store *s, int64_t id) {
        static const char sql[] = "DELETE FROM groups WHERE id = ?1 AND private_user_id IS NULL";
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_group_get_by_id(s, id, &g);
        if (r < 0)
                return r;
        if (g->private_user_id != 0)
                return -EPERM;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

static int touch_group(Store *s, int64_t group_id) {
        static const char sql[] = "UPDATE groups SET changed_usec = ?2 WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, group_id);
        db_bind_int64(st, 2, now_realtime_usec());
        return store_step_done(s, st);
}

int store_group_add_member(Store *s, int64_t group_id, int64_t user_id) {
        /* Members come from the group's own tenant only. */
        static const char sql[] =
                "INSERT INTO group_members (group_id, user_id) "
                "SELECT g.id, u.id FROM groups g JOIN users u ON u.tenant_id = g.tenant_id "
                "WHERE g.id = ?1 AND u.id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, group_id);
        db_bind_int64(st, 2, user_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (db_changes(s->db) == 0)
                return -ENOENT;
        return touch_group(s, group_id);
}

int store_group_remove_member(Store *s, int64_t group_id, int64_t user_id) {
        static const char sql[] = "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, group_id);
        db_bind_int64(st, 2, user_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (db_changes(s->db) == 0)
                return -ENOENT;
        return touch_group(s, group_id);
}

int store_group_members(Store *s, int64_t group_id, char ***ret) {
        static const char sql[] =
                "SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id "
                "WHERE m.group_id = ?1 ORDER BY u.name";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, group_id);
        return store_collect_strv(s, st, ret);
}

int store_group_page(Store *s, int64_t tenant_id, const char *after, unsigned limit, GroupRecord ***ret,
                     size_t *ret_n) {
        /* groups_shared holds the tenant's groups without the user-private
         * ones (one per user), in name order: a page is one range read. */
        static const char sql[] = GROUP_SELECT "WHERE g.tenant_id = ?1 AND g.private_user_id IS NULL AND g.name > ?2 "
                                               "ORDER BY g.name LIMIT ?3";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        db_bind_text(st, 2, strempty(after));
        db_bind_int64(st, 3, limit);
        return store_fetch_all(s, st, group_from_row, group_array_free, (void ***) ret, ret_n);
}

int store_group_member_page(Store *s, int64_t group_id, const char *after, unsigned limit, UserRecord ***ret,
                            size_t *ret_n) {
        static const char sql[] = USER_SELECT "JOIN group_members m ON m.user_id = u.id "
                                              "WHERE m.group_id = ?1 AND u.name > ?2 ORDER BY u.name LIMIT ?3";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, group_id);
        db_bind_text(st, 2, strempty(after));
        db_bind_int64(st, 3, limit);
        return store_fetch_all(s, st, store_user_from_row, store_user_array_free, (void ***) ret, ret_n);
}
