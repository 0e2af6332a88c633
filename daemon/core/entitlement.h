/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tenant's entitlements and usage (seed 002): limits the core enforces
 * wherever a user or an application is made (max_users, max_applications:
 * beyond them the creation is refused with -EUSERS, "limit_reached"),
 * feature flags the tenant's programs read, and usage counters that go up
 * atomically, once per idempotency key. Read by the tenant; the
 * entitlements written by the platform's operators (and keys with
 * tessera:entitlements:write), the counters by keys with
 * tessera:usage:write. */

#include "change.h"
#include "manager.h"

#define ENTITLEMENT_FEATURE_MAX_LEN 64
#define ENTITLEMENT_FEATURES_MAX 64
#define USAGE_COUNTER_NAME_MAX_LEN 64
#define USAGE_KEY_MAX_LEN 255
#define USAGE_AMOUNT_MAX INT64_C(1000000000)
/* How long an idempotency key is remembered. */
#define USAGE_KEY_RETENTION_USEC (24 * 3600 * USEC_PER_SEC)

int entitlements_get(Manager *m, Store *s, const Principal *a, const TenantRecord *t, Entitlements *ret,
                     TesseraError *e);
/* Replaces the tenant's entitlements with spec (limits -1: none; the
 * features sorted and without repeats); ret (may be NULL) gets them as
 * stored. */
int entitlements_set(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const Entitlements *spec,
                     Entitlements *ret, TesseraError *e);

/* Inside the transaction that makes one more of what (a user, an
 * application) in the tenant: 0 when its entitlements leave room,
 * -EUSERS (with the sentence) when the limit is reached. */
int entitlement_check_room(Store *s, int64_t tenant_id, const char *tenant, EntitledResource what,
                           TesseraError *e);

/* Adds amount (1..USAGE_AMOUNT_MAX) to the counter; key (may be NULL)
 * makes a retry count once: the answer of a repeat is the first one's,
 * *ret_replayed true. -ENOTUNIQ when key was used for another counter or
 * amount. */
int usage_increment(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *counter,
                    int64_t amount, const char *key, int64_t *ret_value, bool *ret_replayed, TesseraError *e);
int usage_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, UsageCounter **ret, size_t *ret_n,
               TesseraError *e);

bool usage_counter_name_valid(const char *s);
