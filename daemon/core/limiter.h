/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Limits on failed authentications, shared by every door (HTTP now; the
 * PAM and D-Bus doors can ask the same table), keyed by (kind, key): a
 * client's address, an OAuth client id. Each key has a token bucket
 * (kept as GCRA's one timestamp): `burst` failures at once, then one more
 * per `interval_usec`. Only failures take from the bucket; a key whose
 * bucket is empty is refused until it refills, whether its next attempt
 * would be right or wrong, and before anything costly (a hash, the
 * store) is done for it.
 *
 * Memory is bounded: a fixed table of set-associative buckets, allocated
 * once. A new key takes a free slot of its bucket or the slot of the key
 * closest to being forgiven, so an attacker with many addresses pushes out
 * its own short-lived keys first, not the keys it is limited by. Buckets
 * are chosen by a keyed hash (a random key per daemon), so nobody can aim
 * keys at a bucket. Thread-safe: HTTP threads and the main loop call it
 * at once; the buckets are spread over many locks. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef enum LimitKind {
        LIMIT_ADDRESS,            /* a client's address: IPv4, or IPv6 by prefix (/64) */
        LIMIT_CLIENT,             /* an OAuth client id */
        LIMIT_ACCOUNT,            /* an account signing in ("tenant-id/login"), from any address */
        LIMIT_SIGNUP,             /* a client's address creating tenants (every sign-up counts) */
        _LIMIT_KIND_MAX,
} LimitKind;

typedef struct LimitRule {
        uint32_t burst;           /* failures at once; 0: no limit of this kind */
        uint64_t interval_usec;   /* then one more failure per interval */
} LimitRule;

typedef struct LimiterOptions {
        LimitRule rules[_LIMIT_KIND_MAX];
        size_t max_entries;       /* keys remembered at once (rounded up to a power of two) */
        unsigned ipv6_prefix;     /* IPv6 addresses count by this prefix, 1..128 */
} LimiterOptions;

typedef struct Limiter Limiter;

int limiter_new(const LimiterOptions *o, Limiter **ret);
Limiter *limiter_free(Limiter *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Limiter *, limiter_free);

/* Whether kind/key may try now (now_usec on CLOCK_MONOTONIC): 0 when it
 * may, else the seconds until it may (at least 1), for Retry-After. With
 * ret_first, says whether this refusal is the first since the key was last
 * let through, so that a run of refusals is recorded once. For
 * LIMIT_ADDRESS, key is an address as inet_ntop() writes it; anything
 * that is not an address counts as a key of its own. A NULL key, or a
 * NULL limiter (a core without doors, in tests), is never limited. */
unsigned limiter_check(Limiter *l, LimitKind kind, const char *key, uint64_t now_usec, bool *ret_first);

/* Counts a failure of kind/key. */
void limiter_fail(Limiter *l, LimitKind kind, const char *key, uint64_t now_usec);

/* The number of keys the table holds at most, and how many it pushed out
 * before they were forgiven (the table is too small for the load). */
size_t limiter_capacity(const Limiter *l);
uint64_t limiter_evictions(const Limiter *l);

const char *limit_kind_to_string(LimitKind k);
