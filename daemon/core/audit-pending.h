/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Audit events decided now and written later, in the transaction that
 * makes the answer they describe durable: the OpenID provider's requests
 * are answered only once their record is committed, in a batch with other
 * requests' (batch-writer.h), on another thread. The events keep copies of
 * everything, so the request that made them may go meanwhile; writing
 * them goes through change_audit(), the one audit path of the core. */

#include <stdbool.h>

#include "audit.h"
#include "macro.h"
#include "principal.h"
#include "store.h"

#define PENDING_AUDIT_MAX 4

typedef struct PendingAudit {
        /* Each event with its strings in one allocation. */
        AuditEvent *events[PENDING_AUDIT_MAX];
        size_t n;
        bool failed;              /* an event could not be kept: writing fails */
} PendingAudit;

/* Adds what p did (its channel, remote and name: the actor) to the events
 * of a. details_format makes a JSON object, or is NULL. */
void pending_audit_add(PendingAudit *a, const Principal *p, const char *action, const char *tenant,
                       const char *target, AuditResult result, const char *details_format, ...) _printf_(7, 8);
/* Appends the events, in the order they were added, inside the caller's
 * transaction. -ENOMEM when one of them could not be kept. */
int pending_audit_write(Store *s, const PendingAudit *a);
void pending_audit_done(PendingAudit *a);
