/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/tenant.c: tenant operations with authorization and audit. */

#include "tenant.h"
#include "test-util.h"
#include "user.h"

static Manager *m;

static void setup(void) {
        m = test_manager_new();
}

static void teardown(void) {
        m = manager_free(m);
}

START_TEST(test_create_denied) {
        TenantRecord *t = NULL;
        TesseraError e = {};
        AuditEvent *ev;
        size_t n;

        ck_assert_int_eq(tenant_create(m, m->store, &test_nobody, "acme", "Acme", &t, &e), -EACCES);
        ck_assert_int_eq(e.code, -EACCES);
        ck_assert_str_ne(e.message, "");
        ck_assert_ptr_null(t);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", NULL), -ENOENT);
        ck_assert_uint_eq(atomic_load(&m->generation), 0);

        /* The denial is on record, with who asked and from where. */
        ev = test_audit_events(m->store, "tenant.create", "acme", &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(ev[0].result, AUDIT_DENIED);
        ck_assert_str_eq(ev[0].channel, "dbus");
        ck_assert_int_eq(ev[0].actor_uid, 1000);
        ck_assert_str_eq(ev[0].actor, "mallory");
        ck_assert_str_eq(ev[0].remote, "peer-1");
        ck_assert_str_eq(ev[0].tenant, "acme");
        audit_event_array_free(ev, n);
}
END_TEST

START_TEST(test_create) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *stored = NULL;
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", "Acme Corp.", &t, &e), 0);
        ck_assert_int_eq(e.code, 0);
        ck_assert_str_eq(t->slug, "acme");
        ck_assert_str_eq(t->display_name, "Acme Corp.");
        ck_assert_uint_eq(t->id_min, 200000);
        ck_assert_uint_eq(atomic_load(&m->generation), 1);

        ck_assert_int_eq(store_tenant_get(m->store, "acme", &stored), 0);
        ck_assert_int_eq(stored->id, t->id);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.create", "acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(m->store, NULL, NULL, -1), 1);

        /* ret is optional. */
        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "globex", NULL, NULL, &e), 0);
        ck_assert_int_eq(store_tenant_get(m->store, "globex", NULL), 0);
}
END_TEST

START_TEST(test_create_invalid) {
        static const char *const slugs[] = { "Acme", "-acme", "acme-", "ac me", "" };
        TenantRecord **list = NULL;
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(slugs); i++) {
                TesseraError e = {};

                ck_assert_int_eq(tenant_create(m, m->store, &test_admin, slugs[i], NULL, NULL, &e), -EINVAL);
                ck_assert_int_eq(e.code, -EINVAL);
                ck_assert_uint_eq(test_audit_count(m->store, "tenant.create", slugs[i], AUDIT_INVALID), 1);
        }
        {
                TesseraError e = {};
                ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", "two\nlines", NULL, &e), -EINVAL);
                ck_assert_ptr_nonnull(strstr(e.message, "display name"));
        }

        ck_assert_int_eq(store_tenant_list(m->store, &list, &n), 0);
        ck_assert_uint_eq(n, 0);
        tenant_record_array_free(list, n);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.create", NULL, AUDIT_SUCCESS), 0);
        ck_assert_uint_eq(atomic_load(&m->generation), 0);
}
END_TEST

START_TEST(test_create_duplicate) {
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, NULL, &e), 0);
        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, NULL, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "already exists"));
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.create", "acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.create", "acme", AUDIT_INVALID), 1);
}
END_TEST

START_TEST(test_create_no_slice_left) {
        TesseraError e = {};

        m->config->id_range_min = 1000;
        m->config->id_range_max = 2999;
        m->config->id_slice_size = 1000;
        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "one", NULL, NULL, &e), 0);
        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "two", NULL, NULL, &e), 0);
        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "three", NULL, NULL, &e), -ENOSPC);
        ck_assert_ptr_nonnull(strstr(e.message, "range_max"));
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.create", "three", AUDIT_INVALID), 1);
}
END_TEST

START_TEST(test_update) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *stored = NULL;
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", "Acme", &t, &e), 0);

        ck_assert_int_eq(tenant_update(m, m->store, &test_nobody, t, "Hacked", &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_DENIED), 1);
        e = (TesseraError) {};
        ck_assert_int_eq(tenant_update(m, m->store, &test_admin, t, "bad\x01name", &e), -EINVAL);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_INVALID), 1);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &stored), 0);
        ck_assert_str_eq(stored->display_name, "Acme");
        stored = tenant_record_unref(stored);

        e = (TesseraError) {};
        ck_assert_int_eq(tenant_update(m, m->store, &test_admin, t, "Acme Corporation", &e), 0);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &stored), 0);
        ck_assert_str_eq(stored->display_name, "Acme Corporation");
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_SUCCESS), 1);

        /* Gone in between. */
        ck_assert_int_eq(store_tenant_delete(m->store, t->id), 0);
        ck_assert_int_eq(tenant_update(m, m->store, &test_admin, t, "Late", &e), -ENOENT);
}
END_TEST

START_TEST(test_delete_not_empty) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL;
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, &t, &e), 0);
        ck_assert_int_eq(user_create(m, m->store, &test_admin, t, "alice", &spec, &alice, &e), 0);

        ck_assert_int_eq(tenant_delete(m, m->store, &test_admin, t, &e), -ENOTEMPTY);
        ck_assert_int_eq(e.code, -ENOTEMPTY);
        ck_assert_ptr_nonnull(strstr(e.message, "still has users"));
        ck_assert_int_eq(store_tenant_get(m->store, "acme", NULL), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.delete", "acme", AUDIT_INVALID), 1);

        e = (TesseraError) {};
        ck_assert_int_eq(user_delete(m, m->store, &test_admin, alice, &e), 0);
        ck_assert_int_eq(tenant_delete(m, m->store, &test_admin, t, &e), 0);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", NULL), -ENOENT);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.delete", "acme", AUDIT_SUCCESS), 1);

        ck_assert_int_eq(tenant_delete(m, m->store, &test_admin, t, &e), -ENOENT);
}
END_TEST

START_TEST(test_delete_denied) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, &t, &e), 0);
        ck_assert_int_eq(tenant_delete(m, m->store, &test_nobody, t, &e), -EACCES);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", NULL), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.delete", "acme", AUDIT_DENIED), 1);
}
END_TEST

START_TEST(test_lookup) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, NULL, &e), 0);

        ck_assert_int_eq(tenant_lookup(m, m->store, "acme", &t, &e), 0);
        ck_assert_str_eq(t->slug, "acme");
        t = tenant_record_unref(t);

        /* No slug: the host's default tenant, if it has one. */
        ck_assert_int_eq(tenant_lookup(m, m->store, "", &t, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "default_tenant"));
        m->config->default_tenant = strdup("acme");
        ck_assert_ptr_nonnull(m->config->default_tenant);
        ck_assert_int_eq(tenant_lookup(m, m->store, NULL, &t, NULL), 0);
        ck_assert_str_eq(t->slug, "acme");
        t = tenant_record_unref(t);

        e = (TesseraError) {};
        ck_assert_int_eq(tenant_lookup(m, m->store, "globex", &t, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "does not exist"));
        ck_assert_int_eq(tenant_lookup(m, m->store, "Acme", &t, NULL), -EINVAL);
        ck_assert_ptr_null(t);
}
END_TEST

static Suite *core_tenant_suite(void) {
        Suite *s = suite_create("core-tenant");
        TCase *tc = tcase_create("tenant operations");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_create_denied);
        tcase_add_test(tc, test_create);
        tcase_add_test(tc, test_create_invalid);
        tcase_add_test(tc, test_create_duplicate);
        tcase_add_test(tc, test_create_no_slice_left);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_delete_not_empty);
        tcase_add_test(tc, test_delete_denied);
        tcase_add_test(tc, test_lookup);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        log_set_max_level(LOG_WARNING);
        return test_run_suite(core_tenant_suite());
}
