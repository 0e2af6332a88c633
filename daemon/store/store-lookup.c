/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The reads of the lookup service (NSS): public account data only. These
 * never load a password hash or any other secret, so nothing on the path
 * that answers every process on the host can leak one. */

#include "log.h"
#include "store-internal.h"

#define LOOKUP_USER_SELECT                                                                      \
        "SELECT u.id, u.tenant_id, t.slug, u.name, u.uid, u.gid, u.real_name, u.home, u.shell, " \
        "u.disabled, u.locked_until_usec, u.expires_usec "                                      \
        "FROM users u JOIN tenants t ON t.id = u.tenant_id "

#define LOOKUP_GROUP_SELECT                                                                     \
        "SELECT g.id, g.tenant_id, t.slug, g.name, g.gid, COALESCE(g.private_user_id, 0) "      \
        "FROM groups g JOIN tenants t ON t.id = g.tenant_id "

static int lookup_user_from_row(DbStmt *st, void **ret) {
        _cleanup_(user_record_unrefp) UserRecord *u = user_record_new();
        int r;

        if (!u)
                return -ENOMEM;
        u->id = db_column_int64(st, 0);
        u->tenant_id = db_column_int64(st, 1);
        u->uid = (uid_t) db_column_int64(st, 4);
        u->gid = (gid_t) db_column_int64(st, 5);
        u->disabled = db_column_int64(st, 9);
        u->locked_until_usec = db_column_int64(st, 10);
        u->expires_usec = db_column_int64(st, 11);
        if ((r = store_column_strdup(st, 2, true, &u->tenant)) < 0 ||
            (r = store_column_strdup(st, 3, true, &u->name)) < 0 ||
            (r = store_column_strdup(st, 6, true, &u->real_name)) < 0 ||
            (r = store_column_strdup(st, 7, true, &u->home)) < 0 ||
            (r = store_column_strdup(st, 8, true, &u->shell)) < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}

static int lookup_group_from_row(DbStmt *st, void **ret) {
        _cleanup_(group_record_unrefp) GroupRecord *g = group_record_new();
        int r;

        if (!g)
                return -ENOMEM;
        g->id = db_column_int64(st, 0);
        g->tenant_id = db_column_int64(st, 1);
        g->gid = (gid_t) db_column_int64(st, 4);
        g->private_user_id = db_column_int64(st, 5);
        if ((r = store_column_strdup(st, 2, true, &g->tenant)) < 0 ||
            (r = store_column_strdup(st, 3, true, &g->name)) < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

static void user_array_free(void **a, size_t n) {
        user_record_array_free((UserRecord **) a, n);
}

static void group_array_free(void **a, size_t n) {
        group_record_array_free((GroupRecord **) a, n);
}

/* One statement, bound with an integer (and a text), one row expected. */
static int fetch_one(Store *s, const char *sql, int64_t key, const char *text, StoreRowFunc row, void **ret) {
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, key);
        if (text)
                db_bind_text(st, 2, text);
        return store_fetch_one(s, st, row, ret);
}

/* One row by name (?1) and tenant slug (?2). */
static int fetch_by_name(Store *s, const char *sql, const char *tenant, const char *name, StoreRowFunc row,
                         void **ret) {
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, name);
        db_bind_text(st, 2, tenant);
        return store_fetch_one(s, st, row, ret);
}

static int fetch_page(Store *s, const char *sql, uint64_t from, size_t limit, StoreRowFunc row,
                      StoreArrayFreeFunc array_free, void ***ret, size_t *ret_n) {
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, (int64_t) MIN(from, (uint64_t) INT64_MAX));
        db_bind_int64(st, 2, (int64_t) MIN(limit, (size_t) INT64_MAX));
        return store_fetch_all(s, st, row, array_free, ret, ret_n);
}

int store_lookup_user(Store *s, const char *tenant, const char *name, UserRecord **ret) {
        static const char sql[] = LOOKUP_USER_SELECT "WHERE u.name = ?1 AND t.slug = ?2";
        return fetch_by_name(s, sql, tenant, name, lookup_user_from_row, (void **) ret);
}

int store_lookup_user_by_uid(Store *s, uid_t uid, UserRecord **ret) {
        static const char sql[] = LOOKUP_USER_SELECT "WHERE u.uid = ?1";
        return fetch_one(s, sql, uid, NULL, lookup_user_from_row, (void **) ret);
}

int store_lookup_user_by_id(Store *s, int64_t id, UserRecord **ret) {
        static const char sql[] = LOOKUP_USER_SELECT "WHERE u.id = ?1";
        return fetch_one(s, sql, id, NULL, lookup_user_from_row, (void **) ret);
}

int store_lookup_users(Store *s, uint64_t from_uid, size_t limit, UserRecord ***ret, size_t *ret_n) {
        static const char sql[] = LOOKUP_USER_SELECT "WHERE u.uid >= ?1 ORDER BY u.uid LIMIT ?2";
        return fetch_page(s, sql, from_uid, limit, lookup_user_from_row, user_array_free, (void ***) ret, ret_n);
}

int store_lookup_group(Store *s, const char *tenant, const char *name, GroupRecord **ret) {
        static const char sql[] = LOOKUP_GROUP_SELECT "WHERE g.name = ?1 AND t.slug = ?2";
        return fetch_by_name(s, sql, tenant, name, lookup_group_from_row, (void **) ret);
}

int store_lookup_group_by_gid(Store *s, gid_t gid, GroupRecord **ret) {
        static const char sql[] = LOOKUP_GROUP_SELECT "WHERE g.gid = ?1";
        return fetch_one(s, sql, gid, NULL, lookup_group_from_row, (void **) ret);
}

int store_lookup_groups(Store *s, uint64_t from_gid, size_t limit, GroupRecord ***ret, size_t *ret_n) {
        static const char sql[] = LOOKUP_GROUP_SELECT "WHERE g.gid >= ?1 ORDER BY g.gid LIMIT ?2";
        return fetch_page(s, sql, from_gid, limit, lookup_group_from_row, group_array_free, (void ***) ret,
                          ret_n);
}

int store_lookup_user_gids(Store *s, int64_t user_id, uint32_t **ret, size_t *ret_n) {
        static const char sql[] =
                "SELECT g.gid FROM group_members m JOIN groups g ON g.id = m.group_id "
                "WHERE m.user_id = ?1 ORDER BY g.gid";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ uint32_t *gids = NULL;
        size_t n = 0, allocated = 0;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        while ((rc = db_step(st)) == 1) {
                if (n == allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 16);
                        uint32_t *ng = realloc(gids, na * sizeof(uint32_t));
                        if (!ng)
                                return -ENOMEM;
                        gids = ng;
                        allocated = na;
                }
                gids[n++] = (uint32_t) db_column_int64(st, 0);
        }
        if (rc != 0)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = TAKE_PTR(gids);
        *ret_n = n;
        return 0;
}

int store_lookup_memberships(Store *s, StoreMembership **ret, size_t *ret_n) {
        static const char sql[] = "SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        _cleanup_free_ StoreMembership *l = NULL;
        size_t n = 0, allocated = 0;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        while ((rc = db_step(st)) == 1) {
                if (n == allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 64);
                        StoreMembership *nl = realloc(l, na * sizeof(StoreMembership));
                        if (!nl)
                                return -ENOMEM;
                        l = nl;
                        allocated = na;
                }
                l[n++] = (StoreMembership) {
                        .group_id = db_column_int64(st, 0),
                        .user_id = db_column_int64(st, 1),
                };
        }
        if (rc != 0)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

int store_begin_read(Store *s) {
        return db_begin_read(s->db);
}

void store_end_read(Store *s) {
        store_rollback(s);
}
