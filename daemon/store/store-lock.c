/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Serialization of read-then-write work that no row guards (store.h,
 * store_lock()). */

#include "store-internal.h"

/* The first key of the two-key advisory locks: one per StoreLock, in a
 * range of their own ("tess" and the lock's number), apart from the
 * one-key locks of the migrations and of the outbox. */
#define LOCK_KEY_BASE 0x74657300

int store_lock(Store *s, StoreLock what, int64_t id) {
        static const char sql[] = "SELECT pg_advisory_xact_lock(CAST(?1 AS INTEGER), CAST(?2 AS INTEGER))";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        if (what < 0 || what >= _STORE_LOCK_MAX || !db_in_transaction(s->db))
                return -EINVAL;
        /* SQLite: store_begin() holds the database's one write lock
         * already (BEGIN IMMEDIATE), for the whole transaction. */
        if (db_dialect(s->db) != DB_DIALECT_POSTGRESQL)
                return 0;
        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, LOCK_KEY_BASE + (int64_t) what);
        /* Ids beyond 31 bits share a key with a smaller one: more waiting
         * in the rare case, never less. */
        db_bind_int64(st, 2, id & INT32_MAX);
        return store_step_done(s, st);
}
