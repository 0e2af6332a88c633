/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The platform's operators (DESIGN.md, "Principals and authorization"):
 * made and removed by the host's administrators (tesseractl operator,
 * D-Bus), each with a password and a TOTP seed that operator_add() shows
 * once, since TOTP is required. They sign in at the platform's endpoint
 * (operator_signin) for a token of their own, "top_…", which no tenant
 * issues and no tenant's route takes as its own user's; and they take,
 * with a stated reason, a short-lived grant "tim_…" to act as one
 * tenant's admin (operator_impersonate): every audit event it causes
 * names the operator and the reason (change_audit), and the tenant's
 * owners read them in their audit trail. Both tokens are kept as digests
 * only. */

#include "change.h"
#include "manager.h"

#define OPERATOR_TOKEN_PREFIX "top_"
#define IMPERSONATION_TOKEN_PREFIX "tim_"
#define OPERATOR_TOKEN_LIFETIME_USEC (30 * 60 * USEC_PER_SEC)
#define IMPERSONATION_LIFETIME_USEC (15 * 60 * USEC_PER_SEC)
#define IMPERSONATION_REASON_MAX_LEN 500
#define OPERATOR_TOTP_ISSUER "tessera platform"

/* password_hash was made on a worker (password-job.h). The TOTP seed in
 * base32 and its otpauth:// URI go to *ret_secret and *ret_uri, shown
 * once. */
int operator_add(Manager *m, Store *s, const Principal *a, const char *name, const char *email,
                 const char *password_hash, char **ret_secret, char **ret_uri, TesseraError *e);
int operator_list(Manager *m, Store *s, const Principal *a, OperatorRecord **ret, size_t *ret_n, TesseraError *e);
/* Removes the operator; their tokens and grants stop at once. */
int operator_remove(Manager *m, Store *s, const Principal *a, const char *name, TesseraError *e);

/* Checks name, password and code (the password on the worker pool: call
 * it from a thread that may wait, not the main loop) and makes an
 * operator token. Failures count in the shared limits per address
 * (-ETOOMANYREFS with the wait in *ret_retry_after) and are audited;
 * every wrong credential is -EKEYREJECTED, the same for all. */
int operator_signin(Manager *m, Store *s, const Principal *caller, const char *name, const char *password,
                    const char *code, char **ret_token, int64_t *ret_expires_usec, unsigned *ret_retry_after,
                    TesseraError *e);

/* A grant for operator a to act as t's admin for reason (1 to
 * IMPERSONATION_REASON_MAX_LEN bytes of text: -EINVAL without one). */
int operator_impersonate(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *reason,
                         char **ret_token, int64_t *ret_expires_usec, TesseraError *e);

/* The principal of an operator token or grant: PRINCIPAL_OPERATOR or
 * PRINCIPAL_IMPERSONATION, its strings borrowed from *ret_token (free it
 * with platform_token_done() after the principal). -EKEYREJECTED for what
 * is no such token, -ETIME for one that expired. */
int operator_token_principal(Store *s, const char *token, const char *channel, const char *remote,
                             PlatformToken *ret_token, Principal *ret);

/* True for text that looks like an operator token or grant. */
bool operator_token_like(const char *token);

/* What operators see across tenants. The tenants by slug, after
 * after_slug (NULL: from the first), limit of them. */
int platform_tenants_list(Manager *m, Store *s, const Principal *a, const char *after_slug, size_t limit,
                          TenantRecord ***ret, size_t *ret_n, TesseraError *e);
/* Users of every tenant whose e-mail address begins with prefix (at least
 * PLATFORM_SEARCH_MIN_LEN characters: a search, not a dump), by address,
 * through an index (store_user_search_email()). */
#define PLATFORM_SEARCH_MIN_LEN 3
#define PLATFORM_SEARCH_MAX_LEN 254
int platform_users_search(Manager *m, Store *s, const Principal *a, const char *prefix, const char *after_email,
                          int64_t after_id, size_t limit, UserRecord ***ret, size_t *ret_n, TesseraError *e);
