/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/tenant.c: tenant operations with authorization and audit, and the
 * reading and changing of a tenant's settings. */

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

#define BIT(id) TENANT_SETTING_BIT(TENANT_SETTING_##id)

/* A user of tenant t with role, as the web would make them a principal. */
static UserRecord *member(const TenantRecord *t, const char *name, UserRole role) {
        UserSpec spec = USER_SPEC_INIT;
        UserRecord *u = NULL;
        TesseraError e = {};

        spec.role = role;
        ck_assert_int_eq(user_create(m, m->store, &test_admin, t, name, &spec, &u, &e), 0);
        return u;
}

static TenantRecord *reload(const TenantRecord *t) {
        TenantRecord *r = NULL;

        ck_assert_int_eq(store_tenant_get_by_id(m->store, t->id, &r), 0);
        return r;
}

START_TEST(test_settings_update) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *stored = NULL;
        TestEvents *events = test_events_follow(m);
        const TenantSettings change = {
                .set = BIT(OPEN_SIGNUP) | BIT(PASSWORD_MIN_LENGTH) | BIT(MFA_REQUIRED),
                .open_signup = true,
                .password_min_length = 12,
                .mfa_required = MFA_REQUIRED_ADMINS,
        };
        TenantSettings applied;
        TesseraError e = {};
        AuditEvent *ev;
        uint64_t generation;
        size_t n;

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, &t, &e), 0);
        generation = atomic_load(&m->generation);

        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t, &change, 0, &e), 0);
        stored = reload(t);
        ck_assert_uint_eq(stored->settings.set, change.set);
        ck_assert(stored->settings.open_signup);
        ck_assert_uint_eq(stored->settings.password_min_length, 12);
        ck_assert_int_eq(stored->settings.mfa_required, MFA_REQUIRED_ADMINS);

        /* Audited with what changed, announced once. */
        ev = test_audit_events(m->store, "tenant.update", "acme", &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(ev[0].result, AUDIT_SUCCESS);
        ck_assert_str_eq(ev[0].details, "{\"settings\":{\"open_signup\":true,\"password_min_length\":12,"
                                        "\"mfa_required\":\"admins\"},\"reset\":[]}");
        audit_event_array_free(ev, n);
        ck_assert_uint_eq(test_events_count(events, CHANGE_TENANT, CHANGE_UPDATED, "acme"), 1);
        ck_assert_uint_gt(atomic_load(&m->generation), generation);

        /* What applies: the tenant's own, the site's for the rest. */
        ck_assert_int_eq(tenant_settings_get(m, m->store, &test_nobody, stored, &applied, &e), 0);
        ck_assert(applied.open_signup);
        ck_assert_uint_eq(applied.password_min_length, 12);
        ck_assert(applied.password_dictionary_check);
        ck_assert_uint_eq(applied.session_lifetime, m->config->oidc_session_lifetime);
        m = manager_free(m);      /* before what it publishes to */
        test_events_free(events);
}
END_TEST

START_TEST(test_settings_update_keeps_the_rest) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *stored = NULL;
        const TenantSettings first = { .set = BIT(OPEN_SIGNUP), .open_signup = true };
        const TenantSettings second = { .set = BIT(SESSION_LIFETIME), .session_lifetime = 3600 };
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, &t, &e), 0);
        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t, &first, 0, &e), 0);
        /* With the copy of the tenant from before the first change: that
         * change stays. */
        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t, &second, 0, &e), 0);
        stored = reload(t);
        ck_assert_uint_eq(stored->settings.set, BIT(OPEN_SIGNUP) | BIT(SESSION_LIFETIME));
        ck_assert(stored->settings.open_signup);
        ck_assert_uint_eq(stored->settings.session_lifetime, 3600);
        stored = tenant_record_unref(stored);

        /* Reset: back to the site's. */
        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t, &(TenantSettings) {}, BIT(OPEN_SIGNUP),
                                                &e),
                         0);
        stored = reload(t);
        ck_assert_uint_eq(stored->settings.set, BIT(SESSION_LIFETIME));
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_SUCCESS), 3);
}
END_TEST

START_TEST(test_settings_update_refused) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *globex = NULL, *stored = NULL;
        _cleanup_(user_record_unrefp) UserRecord *bob = NULL, *ann = NULL, *gus = NULL;
        TestEvents *events = test_events_follow(m);
        const TenantSettings change = { .set = BIT(OPEN_SIGNUP), .open_signup = true };
        Principal p;
        TenantSettings applied;
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, &t, &e), 0);
        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "globex", NULL, &globex, &e), 0);
        bob = member(t, "bob", USER_ROLE_MEMBER);
        ann = member(t, "ann", USER_ROLE_ADMIN);
        gus = member(globex, "gus", USER_ROLE_OWNER);

        /* A local caller who is no administrator. */
        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_nobody, t, &change, 0, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_DENIED), 1);
        /* A member of the tenant; the owner of another one. */
        p = principal_user("http", bob, "192.0.2.1");
        e = (TesseraError) {};
        ck_assert_int_eq(tenant_settings_update(m, m->store, &p, t, &change, 0, &e), -EACCES);
        p = principal_user("http", gus, "192.0.2.1");
        e = (TesseraError) {};
        ck_assert_int_eq(tenant_settings_update(m, m->store, &p, t, &change, 0, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_DENIED), 3);
        stored = reload(t);
        ck_assert_uint_eq(stored->settings.set, 0);
        stored = tenant_record_unref(stored);
        ck_assert_uint_eq(test_events_count(events, CHANGE_TENANT, CHANGE_UPDATED, NULL), 0);
        /* ... nor read them. */
        e = (TesseraError) {};
        ck_assert_int_eq(tenant_settings_get(m, m->store, &p, t, &applied, &e), -EACCES);

        /* An admin of the tenant may. */
        p = principal_user("http", ann, "192.0.2.1");
        e = (TesseraError) {};
        ck_assert_int_eq(tenant_settings_update(m, m->store, &p, t, &change, 0, &e), 0);
        stored = reload(t);
        ck_assert(stored->settings.open_signup);
        m = manager_free(m);      /* before what it publishes to */
        test_events_free(events);
}
END_TEST

START_TEST(test_settings_update_invalid) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *stored = NULL;
        static const struct {
                TenantSettings change;
                uint32_t reset;
                const char *message;
        } cases[] = {
                { { .set = BIT(PASSWORD_MIN_LENGTH), .password_min_length = 4 }, 0, "password_min_length" },
                { { .set = BIT(PASSWORD_MIN_CLASSES), .password_min_classes = 9 }, 0, "password_min_classes" },
                { { .set = BIT(SESSION_LIFETIME), .session_lifetime = 10 }, 0, "session_lifetime" },
                { { .set = BIT(MFA_REQUIRED), .mfa_required = 7 }, 0, "mfa_required" },
                { { .set = BIT(OPEN_SIGNUP), .open_signup = true }, BIT(OPEN_SIGNUP),
                  "open_signup is both given and reset" },
                { { .set = UINT32_C(1) << 30 }, 0, "Unknown setting" },
                /* One bad value spoils the whole change. */
                { { .set = BIT(OPEN_SIGNUP) | BIT(PASSWORD_MAX_REPEAT), .open_signup = true,
                    .password_max_repeat = 1000 }, 0, "password_max_repeat" },
        };
        TesseraError e = {};

        ck_assert_int_eq(tenant_create(m, m->store, &test_admin, "acme", NULL, &t, &e), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                e = (TesseraError) {};
                ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t, &cases[i].change, cases[i].reset,
                                                        &e),
                                 -EINVAL);
                ck_assert_msg(strstr(e.message, cases[i].message), "'%s' does not say '%s'", e.message,
                              cases[i].message);
        }
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_INVALID), ELEMENTSOF(cases));
        stored = reload(t);
        ck_assert_uint_eq(stored->settings.set, 0);

        /* Nothing asked: nothing done, nothing recorded. */
        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t, &(TenantSettings) {}, 0, &e), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "tenant.update", "acme", AUDIT_SUCCESS), 0);

        /* Gone in between. */
        ck_assert_int_eq(store_tenant_delete(m->store, t->id), 0);
        e = (TesseraError) {};
        ck_assert_int_eq(tenant_settings_update(m, m->store, &test_admin, t,
                                                &(TenantSettings) { .set = BIT(OPEN_SIGNUP) }, 0, &e),
                         -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "no longer exists"));
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
        tcase_add_test(tc, test_settings_update);
        tcase_add_test(tc, test_settings_update_keeps_the_rest);
        tcase_add_test(tc, test_settings_update_refused);
        tcase_add_test(tc, test_settings_update_invalid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        log_set_max_level(LOG_WARNING);
        return test_run_suite(core_tenant_suite());
}
