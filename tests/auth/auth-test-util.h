/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fixtures for the unit tests of the authentication core: a Manager with
 * an in-memory store, a fixed secret key and a cheap hash cost, without an
 * event loop, bus or workers (the core needs none of them). */

#include <check.h>

#include "auth.h"
#include "manager.h"

/* yescrypt at cost 1 takes about 2 ms: enough to be real, cheap to run. */
#define TEST_HASH_COST 1

Manager *test_manager_new(void);
/* Creates tenant "acme" (the default tenant) once and a user in it with
 * this password (NULL: none). */
UserRecord *test_user_new(Manager *m, const char *name, const char *password);
/* Reloads a user from the store. */
UserRecord *test_user_reload(Manager *m, const UserRecord *u);

/* Runs the three steps of a password check and returns the outcome. */
AuthOutcome test_login(Manager *m, const UserRecord *u, const char *password, const char *code, AuthTotpPolicy policy,
                       AuthResult *ret);

/* Number of audit events with this action (NULL: any) and result (-1: any). */
size_t test_audit_count(Manager *m, const char *action, int result);
/* True when any audit event's details or target contain needle. */
bool test_audit_contains(Manager *m, const char *needle);

extern const Actor test_root_actor;

int test_run(Suite *s);
