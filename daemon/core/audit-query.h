/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a tenant's audit trail (audit.read): pages of its events,
 * newest first, filtered by actor, target, action, result and time
 * (AuditQuery), for the JSON API's query and export alike. */

#include "audit.h"
#include "change.h"
#include "manager.h"

/* The events of t that q selects (q->tenant is ignored: t's slug counts).
 * A refusal is audited; a query that makes no sense (since after until,
 * a limit out of 1..AUDIT_QUERY_LIMIT_MAX, an over-long filter) is
 * -EINVAL with a sentence that names it. */
int audit_query(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const AuditQuery *q,
                AuditEvent **ret, size_t *ret_n, TesseraError *e);

/* Filters longer than this match no event anybody wrote. */
#define AUDIT_QUERY_FILTER_MAX 512U
