/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Audit events: an append-only record of every authentication, change and
 * denial. Events never hold secrets.
 *
 * Repeats are counted, not copied: a refusal (any result but success)
 * identical to one recorded less than AUDIT_MERGE_WINDOW_USEC before (the
 * same channel, actor, action, tenant, target, remote, result and details)
 * adds one to that event's count and moves its last time on, so that a
 * flood of wrong credentials costs a row a minute, not a row a request.
 * Successes are each an event of their own. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define AUDIT_MERGE_WINDOW_USEC (60 * USEC_PER_SEC)

typedef enum AuditResult {
        AUDIT_SUCCESS,
        AUDIT_FAILURE,     /* the request was valid but did not succeed (wrong password) */
        AUDIT_DENIED,      /* the caller was not allowed to ask */
        AUDIT_INVALID,     /* the request itself was bad */
        AUDIT_ERROR,       /* tesserad could not carry it out */
        _AUDIT_RESULT_MAX,
} AuditResult;

typedef struct AuditEvent {
        int64_t id;               /* set by the store */
        int64_t time_usec;        /* 0: now */
        const char *channel;      /* "dbus", "pam", "http" */
        int64_t actor_uid;        /* -1 when not known */
        const char *actor;        /* user name, client id, ... */
        const char *action;       /* "user.create", "auth.password", ... */
        const char *tenant;
        const char *target;
        AuditResult result;
        const char *remote;       /* remote host, peer address */
        const char *details;      /* a JSON object, or NULL */
        /* A platform operator's doing: their name; and when they acted
         * as a tenant's admin (impersonation), the reason they gave. */
        const char *operator_name;
        const char *reason;
        /* Set by the store: how many identical events this one stands
         * for, and when the last of them happened (time_usec is the first). */
        uint64_t count;
        int64_t last_usec;
} AuditEvent;

typedef struct AuditFilter {
        const char *tenant;       /* NULL: all */
        const char *target;       /* NULL: all */
        const char *action;       /* NULL: all */
        int64_t after_id;         /* only events with a larger id */
        size_t limit;             /* 0: a default of 1000 */
} AuditFilter;

/* A tenant's audit query: newest first, in pages that continue after a
 * position (time, id), each filter an index's (store-schema.c), so that
 * a page costs the same however deep it lies. */
typedef struct AuditQuery {
        const char *tenant;       /* the tenant's slug: required */
        const char *actor;        /* NULL: any */
        const char *target;
        const char *action;
        int result;               /* AuditResult, or -1: any */
        int64_t since_usec;       /* first seen at or after; 0: no bound */
        int64_t until_usec;       /* first seen at or before; 0: no bound */
        bool has_before;          /* continue after (before_time_usec, before_id), exclusive */
        int64_t before_time_usec;
        int64_t before_id;
        size_t limit;             /* rows, 1..AUDIT_QUERY_LIMIT_MAX */
} AuditQuery;

#define AUDIT_QUERY_LIMIT_MAX 10000U

const char *audit_result_to_string(AuditResult r);
int audit_result_from_string(const char *s);

/* Frees the strings of an event read from the store. */
void audit_event_done(AuditEvent *e);
/* Frees events returned by store_audit_list(), whose strings it owns. */
void audit_event_array_free(AuditEvent *a, size_t n);
