/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fixtures for the unit tests of the authentication core, on top of
 * test-util.h: a Manager with a fixed secret key, a dummy hash and a cheap
 * hash cost, and the three steps of a login in one call. */

#include "auth.h"
#include "test-util.h"

/* yescrypt at cost 1 takes about 2 ms: real, and cheap to run. */
#define TEST_HASH_COST 1

/* test_manager_new(), plus what the core needs: default tenant "acme". */
Manager *auth_test_manager_new(void);
/* A user of tenant "acme" (created on first use) with this password (NULL: none). */
UserRecord *auth_test_user(Manager *m, const char *name, const char *password);
UserRecord *auth_test_reload(Manager *m, const UserRecord *u);

/* Runs the three steps of a password check as root over PAM; returns the
 * outcome and, with ret, the whole result. */
AuthOutcome auth_test_login(Manager *m, const UserRecord *u, const char *password, const char *code,
                            AuthTotpPolicy policy, AuthResult *ret);

/* Number of audit events of this action (NULL: any) with this result (-1: any). */
size_t auth_test_audit_count(Manager *m, const char *action, int result);
/* True when the details, target or actor of any audit event contain needle. */
bool auth_test_audit_contains(Manager *m, const char *needle);

/* Root calling through pam.sock. */
extern const Principal auth_test_root;
