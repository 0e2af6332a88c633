/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The steps every change a principal asks for goes through, in every core
 * operation: the one policy decides (change_authorize), the change and its
 * audit event commit in one transaction (change_begin .. change_commit),
 * and a refusal or failure is recorded too (change_audit_failure). */

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "error.h"
#include "policy.h"
#include "store.h"

/* Appends an audit event for what the principal did. Failing to record is logged
 * but doesn't change the outcome of a denial; for changes, call it inside
 * the change's transaction so both commit together. */
int change_audit(Store *s, const Principal *p, const char *action, const char *tenant, const char *target,
                 AuditResult result, const char *details);

/* Asks the policy (policy.h) whether p may do action to t. When not,
 * records the refusal under the action's name (tenant and target name the
 * object for the audit trail) and returns -EACCES with a message that
 * says what would be allowed; 0 otherwise. The one authorization function
 * of every door. */
int change_authorize(Store *s, const Principal *p, PolicyAction action, PolicyTarget t, const char *tenant,
                     const char *target, TesseraError *e);

/* Records a failed operation after its transaction was rolled back: the
 * result follows from e->code (denied, invalid or error). */
void change_audit_failure(Store *s, const Principal *p, const char *action, const char *tenant, const char *target,
                         const TesseraError *e);

/* A failed begin, commit or write of the store, said so that the caller
 * knows what to do: a full disk and an I/O error are the operator's to fix,
 * and nothing was changed either way. what: "Failed to commit the change". */
int change_storage_failure(TesseraError *e, int r, const char *what);

/* The two ends of a change: begin the transaction (*txn is set so that a
 * _cleanup_(store_rollbackp) rolls it back), and record the action's
 * success and commit (*txn is cleared). */
int change_begin(Store *s, Store **txn, TesseraError *e);
int change_commit(Store **txn, const Principal *p, const char *action, const char *tenant, const char *target,
                  const char *details, TesseraError *e);
