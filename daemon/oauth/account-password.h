/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The signed-in user changes their own password (the account's
 * self-service: POST /api/v1/tenants/{t}/me/password): through the core's
 * one password operation (password-change.h: the password policy, the
 * current password checked by the authentication core, where a wrong one
 * counts towards the lockout every door shares, the new one hashed on a
 * worker), and then, unless the user asks to keep them, every other
 * session of theirs ends (account-sessions.h): whoever learnt the old
 * password is signed out with it.
 *
 * An account without a password (one made by an upstream sign-in) sets
 * its first with current NULL, from a session whose sign-in is at most
 * ACCOUNT_FIRST_PASSWORD_WINDOW_USEC old (-EACCES otherwise): that is the
 * host's password pam_tessera asks for. */

#include <stdbool.h>

#include "auth.h"
#include "change.h"
#include "manager.h"
#include "time-util.h"

/* How recent the sign-in of a session must be for its user to set a first
 * password without a current one. */
#define ACCOUNT_FIRST_PASSWORD_WINDOW_USEC ((int64_t) (10 * 60 * USEC_PER_SEC))

/* From a thread that is not the main loop, with its own Store s (it waits
 * for the workers). p must be u acting on themself (POLICY_ME_PASSWORD).
 * current_sid: the session of the request, which stays (NULL: none
 * stays). *ret_ended (may be NULL) gets how many sessions ended. Errors as
 * password_change_run()'s, with e set. */
int account_password_change(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *current,
                            const char *new_password, bool keep_other_sessions, const char *current_sid,
                            unsigned *ret_ended, TesseraError *e);
