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
 *   - a prefix is two index ranges, never LIKE '%x%' over every row:
 *     names in [prefix, prefix + 0xff), then the e-mail addresses
 *     (case-folded) in the same range whose name is not in it. Sorted by
 *     name, a search lists the first range by name, then the second by
 *     address (UserQuery.after_phase says in which the position lies):
 *     each is read in its own index's order and stops at the page's end,
 *     however many users match. Sorted by creation time, the two ranges
 *     are read whole, merged and sorted: that costs the number of
 *     matches.
 *
 * The SQL depends on which filters are given, so that the planner sees
 * only constraints that hold: one statement per shape, built and prepared
 * once per connection (Store.user_search).
 *
 * Two dialects. SQLite compares addresses by its NOCASE collation (the
 * indexes are declared so) and is told which index to read (INDEXED BY,
 * CROSS JOIN); PostgreSQL compares lower(email) and plans by itself. The
 * ranges and the keyset order rely on byte order, SQLite's BINARY: a
 * PostgreSQL schema must give name and email the "C" collation. A range's
 * end is the prefix followed by a byte no UTF-8 text holds (0xff) for
 * SQLite, which compares bytes whatever they are; PostgreSQL accepts only
 * valid UTF-8, and there U+10FFFF, the greatest character, takes its
 * place (a name with U+10FFFF right after the prefix would be missed:
 * that character is a noncharacter, never in a name or an address). */

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
        P_AFTER_EMAIL,
};

/* How a query reads its rows. */
typedef enum Plan {
        PLAN_LIST,                /* no prefix: one index range in the page's order */
        PLAN_NAMES,               /* a prefix by name: the names that begin with it... */
        PLAN_ADDRESSES,           /* ...then the addresses that do, of the other users */
        PLAN_MERGED,              /* a prefix by creation time: both ranges, merged */
        _PLAN_MAX,
} Plan;

static unsigned shape_of(const UserQuery *q, Plan plan) {
        unsigned shape = (unsigned) plan;

        shape = shape * 2 + (unsigned) q->sort;
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

/* The conditions of the query's filters, on the table as "u". */
static void write_filters(FILE *f, const UserQuery *q) {
        switch (q->state) {
        case USER_STATE_DISABLED:
                fputs(" AND u.disabled = 1", f);
                break;
        case USER_STATE_EXPIRED:
                fputs(" AND u.expires_usec > 0 AND u.disabled = 0 AND " EXPIRED, f);
                break;
        case USER_STATE_LOCKED:
                fputs(" AND u.locked_until_usec > 0 AND u.disabled = 0 AND NOT " EXPIRED
                      " AND u.locked_until_usec > ?5",
                      f);
                break;
        case USER_STATE_ACTIVE:
                fputs(" AND u.disabled = 0 AND NOT " EXPIRED " AND u.locked_until_usec <= ?5", f);
                break;
        default:
                break;
        }
        if (q->role >= 0)
                fputs(" AND u.role = ?4", f);
        if (q->created_after > 0)
                fputs(" AND u.created_usec >= ?6", f);
        if (q->created_before > 0)
                fputs(" AND u.created_usec < ?7", f);
}

/* The position and the order of a page by name or by creation time. */
static void write_order(FILE *f, const UserQuery *q) {
        if (q->sort == USER_SORT_NAME) {
                if (q->after)
                        fputs(" AND u.name > ?8", f);
                fputs(" ORDER BY u.name", f);
        } else {
                if (q->after)
                        fputs(" AND (u.created_usec, u.id) > (?9, ?10)", f);
                fputs(" ORDER BY u.created_usec, u.id", f);
        }
        fputs(" LIMIT ?11", f);
}

#define NAME_IN_RANGE "u.name >= ?2 AND u.name < ?3"
#define EMAIL_IN_RANGE "u.email >= ?2 COLLATE NOCASE AND u.email < ?3 COLLATE NOCASE"
#define EMAIL_IN_RANGE_PG "lower(u.email) >= lower(?2) AND lower(u.email) < lower(?3)"

static int build_sql(const UserQuery *q, Plan plan, DbDialect dialect, char **ret) {
        bool pg = dialect == DB_DIALECT_POSTGRESQL;
        _cleanup_free_ char *sql = NULL;
        FILE *f;
        size_t n;

        f = open_memstream(&sql, &n);
        if (!f)
                return -ENOMEM;
        switch (plan) {
        case PLAN_LIST:
                fputs(USER_SELECT "WHERE u.tenant_id = ?1", f);
                write_filters(f, q);
                write_order(f, q);
                break;
        case PLAN_NAMES:
                fputs(USER_SELECT "WHERE u.tenant_id = ?1 AND " NAME_IN_RANGE, f);
                write_filters(f, q);
                write_order(f, q);
                break;
        case PLAN_ADDRESSES:
                /* Addresses are unique in a tenant (users_email): one is
                 * a position of its own. The states but "active" are
                 * rare, each with its partial index: read that and check
                 * the addresses on its few rows, rather than every address
                 * that matches for the state. The planner, without
                 * statistics, would walk the addresses in order instead:
                 * INDEXED BY says which (each partial index's condition
                 * is among the filters). */
                fprintf(f, "SELECT " USER_COLUMNS "FROM users u %s JOIN tenants t ON t.id = u.tenant_id "
                           "WHERE u.tenant_id = ?1 AND %s AND NOT (" NAME_IN_RANGE ")",
                        pg                               ? ""
                        : q->state == USER_STATE_DISABLED ? "INDEXED BY users_disabled"
                        : q->state == USER_STATE_LOCKED  ? "INDEXED BY users_locked"
                        : q->state == USER_STATE_EXPIRED ? "INDEXED BY users_expiring"
                                                         : "",
                        pg ? EMAIL_IN_RANGE_PG : EMAIL_IN_RANGE);
                write_filters(f, q);
                if (q->after)
                        fputs(pg ? " AND lower(u.email) > lower(?12)" : " AND u.email > ?12 COLLATE NOCASE", f);
                fputs(pg ? " ORDER BY lower(u.email) LIMIT ?11" : " ORDER BY u.email COLLATE NOCASE LIMIT ?11", f);
                break;
        default:
                /* A page of each range with every filter, in the page's
                 * order, merged; then the rows of those ids: the CROSS
                 * JOIN keeps the planner from walking every user in order
                 * instead. */
                fputs("SELECT " USER_COLUMNS "FROM (SELECT id FROM (SELECT u.id FROM users u WHERE u.tenant_id = ?1 AND "
                      NAME_IN_RANGE,
                      f);
                write_filters(f, q);
                write_order(f, q);
                /* Each subquery named: PostgreSQL before 16 asks. */
                fprintf(f, ") by_name UNION SELECT id FROM (SELECT u.id FROM users u WHERE u.tenant_id = ?1 AND %s",
                        pg ? EMAIL_IN_RANGE_PG : EMAIL_IN_RANGE);
                write_filters(f, q);
                write_order(f, q);
                /* PostgreSQL has no CROSS JOIN ... ON, and needs no hint. */
                fprintf(f, ") by_email) m %s JOIN users u ON u.id = m.id JOIN tenants t ON t.id = u.tenant_id "
                           "ORDER BY u.created_usec, u.id LIMIT ?11",
                        pg ? "" : "CROSS");
                break;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(sql);
        return 0;
}

static int statement(Store *s, const UserQuery *q, Plan plan, DbStmt **ret) {
        unsigned shape = shape_of(q, plan);
        _cleanup_free_ char *sql = NULL;
        int r;

        assert(shape < STORE_USER_SEARCH_SHAPES);
        if (!s->user_search[shape]) {
                r = build_sql(q, plan, db_dialect(s->db), &sql);
                if (r < 0)
                        return r;
                /* Logged by the backend when it fails. */
                r = db_stmt_new(s->db, sql, &s->user_search[shape]);
                if (r < 0)
                        return r;
        }
        *ret = s->user_search[shape];
        return 0;
}

/* One read of plan for q, limit rows at most. */
static int run(Store *s, const UserQuery *q, Plan plan, unsigned limit, UserRecord ***ret, size_t *ret_n) {
        /* Before st: a binding must outlive the statement's run. */
        _cleanup_free_ char *end = NULL;
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        r = statement(s, q, plan, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, P_TENANT, q->tenant_id);
        if (q->prefix) {
                /* Every text that begins with the prefix sorts in [prefix,
                 * prefix + 0xff): no byte of UTF-8 is 0xff, and NOCASE folds
                 * ASCII only. PostgreSQL: U+10FFFF instead (see the top). */
                static const char sqlite_end[] = "\xff", pg_end[] = "\xf4\x8f\xbf\xbf";
                const char *e = DB_SQL(s->db, sqlite_end, pg_end);
                size_t n = strlen(q->prefix), m = strlen(e);

                end = malloc(n + m + 1);
                if (!end)
                        return -ENOMEM;
                memcpy(end, q->prefix, n);
                memcpy(end + n, e, m + 1);
                db_bind_text(st, P_PREFIX, q->prefix);
                r = db_bind_text_n(st, P_PREFIX_END, end, n + m);
                if (r < 0)
                        return r;
        }
        if (q->role >= 0)
                db_bind_text(st, P_ROLE, user_role_to_string(q->role));
        db_bind_int64(st, P_NOW, q->now_usec);
        db_bind_int64(st, P_CREATED_AFTER, q->created_after);
        db_bind_int64(st, P_CREATED_BEFORE, q->created_before);
        if (q->after && q->after_name)
                db_bind_text(st, P_AFTER_NAME, q->after_name);
        if (q->after && q->after_email)
                db_bind_text(st, P_AFTER_EMAIL, q->after_email);
        db_bind_int64(st, P_AFTER_CREATED, q->after_created);
        db_bind_int64(st, P_AFTER_ID, q->after_id);
        db_bind_int64(st, P_LIMIT, limit);
        return store_fetch_all(s, st, store_user_from_row, store_user_array_free, (void ***) ret, ret_n);
}

/* A search by name: the rest of the names' range after the position (if
 * it lies there), then as much of the addresses' range as the page has
 * room for. */
static int search_by_name(Store *s, const UserQuery *q, UserRecord ***ret, size_t *ret_n) {
        UserRecord **names = NULL, **addresses = NULL, **all;
        size_t n_names = 0, n_addresses = 0;
        UserQuery rest = *q;
        int r;

        if (!q->after || q->after_phase == 0) {
                r = run(s, q, PLAN_NAMES, q->limit, &names, &n_names);
                if (r < 0)
                        return r;
                /* The addresses' range from its start. */
                rest.after = false;
        }
        if (n_names < q->limit) {
                r = run(s, &rest, PLAN_ADDRESSES, q->limit - (unsigned) n_names, &addresses, &n_addresses);
                if (r < 0) {
                        user_record_array_free(names, n_names);
                        return r;
                }
        }
        if (n_addresses == 0) {
                free(addresses);
                *ret = names;
                *ret_n = n_names;
                return 0;
        }
        all = reallocarray(names, n_names + n_addresses, sizeof(UserRecord *));
        if (!all) {
                user_record_array_free(names, n_names);
                user_record_array_free(addresses, n_addresses);
                return -ENOMEM;
        }
        memcpy(all + n_names, addresses, n_addresses * sizeof(UserRecord *));
        free(addresses);
        *ret = all;
        *ret_n = n_names + n_addresses;
        return 0;
}

int store_user_search(Store *s, const UserQuery *q, UserRecord ***ret, size_t *ret_n) {
        if (q->sort < 0 || q->sort >= _USER_SORT_MAX || q->state < -1 || q->state >= _USER_STATE_MAX ||
            q->role >= _USER_ROLE_MAX || q->limit == 0 || q->after_phase < 0 || q->after_phase > 1 ||
            (q->after && q->sort == USER_SORT_NAME && !(q->after_phase == 0 ? q->after_name : q->after_email)) ||
            (q->after_phase == 1 && (!q->prefix || q->sort != USER_SORT_NAME)))
                return -EINVAL;

        if (!q->prefix)
                return run(s, q, PLAN_LIST, q->limit, ret, ret_n);
        if (q->sort == USER_SORT_NAME)
                return search_by_name(s, q, ret, ret_n);
        return run(s, q, PLAN_MERGED, q->limit, ret, ret_n);
}
