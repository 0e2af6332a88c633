/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "log.h"
#include "store-internal.h"

int store_host_session_open(Store *s, const HostSessionRecord *in, int64_t *ret_id) {
        static const char sql[] =
                "INSERT INTO sessions (user_id, kind, service, tty, remote_host, remote_user, pid, opened_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t new_id;
        int r;

        if (isempty(in->kind))
                return -EINVAL;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, in->user_id);
        db_bind_text(st, 2, in->kind);
        db_bind_text(st, 3, strempty(in->service));
        db_bind_text(st, 4, strempty(in->tty));
        db_bind_text(st, 5, strempty(in->remote_host));
        db_bind_text(st, 6, strempty(in->remote_user));
        db_bind_int64(st, 7, in->pid);
        db_bind_int64(st, 8, in->opened_usec > 0 ? in->opened_usec : now_realtime_usec());
        r = store_step_int64(s, st, &new_id);
        if (r == -ENOTEMPTY)
                return -ENOENT;    /* the user is gone */
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = new_id;
        return 0;
}

/* Closed once, by a conditional UPDATE (closed_usec = 0): a second close,
 * from another connection or instance, changes nothing. */
int store_host_session_close(Store *s, int64_t user_id, int64_t id, int64_t closed_usec) {
        static const char sql[] =
                "UPDATE sessions SET closed_usec = ?3 WHERE id = ?1 AND user_id = ?2 AND closed_usec = 0";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, id);
        db_bind_int64(st, 2, user_id);
        db_bind_int64(st, 3, closed_usec > 0 ? closed_usec : now_realtime_usec());
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return db_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_host_session_find_open(Store *s, int64_t user_id, const char *service, const char *tty, uint32_t pid,
                            int64_t *ret_id) {
        static const char sql[] =
                "SELECT id FROM sessions WHERE user_id = ?1 AND closed_usec = 0 AND service = ?2 AND tty = ?3 "
                "AND (?4 = 0 OR pid = ?4) ORDER BY id DESC LIMIT 1";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, user_id);
        db_bind_text(st, 2, strempty(service));
        db_bind_text(st, 3, strempty(tty));
        db_bind_int64(st, 4, pid);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        *ret_id = db_column_int64(st, 0);
        return 0;
}

void host_session_record_array_free(HostSessionRecord *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].tenant);
                free(a[i].user_name);
                free(a[i].kind);
                free(a[i].service);
                free(a[i].tty);
                free(a[i].remote_host);
                free(a[i].remote_user);
        }
        free(a);
}

static int host_session_from_row(DbStmt *st, HostSessionRecord *ret) {
        HostSessionRecord r = {
                .id = db_column_int64(st, 0),
                .user_id = db_column_int64(st, 1),
                .pid = (uint32_t) db_column_int64(st, 9),
                .opened_usec = db_column_int64(st, 10),
                .closed_usec = db_column_int64(st, 11),
        };
        char **strs[] = { &r.tenant, &r.user_name, &r.kind, &r.service, &r.tty, &r.remote_host, &r.remote_user };
        int e;

        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                e = store_column_strdup(st, (int) i + 2, true, strs[i]);
                if (e < 0) {
                        for (size_t j = 0; j < i; j++)
                                free(*strs[j]);
                        return e;
                }
        }
        *ret = r;
        return 0;
}

int store_host_session_list(Store *s, const HostSessionFilter *f, HostSessionRecord **ret, size_t *ret_n) {
        static const char sql[] =
                "SELECT se.id, se.user_id, t.slug, u.name, se.kind, se.service, se.tty, se.remote_host, "
                "se.remote_user, se.pid, se.opened_usec, se.closed_usec "
                "FROM sessions se JOIN users u ON u.id = se.user_id JOIN tenants t ON t.id = u.tenant_id "
                "WHERE (?1 = 0 OR u.tenant_id = ?1) AND (?2 = 0 OR se.user_id = ?2) "
                "AND (?3 = 0 OR se.closed_usec = 0) ORDER BY se.id DESC LIMIT ?4";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        HostSessionRecord *list = NULL;
        size_t n = 0;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, f ? f->tenant_id : 0);
        db_bind_int64(st, 2, f ? f->user_id : 0);
        db_bind_int64(st, 3, f && f->open_only);
        db_bind_int64(st, 4, f && f->limit > 0 ? (int64_t) f->limit : 1000);

        while ((rc = db_step(st)) == 1) {
                HostSessionRecord *nl = realloc(list, (n + 1) * sizeof(HostSessionRecord));

                if (!nl) {
                        host_session_record_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                r = host_session_from_row(st, &list[n]);
                if (r < 0) {
                        host_session_record_array_free(list, n);
                        return r;
                }
                n++;
        }
        if (rc != 0) {
                host_session_record_array_free(list, n);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }

        *ret = list;
        *ret_n = n;
        return 0;
}
