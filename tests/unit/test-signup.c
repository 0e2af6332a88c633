/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core/signup.c: a new tenant and its owner in one transaction, only where
 * sign-up is open; the slug and the user name it makes; conflicts and
 * invalid fields refused with the field named, nothing half-written, every
 * outcome audited. */

#include "names.h"
#include "password.h"
#include "signup.h"
#include "store-account.h"
#include "test-auth-util.h"

static Manager *m;
static const char *const PASSWORD = "correct horse battery";

static void setup(void) {
        m = auth_test_manager_new();
        ck_assert_int_ge(sd_event_new(&m->event), 0);
        ck_assert_int_eq(worker_pool_new(m->event, 1, 4, &m->workers), 0);
        m->config->open_signup = true;
        user_record_unref(auth_test_user(m, "alice", PASSWORD));    /* and tenant acme */
}

static void teardown(void) {
        m = manager_free(m);
}

START_TEST(test_slug_from_name) {
        char buf[TENANT_SLUG_MAX_LEN + 1];

        ck_assert(signup_slug_from_name("Initech, Inc.", buf, sizeof(buf)));
        ck_assert_str_eq(buf, "initech-inc");
        ck_assert(signup_slug_from_name("  --ACME  2000--  ", buf, sizeof(buf)));
        ck_assert_str_eq(buf, "acme-2000");
        ck_assert(signup_slug_from_name("Zürich Röstkaffee", buf, sizeof(buf)));
        ck_assert_str_eq(buf, "z-rich-r-stkaffee");
        ck_assert(signup_slug_from_name("a very long organization name that will not fit", buf, sizeof(buf)));
        ck_assert_uint_le(strlen(buf), TENANT_SLUG_MAX_LEN);
        ck_assert_str_eq(buf, "a-very-long-organization-name-th");
        ck_assert(!signup_slug_from_name("!!!", buf, sizeof(buf)));
        ck_assert(!signup_slug_from_name("", buf, sizeof(buf)));
        ck_assert(!signup_slug_from_name("日本", buf, sizeof(buf)));
}
END_TEST

START_TEST(test_user_name_from_email) {
        char buf[NAME_MAX_LEN + 1];

        signup_user_name_from_email("Jane.Doe+x@example.com", buf, sizeof(buf));
        ck_assert_str_eq(buf, "jane_doe_x");
        signup_user_name_from_email("42@example.com", buf, sizeof(buf));
        ck_assert_str_eq(buf, "_42");
        signup_user_name_from_email("-x@example.com", buf, sizeof(buf));
        ck_assert_str_eq(buf, "_-x");
        signup_user_name_from_email("@example.com", buf, sizeof(buf));
        ck_assert_str_eq(buf, "owner");
        signup_user_name_from_email("averyveryveryverylonglocalpartthatgoesonandon@example.com", buf, sizeof(buf));
        ck_assert_uint_eq(strlen(buf), NAME_MAX_LEN);
}
END_TEST

static int run(const SignupSpec *spec, TenantRecord **t, UserRecord **u, SignupRefusal *f, TesseraError *e) {
        Principal anon = principal_anonymous("http", "192.0.2.1");

        return signup_run(m, m->store, &anon, spec, t, u, f, e);
}

static bool tenant_exists(const char *slug) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        int r = store_tenant_get(m->store, slug, &t);

        ck_assert(r == 0 || r == -ENOENT);
        return r == 0;
}

START_TEST(test_signup) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        SignupSpec spec = { .email = "Peter@Initech.example", .password = PASSWORD, .real_name = "Peter Gibbons",
                            .organization_name = "Initech, Inc." };
        SignupRefusal f = {};
        TesseraError e = {};

        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), 0);
        ck_assert_str_eq(t->slug, "initech-inc");
        ck_assert_str_eq(t->display_name, "Initech, Inc.");
        ck_assert_str_eq(u->name, "peter");
        ck_assert_str_eq(u->tenant, "initech-inc");
        ck_assert_int_eq(u->role, USER_ROLE_OWNER);
        ck_assert_str_eq(u->email, "Peter@Initech.example");
        ck_assert(!u->email_verified);
        ck_assert_int_eq(password_verify(PASSWORD, u->password_hash), 1);
        ck_assert_int_eq(store_owner_email_exists(m->store, "peter@initech.EXAMPLE"), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "account.signup", "peter@initech-inc", AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_refusals) {
        TenantRecord *t = NULL;
        UserRecord *u = NULL;
        SignupSpec spec = { .email = "boss@umbrella.example", .password = PASSWORD, .real_name = "Boss",
                            .organization_name = "Umbrella" };
        SignupRefusal f = {};
        TesseraError e = {};

        {
                _cleanup_(tenant_record_unrefp) TenantRecord *t1 = NULL;
                _cleanup_(user_record_unrefp) UserRecord *u1 = NULL;

                ck_assert_int_eq(run(&spec, &t1, &u1, &f, &e), 0);
        }

        /* The e-mail address of an owner, in another case. */
        spec.email = "BOSS@umbrella.example";
        spec.organization_name = "Umbrella Two";
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EEXIST);
        ck_assert_str_eq(f.field, "email");
        /* The slug, made or given. */
        spec.email = "other@umbrella.example";
        spec.organization_name = "Umbrella";
        f = (SignupRefusal) {}, e = (TesseraError) {};
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EEXIST);
        ck_assert_str_eq(f.field, "organization_name");
        spec.organization_slug = "acme";
        f = (SignupRefusal) {}, e = (TesseraError) {};
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EEXIST);
        ck_assert_str_eq(f.field, "organization_slug");
        spec.organization_slug = NULL;
        /* Fields not valid. */
        spec.email = "no-address";
        f = (SignupRefusal) {}, e = (TesseraError) {};
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EINVAL);
        ck_assert_str_eq(f.field, "email");
        spec.email = "x@umbrella.example";
        spec.organization_name = "???";
        f = (SignupRefusal) {}, e = (TesseraError) {};
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EINVAL);
        ck_assert_str_eq(f.field, "organization_name");
        spec.organization_name = "New Org";
        spec.user_name = "9lives";
        f = (SignupRefusal) {}, e = (TesseraError) {};
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EINVAL);
        ck_assert_str_eq(f.field, "user_name");
        spec.user_name = NULL;
        spec.real_name = "two\nlines";
        f = (SignupRefusal) {}, e = (TesseraError) {};
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EINVAL);
        ck_assert_str_eq(f.field, "name");
        spec.real_name = "X";
        /* Closed. */
        m->config->open_signup = false;
        f = (SignupRefusal) {}, e = (TesseraError) {};
        ck_assert_int_eq(run(&spec, &t, &u, &f, &e), -EACCES);
        ck_assert_ptr_null(f.field);

        /* Nothing half-written; every refusal audited. */
        ck_assert_ptr_null(t);
        ck_assert_ptr_null(u);
        ck_assert(tenant_exists("umbrella"));
        ck_assert(!tenant_exists("umbrella-two"));
        ck_assert(!tenant_exists("new-org"));
        ck_assert_int_eq(store_owner_email_exists(m->store, "other@umbrella.example"), 0);
        ck_assert_int_eq(store_owner_email_exists(m->store, "x@umbrella.example"), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "account.signup", NULL, -1) -
                                  test_audit_count(m->store, "account.signup", NULL, AUDIT_SUCCESS),
                          8);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("signup");
        TCase *tc = tcase_create("signup");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_slug_from_name);
        tcase_add_test(tc, test_user_name_from_email);
        tcase_add_test(tc, test_signup);
        tcase_add_test(tc, test_refusals);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(suite());
}
