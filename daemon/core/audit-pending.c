/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audit-pending.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "log.h"

/* Copies s after the event, moving *p on; NULL stays NULL. */
static const char *put(char **p, const char *s) {
        char *at = *p;
        size_t n;

        if (!s)
                return NULL;
        n = strlen(s) + 1;
        memcpy(at, s, n);
        *p += n;
        return at;
}

static size_t size_of(const char *s) {
        return s ? strlen(s) + 1 : 0;
}

void pending_audit_add(PendingAudit *a, const Principal *p, const char *action, const char *tenant,
                       const char *target, AuditResult result, const char *details_format, ...) {
        _cleanup_free_ char *details = NULL;
        AuditEvent *e;
        va_list ap;
        char *at;

        if (a->n >= ELEMENTSOF(a->events)) {
                /* A programming error: the callers add one or two. */
                log_error("Too many audit events for one answer; dropping %s.", action);
                a->failed = true;
                return;
        }
        if (details_format) {
                va_start(ap, details_format);
                if (vasprintf(&details, details_format, ap) < 0)
                        details = NULL;
                va_end(ap);
                if (!details) {
                        a->failed = true;
                        return;
                }
        }
        e = malloc(sizeof(AuditEvent) + size_of(p->channel) + size_of(p->remote) + size_of(p->name) +
                   size_of(action) + size_of(tenant) + size_of(target) + size_of(details) + size_of(p->reason));
        if (!e) {
                a->failed = true;
                return;
        }
        at = (char *) (e + 1);
        *e = (AuditEvent) {
                .actor_uid = p->uid,
                .result = result,
        };
        e->channel = put(&at, p->channel);
        e->remote = put(&at, p->remote);
        e->actor = put(&at, p->name);
        e->action = put(&at, action);
        e->tenant = put(&at, tenant);
        e->target = put(&at, target);
        e->details = put(&at, details);
        /* The principal's kind goes as the markings change_audit() makes
         * of it, and comes back from them in pending_audit_write(). */
        e->operator_name = p->kind == PRINCIPAL_OPERATOR || p->kind == PRINCIPAL_IMPERSONATION ? e->actor : NULL;
        e->reason = p->kind == PRINCIPAL_IMPERSONATION ? put(&at, p->reason) : NULL;
        a->events[a->n++] = e;
}

int pending_audit_write(Store *s, const PendingAudit *a) {
        if (a->failed)
                return -ENOMEM;
        for (size_t i = 0; i < a->n; i++) {
                const AuditEvent *e = a->events[i];
                Principal p = {
                        .kind = e->reason ? PRINCIPAL_IMPERSONATION
                              : e->operator_name ? PRINCIPAL_OPERATOR
                                                 : PRINCIPAL_ANONYMOUS,
                        .channel = e->channel,
                        .remote = e->remote,
                        .name = e->actor,
                        .uid = e->actor_uid,
                        .reason = e->reason,
                };
                int r;

                r = change_audit(s, &p, e->action, e->tenant, e->target, e->result, e->details);
                if (r < 0)
                        return r;
        }
        return 0;
}

void pending_audit_done(PendingAudit *a) {
        for (size_t i = 0; i < a->n; i++)
                free(a->events[i]);
        *a = (PendingAudit) {};
}
