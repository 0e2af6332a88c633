/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "entitlement.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Names of features and counters: what a program can branch on, no more. */
static bool token_valid(const char *s, size_t max) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > max || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("_.-:", s[i])))
                        return false;
        return true;
}

bool usage_counter_name_valid(const char *s) {
        return token_valid(s, USAGE_COUNTER_NAME_MAX_LEN);
}

/* Printable ASCII: what clients make keys of (UUIDs, request ids). */
static bool key_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > USAGE_KEY_MAX_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x21 || s[i] > 0x7e)
                        return false;
        return true;
}

int entitlements_get(Manager *m, Store *s, const Principal *a, const TenantRecord *t, Entitlements *ret,
                     TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_ENTITLEMENT_READ, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = store_entitlements_get(s, t->id, ret);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the entitlements of '%s'.", t->slug);
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The features of spec, checked, sorted, each once. */
static int normalize_features(char **in, char ***ret, TesseraError *e) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0, k = 0;

        while (in && in[n])
                n++;
        if (n > ENTITLEMENT_FEATURES_MAX)
                return tessera_error_set(e, -EINVAL, "At most %d features.", ENTITLEMENT_FEATURES_MAX);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        for (size_t i = 0; i < n; i++) {
                if (!token_valid(in[i], ENTITLEMENT_FEATURE_MAX_LEN))
                        return tessera_error_set(e, -EINVAL,
                                                 "'%.64s' is not a feature name: 1 to %d lower-case letters, digits "
                                                 "and '_', '.', '-', ':', beginning with a letter or digit.",
                                                 strempty(in[i]), ENTITLEMENT_FEATURE_MAX_LEN);
                l[i] = strdup(in[i]);
                if (!l[i])
                        return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        qsort(l, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && streq(l[k - 1], l[i])) {
                        free(l[i]);
                        l[i] = NULL;
                        continue;
                }
                l[k++] = l[i];
                if (k - 1 != i)
                        l[i] = NULL;
        }
        l[k] = NULL;
        *ret = TAKE_PTR(l);
        return 0;
}

static char *entitlements_details(const Entitlements *x) {
        json_t *features = json_array(), *j;
        char *text = NULL;

        for (size_t i = 0; features && x->features && x->features[i]; i++)
                json_array_append_new(features, json_string(x->features[i]));
        j = json_pack("{s:o, s:o, s:o}", "max_users", x->max_users >= 0 ? json_integer(x->max_users) : json_null(),
                      "max_applications", x->max_applications >= 0 ? json_integer(x->max_applications) : json_null(),
                      "features", features ?: json_null());
        if (j)
                text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        return text;
}

int entitlements_set(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const Entitlements *spec,
                     Entitlements *ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *details = NULL;
        Entitlements x = { .max_users = spec->max_users, .max_applications = spec->max_applications };
        int r;

        r = change_authorize(s, a, POLICY_ENTITLEMENT_WRITE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        if (spec->max_users < -1 || spec->max_applications < -1)
                r = tessera_error_set(e, -ERANGE, "A limit is 0 or more, or none.");
        else
                r = normalize_features(spec->features, &x.features, e);
        if (r >= 0) {
                x.changed_usec = now_realtime_usec();
                details = entitlements_details(&x);
                r = details ? change_begin(s, &txn, e) : tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        if (r >= 0) {
                r = store_entitlements_put(s, t->id, &x);
                if (r < 0)
                        r = tessera_error_set(e, r, r == -ENOENT ? "Tenant '%s' no longer exists."
                                                                 : "Failed to store the entitlements of '%s'.",
                                              t->slug);
        }
        if (r >= 0)
                r = change_commit(&txn, a, "entitlement.write", t->slug, t->slug, details, e);
        if (r < 0) {
                txn = NULL;
                store_rollback(s);
                strv_free(x.features);
                change_audit_failure(s, a, "entitlement.write", t->slug, t->slug, e);
                return r;
        }
        log_info("Entitlements of tenant %s set: %s", t->slug, details);
        if (ret)
                *ret = x;
        else
                strv_free(x.features);
        return 0;
}

int entitlement_check_room(Store *s, int64_t tenant_id, const char *tenant, EntitledResource what,
                           TesseraError *e) {
        _cleanup_(entitlements_done) Entitlements x = {};
        int64_t limit;
        uint64_t n;
        int r;

        r = store_entitlements_get(s, tenant_id, &x);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the entitlements of '%s'.", tenant);
        limit = what == ENTITLED_USERS ? x.max_users : x.max_applications;
        if (limit < 0)
                return 0;
        r = store_tenant_count(s, tenant_id, what, (uint64_t) limit, &n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to count what tenant '%s' has.", tenant);
        if (n >= (uint64_t) limit)
                return tessera_error_set(e, -EUSERS,
                                         "Tenant '%s' has reached its limit of %" PRIi64 " %s (%s); its plan must "
                                         "allow more first.",
                                         tenant, limit, what == ENTITLED_USERS ? "users" : "applications",
                                         what == ENTITLED_USERS ? "max_users" : "max_applications");
        return 0;
}

int usage_increment(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *counter,
                    int64_t amount, const char *key, int64_t *ret_value, bool *ret_replayed, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = NULL, *details = NULL;
        bool replayed = false;
        int64_t value = 0;
        int r;

        if (asprintf(&target, "%.64s@%s", strempty(counter), t->slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_USAGE_INCREMENT, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;
        if (!usage_counter_name_valid(counter))
                r = tessera_error_set(e, -EINVAL,
                                      "'%.64s' is not a counter name: 1 to %d lower-case letters, digits and '_', "
                                      "'.', '-', ':', beginning with a letter or digit.",
                                      strempty(counter), USAGE_COUNTER_NAME_MAX_LEN);
        else if (amount < 1 || amount > USAGE_AMOUNT_MAX)
                r = tessera_error_set(e, -ERANGE, "An increment is 1 to %" PRIi64 ".", USAGE_AMOUNT_MAX);
        else if (key && !key_valid(key))
                r = tessera_error_set(e, -EINVAL,
                                      "An idempotency key is 1 to %d printable ASCII characters without spaces.",
                                      USAGE_KEY_MAX_LEN);
        if (r >= 0)
                r = change_begin(s, &txn, e);
        if (r >= 0) {
                r = store_usage_increment(s, t->id, counter, amount, key,
                                          now_realtime_usec() - (int64_t) USAGE_KEY_RETENTION_USEC, &value,
                                          &replayed);
                if (r == -ENOTUNIQ)
                        tessera_error_set(e, r,
                                          "The idempotency key was used for another increment (another counter "
                                          "or amount); use a new key for a new increment.");
                else if (r < 0)
                        tessera_error_set(e, r, "Failed to count '%s'.", target);
        }
        if (r >= 0 && asprintf(&details, "{\"by\":%" PRIi64 ",\"value\":%" PRIi64 ",\"replayed\":%s}", amount, value,
                               replayed ? "true" : "false") < 0)
                r = tessera_error_set(e, -ENOMEM, "Out of memory.");
        /* A repeat changes nothing, and is recorded as what it was. */
        if (r >= 0)
                r = change_commit(&txn, a, "usage.increment", t->slug, target, details, e);
        if (r < 0) {
                txn = NULL;
                store_rollback(s);
                change_audit_failure(s, a, "usage.increment", t->slug, target, e);
                return r;
        }
        *ret_value = value;
        *ret_replayed = replayed;
        return 0;
}

int usage_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, UsageCounter **ret, size_t *ret_n,
               TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_USAGE_READ, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = store_usage_list(s, t->id, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the usage of '%s'.", t->slug);
        return 0;
}
