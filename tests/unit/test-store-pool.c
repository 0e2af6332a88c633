/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store/store-pool.c and store-config.c: the store's connections,
 * one per thread from the pool, dedicated ones on request, all opened from
 * a StoreConfig and closed by the store layer. */

#include <pthread.h>

#include "store-pool.h"
#include "test-util.h"

static char *dir;

static void setup(void) {
        dir = test_mkdtemp();
}

static void teardown(void) {
        test_rm_rf(dir);
        dir = (free(dir), NULL);
}

START_TEST(test_config) {
        StoreConfig c = { .backend = STORE_BACKEND_SQLITE };
        _cleanup_free_ char *describe = NULL;

        ck_assert_int_eq(store_backend_from_string("sqlite"), STORE_BACKEND_SQLITE);
        ck_assert_int_eq(store_backend_from_string("postgresql"), STORE_BACKEND_POSTGRESQL);
        ck_assert_int_eq(store_backend_from_string("postgres"), -EINVAL);
        ck_assert_int_eq(store_backend_from_string(NULL), -EINVAL);
        ck_assert_str_eq(store_backend_to_string(STORE_BACKEND_SQLITE), "sqlite");
        ck_assert_ptr_null(store_backend_to_string(_STORE_BACKEND_MAX));

        /* Unfinished: nothing to connect to yet. */
        ck_assert_int_eq(store_config_describe(&c, &describe), -EINVAL);
        ck_assert_int_eq(store_config_finish(&c, NULL), -EINVAL);
        ck_assert_int_eq(store_config_finish(&c, "/var/lib/x"), 0);
        ck_assert_str_eq(c.path, "/var/lib/x/tessera.db");
        /* A path that is set stays. */
        ck_assert_int_eq(store_config_finish(&c, "/elsewhere"), 0);
        ck_assert_str_eq(c.path, "/var/lib/x/tessera.db");
        ck_assert_int_eq(store_config_describe(&c, &describe), 0);
        ck_assert_str_eq(describe, "sqlite /var/lib/x/tessera.db");
        store_config_done(&c);
        ck_assert_ptr_null(c.path);
        /* The root as state directory: a normalized path all the same. */
        ck_assert_int_eq(store_config_finish(&c, "/"), 0);
        ck_assert_str_eq(c.path, "/tessera.db");
        store_config_done(&c);
}
END_TEST

START_TEST(test_unusable_config) {
        StorePool *p = NULL;
        Store *s = NULL;

        ck_assert_int_eq(store_pool_new(&(StoreConfig) { .backend = STORE_BACKEND_SQLITE }, &p), -EINVAL);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(store_pool_new(&(StoreConfig) { .backend = _STORE_BACKEND_MAX, .path = (char *) "/x" }, &p),
                         -EINVAL);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(store_open(&(StoreConfig) { .backend = _STORE_BACKEND_MAX, .path = (char *) "/x" }, &s),
                         -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_open_failure_reported) {
        _cleanup_free_ char *missing = NULL;
        _cleanup_(store_pool_freep) StorePool *p = NULL;
        Store *s = NULL;

        ck_assert_int_ge(asprintf(&missing, "%s/no/such/dir/tessera.db", dir), 0);
        ck_assert_int_eq(store_pool_new(TEST_STORE_CONFIG(missing), &p), 0);
        ck_assert_str_eq(store_pool_describe(p) + strlen("sqlite "), missing);
        /* The failure is the caller's to see, each time it asks. */
        ck_assert_int_lt(store_pool_thread(p, &s), 0);
        ck_assert_ptr_null(s);
        ck_assert_int_lt(store_pool_thread(p, &s), 0);
        ck_assert_int_lt(store_pool_open(p, &s), 0);
        ck_assert_ptr_null(s);
}
END_TEST

typedef struct ThreadCheck {
        StorePool *pool;
        Store *seen;
        bool same_twice;
        bool leave_transaction_open;
        int result;
} ThreadCheck;

static void *thread_main(void *userdata) {
        ThreadCheck *t = userdata;
        _cleanup_(tenant_record_unrefp) TenantRecord *tenant = NULL;
        Store *again = NULL;

        t->result = store_pool_thread(t->pool, &t->seen);
        if (t->result < 0)
                return NULL;
        t->result = store_pool_thread(t->pool, &again);
        t->same_twice = again == t->seen;
        if (t->result >= 0)
                t->result = store_tenant_get(t->seen, "acme", &tenant);
        /* Leaves the write lock held and a row uncommitted: only closing
         * the connection lets go of them. */
        if (t->result >= 0 && t->leave_transaction_open) {
                t->result = store_begin(t->seen);
                if (t->result >= 0)
                        t->result = store_tenant_create(t->seen, "uncommitted", NULL, &test_default_range, NULL);
        }
        return NULL;
}

START_TEST(test_thread_connections) {
        _cleanup_(store_pool_freep) StorePool *p = test_store_pool(dir);
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        ThreadCheck checks[3];
        pthread_t threads[3];
        Store *main_store = NULL, *again = NULL;

        /* This thread's connection: the same one each time. */
        ck_assert_int_eq(store_pool_thread(p, &main_store), 0);
        ck_assert_int_eq(store_pool_thread(p, &again), 0);
        ck_assert_ptr_eq(main_store, again);
        t = test_tenant(main_store, "acme", &test_default_range);

        /* Every other thread gets one of its own, on the same database. */
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                checks[i] = (ThreadCheck) { .pool = p, .leave_transaction_open = i == 0 };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, thread_main, &checks[i]), 0);
                /* One at a time: the first holds the write lock till it ends. */
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
                ck_assert_int_eq(checks[i].result, 0);
                ck_assert(checks[i].same_twice);
                ck_assert_ptr_ne(checks[i].seen, main_store);
        }

        /* The first thread ended inside a transaction: the pool closed its
         * connection as it ended, which rolled it back and let the lock go. */
        ck_assert_int_eq(store_tenant_get(main_store, "uncommitted", NULL), -ENOENT);
        ck_assert_int_eq(store_begin(main_store), 0);
        ck_assert_int_eq(store_tenant_create(main_store, "committed", NULL, &test_default_range, NULL), 0);
        ck_assert_int_eq(store_commit(main_store), 0);
}
END_TEST

START_TEST(test_dedicated_connection) {
        _cleanup_(store_pool_freep) StorePool *p = test_store_pool(dir);
        _cleanup_(store_closep) Store *own = NULL, *own2 = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *seen = NULL;
        Store *mine = NULL;

        ck_assert_int_eq(store_pool_thread(p, &mine), 0);
        ck_assert_int_eq(store_pool_open(p, &own), 0);
        ck_assert_int_eq(store_pool_open(p, &own2), 0);
        /* Not the thread's, nor each other's. */
        ck_assert_ptr_ne(own, mine);
        ck_assert_ptr_ne(own, own2);
        t = test_tenant(own, "acme", &test_default_range);
        ck_assert_int_eq(store_tenant_get(mine, "acme", &seen), 0);
        ck_assert_int_eq(seen->id, t->id);
        /* A transaction on one leaves the others free to read. */
        ck_assert_int_eq(store_begin(own2), 0);
        ck_assert_int_eq(store_ping(own), 0);
        store_rollback(own2);
}
END_TEST

int main(void) {
        Suite *s = suite_create("store-pool");
        TCase *tc = tcase_create("store-pool");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_config);
        tcase_add_test(tc, test_unusable_config);
        tcase_add_test(tc, test_open_failure_reported);
        tcase_add_test(tc, test_thread_connections);
        tcase_add_test(tc, test_dedicated_connection);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
