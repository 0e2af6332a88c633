/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store-tenant.c: tenants and their ID slices; store-tenant-settings.c:
 * their settings. */

#include "test-pg-util.h"
#include "test-util.h"

START_TEST(test_create_get) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *by_slug = NULL, *by_id = NULL;
        int64_t before = (int64_t) time(NULL) * 1000000;

        ck_assert_int_eq(store_tenant_create(s, "acme", "Acme Corp.", &test_default_range, &t), 0);
        ck_assert_int_gt(t->id, 0);
        ck_assert_str_eq(t->slug, "acme");
        ck_assert_str_eq(t->display_name, "Acme Corp.");
        ck_assert_int_ge(t->created_usec, before);
        ck_assert_int_eq(t->changed_usec, t->created_usec);

        ck_assert_int_eq(store_tenant_get(s, "acme", &by_slug), 0);
        ck_assert_int_eq(by_slug->id, t->id);
        ck_assert_str_eq(by_slug->display_name, "Acme Corp.");
        ck_assert_int_eq(store_tenant_get_by_id(s, t->id, &by_id), 0);
        ck_assert_str_eq(by_id->slug, "acme");
        ck_assert_uint_eq(by_id->id_min, t->id_min);

        /* Without ret, create works too; a NULL display name is empty. */
        ck_assert_int_eq(store_tenant_create(s, "globex", NULL, &test_default_range, NULL), 0);
        by_slug = tenant_record_unref(by_slug);
        ck_assert_int_eq(store_tenant_get(s, "globex", &by_slug), 0);
        ck_assert_str_eq(by_slug->display_name, "");
}
END_TEST

START_TEST(test_get_missing) {
        Store *s = test_store;
        TenantRecord *t = NULL;

        ck_assert_int_eq(store_tenant_get(s, "nobody", &t), -ENOENT);
        ck_assert_int_eq(store_tenant_get_by_id(s, 4711, &t), -ENOENT);
        ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_duplicate_slug) {
        Store *s = test_store;
        _unused_ _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        TenantRecord *dup = NULL;
        TenantRecord **list = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_tenant_create(s, "acme", "again", &test_default_range, &dup), -EEXIST);
        ck_assert_ptr_null(dup);
        ck_assert_int_eq(store_tenant_list(s, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        tenant_record_array_free(list, n);
}
END_TEST

START_TEST(test_list_sorted) {
        Store *s = test_store;
        static const char *const slugs[] = { "globex", "acme", "initech" };
        TenantRecord **list = NULL;
        size_t n = 42;

        ck_assert_int_eq(store_tenant_list(s, &list, &n), 0);
        ck_assert_uint_eq(n, 0);
        tenant_record_array_free(list, n);

        for (size_t i = 0; i < ELEMENTSOF(slugs); i++)
                tenant_record_unref(test_tenant(s, slugs[i], NULL));

        ck_assert_int_eq(store_tenant_list(s, &list, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(list[0]->slug, "acme");
        ck_assert_str_eq(list[1]->slug, "globex");
        ck_assert_str_eq(list[2]->slug, "initech");
        tenant_record_array_free(list, n);
}
END_TEST

START_TEST(test_update) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *again = NULL;
        TenantRecord changed = *t, missing = *t;

        changed.display_name = (char *) "ACME Inc.";
        ck_assert_int_eq(store_tenant_update(s, &changed), 0);
        ck_assert_int_eq(store_tenant_get(s, "acme", &again), 0);
        ck_assert_str_eq(again->display_name, "ACME Inc.");
        ck_assert_int_ge(again->changed_usec, t->changed_usec);
        /* The slice never moves. */
        ck_assert_uint_eq(again->id_min, t->id_min);
        ck_assert_uint_eq(again->id_max, t->id_max);

        missing.id = t->id + 100;
        ck_assert_int_eq(store_tenant_update(s, &missing), -ENOENT);
}
END_TEST

START_TEST(test_delete) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        TenantRecord *gone = NULL;

        ck_assert_int_eq(store_tenant_delete(s, t->id), 0);
        ck_assert_int_eq(store_tenant_get(s, "acme", &gone), -ENOENT);
        ck_assert_int_eq(store_tenant_delete(s, t->id), -ENOENT);
}
END_TEST

START_TEST(test_delete_not_empty) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL),
                                                    *u = test_tenant(s, "globex", NULL), *still = NULL;
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, u, "ops");

        /* A user (with its private group), or a group alone, keeps a tenant. */
        ck_assert_int_eq(store_tenant_delete(s, t->id), -ENOTEMPTY);
        ck_assert_int_eq(store_tenant_delete(s, u->id), -ENOTEMPTY);
        ck_assert_int_eq(store_tenant_get(s, "acme", &still), 0);

        ck_assert_int_eq(store_user_delete(s, alice->id), 0);
        ck_assert_int_eq(store_tenant_delete(s, t->id), 0);
        ck_assert_int_eq(store_group_delete(s, ops->id), 0);
        ck_assert_int_eq(store_tenant_delete(s, u->id), 0);
}
END_TEST

START_TEST(test_slices) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *a = test_tenant(s, "acme", NULL),
                                                    *b = test_tenant(s, "globex", NULL), *c = NULL;

        ck_assert_uint_eq(a->slice, 0);
        ck_assert_uint_eq(a->id_min, 200000);
        ck_assert_uint_eq(a->id_max, 399999);
        ck_assert_uint_eq(b->slice, 1);
        ck_assert_uint_eq(b->id_min, 400000);
        ck_assert_uint_eq(b->id_max, 599999);

        c = test_tenant(s, "initech", NULL);
        ck_assert_uint_eq(c->slice, 2);
        ck_assert_uint_eq(c->id_min, 600000);
}
END_TEST

START_TEST(test_slice_reused) {
        Store *s = test_store;
        _unused_ _cleanup_(tenant_record_unrefp) TenantRecord *a = test_tenant(s, "acme", NULL),
                                                    *b = test_tenant(s, "globex", NULL),
                                                    *c = test_tenant(s, "initech", NULL), *d = NULL, *e = NULL;

        /* The lowest free slice is taken first: a gap in the middle... */
        ck_assert_int_eq(store_tenant_delete(s, b->id), 0);
        d = test_tenant(s, "hooli", NULL);
        ck_assert_uint_eq(d->slice, 1);
        ck_assert_uint_eq(d->id_min, 400000);
        ck_assert_uint_eq(d->id_max, 599999);

        /* ...and slice 0 itself. */
        ck_assert_int_eq(store_tenant_delete(s, a->id), 0);
        e = test_tenant(s, "umbrella", NULL);
        ck_assert_uint_eq(e->slice, 0);
        ck_assert_uint_eq(e->id_min, 200000);
        ck_assert_uint_eq(e->id_max, 399999);
}
END_TEST

START_TEST(test_slices_exhausted) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *a = test_tenant(s, "acme", &test_small_range),
                                                    *b = test_tenant(s, "globex", &test_small_range), *c = NULL;
        TenantRecord **list = NULL;
        size_t n = 0;

        ck_assert_uint_eq(a->id_min, 1000);
        ck_assert_uint_eq(a->id_max, 1999);
        ck_assert_uint_eq(b->id_min, 2000);
        ck_assert_uint_eq(b->id_max, 2999);

        /* 1000..2999 holds two slices of 1000: no third. */
        ck_assert_int_eq(store_tenant_create(s, "initech", NULL, &test_small_range, &c), -ENOSPC);
        ck_assert_ptr_null(c);
        ck_assert_int_eq(store_tenant_list(s, &list, &n), 0);
        ck_assert_uint_eq(n, 2);
        tenant_record_array_free(list, n);

        /* Freeing one makes room again. */
        ck_assert_int_eq(store_tenant_delete(s, a->id), 0);
        c = test_tenant(s, "initech", &test_small_range);
        ck_assert_uint_eq(c->id_min, 1000);
}
END_TEST

START_TEST(test_slice_partial_range) {
        Store *s = test_store;
        /* A range that is not a multiple of the slice size: the remainder is unused. */
        const IdRange range = { .min = 1000, .max = 2500, .slice_size = 1000 };
        _cleanup_(tenant_record_unrefp) TenantRecord *a = test_tenant(s, "acme", &range);
        TenantRecord *b = NULL;

        ck_assert_uint_eq(a->id_max, 1999);
        ck_assert_int_eq(store_tenant_create(s, "globex", NULL, &range, &b), -ENOSPC);
}
END_TEST

#define BIT(id) TENANT_SETTING_BIT(TENANT_SETTING_##id)

static void assert_settings_eq(const TenantSettings *a, const TenantSettings *b) {
        ck_assert_uint_eq(a->set, b->set);
        ck_assert_int_eq(a->open_signup, b->open_signup);
        ck_assert_uint_eq(a->password_min_length, b->password_min_length);
        ck_assert_int_eq(a->password_dictionary_check, b->password_dictionary_check);
        ck_assert_uint_eq(a->password_min_classes, b->password_min_classes);
        ck_assert_uint_eq(a->password_max_repeat, b->password_max_repeat);
        ck_assert_int_eq(a->password_user_check, b->password_user_check);
        ck_assert_int_eq(a->mfa_required, b->mfa_required);
        ck_assert_uint_eq(a->session_lifetime, b->session_lifetime);
        ck_assert_uint_eq(a->refresh_idle_lifetime, b->refresh_idle_lifetime);
        ck_assert_uint_eq(a->refresh_absolute_lifetime, b->refresh_absolute_lifetime);
}

START_TEST(test_settings_none_at_first) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *again = NULL;

        /* A new tenant chose nothing: the site's defaults apply. */
        ck_assert_uint_eq(t->settings.set, 0);
        ck_assert_int_eq(store_tenant_get(s, "acme", &again), 0);
        ck_assert_uint_eq(again->settings.set, 0);
}
END_TEST

START_TEST(test_settings_put_get) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL),
                                                    *other = test_tenant(s, "globex", NULL), *by_slug = NULL,
                                                    *by_id = NULL, *plain = NULL;
        const TenantSettings all = {
                .set = TENANT_SETTINGS_ALL,
                .open_signup = true,
                .password_min_length = 12,
                .password_dictionary_check = false,
                .password_min_classes = 3,
                .password_max_repeat = 2,
                .password_user_check = false,
                .mfa_required = MFA_REQUIRED_EVERYONE,
                .session_lifetime = 3600,
                .refresh_idle_lifetime = 7200,
                .refresh_absolute_lifetime = 86400,
        };
        TenantRecord **list = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_tenant_settings_put(s, t->id, &all), 0);
        ck_assert_int_eq(store_tenant_get(s, "acme", &by_slug), 0);
        assert_settings_eq(&by_slug->settings, &all);
        ck_assert_int_ge(by_slug->changed_usec, t->changed_usec);
        ck_assert_int_eq(store_tenant_get_by_id(s, t->id, &by_id), 0);
        assert_settings_eq(&by_id->settings, &all);
        ck_assert_int_eq(store_tenant_list(s, &list, &n), 0);
        ck_assert_uint_eq(n, 2);
        assert_settings_eq(&list[0]->settings, &all);
        /* Another tenant's are its own. */
        ck_assert_uint_eq(list[1]->settings.set, 0);
        tenant_record_array_free(list, n);
        ck_assert_int_eq(store_tenant_get(s, "globex", &plain), 0);
        ck_assert_uint_eq(plain->settings.set, 0);
        (void) other;
}
END_TEST

START_TEST(test_settings_replaced) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *got = NULL;
        const TenantSettings first = {
                .set = BIT(OPEN_SIGNUP) | BIT(MFA_REQUIRED) | BIT(PASSWORD_MIN_LENGTH),
                .open_signup = true,
                .mfa_required = MFA_REQUIRED_ADMINS,
                .password_min_length = 10,
        };
        const TenantSettings second = {
                .set = BIT(PASSWORD_MIN_LENGTH) | BIT(PASSWORD_USER_CHECK),
                .password_min_length = 16,
                .password_user_check = false,
                .mfa_required = MFA_REQUIRED_EVERYONE,     /* not set: not stored */
        };

        ck_assert_int_eq(store_tenant_settings_put(s, t->id, &first), 0);
        ck_assert_int_eq(store_tenant_settings_put(s, t->id, &second), 0);
        ck_assert_int_eq(store_tenant_get(s, "acme", &got), 0);
        /* What is no longer set follows the site again. */
        ck_assert_uint_eq(got->settings.set, second.set);
        ck_assert_uint_eq(got->settings.password_min_length, 16);
        ck_assert(!got->settings.password_user_check);
        ck_assert_int_eq(got->settings.mfa_required, MFA_REQUIRED_NONE);
        ck_assert(!got->settings.open_signup);
        got = tenant_record_unref(got);

        ck_assert_int_eq(store_tenant_settings_put(s, t->id, &(TenantSettings) {}), 0);
        ck_assert_int_eq(store_tenant_get(s, "acme", &got), 0);
        ck_assert_uint_eq(got->settings.set, 0);
}
END_TEST

START_TEST(test_settings_go_with_the_tenant) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *next = NULL;
        const TenantSettings own = { .set = BIT(OPEN_SIGNUP), .open_signup = true };
        int64_t id = t->id;

        ck_assert_int_eq(store_tenant_settings_put(s, id, &own), 0);
        ck_assert_int_eq(store_tenant_delete(s, id), 0);
        ck_assert_int_eq(store_tenant_settings_put(s, id, &own), -ENOENT);
        /* SQLite hands the freed id to the next tenant: it must not find
         * the old one's settings. (PostgreSQL's identity columns never
         * hand an id out twice.) */
        next = test_tenant(s, "globex", NULL);
        if (!test_pg_url())
                ck_assert_int_eq(next->id, id);
        ck_assert_uint_eq(next->settings.set, 0);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_create_get);
        tcase_add_test(tc, test_get_missing);
        tcase_add_test(tc, test_duplicate_slug);
        tcase_add_test(tc, test_list_sorted);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_delete_not_empty);
        tcase_add_test(tc, test_slices);
        tcase_add_test(tc, test_slice_reused);
        tcase_add_test(tc, test_slices_exhausted);
        tcase_add_test(tc, test_slice_partial_range);
        tcase_add_test(tc, test_settings_none_at_first);
        tcase_add_test(tc, test_settings_put_get);
        tcase_add_test(tc, test_settings_replaced);
        tcase_add_test(tc, test_settings_go_with_the_tenant);
}

int main(void) {
        Suite *suite = suite_create("store-tenant");

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "tenants", add_tests);
        return test_run_suite(suite);
}
