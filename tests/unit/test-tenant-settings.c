/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core/tenant-settings.c: the settings of a tenant, what applies of them
 * and the site's, and the checks of every value. */

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tenant-settings.h"
#include "test-util.h"

static Config *c;

static void setup(void) {
        ck_assert_int_eq(config_new_default(&c), 0);
}

static void teardown(void) {
        c = config_free(c);
}

#define BIT(id) TENANT_SETTING_BIT(TENANT_SETTING_##id)

/* Refused with -EINVAL and a message that contains what. */
static void assert_invalid(const TenantSettings *own, uint32_t which, const char *what) {
        TesseraError e = {};

        ck_assert_int_eq(tenant_settings_validate(c, own, which, &e), -EINVAL);
        ck_assert_msg(strstr(e.message, what), "'%s' does not say '%s'", e.message, what);
}

static void assert_valid(const TenantSettings *own, uint32_t which) {
        TesseraError e = {};

        ck_assert_msg(tenant_settings_validate(c, own, which, &e) == 0, "%s", e.message);
}

START_TEST(test_names) {
        for (TenantSettingId id = 0; id < _TENANT_SETTING_MAX; id++) {
                const char *name = tenant_setting_to_string(id);

                ck_assert_ptr_nonnull(name);
                ck_assert_int_eq(tenant_setting_from_string(name), id);
        }
        ck_assert_str_eq(tenant_setting_to_string(TENANT_SETTING_PASSWORD_MIN_LENGTH), "password_min_length");
        ck_assert_int_eq(tenant_setting_from_string("nope"), -EINVAL);
        ck_assert_int_eq(tenant_setting_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(tenant_setting_to_string(_TENANT_SETTING_MAX));

        ck_assert_str_eq(mfa_required_to_string(MFA_REQUIRED_ADMINS), "admins");
        ck_assert_int_eq(mfa_required_from_string("everyone"), MFA_REQUIRED_EVERYONE);
        ck_assert_int_eq(mfa_required_from_string("none"), MFA_REQUIRED_NONE);
        ck_assert_int_eq(mfa_required_from_string("Admins"), -EINVAL);
        {
                TesseraError e = {};
                MfaRequired m = MFA_REQUIRED_EVERYONE;

                ck_assert_int_eq(mfa_required_parse("sometimes", &m, &e), -EINVAL);
                ck_assert_int_eq(m, MFA_REQUIRED_EVERYONE);
                ck_assert_ptr_nonnull(strstr(e.message, "none, admins or everyone"));
                ck_assert_int_eq(mfa_required_parse("admins", &m, NULL), 0);
                ck_assert_int_eq(m, MFA_REQUIRED_ADMINS);
        }
}
END_TEST

START_TEST(test_site_defaults) {
        TenantSettings s;

        /* A tenant that chose nothing gets the site's. */
        tenant_settings_effective(c, &(TenantSettings) {}, &s);
        ck_assert_uint_eq(s.set, 0);
        ck_assert(!s.open_signup);
        ck_assert_uint_eq(s.password_min_length, 8);
        ck_assert(s.password_dictionary_check);
        ck_assert_uint_eq(s.password_min_classes, 0);
        ck_assert_uint_eq(s.password_max_repeat, 0);
        ck_assert(s.password_user_check);
        ck_assert_int_eq(s.mfa_required, MFA_REQUIRED_NONE);
        ck_assert_uint_eq(s.session_lifetime, c->oidc_session_lifetime);
        ck_assert_uint_eq(s.refresh_idle_lifetime, c->oidc_refresh_idle_lifetime);
        ck_assert_uint_eq(s.refresh_absolute_lifetime, c->oidc_refresh_absolute_lifetime);

        /* The site's follow tesserad.conf. */
        c->open_signup = true;
        c->mfa_required = MFA_REQUIRED_EVERYONE;
        c->password_min_length = 10;
        tenant_settings_effective(c, &(TenantSettings) {}, &s);
        ck_assert(s.open_signup);
        ck_assert_int_eq(s.mfa_required, MFA_REQUIRED_EVERYONE);
        ck_assert_uint_eq(s.password_min_length, 10);
}
END_TEST

START_TEST(test_own_values) {
        TenantSettings own = {
                .set = BIT(OPEN_SIGNUP) | BIT(PASSWORD_MIN_LENGTH) | BIT(MFA_REQUIRED) | BIT(SESSION_LIFETIME) |
                       BIT(PASSWORD_DICTIONARY_CHECK),
                .open_signup = true,
                .password_min_length = 14,
                .password_dictionary_check = false,
                .mfa_required = MFA_REQUIRED_ADMINS,
                .session_lifetime = 3600,
                .refresh_idle_lifetime = 99,       /* not set: the site's */
        }, s;

        tenant_settings_effective(c, &own, &s);
        ck_assert_uint_eq(s.set, own.set);
        ck_assert(s.open_signup);
        ck_assert_uint_eq(s.password_min_length, 14);
        ck_assert(!s.password_dictionary_check);
        ck_assert_int_eq(s.mfa_required, MFA_REQUIRED_ADMINS);
        ck_assert_uint_eq(s.session_lifetime, 3600);
        ck_assert_uint_eq(s.refresh_idle_lifetime, c->oidc_refresh_idle_lifetime);

        /* The site lowered its maximum since: the tenant's is cut to it. */
        c->oidc_session_lifetime = 1800;
        tenant_settings_effective(c, &own, &s);
        ck_assert_uint_eq(s.session_lifetime, 1800);
}
END_TEST

START_TEST(test_validate_ranges) {
        TenantSettings own = {};

        own.set = BIT(PASSWORD_MIN_LENGTH);
        own.password_min_length = 7;
        assert_invalid(&own, own.set, "password_min_length must lie between 8 and 128");
        own.password_min_length = 129;
        assert_invalid(&own, own.set, "password_min_length");
        own.password_min_length = 128;
        assert_valid(&own, own.set);

        own.set = BIT(PASSWORD_MIN_CLASSES);
        own.password_min_classes = 5;
        assert_invalid(&own, own.set, "password_min_classes");
        own.password_min_classes = 4;
        assert_valid(&own, own.set);

        own.set = BIT(PASSWORD_MAX_REPEAT);
        own.password_max_repeat = 65;
        assert_invalid(&own, own.set, "password_max_repeat");
        own.password_max_repeat = 0;
        assert_valid(&own, own.set);

        own.set = BIT(MFA_REQUIRED);
        own.mfa_required = _MFA_REQUIRED_MAX;
        assert_invalid(&own, own.set, "mfa_required");

        /* Lifetimes: a minute at least, the site's at most. */
        own.set = BIT(SESSION_LIFETIME);
        own.session_lifetime = 59;
        assert_invalid(&own, own.set, "session_lifetime must lie between 60 and 43200 s");
        own.session_lifetime = c->oidc_session_lifetime + 1;
        assert_invalid(&own, own.set, "[oidc] session_lifetime");
        own.session_lifetime = c->oidc_session_lifetime;
        assert_valid(&own, own.set);
        own.set = BIT(REFRESH_IDLE_LIFETIME);
        own.refresh_idle_lifetime = c->oidc_refresh_idle_lifetime + 1;
        assert_invalid(&own, own.set, "[oidc] refresh_idle_lifetime");
        own.set = BIT(REFRESH_ABSOLUTE_LIFETIME);
        own.refresh_absolute_lifetime = c->oidc_refresh_absolute_lifetime + 1;
        assert_invalid(&own, own.set, "[oidc] refresh_absolute_lifetime");

        own.set = UINT32_C(1) << 31;
        assert_invalid(&own, 0, "Unknown setting");
}
END_TEST

START_TEST(test_validate_combined) {
        TenantSettings own = {
                .set = BIT(REFRESH_IDLE_LIFETIME) | BIT(REFRESH_ABSOLUTE_LIFETIME),
                .refresh_idle_lifetime = 7200,
                .refresh_absolute_lifetime = 3600,
        };

        /* An idle lifetime beyond the absolute one, as they would apply. */
        assert_invalid(&own, BIT(REFRESH_IDLE_LIFETIME), "must not exceed refresh_absolute_lifetime");
        own.refresh_absolute_lifetime = 7200;
        assert_valid(&own, own.set);
        /* Below the site's idle lifetime: that one is cut to it. */
        own.set = BIT(REFRESH_ABSOLUTE_LIFETIME);
        own.refresh_absolute_lifetime = 3600;
        assert_valid(&own, own.set);
        {
                TenantSettings s;

                tenant_settings_effective(c, &own, &s);
                ck_assert_uint_eq(s.refresh_absolute_lifetime, 3600);
                ck_assert_uint_eq(s.refresh_idle_lifetime, 3600);
        }

        /* bcrypt reads 72 bytes: no least length beyond. */
        free(c->hash_prefix);
        c->hash_prefix = strdup("$2b$");
        ck_assert_ptr_nonnull(c->hash_prefix);
        own = (TenantSettings) { .set = BIT(PASSWORD_MIN_LENGTH), .password_min_length = 73 };
        assert_invalid(&own, own.set, "bcrypt");
        own.password_min_length = 72;
        assert_valid(&own, own.set);
}
END_TEST

START_TEST(test_validate_only_what_changes) {
        /* A value stored before the site lowered its maximum is capped,
         * not a reason to refuse a change of another setting. */
        TenantSettings own = {
                .set = BIT(SESSION_LIFETIME) | BIT(OPEN_SIGNUP),
                .session_lifetime = 40000,
                .open_signup = true,
        };

        c->oidc_session_lifetime = 3600;
        assert_valid(&own, BIT(OPEN_SIGNUP));
        assert_invalid(&own, BIT(SESSION_LIFETIME), "session_lifetime");
}
END_TEST

START_TEST(test_validate_site) {
        TesseraError e = {};

        ck_assert_int_eq(tenant_settings_validate_site(c, &e), 0);
        c->oidc_refresh_idle_lifetime = c->oidc_refresh_absolute_lifetime + 1;
        ck_assert_int_eq(tenant_settings_validate_site(c, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "refresh_idle_lifetime"));
}
END_TEST

START_TEST(test_merge) {
        TenantSettings own = {
                .set = BIT(OPEN_SIGNUP) | BIT(PASSWORD_MIN_LENGTH),
                .open_signup = true,
                .password_min_length = 12,
        };
        const TenantSettings change = {
                .set = BIT(MFA_REQUIRED) | BIT(PASSWORD_MIN_LENGTH),
                .mfa_required = MFA_REQUIRED_EVERYONE,
                .password_min_length = 16,
                .session_lifetime = 60,            /* not set: not taken */
        };

        tenant_settings_merge(&own, &change, BIT(OPEN_SIGNUP));
        ck_assert_uint_eq(own.set, BIT(MFA_REQUIRED) | BIT(PASSWORD_MIN_LENGTH));
        ck_assert_int_eq(own.mfa_required, MFA_REQUIRED_EVERYONE);
        ck_assert_uint_eq(own.password_min_length, 16);
        ck_assert_uint_eq(own.session_lifetime, 0);
        ck_assert(!tenant_settings_has(&own, TENANT_SETTING_OPEN_SIGNUP));
}
END_TEST

static Suite *tenant_settings_suite(void) {
        Suite *s = suite_create("tenant-settings");
        TCase *tc = tcase_create("settings");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_site_defaults);
        tcase_add_test(tc, test_own_values);
        tcase_add_test(tc, test_validate_ranges);
        tcase_add_test(tc, test_validate_combined);
        tcase_add_test(tc, test_validate_only_what_changes);
        tcase_add_test(tc, test_validate_site);
        tcase_add_test(tc, test_merge);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        log_set_max_level(LOG_WARNING);
        return test_run_suite(tenant_settings_suite());
}
