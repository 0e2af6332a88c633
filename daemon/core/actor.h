/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who asks, through which door: every core operation gets one, checks it
 * and records it in the audit trail. */

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "error.h"
#include "store.h"

typedef struct Actor {
        const char *channel;      /* "dbus", "pam", "http" */
        int64_t uid;              /* the caller's uid, -1 when not known */
        const char *name;         /* a user or client name when known */
        const char *remote;       /* peer address or remote host */
        bool is_admin;            /* root or member of the admin group */
} Actor;

/* Appends an audit event for what actor did. Failing to record is logged
 * but doesn't change the outcome of a denial; for changes, call it inside
 * the change's transaction so both commit together. */
int actor_audit(Store *s, const Actor *a, const char *action, const char *tenant, const char *target,
                AuditResult result, const char *details);

/* For core operations: when the actor is not an administrator, records the
 * denial and returns -EACCES with a message; 0 otherwise. */
int actor_require_admin(Store *s, const Actor *a, const char *action, const char *tenant, const char *target,
                        TesseraError *e);

/* Records a failed operation after its transaction was rolled back: the
 * result follows from e->code (denied, invalid or error). */
void actor_audit_failure(Store *s, const Actor *a, const char *action, const char *tenant, const char *target,
                         const TesseraError *e);

/* The two ends of a change: begin the transaction (*txn is set so that a
 * _cleanup_(store_rollbackp) rolls it back), and record the action's
 * success and commit (*txn is cleared). */
int actor_begin(Store *s, Store **txn, TesseraError *e);
int actor_commit(Store **txn, const Actor *a, const char *action, const char *tenant, const char *target,
                 const char *details, TesseraError *e);
