/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audit-query.h"

#include <string.h>

static int check_filter(const char *name, const char *value, TesseraError *e) {
        if (value && (value[0] == '\0' || strlen(value) > AUDIT_QUERY_FILTER_MAX))
                return tessera_error_set(e, -EINVAL, "The %s filter must be 1 to %u bytes long.", name,
                                         AUDIT_QUERY_FILTER_MAX);
        return 0;
}

int audit_query(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const AuditQuery *q,
                AuditEvent **ret, size_t *ret_n, TesseraError *e) {
        AuditQuery query = *q;
        int r;

        r = change_authorize(s, a, POLICY_AUDIT_READ, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;

        r = check_filter("actor", q->actor, e);
        if (r >= 0)
                r = check_filter("target", q->target, e);
        if (r >= 0)
                r = check_filter("action", q->action, e);
        if (r >= 0 && (q->result < -1 || q->result >= _AUDIT_RESULT_MAX))
                r = tessera_error_set(e, -EINVAL, "Unknown result; use success, failure, denied, invalid or error.");
        if (r >= 0 && (q->since_usec < 0 || q->until_usec < 0 ||
                       (q->since_usec > 0 && q->until_usec > 0 && q->since_usec > q->until_usec)))
                r = tessera_error_set(e, -EINVAL, "since must not come after until.");
        if (r >= 0 && (q->limit == 0 || q->limit > AUDIT_QUERY_LIMIT_MAX))
                r = tessera_error_set(e, -ERANGE, "The limit must be 1 to %u events.", AUDIT_QUERY_LIMIT_MAX);
        if (r < 0) {
                change_audit_failure(s, a, "audit.read", t->slug, t->slug, e);
                return r;
        }

        query.tenant = t->slug;
        r = store_audit_query(s, &query, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the audit trail of '%s'.", t->slug);
        return 0;
}
