/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Keeps the audit trail within [audit] max_age and max_rows: a thread of
 * its own, with a store connection of its own, deletes the oldest events
 * in small batches, each in a short transaction of its own and with a pause
 * after it, so that logins and token requests, which need the same write
 * lock, get it between two batches. When export_file is set, each batch is
 * appended to it as JSON lines and synced to disk before it is deleted (a
 * crash in between exports a batch twice, never loses it). */

#include <stdint.h>

#include "macro.h"
#include "store-pool.h"

/* Events per batch, per transaction. */
#define AUDIT_PRUNE_BATCH 1000

typedef struct AuditRetentionOptions {
        uint64_t max_age_usec;    /* 0: no age limit */
        uint64_t max_rows;        /* 0: no size limit */
        const char *export_file;  /* NULL: delete without export */
        uint64_t interval_usec;   /* from one pass to the next */
        uint64_t pause_usec;      /* after each batch, with the write lock free */
} AuditRetentionOptions;

typedef struct AuditRetention AuditRetention;

/* Starts the thread, on a connection of its own from pool: a first pass at
 * once, then one every interval. */
int audit_retention_start(StorePool *pool, const AuditRetentionOptions *o, AuditRetention **ret);
/* Stops the thread (between two batches at the latest) and frees. */
AuditRetention *audit_retention_free(AuditRetention *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditRetention *, audit_retention_free);

/* Between two batches: false stops the pass. */
typedef bool (*AuditPruneContinue)(void *userdata);

/* One pass over s on the caller's thread, with now_usec as the present
 * (CLOCK_REALTIME, as events are stamped). more (may be NULL) runs after
 * each batch. *ret_pruned counts the events deleted, also when the pass
 * stops on an error (an export that fails deletes nothing more). */
int audit_prune(Store *s, const AuditRetentionOptions *o, int64_t now_usec, AuditPruneContinue more,
                void *userdata, uint64_t *ret_pruned);
