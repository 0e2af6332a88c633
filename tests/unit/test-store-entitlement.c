/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store/store-entitlement.c and the core's checks (entitlement.c):
 * a tenant's limits and features, the bounded count a limit is checked
 * with, and usage counters once per idempotency key. */

#include "entitlement.h"
#include "test-util.h"

START_TEST(test_round_trip) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(entitlements_done) Entitlements got = {};
        char *features[] = { "audit-export", "sso", NULL };

        /* None set: no limits, no features. */
        ck_assert_int_eq(store_entitlements_get(s, t->id, &got), 0);
        ck_assert_int_eq(got.max_users, -1);
        ck_assert_int_eq(got.max_applications, -1);
        ck_assert(!got.features || !got.features[0]);
        ck_assert_int_eq(got.changed_usec, 0);
        entitlements_done(&got);

        ck_assert_int_eq(store_entitlements_put(s, t->id, &(Entitlements) { .max_users = 5, .max_applications = -1,
                                                                          .features = features }), 0);
        ck_assert_int_eq(store_entitlements_get(s, t->id, &got), 0);
        ck_assert_int_eq(got.max_users, 5);
        ck_assert_int_eq(got.max_applications, -1);
        ASSERT_STRV(got.features, "audit-export", "sso");
        ck_assert_int_gt(got.changed_usec, 0);

        /* A tenant that is gone gets none. */
        ck_assert_int_eq(store_entitlements_put(s, t->id + 100, &got), -ENOENT);
}
END_TEST

START_TEST(test_count_is_bounded) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        uint64_t n;

        for (int i = 0; i < 7; i++) {
                char name[16];

                snprintf(name, sizeof(name), "u%d", i);
                user_record_unref(test_user(s, t, name));
        }
        ck_assert_int_eq(store_tenant_count(s, t->id, ENTITLED_USERS, 100, &n), 0);
        ck_assert_uint_eq(n, 7);
        /* Counting stops at the limit asked about. */
        ck_assert_int_eq(store_tenant_count(s, t->id, ENTITLED_USERS, 3, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(store_tenant_count(s, t->id, ENTITLED_APPLICATIONS, 100, &n), 0);
        ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_check_room) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        TesseraError e = {};

        user_record_unref(test_user(s, t, "alice"));
        user_record_unref(test_user(s, t, "bob"));
        ck_assert_int_eq(entitlement_check_room(s, t->id, t->slug, ENTITLED_USERS, &e), 0);
        ck_assert_int_eq(store_entitlements_put(s, t->id, &(Entitlements) { .max_users = 3, .max_applications = 0 }),
                         0);
        ck_assert_int_eq(entitlement_check_room(s, t->id, t->slug, ENTITLED_USERS, &e), 0);
        /* No application at all may be made. */
        ck_assert_int_eq(entitlement_check_room(s, t->id, t->slug, ENTITLED_APPLICATIONS, &e), -EUSERS);
        ck_assert(strstr(e.message, "max_applications"));
        user_record_unref(test_user(s, t, "carol"));
        e = (TesseraError) {};
        ck_assert_int_eq(entitlement_check_room(s, t->id, t->slug, ENTITLED_USERS, &e), -EUSERS);
        ck_assert(strstr(e.message, "limit of 3 users"));
}
END_TEST

static int increment(Store *s, int64_t tenant_id, const char *counter, int64_t by, const char *key, int64_t forget,
                     int64_t *value, bool *replayed) {
        int r;

        ck_assert_int_eq(store_begin(s), 0);
        r = store_usage_increment(s, tenant_id, counter, by, key, forget, value, replayed);
        if (r < 0)
                store_rollback(s);
        else
                ck_assert_int_eq(store_commit(s), 0);
        return r;
}

START_TEST(test_usage_once_per_key) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(tenant_record_unrefp) TenantRecord *u = test_tenant(s, "globex", NULL);
        UsageCounter *list = NULL;
        bool replayed;
        int64_t v;
        size_t n;

        ck_assert_int_eq(increment(s, t->id, "calls", 3, "k1", 0, &v, &replayed), 0);
        ck_assert_int_eq(v, 3);
        ck_assert(!replayed);
        ck_assert_int_eq(increment(s, t->id, "calls", 3, "k1", 0, &v, &replayed), 0);
        ck_assert_int_eq(v, 3);
        ck_assert(replayed);
        ck_assert_int_eq(increment(s, t->id, "calls", 2, NULL, 0, &v, &replayed), 0);
        ck_assert_int_eq(v, 5);
        ck_assert_int_eq(increment(s, t->id, "calls", 4, "k1", 0, &v, &replayed), -ENOTUNIQ);
        ck_assert_int_eq(increment(s, t->id, "mails", 3, "k1", 0, &v, &replayed), -ENOTUNIQ);
        /* Keys are a tenant's own. */
        ck_assert_int_eq(increment(s, u->id, "calls", 1, "k1", 0, &v, &replayed), 0);
        ck_assert_int_eq(v, 1);
        ck_assert(!replayed);
        /* A key older than the retention is forgotten: it counts again. */
        ck_assert_int_eq(increment(s, t->id, "calls", 3, "k1", INT64_MAX, &v, &replayed), 0);
        ck_assert_int_eq(v, 8);
        ck_assert(!replayed);

        ck_assert_int_eq(store_usage_list(s, t->id, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(list[0].name, "calls");
        ck_assert_int_eq(list[0].value, 8);
        usage_counter_array_free(list, n);
        ck_assert_int_eq(increment(s, t->id + 100, "calls", 1, NULL, 0, &v, &replayed), -ENOENT);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_count_is_bounded);
        tcase_add_test(tc, test_check_room);
        tcase_add_test(tc, test_usage_once_per_key);
}

int main(void) {
        Suite *suite = suite_create("store-entitlement");

        test_add_store_tcases(suite, "entitlement", add_tests);
        return test_run_suite(suite);
}
