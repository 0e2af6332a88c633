/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audit.h"

#include <stdlib.h>

#include "macro.h"

static const char *const result_names[_AUDIT_RESULT_MAX] = {
        [AUDIT_SUCCESS] = "success",
        [AUDIT_FAILURE] = "failure",
        [AUDIT_DENIED] = "denied",
        [AUDIT_INVALID] = "invalid",
        [AUDIT_ERROR] = "error",
};

const char *audit_result_to_string(AuditResult r) {
        return r >= 0 && r < _AUDIT_RESULT_MAX ? result_names[r] : "unknown";
}

int audit_result_from_string(const char *s) {
        for (int i = 0; s && i < _AUDIT_RESULT_MAX; i++)
                if (streq(s, result_names[i]))
                        return i;
        return -EINVAL;
}

void audit_event_done(AuditEvent *e) {
        free((char *) e->channel);
        free((char *) e->actor);
        free((char *) e->action);
        free((char *) e->tenant);
        free((char *) e->target);
        free((char *) e->remote);
        free((char *) e->details);
        free((char *) e->operator_name);
        free((char *) e->reason);
        *e = (AuditEvent) {};
}

void audit_event_array_free(AuditEvent *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                audit_event_done(&a[i]);
        free(a);
}
