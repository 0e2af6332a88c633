/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "change.h"

#include <jansson.h>

#include "log.h"

int change_audit(Store *s, const Principal *p, const char *action, const char *tenant, const char *target,
                 AuditResult result, const char *details) {
        AuditEvent e = {
                .channel = p->channel,
                .actor_uid = p->uid,
                .actor = p->name,
                .action = action,
                .tenant = tenant,
                .target = target,
                .result = result,
                .remote = p->remote,
                .details = details,
                /* The one place where an operator's doing is marked:
                 * every event of a change they caused, as themselves or
                 * as a tenant's admin, names them; an impersonation also
                 * the reason they gave, for the tenant's owners to read. */
                .operator_name = p->kind == PRINCIPAL_OPERATOR || p->kind == PRINCIPAL_IMPERSONATION ? p->name
                                                                                                     : NULL,
                .reason = p->kind == PRINCIPAL_IMPERSONATION ? p->reason : NULL,
        };
        int r;

        r = store_audit_append(s, &e);
        if (r < 0)
                return log_error_errno(r, "Failed to record audit event %s on %s: %m", action, strna(target));
        return 0;
}

int change_authorize(Store *s, const Principal *p, PolicyAction action, PolicyTarget t, const char *tenant,
                     const char *target, TesseraError *e) {
        int r = policy_check(p, action, &t);

        if (r == 0)
                return 0;
        if (r != -EACCES)
                /* A programming error (an action without its tenant): refused
                 * all the same, and said so. */
                log_error_errno(r, "Policy check of %s asked wrongly; refusing: %m",
                                strna(policy_action_to_string(action)));
        char message[256];

        tessera_error_set(e, -EACCES, "%s", policy_refusal_message(p, action, target, message, sizeof(message)));
        change_audit_failure(s, p, policy_action_to_string(action) ?: "unknown", tenant, target, e);
        return -EACCES;
}

static AuditResult result_for(int code) {
        switch (code) {
        case -EACCES:
        case -EPERM:
        case -EUSERS:   /* refused by the tenant's plan */
                return AUDIT_DENIED;
        case -EINVAL:
        case -ENOENT:
        case -EEXIST:
        case -ERANGE:
        case -ENOTEMPTY:
        case -E2BIG:
        case -ENOSPC:
        case -ENOTUNIQ:
                return AUDIT_INVALID;
        case -EKEYREJECTED:
                return AUDIT_FAILURE;
        default:
                return AUDIT_ERROR;
        }
}

void change_audit_failure(Store *s, const Principal *p, const char *action, const char *tenant, const char *target,
                         const TesseraError *e) {
        _cleanup_free_ char *details = NULL;
        json_t *j;

        j = json_pack("{s:s, s:i}", "error", tessera_error_message(e), "errno", e ? -e->code : 0);
        if (j) {
                details = json_dumps(j, JSON_COMPACT);
                json_decref(j);
        }
        (void) change_audit(s, p, action, tenant, target, result_for(e ? e->code : -EIO), details);
}

/* A failed begin or commit, said so that the caller knows what to do: a
 * full disk and an I/O error are the operator's to fix, and nothing was
 * changed either way. */
int change_storage_failure(TesseraError *e, int r, const char *what) {
        switch (r) {
        case -EDQUOT:
                return tessera_error_set(e, r,
                                         "%s: the disk holding tesserad's database is full. Nothing was changed; "
                                         "free some space, then try again (tesserad goes on by itself).",
                                         what);
        case -EIO:
                return tessera_error_set(e, r,
                                         "%s: tesserad could not write its database (an I/O error, see its log). "
                                         "Nothing was changed; try again later.",
                                         what);
        case -EBUSY:
                return tessera_error_set(e, r, "%s: the database is busy; try again.", what);
        default:
                return tessera_error_set(e, r, "%s.", what);
        }
}

int change_begin(Store *s, Store **txn, TesseraError *e) {
        int r = store_begin(s);

        if (r < 0)
                return change_storage_failure(e, r, "Could not begin the change");
        *txn = s;
        return 0;
}

int change_commit(Store **txn, const Principal *p, const char *action, const char *tenant, const char *target,
                  const char *details, TesseraError *e) {
        int r;

        r = change_audit(*txn, p, action, tenant, target, AUDIT_SUCCESS, details);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to record the change in the audit trail");
        r = store_commit(TAKE_PTR(*txn));
        if (r < 0)
                return change_storage_failure(e, r, "Failed to commit the change to the database");
        return 0;
}
