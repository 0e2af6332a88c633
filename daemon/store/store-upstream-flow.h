/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sign-in flows in flight towards upstream providers (upstream-flow.h),
 * kept in the store: the callback may reach another instance than the one
 * that started the flow, or the same one after a restart. Keyed by the
 * digest of the flow's key (the state, or the link ticket), as every token
 * of the store is: a database read gives no usable state. Same conventions
 * as store.h: 0 or a negative errno, out-parameters written only on
 * success. */

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "token.h"
#include "upstream-flow.h"

/* Keeps f under digest; drops the flows expired by now_usec, and the
 * oldest ones while max or more are kept. f's key is not stored. */
int store_upstream_flow_put(Store *s, const uint8_t digest[TOKEN_DIGEST_SIZE], const UpstreamFlow *f, size_t max,
                            int64_t now_usec);

/* Takes the flow of kind under digest out of the store and into *ret
 * (its key left empty): -ENOENT when there is none. Taking is one
 * statement (DELETE … RETURNING), so that of two instances given the same
 * state at once, exactly one gets the flow. */
int store_upstream_flow_take(Store *s, UpstreamFlowKind kind, const uint8_t digest[TOKEN_DIGEST_SIZE],
                             UpstreamFlow *ret);

/* How many flows are kept, expired ones included until the next put. */
int store_upstream_flow_count(Store *s, size_t *ret);
