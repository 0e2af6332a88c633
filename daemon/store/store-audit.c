/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "store-internal.h"

/* A refusal identical to one recorded within the window: counted on that
 * event. 1 when it was, 0 when the event needs a row of its own. */
static int audit_merge(Store *s, const AuditEvent *e, int64_t t) {
        /* "result <> 'success'" lets SQLite use the partial index. "IS NOT
         * DISTINCT FROM": equal, NULL included (SQLite's "IS", by the
         * standard's name). */
        static const char find_sql[] =
                "SELECT id FROM audit_events WHERE result <> 'success' AND action = ?1 "
                "AND remote IS NOT DISTINCT FROM ?2 AND target IS NOT DISTINCT FROM ?3 "
                "AND time_usec BETWEEN ?4 AND ?5 AND result = ?6 AND channel = ?7 "
                "AND actor IS NOT DISTINCT FROM ?8 AND actor_uid IS NOT DISTINCT FROM ?9 "
                "AND tenant IS NOT DISTINCT FROM ?10 AND details IS NOT DISTINCT FROM ?11 "
                "AND operator_name IS NOT DISTINCT FROM ?12 AND reason IS NOT DISTINCT FROM ?13 "
                "ORDER BY time_usec DESC LIMIT 1";
        /* The later of the two: a CASE, since the two-argument max() is
         * SQLite's (PostgreSQL's is greatest()). */
        static const char bump_sql[] =
                "UPDATE audit_events SET count = count + 1, last_usec = CASE "
                "WHEN COALESCE(last_usec, time_usec) > ?2 THEN COALESCE(last_usec, time_usec) ELSE ?2 END "
                "WHERE id = ?1";
        _cleanup_(store_stmt_resetp) DbStmt *find = NULL, *bump = NULL;
        int64_t id;
        int r, rc;

        r = store_stmt(s, find_sql, &find);
        if (r < 0)
                return r;
        db_bind_text(find, 1, e->action);
        db_bind_text(find, 2, e->remote);
        db_bind_text(find, 3, e->target);
        db_bind_int64(find, 4, t - (int64_t) AUDIT_MERGE_WINDOW_USEC);
        db_bind_int64(find, 5, t);
        db_bind_text(find, 6, audit_result_to_string(e->result));
        db_bind_text(find, 7, e->channel);
        db_bind_text(find, 8, e->actor);
        if (e->actor_uid >= 0)
                db_bind_int64(find, 9, e->actor_uid);
        db_bind_text(find, 10, e->tenant);
        db_bind_text(find, 11, e->details);
        db_bind_text(find, 12, e->operator_name);
        db_bind_text(find, 13, e->reason);
        rc = db_step(find);
        if (rc == 0)
                return 0;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        id = db_column_int64(find, 0);

        r = store_stmt(s, bump_sql, &bump);
        if (r < 0)
                return r;
        db_bind_int64(bump, 1, id);
        db_bind_int64(bump, 2, t);
        r = store_step_done(s, bump);
        if (r < 0)
                return r;
        /* Pruned in between (by another connection): a row of its own. */
        return db_changes(s->db) > 0;
}

int store_audit_append(Store *s, const AuditEvent *e) {
        static const char sql[] =
                "INSERT INTO audit_events (time_usec, channel, actor_uid, actor, action, tenant, target, "
                "result, remote, details, operator_name, reason) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t t = e->time_usec > 0 ? e->time_usec : now_realtime_usec();
        int r;

        if (e->result != AUDIT_SUCCESS) {
                r = audit_merge(s, e, t);
                if (r != 0)
                        return MIN(r, 0);
        }

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, t);
        db_bind_text(st, 2, e->channel);
        if (e->actor_uid >= 0)
                db_bind_int64(st, 3, e->actor_uid);
        db_bind_text(st, 4, e->actor);
        db_bind_text(st, 5, e->action);
        db_bind_text(st, 6, e->tenant);
        db_bind_text(st, 7, e->target);
        db_bind_text(st, 8, audit_result_to_string(e->result));
        db_bind_text(st, 9, e->remote);
        db_bind_text(st, 10, e->details);
        db_bind_text(st, 11, e->operator_name);
        db_bind_text(st, 12, e->reason);
        return store_step_done(s, st);
}

/* The columns every reader of events selects, in this order. */
#define AUDIT_COLUMNS                                                                                      \
        "id, time_usec, channel, COALESCE(actor_uid, -1), actor, action, tenant, target, result, remote, " \
        "details, count, COALESCE(last_usec, time_usec), operator_name, reason"

static int read_event(DbStmt *st, AuditEvent *ret) {
        static const int cols[9] = { 2, 4, 5, 6, 7, 9, 10, 13, 14 };
        char *strs[9] = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(cols); i++) {
                r = store_column_strdup(st, cols[i], false, &strs[i]);
                if (r < 0) {
                        for (size_t j = 0; j < i; j++)
                                free(strs[j]);
                        return r;
                }
        }
        *ret = (AuditEvent) {
                .id = db_column_int64(st, 0),
                .time_usec = db_column_int64(st, 1),
                .channel = strs[0],
                .actor_uid = db_column_int64(st, 3),
                .actor = strs[1],
                .action = strs[2],
                .tenant = strs[3],
                .target = strs[4],
                .result = audit_result_from_string(db_column_text(st, 8)),
                .remote = strs[5],
                .details = strs[6],
                .count = (uint64_t) db_column_int64(st, 11),
                .last_usec = db_column_int64(st, 12),
                .operator_name = strs[7],
                .reason = strs[8],
        };
        return 0;
}

/* Steps through st, keeping rows while keep (may be NULL) says so. */
static int read_events(Store *s, DbStmt *st, bool (*keep)(const AuditEvent *e, const void *userdata),
                       const void *userdata, AuditEvent **ret, size_t *ret_n) {
        AuditEvent *list = NULL;
        size_t n = 0, allocated = 0;
        int r, rc;

        while ((rc = db_step(st)) == 1) {
                if (n >= allocated) {
                        size_t na = MAX(allocated * 2, (size_t) 16);
                        AuditEvent *nl = realloc(list, na * sizeof(AuditEvent));
                        if (!nl) {
                                audit_event_array_free(list, n);
                                return -ENOMEM;
                        }
                        list = nl;
                        allocated = na;
                }
                r = read_event(st, &list[n]);
                if (r < 0) {
                        audit_event_array_free(list, n);
                        return r;
                }
                n++;
                if (keep && !keep(&list[n - 1], userdata)) {
                        audit_event_done(&list[--n]);
                        rc = 0;
                        break;
                }
        }
        if (rc != 0) {
                audit_event_array_free(list, n);
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        }

        *ret = list;
        *ret_n = n;
        return 0;
}

int store_audit_list(Store *s, const AuditFilter *f, AuditEvent **ret, size_t *ret_n) {
        /* The CASTs type a parameter whose first use says nothing of its
         * type (PostgreSQL asks). */
        static const char sql[] =
                "SELECT " AUDIT_COLUMNS " FROM audit_events "
                "WHERE id > ?1 AND (CAST(?2 AS TEXT) IS NULL OR tenant = ?2) "
                "AND (CAST(?3 AS TEXT) IS NULL OR target = ?3) "
                "AND (CAST(?4 AS TEXT) IS NULL OR action = ?4) ORDER BY id LIMIT ?5";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, f ? f->after_id : 0);
        db_bind_text(st, 2, f ? f->tenant : NULL);
        db_bind_text(st, 3, f ? f->target : NULL);
        db_bind_text(st, 4, f ? f->action : NULL);
        db_bind_int64(st, 5, f && f->limit > 0 ? (int64_t) f->limit : 1000);
        return read_events(s, st, NULL, NULL, ret, ret_n);
}

/* The SQL of one shape of the audit query: only the filters given appear
 * in it, so that SQLite picks the index of the one that narrows (a
 * placeholder "?2 IS NULL OR actor = ?2" would hide it from the planner).
 * A refusal filter repeats the partial index's condition, which SQLite
 * must see literally to use that index. Parameters: ?1 tenant, ?2 actor,
 * ?3 target, ?4 action, ?5 result, ?6 since, ?7 and ?8 the position to
 * continue before (time, id). */
static int audit_query_sql(Store *s, unsigned shape, const char **ret) {
        char *sql;

        assert(shape < STORE_AUDIT_QUERY_SHAPES);
        if (!s->audit_query_sql[shape]) {
                unsigned result = shape / 8;

                if (asprintf(&sql,
                             "SELECT " AUDIT_COLUMNS " FROM audit_events WHERE tenant = ?1%s%s%s%s "
                             "AND time_usec >= ?6 AND (time_usec, id) < (?7, ?8) "
                             "ORDER BY time_usec DESC, id DESC LIMIT ?9",
                             shape & 1 ? " AND actor = ?2" : "", shape & 2 ? " AND target = ?3" : "",
                             shape & 4 ? " AND action = ?4" : "",
                             result == 1   ? " AND result = ?5"
                             : result == 2 ? " AND result = ?5 AND result <> 'success'"
                                           : "") < 0)
                        return -ENOMEM;
                s->audit_query_sql[shape] = sql;
        }
        *ret = s->audit_query_sql[shape];
        return 0;
}

int store_audit_query(Store *s, const AuditQuery *q, AuditEvent **ret, size_t *ret_n) {
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        unsigned shape = (q->actor ? 1 : 0) | (q->target ? 2 : 0) | (q->action ? 4 : 0);
        const char *sql;
        int r;

        if (!q->tenant || q->limit == 0 || q->limit > AUDIT_QUERY_LIMIT_MAX)
                return -EINVAL;
        if (q->result >= 0)
                shape += q->result == AUDIT_SUCCESS ? 8 : 16;
        r = audit_query_sql(s, shape, &sql);
        if (r < 0)
                return r;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_text(st, 1, q->tenant);
        db_bind_text(st, 2, q->actor);
        db_bind_text(st, 3, q->target);
        db_bind_text(st, 4, q->action);
        if (q->result >= 0)
                db_bind_text(st, 5, audit_result_to_string(q->result));
        db_bind_int64(st, 6, q->since_usec);
        /* Without a position: everything up to until (or now and later),
         * which (until + 1, 0) bounds since ids are positive. */
        if (q->has_before && (q->until_usec <= 0 || q->before_time_usec <= q->until_usec)) {
                db_bind_int64(st, 7, q->before_time_usec);
                db_bind_int64(st, 8, q->before_id);
        } else {
                db_bind_int64(st, 7, q->until_usec > 0 ? q->until_usec + 1 : INT64_MAX);
                db_bind_int64(st, 8, 0);
        }
        db_bind_int64(st, 9, (int64_t) q->limit);
        return read_events(s, st, NULL, NULL, ret, ret_n);
}

typedef struct PruneLimits {
        const AuditPrune *p;
        int64_t last_id_over_size;   /* events up to this id exceed max_rows; 0: none */
} PruneLimits;

static bool prunable(const AuditEvent *e, const void *userdata) {
        const PruneLimits *l = userdata;

        if (e->time_usec >= l->p->hold_usec)
                return false;
        return (l->p->before_usec > 0 && e->last_usec < l->p->before_usec) || e->id <= l->last_id_over_size;
}

int store_audit_prunable(Store *s, const AuditPrune *p, size_t limit, AuditEvent **ret, size_t *ret_n) {
        static const char max_sql[] = "SELECT MAX(id) FROM audit_events";
        static const char sql[] = "SELECT " AUDIT_COLUMNS " FROM audit_events ORDER BY id LIMIT ?1";
        _cleanup_(store_stmt_resetp) DbStmt *max = NULL, *st = NULL;
        PruneLimits l = { .p = p };
        int r, rc;

        /* Events are only ever deleted oldest first, and SQLite gives a new
         * row the largest id plus one: the ids form one run, and the newest
         * max_rows events are those above MAX(id) - max_rows, found without
         * counting the table. */
        if (p->max_rows > 0) {
                r = store_stmt(s, max_sql, &max);
                if (r < 0)
                        return r;
                rc = db_step(max);
                if (rc != 1)
                        return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
                if ((uint64_t) db_column_int64(max, 0) > p->max_rows)
                        l.last_id_over_size = db_column_int64(max, 0) - (int64_t) p->max_rows;
        }

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, (int64_t) limit);
        return read_events(s, st, prunable, &l, ret, ret_n);
}

int store_audit_delete(Store *s, int64_t first_id, int64_t last_id, uint64_t *ret_n) {
        static const char sql[] = "DELETE FROM audit_events WHERE id BETWEEN ?1 AND ?2";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, first_id);
        db_bind_int64(st, 2, last_id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = (uint64_t) db_changes(s->db);
        return 0;
}
