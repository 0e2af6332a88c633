/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The lockout's arithmetic, and the same lockout for names that are no
 * user.
 *
 * An account is locked after [auth] lockout_failures failures within
 * lockout_interval, for lockout_time, doubled for each further lock since
 * its last success (at most lockout_max_time). Told as it is, "locked"
 * would tell a real name from an unknown one to anybody who tries a name
 * that often: so unknown names are counted the same way, and after as
 * many failures they are "locked" for as long. Their counters live in
 * memory, in a table of fixed size shared by every thread that
 * authenticates (the PAM socket on the main loop, the HTTP threads):
 * keyed by a keyed digest of the name, so that nobody can aim names at
 * one slot, and when a set of slots is full the name that failed least
 * recently makes room. A daemon restart forgets them; a flood of other
 * unknown names (each costing a password hash) could push one out early.
 * Neither tells more than the timing of a restart. */

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "macro.h"
#include "store.h"

#define AUTH_LOCKOUT_KEY_SIZE 32

/* Counts a failure at now into st (a user's as stored, or an unknown
 * name's): returns the end of the lock it starts, or 0 when it starts
 * none. */
int64_t auth_lockout_count_failure(const Config *c, AuthState *st, int64_t now);

typedef struct UnknownLockouts UnknownLockouts;

UnknownLockouts *unknown_lockouts_new(void);
UnknownLockouts *unknown_lockouts_free(UnknownLockouts *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(UnknownLockouts *, unknown_lockouts_free);

/* A failed attempt on a name that is no user. When the name is locked
 * now: true, with the end of the lock in *ret_until, and nothing counted
 * (as for a locked account, whose credentials are not even looked at).
 * Else: false, the failure counted, and *ret_until the end of the lock
 * this failure starts, or 0. */
bool unknown_lockouts_fail(UnknownLockouts *l, const Config *c, const uint8_t key[static AUTH_LOCKOUT_KEY_SIZE],
                           int64_t now, int64_t *ret_until);
