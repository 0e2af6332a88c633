/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "store-internal.h"

int store_audit_append(Store *s, const AuditEvent *e) {
        static const char sql[] =
                "INSERT INTO audit_events (time_usec, channel, actor_uid, actor, action, tenant, target, "
                "result, remote, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, e->time_usec > 0 ? e->time_usec : store_now_usec());
        store_bind_text(st, 2, e->channel);
        if (e->actor_uid >= 0)
                store_bind_int64(st, 3, e->actor_uid);
        store_bind_text(st, 4, e->actor);
        store_bind_text(st, 5, e->action);
        store_bind_text(st, 6, e->tenant);
        store_bind_text(st, 7, e->target);
        store_bind_text(st, 8, audit_result_to_string(e->result));
        store_bind_text(st, 9, e->remote);
        store_bind_text(st, 10, e->details);
        return store_step_done(s, st);
}

int store_audit_list(Store *s, const AuditFilter *f, AuditEvent **ret, size_t *ret_n) {
        static const char sql[] =
                "SELECT id, time_usec, channel, COALESCE(actor_uid, -1), actor, action, tenant, target, "
                "result, remote, details FROM audit_events "
                "WHERE id > ?1 AND (?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR target = ?3) "
                "AND (?4 IS NULL OR action = ?4) ORDER BY id LIMIT ?5";
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        AuditEvent *list = NULL;
        size_t n = 0;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, f ? f->after_id : 0);
        store_bind_text(st, 2, f ? f->tenant : NULL);
        store_bind_text(st, 3, f ? f->target : NULL);
        store_bind_text(st, 4, f ? f->action : NULL);
        store_bind_int64(st, 5, f && f->limit > 0 ? (int64_t) f->limit : 1000);

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                AuditEvent *nl = realloc(list, (n + 1) * sizeof(AuditEvent)), *e;
                char *strs[7] = {};
                static const int cols[7] = { 2, 4, 5, 6, 7, 9, 10 };

                if (!nl) {
                        audit_event_array_free(list, n);
                        return -ENOMEM;
                }
                list = nl;
                for (size_t i = 0; i < ELEMENTSOF(cols); i++) {
                        r = store_column_strdup(st, cols[i], false, &strs[i]);
                        if (r < 0) {
                                for (size_t j = 0; j < i; j++)
                                        free(strs[j]);
                                audit_event_array_free(list, n);
                                return r;
                        }
                }
                e = &list[n++];
                *e = (AuditEvent) {
                        .id = sqlite3_column_int64(st, 0),
                        .time_usec = sqlite3_column_int64(st, 1),
                        .channel = strs[0],
                        .actor_uid = sqlite3_column_int64(st, 3),
                        .actor = strs[1],
                        .action = strs[2],
                        .tenant = strs[3],
                        .target = strs[4],
                        .result = audit_result_from_string((const char *) sqlite3_column_text(st, 8)),
                        .remote = strs[5],
                        .details = strs[6],
                };
        }
        if (rc != SQLITE_DONE) {
                audit_event_array_free(list, n);
                return log_error_errno(store_errno(rc), "Database error: %s", sqlite3_errmsg(s->db));
        }

        *ret = list;
        *ret_n = n;
        return 0;
}
