/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/core/upstream-flow.c and daemon/store/store-upstream-flow.c: the
 * sign-ins in flight towards upstream providers, kept in the store: a
 * state is good once, for its tenant and its browser (or the JSON API),
 * for ten minutes; the table is bounded. On SQLite (memory and file) and,
 * under tests/lib/pg_server.py, on PostgreSQL. */

#include "pkce.h"
#include "store.h"
#include "test-util.h"
#include "upstream-flow.h"

#define NOW ((int64_t) 1700000000 * USEC_PER_SEC)

#define FLOWS_MAX 3

/* The tenants "one" and "two": flows belong to a tenant of the store. */
static int64_t T1, T2;

static void tenants(void) {
        _cleanup_(tenant_record_unrefp) TenantRecord *one = test_tenant(test_store, "one", NULL);
        _cleanup_(tenant_record_unrefp) TenantRecord *two = test_tenant(test_store, "two", NULL);

        T1 = one->id;
        T2 = two->id;
}

static size_t kept(void) {
        size_t n = SIZE_MAX;

        ck_assert_int_eq(upstream_flows_count(test_store, &n), 0);
        return n;
}

/* Puts a flow of tenant T1 for browser "b1" (NULL: the API) and returns its state. */
static void put(const char *binding, int64_t now, UpstreamFlow *ret) {
        *ret = (UpstreamFlow) { .kind = UPSTREAM_FLOW_AUTHORIZE, .tenant_id = T1, .provider_id = 7,
                                .api = !binding, .request = strdup("client_id=x"),
                                .redirect_uri = strdup("https://t.example/t/acme/upstream/callback") };
        snprintf(ret->provider, sizeof(ret->provider), "google");
        if (binding)
                snprintf(ret->binding, sizeof(ret->binding), "%s", binding);
        ck_assert_int_eq(upstream_flow_put(test_store, FLOWS_MAX, ret, now), 0);
}

START_TEST(test_put_and_take_once) {
        _cleanup_(upstream_flow_done) UpstreamFlow f = {}, got = {}, again = {};
        char challenge[44];

        put("b1", NOW, &f);
        ck_assert_uint_eq(strlen(f.key), 43);
        ck_assert_uint_eq(strlen(f.nonce), 43);
        ck_assert(pkce_valid_verifier(f.verifier));
        ck_assert_int_eq(pkce_s256(f.verifier, challenge), 0);
        ck_assert_str_eq(f.challenge, challenge);
        ck_assert_str_ne(f.key, f.nonce);
        ck_assert_uint_eq(kept(), 1);

        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, f.key, T1, "b1", NOW + 1, &got), 0);
        ck_assert_str_eq(got.nonce, f.nonce);
        ck_assert_str_eq(got.verifier, f.verifier);
        ck_assert_str_eq(got.provider, "google");
        ck_assert_int_eq(got.provider_id, 7);
        ck_assert_str_eq(got.request, "client_id=x");
        ck_assert_str_eq(got.redirect_uri, "https://t.example/t/acme/upstream/callback");
        /* A replay finds nothing. */
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, f.key, T1, "b1", NOW + 2, &again),
                         -ENOENT);
        ck_assert_uint_eq(kept(), 0);
}
END_TEST

START_TEST(test_refusals_spend_the_state) {
        _cleanup_(upstream_flow_done) UpstreamFlow a = {}, b = {}, c = {}, d = {}, got = {};

        put("b1", NOW, &a);
        put("b1", NOW, &b);
        put(NULL, NOW, &c);
        /* Another tenant's callback. */
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, a.key, T2, "b1", NOW, &got), -EXDEV);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, a.key, T1, "b1", NOW, &got), -ENOENT);
        /* Another browser, no browser, the API. */
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, b.key, T1, "b2", NOW, &got), -EACCES);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, b.key, T1, "b1", NOW, &got), -ENOENT);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, c.key, T1, "b1", NOW, &got), -EACCES);
        put(NULL, NOW, &d);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, d.key, T1, NULL, NOW, &got), 0);
        upstream_flow_done(&got);
        /* Expired. */
        upstream_flow_done(&a);
        put("b1", NOW, &a);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, a.key, T1, "b1",
                                            NOW + UPSTREAM_FLOW_LIFETIME_USEC, &got),
                         -ETIME);
        /* The wrong kind, and what is no state at all. */
        upstream_flow_done(&a);
        put("b1", NOW, &a);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_LINK, a.key, T1, "b1", NOW, &got), -ENOENT);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, "", T1, "b1", NOW, &got), -ENOENT);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, NULL, T1, "b1", NOW, &got), -ENOENT);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, "a b", T1, "b1", NOW, &got), -ENOENT);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, a.key, T1, "b1", NOW, &got), 0);
}
END_TEST

START_TEST(test_bounded) {
        _cleanup_(upstream_flow_done) UpstreamFlow got = {};
        UpstreamFlow f[5] = {};

        for (size_t i = 0; i < 5; i++)
                put("b1", NOW + (int64_t) i, &f[i]);
        /* Three kept: the two oldest were pushed out. */
        ck_assert_uint_eq(kept(), 3);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, f[0].key, T1, "b1", NOW, &got),
                         -ENOENT);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, f[1].key, T1, "b1", NOW, &got),
                         -ENOENT);
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_AUTHORIZE, f[4].key, T1, "b1", NOW, &got), 0);
        upstream_flow_done(&got);
        /* Expired ones go first when a new one comes. */
        upstream_flow_done(&f[0]);
        put("b1", NOW + UPSTREAM_FLOW_LIFETIME_USEC + 10, &f[0]);
        ck_assert_uint_eq(kept(), 1);
        for (size_t i = 0; i < 5; i++)
                upstream_flow_done(&f[i]);
}
END_TEST

START_TEST(test_link_keeps_identity) {
        _cleanup_(upstream_flow_done) UpstreamFlow f = {}, got = {};

        f = (UpstreamFlow) { .kind = UPSTREAM_FLOW_LINK, .tenant_id = T1, .user_id = 42 };
        snprintf(f.binding, sizeof(f.binding), "b1");
        f.identity.subject = strdup("1234");
        f.identity.email = strdup("ada@example.org");
        f.identity.email_verified = true;
        ck_assert_ptr_nonnull(f.identity.subject);
        ck_assert_int_eq(upstream_flow_put(test_store, FLOWS_MAX, &f, NOW), 0);
        /* Taken by the store. */
        ck_assert_ptr_null(f.identity.subject);
        ck_assert_str_eq(f.nonce, "");
        ck_assert_int_eq(upstream_flow_take(test_store, UPSTREAM_FLOW_LINK, f.key, T1, "b1", NOW, &got), 0);
        ck_assert_int_eq(got.user_id, 42);
        ck_assert_str_eq(got.key, f.key);
        ck_assert_str_eq(got.identity.subject, "1234");
        ck_assert_str_eq(got.identity.email, "ada@example.org");
        ck_assert(got.identity.email_verified);
        ck_assert_ptr_null(got.identity.name);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_checked_fixture(tc, tenants, NULL);
        tcase_add_test(tc, test_put_and_take_once);
        tcase_add_test(tc, test_refusals_spend_the_state);
        tcase_add_test(tc, test_bounded);
        tcase_add_test(tc, test_link_keeps_identity);
}

int main(void) {
        Suite *s = suite_create("upstream-flow");

        test_add_store_tcases(s, "flows", add_tests);
        return test_run_suite(s);
}
