/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store/store-user-search.c: a page of a tenant's users, by every
 * shape of query (each filter given or not), against the states the
 * records themselves report. */

#include "test-util.h"
#include "time-util.h"

#define NOW 1800000000000000LL

typedef struct Seed {
        const char *name, *email;
        bool disabled;
        int64_t locked_until, expires;
        UserRole role;
} Seed;

/* Users of every state, and one of another tenant that no query of acme
 * may return. */
static const Seed seeds[] = {
        { "alice", "alice@example.com" },
        { "amber", "Zed@Example.com", .role = USER_ROLE_ADMIN },
        { "bob", "bob@example.com", .disabled = true },
        { "carl", NULL, .locked_until = NOW + 60 * USEC_PER_SEC },
        { "cora", "cora@example.com", .locked_until = NOW - 60 * USEC_PER_SEC },   /* a lock that ended */
        { "dora", "dora@example.com", .expires = NOW - 1 },
        { "dino", NULL, .expires = NOW + 3600 * USEC_PER_SEC, .role = USER_ROLE_OWNER },
        { "ed", "ed@example.com", .disabled = true, .expires = NOW - 1 },          /* disabled wins */
        { "zoe", "zoe@\xc3\xa9t\xc3\xa9.example" },
};

static TenantRecord *seed(Store *s) {
        TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(tenant_record_unrefp) TenantRecord *other = test_tenant(s, "other", NULL);

        ck_assert_int_eq(store_begin(s), 0);
        for (size_t i = 0; i < ELEMENTSOF(seeds); i++) {
                UserRecord u = {
                        .tenant_id = t->id,
                        .name = (char *) seeds[i].name,
                        .email = (char *) seeds[i].email,
                        .home = (char *) "/home/x",
                        .shell = (char *) "/bin/sh",
                        .role = seeds[i].role,
                        .disabled = seeds[i].disabled,
                        .locked_until_usec = seeds[i].locked_until,
                        .expires_usec = seeds[i].expires,
                };
                ck_assert_int_eq(store_user_create(s, &u, NULL), 0);
        }
        ck_assert_int_eq(store_user_create(s, &(UserRecord) { .tenant_id = other->id, .name = (char *) "alien",
                                                             .email = (char *) "a@example.com",
                                                             .home = (char *) "/h", .shell = (char *) "/bin/sh" },
                                           NULL),
                         0);
        ck_assert_int_eq(store_commit(s), 0);
        return t;
}

/* The names of one page, joined by spaces. */
static char *page(Store *s, const UserQuery *q) {
        UserRecord **users = NULL;
        size_t n = 0, len = 0;
        char *out = calloc(1, 512);

        ck_assert_ptr_nonnull(out);
        ck_assert_int_eq(store_user_search(s, q, &users, &n), 0);
        for (size_t i = 0; i < n; i++) {
                ck_assert_str_eq(users[i]->tenant, "acme");
                len += (size_t) snprintf(out + len, 512 - len, "%s%s", i > 0 ? " " : "", users[i]->name);
        }
        user_record_array_free(users, n);
        return out;
}

#define ASSERT_PAGE(s, q, expected)                     \
        do {                                            \
                _cleanup_free_ char *_p = page(s, q);   \
                ck_assert_str_eq(_p, expected);         \
        } while (0)

START_TEST(test_every_shape) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = seed(s);

        /* Each combination of the filters: the statement prepares and
         * every user returned matches all of them. */
        for (int sort = 0; sort < _USER_SORT_MAX; sort++)
                for (int prefix = 0; prefix < 2; prefix++)
                        for (int state = -1; state < _USER_STATE_MAX; state++)
                                for (int role = -1; role < 1; role++)
                                        for (int bounds = 0; bounds < 4; bounds++)
                                                for (int after = 0; after < 2; after++) {
                                                        UserQuery q = {
                                                                .tenant_id = t->id,
                                                                .sort = sort,
                                                                .prefix = prefix ? "a" : NULL,
                                                                .state = state,
                                                                .role = role,
                                                                .created_after = bounds & 1 ? 1 : 0,
                                                                .created_before = bounds & 2 ? INT64_MAX : 0,
                                                                .now_usec = NOW,
                                                                .after = after,
                                                                .after_name = "a",
                                                                .limit = 50,
                                                        };
                                                        UserRecord **users = NULL;
                                                        size_t n = 0;

                                                        ck_assert_int_eq(store_user_search(s, &q, &users, &n), 0);
                                                        for (size_t i = 0; i < n; i++) {
                                                                if (state >= 0)
                                                                        ck_assert_int_eq(
                                                                                user_record_state(users[i], NOW),
                                                                                state);
                                                                if (role >= 0)
                                                                        ck_assert_int_eq(users[i]->role, role);
                                                        }
                                                        user_record_array_free(users, n);
                                                }
}
END_TEST

START_TEST(test_states_as_records_have_them) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = seed(s);
        UserQuery q = { .tenant_id = t->id, .state = -1, .role = -1, .now_usec = NOW, .limit = 50 };

        ASSERT_PAGE(s, &q, "alice amber bob carl cora dino dora ed zoe");
        q.state = USER_STATE_ACTIVE;
        ASSERT_PAGE(s, &q, "alice amber cora dino zoe");
        q.state = USER_STATE_DISABLED;
        ASSERT_PAGE(s, &q, "bob ed");
        q.state = USER_STATE_LOCKED;
        ASSERT_PAGE(s, &q, "carl");
        q.state = USER_STATE_EXPIRED;
        ASSERT_PAGE(s, &q, "dora");
        q.state = -1;
        q.role = USER_ROLE_OWNER;
        ASSERT_PAGE(s, &q, "dino");
}
END_TEST

START_TEST(test_prefix) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = seed(s);
        UserQuery q = { .tenant_id = t->id, .state = -1, .role = -1, .now_usec = NOW, .limit = 50 };

        /* The names that begin so by name, then the other users whose
         * address (folded) does, by address; each once. */
        q.prefix = "a";
        ASSERT_PAGE(s, &q, "alice amber");
        q.prefix = "z";
        ASSERT_PAGE(s, &q, "zoe amber");
        q.prefix = "zed@example.com";
        ASSERT_PAGE(s, &q, "amber");
        q.prefix = "zoe@\xc3\xa9";
        ASSERT_PAGE(s, &q, "zoe");
        q.prefix = "zoe@\xc3\xa8";
        ASSERT_PAGE(s, &q, "");
        q.prefix = "c";
        q.state = USER_STATE_LOCKED;
        ASSERT_PAGE(s, &q, "carl");
        /* Pages of one, after a position: in the names, then in the
         * addresses. */
        q = (UserQuery) { .tenant_id = t->id, .state = -1, .role = -1, .now_usec = NOW, .limit = 1, .prefix = "z" };
        ASSERT_PAGE(s, &q, "zoe");
        q.after = true;
        q.after_name = "zoe";
        ASSERT_PAGE(s, &q, "amber");
        q.after_phase = 1;
        q.after_email = "zed@example.com";
        ASSERT_PAGE(s, &q, "");
        q.after_email = "a";
        ASSERT_PAGE(s, &q, "amber");
        /* A position in the addresses is only a prefix search's by name. */
        q.prefix = NULL;
        {
                UserRecord **users = NULL;
                size_t n = 0;
                ck_assert_int_eq(store_user_search(s, &q, &users, &n), -EINVAL);
        }
}
END_TEST

START_TEST(test_refused) {
        Store *s = test_store;
        UserRecord **users = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_user_search(s, &(UserQuery) { .tenant_id = 1, .state = -1, .role = -1 }, &users, &n),
                         -EINVAL);
        ck_assert_int_eq(store_user_search(s, &(UserQuery) { .tenant_id = 1, .state = 9, .role = -1, .limit = 1 },
                                           &users, &n),
                         -EINVAL);
        ck_assert_int_eq(store_user_search(s, &(UserQuery) { .tenant_id = 1, .state = -1, .role = -1, .limit = 1,
                                                             .after = true },
                                           &users, &n),
                         -EINVAL);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_every_shape);
        tcase_add_test(tc, test_states_as_records_have_them);
        tcase_add_test(tc, test_prefix);
        tcase_add_test(tc, test_refused);
}

int main(void) {
        Suite *suite = suite_create("store-user-search");

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "users", add_tests);
        return test_run_suite(suite);
}
