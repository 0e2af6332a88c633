/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The admin view of a tenant's users: a page of them, filtered and
 * sorted, continued after the last row of the page before. Built to stay
 * as fast at a million users as at a hundred:
 *
 *   - keyset pagination: the next page starts where the index range of
 *     the last one ended (name > ?, or (created, id) > (?, ?)), never an
 *     OFFSET that rereads what came before;
 *   - every filter has an index that yields its rows in the page's order
 *     (store-schema.c: users_role, users_disabled, users_locked,
 *     users_expiring, users_created), so a page reads about as many rows
 *     as it returns, however rare the filter's users are;
 *   - a prefix reads two index ranges, names in [prefix, prefix + 0xff)
 *     and e-mail addresses (case-folded) in the same range, a page of
 *     each with the other filters, and merges them; never LIKE '%x%' over
 *     every row. The range of names is read in the page's order and stops
 *     at a page; that of e-mail addresses is not in name order, so all its
 *     matches are read (from the index, users_email_name, without their
 *     rows when sorted by name without filters) and the first page kept:
 *     a prefix that begins most of a tenant's addresses ("u" where they
 *     are all u...@) costs in proportion to the tenant's size.
 *
 * The SQL depends on which filters are given, so that the planner sees
 * only constraints that hold: one statement per shape, built and prepared
 * once per connection (Store.user_search). */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-internal.h"

/* Where each parameter goes, whatever the shape. */
enum {
        P_TENANT = 1,
        P_PREFIX,
        P_PREFIX_END,
        P_ROLE,
        P_NOW,
        P_CREATED_AFTER,
        P_CREATED_BEFORE,
        P_AFTER_NAME,
        P_AFTER_CREATED,
        P_AFTER_ID,
        P_LIMIT,
};

static unsigned shape_of(const UserQuery *q) {
        unsigned shape = (unsigned) q->sort;

        shape = shape * 2 + !!q->prefix;
        shape = shape * 5 + (unsigned) (q->state + 1);
        shape = shape * 2 + (q->role >= 0);
        shape = shape * 2 + (q->created_after > 0);
        shape = shape * 2 + (q->created_before > 0);
        shape = shape * 2 + q->after;
        return shape;
}

/* "Expired" as user_record_state() has it: disabled wins over expired
 * over locked. */
#define EXPIRED "(u.expires_usec > 0 AND u.expires_usec <= ?5)"

/* The conditions of the query's filters and of its position, on the
 * table as "u", ending each with the page's order: the same text in both
 * ranges of a prefix search and in the plain list. */
static int write_conditions(FILE *f, const UserQuery *q) {
        const char *state = "";

        switch (q->state) {
        case USER_STATE_DISABLED:
                state = " AND u.disabled = 1";
                break;
        case USER_STATE_EXPIRED:
                state = " AND u.expires_usec > 0 AND u.disabled = 0 AND " EXPIRED;
                break;
        case USER_STATE_LOCKED:
                state = " AND u.locked_until_usec > 0 AND u.disabled = 0 AND NOT " EXPIRED
                        " AND u.locked_until_usec > ?5";
                break;
        case USER_STATE_ACTIVE:
                state = " AND u.disabled = 0 AND NOT " EXPIRED " AND u.locked_until_usec <= ?5";
                break;
        default:
                break;
        }

        if (q->role >= 0)
                fputs(" AND u.role = ?4", f);
        fputs(state, f);
        if (q->created_after > 0)
                fputs(" AND u.created_usec >= ?6", f);
        if (q->created_before > 0)
                fputs(" AND u.created_usec < ?7", f);
        if (q->sort == USER_SORT_NAME) {
                if (q->after)
                        fputs(" AND u.name > ?8", f);
                fputs(" ORDER BY u.name", f);
        } else {
                if (q->after)
                        fputs(" AND (u.created_usec, u.id) > (?9, ?10)", f);
                fputs(" ORDER BY u.created_usec, u.id", f);
        }
        return fputs(" LIMIT ?11", f) < 0 ? -ENOMEM : 0;
}

static int build_sql(const UserQuery *q, char **ret) {
        _cleanup_free_ char *sql = NULL;
        FILE *f;
        size_t n;

        f = open_memstream(&sql, &n);
        if (!f)
                return -ENOMEM;
        if (q->prefix) {
                /* A page of each range, with every filter, in the page's
                 * order: the page is the first of the two merged. Then the
                 * rows of those ids; the CROSS JOIN keeps the planner from
                 * walking every user in order instead. */
                fputs("SELECT " USER_COLUMNS "FROM ("
                      "SELECT id FROM (SELECT u.id FROM users u WHERE u.tenant_id = ?1 AND u.name >= ?2 AND "
                      "u.name < ?3",
                      f);
                write_conditions(f, q);
                fputs(") UNION SELECT id FROM (SELECT u.id FROM users u WHERE u.tenant_id = ?1 AND "
                      "u.email >= ?2 COLLATE NOCASE AND u.email < ?3 COLLATE NOCASE",
                      f);
                write_conditions(f, q);
                fputs(")) m CROSS JOIN users u ON u.id = m.id JOIN tenants t ON t.id = u.tenant_id", f);
                fputs(q->sort == USER_SORT_NAME ? " ORDER BY u.name" : " ORDER BY u.created_usec, u.id", f);
                fputs(" LIMIT ?11", f);
        } else {
                fputs(USER_SELECT "WHERE u.tenant_id = ?1", f);
                write_conditions(f, q);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(sql);
        return 0;
}

static int statement(Store *s, const UserQuery *q, sqlite3_stmt **ret) {
        unsigned shape = shape_of(q);
        _cleanup_free_ char *sql = NULL;
        int r, rc;

        assert(shape < STORE_USER_SEARCH_SHAPES);
        if (!s->user_search[shape]) {
                r = build_sql(q, &sql);
                if (r < 0)
                        return r;
                rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->user_search[shape], NULL);
                if (rc != SQLITE_OK)
                        return log_error_errno(store_errno(rc), "Failed to prepare statement: %s: %s",
                                               sqlite3_errmsg(s->db), sql);
        }
        *ret = s->user_search[shape];
        return 0;
}

int store_user_search(Store *s, const UserQuery *q, UserRecord ***ret, size_t *ret_n) {
        _cleanup_(store_stmt_resetp) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *end = NULL;
        int r;

        if (q->sort < 0 || q->sort >= _USER_SORT_MAX || q->state < -1 || q->state >= _USER_STATE_MAX ||
            q->role >= _USER_ROLE_MAX || q->limit == 0 || (q->after && q->sort == USER_SORT_NAME && !q->after_name))
                return -EINVAL;

        r = statement(s, q, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, P_TENANT, q->tenant_id);
        if (q->prefix) {
                /* Every text that begins with the prefix sorts in [prefix,
                 * prefix + 0xff): no byte of UTF-8 is 0xff, and NOCASE folds
                 * ASCII only. */
                size_t n = strlen(q->prefix);

                end = malloc(n + 2);
                if (!end)
                        return -ENOMEM;
                memcpy(end, q->prefix, n);
                end[n] = (char) 0xff;
                end[n + 1] = '\0';
                store_bind_text(st, P_PREFIX, q->prefix);
                if (sqlite3_bind_text(st, P_PREFIX_END, end, (int) n + 1, SQLITE_TRANSIENT) != SQLITE_OK)
                        return -ENOMEM;
        }
        if (q->role >= 0)
                store_bind_text(st, P_ROLE, user_role_to_string(q->role));
        store_bind_int64(st, P_NOW, q->now_usec);
        store_bind_int64(st, P_CREATED_AFTER, q->created_after);
        store_bind_int64(st, P_CREATED_BEFORE, q->created_before);
        if (q->after && q->sort == USER_SORT_NAME)
                store_bind_text(st, P_AFTER_NAME, q->after_name);
        store_bind_int64(st, P_AFTER_CREATED, q->after_created);
        store_bind_int64(st, P_AFTER_ID, q->after_id);
        store_bind_int64(st, P_LIMIT, q->limit);
        return store_fetch_all(s, st, store_user_from_row, store_user_array_free, (void ***) ret, ret_n);
}
