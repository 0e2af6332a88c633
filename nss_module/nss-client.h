/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The module's side of nss.sock: one request, one reply, within one
 * deadline. libc only; never logs; keeps at most one descriptor, and only
 * while it is provably still ours. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default socket, and the whole time one lookup may take. Long enough
 * that a daemon on a loaded machine (a CI box compiling, a host under a
 * login storm) still answers a fresh process in time, for which "no such
 * user" would be a failed sudo; short enough that a hung daemon costs a
 * process a quarter of a second per back-off period, never a hung login.
 * (SSSD's clients wait far longer; nscd-style callers expect little.) */
#define NSS_SOCKET_DEFAULT RUNSTATEDIR "/tessera/nss.sock"
#define NSS_TIMEOUT_USEC_DEFAULT (250 * 1000ULL)
/* After a lookup timed out (the daemon is hung, not down), how long every
 * socket lookup of the process fails at once before one tries again. */
#define NSS_BACKOFF_USEC (1000 * 1000ULL)

/* The daemon sets this for itself so that it never waits on itself. */
bool nss_bypassed(void);

/* Sends req and reads the whole reply into a malloc'd buffer. With
 * want_cache, a descriptor passed along with the reply is returned in
 * *ret_cache_fd (else -EBADF). Negative errno when the daemon cannot be
 * reached or does not answer in time, or answers with a broken frame;
 * -ETIMEDOUT at once, without asking, while the process backs off after
 * a timeout (NSS_BACKOFF_USEC). */
int nss_client_call(const void *req, size_t req_len, bool want_cache, uint8_t **ret_reply, size_t *ret_len,
                    int *ret_cache_fd);
