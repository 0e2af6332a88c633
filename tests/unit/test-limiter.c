/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/limiter.c and siphash.c: limits on failed authentications per
 * (kind, key): burst and rate, IPv6 prefixes, the bounded table and its
 * eviction, and many threads at once. Time is given, never slept. */

#include <pthread.h>

#include "limiter.h"
#include "siphash.h"
#include "test-util.h"

#define SEC USEC_PER_SEC
/* Monotonic times as the daemon sees them: far from 0. */
#define T0 (1000 * SEC)

static Limiter *new_limiter(uint32_t burst, uint64_t interval, size_t max_entries, unsigned prefix) {
        LimiterOptions o = {
                .rules = {
                        [LIMIT_ADDRESS] = { burst, interval },
                        [LIMIT_CLIENT] = { burst, interval },
                },
                .max_entries = max_entries,
                .ipv6_prefix = prefix,
        };
        Limiter *l = NULL;

        ck_assert_int_eq(limiter_new(&o, &l), 0);
        ck_assert_ptr_nonnull(l);
        return l;
}

static void fail_n(Limiter *l, LimitKind kind, const char *key, unsigned n, uint64_t now) {
        for (unsigned i = 0; i < n; i++)
                limiter_fail(l, kind, key, now);
}

START_TEST(test_siphash_vectors) {
        /* The reference vectors of the SipHash paper: key 00..0f, messages
         * 00 01 02 ... of each length. */
        uint8_t key[SIPHASH_KEY_SIZE], msg[15];

        for (unsigned i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t) i;
        for (unsigned i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t) i;
        ck_assert_uint_eq(siphash24(key, msg, 0), UINT64_C(0x726fdb47dd0e0e31));
        ck_assert_uint_eq(siphash24(key, msg, 15), UINT64_C(0xa129ca6149be45e5));
        ck_assert_uint_eq(siphash24(key, msg, 8), UINT64_C(0x93f5f5799a932462));
}
END_TEST

START_TEST(test_burst_then_rate) {
        _cleanup_(limiter_freep) Limiter *l = new_limiter(3, 10 * SEC, 1024, 64);
        bool first;

        /* Nothing known: allowed; and a check alone takes nothing. */
        for (unsigned i = 0; i < 100; i++)
                ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0, NULL), 0);

        /* The burst: three failures at once, and then no more. */
        fail_n(l, LIMIT_ADDRESS, "192.0.2.1", 2, T0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0, NULL), 0);
        limiter_fail(l, LIMIT_ADDRESS, "192.0.2.1", T0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0, &first), 10);
        ck_assert(first);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0, &first), 10);
        ck_assert(!first);

        /* Retry-After rounds up and is never 0 while refused. */
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 4 * SEC + 1, NULL), 6);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 10 * SEC - 1, NULL), 1);

        /* Then one failure per interval. */
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 10 * SEC, &first), 0);
        ck_assert(!first);
        limiter_fail(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 10 * SEC);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 10 * SEC, &first), 10);
        ck_assert(first);

        /* Failures while refused (a door that doesn't check) don't push the
         * end further than one interval. */
        fail_n(l, LIMIT_ADDRESS, "192.0.2.1", 50, T0 + 10 * SEC);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 10 * SEC, NULL), 10);

        /* After burst intervals, the whole burst is back. */
        fail_n(l, LIMIT_ADDRESS, "192.0.2.1", 2, T0 + 60 * SEC);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 60 * SEC, NULL), 0);
        limiter_fail(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 60 * SEC);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0 + 60 * SEC, NULL), 0);
}
END_TEST

START_TEST(test_keys_apart) {
        _cleanup_(limiter_freep) Limiter *l = new_limiter(2, 60 * SEC, 1024, 64);

        fail_n(l, LIMIT_ADDRESS, "192.0.2.1", 2, T0);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0, NULL), 0);
        /* Another address, and the same text as a client id, are other keys. */
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.2", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, "192.0.2.1", T0, NULL), 0);

        fail_n(l, LIMIT_CLIENT, "app_one", 2, T0);
        ck_assert_uint_gt(limiter_check(l, LIMIT_CLIENT, "app_one", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, "app_two", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "app_one", T0, NULL), 0);

        /* No key, no limit. */
        limiter_fail(l, LIMIT_CLIENT, NULL, T0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, NULL, T0, NULL), 0);
}
END_TEST

START_TEST(test_limit_off) {
        LimiterOptions o = {
                .rules = { [LIMIT_ADDRESS] = { 0, 0 }, [LIMIT_CLIENT] = { 1, SEC } },
                .max_entries = 64,
                .ipv6_prefix = 64,
        };
        _cleanup_(limiter_freep) Limiter *l = NULL;

        ck_assert_int_eq(limiter_new(&o, &l), 0);
        fail_n(l, LIMIT_ADDRESS, "192.0.2.1", 1000, T0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "192.0.2.1", T0, NULL), 0);
        limiter_fail(l, LIMIT_CLIENT, "app", T0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, "app", T0, NULL), 1);
}
END_TEST

START_TEST(test_bad_options) {
        LimiterOptions o = {
                .rules = { [LIMIT_ADDRESS] = { 5, SEC } },
                .max_entries = 64,
                .ipv6_prefix = 64,
        };
        Limiter *l = NULL;

        o.max_entries = 0;
        ck_assert_int_eq(limiter_new(&o, &l), -EINVAL);
        o.max_entries = 64;
        o.ipv6_prefix = 129;
        ck_assert_int_eq(limiter_new(&o, &l), -EINVAL);
        o.ipv6_prefix = 64;
        o.rules[LIMIT_CLIENT] = (LimitRule) { 5, 0 };
        ck_assert_int_eq(limiter_new(&o, &l), -EINVAL);
        ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_ipv6_prefix) {
        _cleanup_(limiter_freep) Limiter *l = new_limiter(2, 60 * SEC, 1024, 64);
        _cleanup_(limiter_freep) Limiter *exact = new_limiter(2, 60 * SEC, 1024, 128);

        /* Two addresses of one /64 are one key: a host picks new ones at will. */
        limiter_fail(l, LIMIT_ADDRESS, "2001:db8:1:2::1", T0);
        limiter_fail(l, LIMIT_ADDRESS, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", T0);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "2001:db8:1:2::ffff", T0, NULL), 0);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "2001:0db8:0001:0002:0:0:0:1", T0, NULL), 0);
        /* The next /64 is another key. */
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "2001:db8:1:3::1", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "2001:db8:1:1:ffff:ffff:ffff:ffff", T0, NULL), 0);

        /* With /128, each address is one. */
        limiter_fail(exact, LIMIT_ADDRESS, "2001:db8:1:2::1", T0);
        limiter_fail(exact, LIMIT_ADDRESS, "2001:db8:1:2::2", T0);
        ck_assert_uint_eq(limiter_check(exact, LIMIT_ADDRESS, "2001:db8:1:2::1", T0, NULL), 0);
        limiter_fail(exact, LIMIT_ADDRESS, "2001:db8:1:2::1", T0);
        ck_assert_uint_gt(limiter_check(exact, LIMIT_ADDRESS, "2001:db8:1:2::1", T0, NULL), 0);

        /* IPv4 counts per address, and IPv4-mapped IPv6 is the same IPv4
         * address (a dual-stack socket shows it so), not a /64 of its own. */
        limiter_fail(l, LIMIT_ADDRESS, "198.51.100.7", T0);
        limiter_fail(l, LIMIT_ADDRESS, "::ffff:198.51.100.7", T0);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "198.51.100.7", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "198.51.100.8", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "::ffff:198.51.100.8", T0, NULL), 0);

        /* What is not an address is a key of its own, never an address's. */
        fail_n(l, LIMIT_ADDRESS, "", 2, T0);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "0.0.0.0", T0, NULL), 0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "::", T0, NULL), 0);
}
END_TEST

START_TEST(test_eviction_oldest_first) {
        /* One bucket of 8 slots. */
        _cleanup_(limiter_freep) Limiter *l = new_limiter(2, 60 * SEC, 8, 64);
        char key[32];

        ck_assert_uint_eq(limiter_capacity(l), 8);
        /* Filled in the order of their slots, each key forgiven a second
         * before the one before it: the last is forgiven first. */
        for (unsigned i = 0; i < 8; i++) {
                snprintf(key, sizeof(key), "client-%u", i);
                fail_n(l, LIMIT_CLIENT, key, 2, T0 + (7 - i) * SEC);
        }
        for (unsigned i = 0; i < 8; i++) {
                snprintf(key, sizeof(key), "client-%u", i);
                ck_assert_uint_gt(limiter_check(l, LIMIT_CLIENT, key, T0 + 8 * SEC, NULL), 0);
        }
        ck_assert_uint_eq(limiter_evictions(l), 0);

        /* A ninth pushes out the one forgiven soonest, wherever it is. */
        limiter_fail(l, LIMIT_CLIENT, "client-8", T0 + 8 * SEC);
        ck_assert_uint_eq(limiter_evictions(l), 1);
        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, "client-7", T0 + 8 * SEC, NULL), 0);
        for (unsigned i = 0; i < 7; i++) {
                snprintf(key, sizeof(key), "client-%u", i);
                ck_assert_uint_gt(limiter_check(l, LIMIT_CLIENT, key, T0 + 8 * SEC, NULL), 0);
        }
        /* client-8 has one failure of two: not refused, but remembered. */
        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, "client-8", T0 + 8 * SEC, NULL), 0);
        limiter_fail(l, LIMIT_CLIENT, "client-8", T0 + 8 * SEC);
        ck_assert_uint_gt(limiter_check(l, LIMIT_CLIENT, "client-8", T0 + 8 * SEC, NULL), 0);
}
END_TEST

START_TEST(test_flood_of_keys) {
        /* An attacker with many addresses can't grow the table, nor push
         * out a key that is limited harder than its own. */
        _cleanup_(limiter_freep) Limiter *l = new_limiter(10, 60 * SEC, 1024, 64);
        size_t capacity = limiter_capacity(l);
        char addr[64];

        fail_n(l, LIMIT_ADDRESS, "203.0.113.9", 10, T0);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "203.0.113.9", T0, NULL), 0);
        for (unsigned i = 0; i < 200000; i++) {
                snprintf(addr, sizeof(addr), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
                limiter_fail(l, LIMIT_ADDRESS, addr, T0 + i);
        }
        ck_assert_uint_eq(limiter_capacity(l), capacity);
        ck_assert_uint_gt(limiter_evictions(l), 200000 - capacity - 1);
        ck_assert_uint_gt(limiter_check(l, LIMIT_ADDRESS, "203.0.113.9", T0 + SEC, NULL), 0);

        /* Once forgiven, a key is the first to go. */
        ck_assert_uint_eq(limiter_check(l, LIMIT_ADDRESS, "203.0.113.9", T0 + 600 * SEC, NULL), 0);
}
END_TEST

typedef struct Hammer {
        Limiter *l;
        const char *key;          /* NULL: a key of each thread's own per round */
        unsigned rounds;
        unsigned id;
} Hammer;

static void *hammer(void *arg) {
        Hammer *h = arg;
        char key[64];

        for (unsigned i = 0; i < h->rounds; i++) {
                if (h->key) {
                        limiter_fail(h->l, LIMIT_CLIENT, h->key, T0);
                        (void) limiter_check(h->l, LIMIT_ADDRESS, "192.0.2.200", T0, NULL);
                } else {
                        snprintf(key, sizeof(key), "10.%u.%u.%u", h->id, (i >> 8) & 0xff, i & 0xff);
                        limiter_fail(h->l, LIMIT_ADDRESS, key, T0 + i);
                        (void) limiter_check(h->l, LIMIT_ADDRESS, key, T0 + i, NULL);
                }
        }
        return NULL;
}

START_TEST(test_threads) {
        enum { THREADS = 8, ROUNDS = 20000 };
        /* A burst of exactly THREADS * ROUNDS + 1: after every thread's
         * failures one more is allowed, and then none. A lost update under
         * contention would leave room for more. */
        _cleanup_(limiter_freep) Limiter *l = new_limiter(THREADS * ROUNDS + 1, SEC, 4096, 64);
        pthread_t threads[2 * THREADS];
        Hammer h[2 * THREADS];

        for (unsigned i = 0; i < 2 * THREADS; i++) {
                /* Half on one key, half on many keys of their own. */
                h[i] = (Hammer) { .l = l, .key = i < THREADS ? "shared" : NULL, .rounds = ROUNDS, .id = i };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, hammer, &h[i]), 0);
        }
        for (unsigned i = 0; i < 2 * THREADS; i++)
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);

        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, "shared", T0, NULL), 0);
        limiter_fail(l, LIMIT_CLIENT, "shared", T0);
        ck_assert_uint_eq(limiter_check(l, LIMIT_CLIENT, "shared", T0, NULL), 1);
}
END_TEST

int main(void) {
        Suite *s = suite_create("limiter");
        TCase *tc = tcase_create("limiter");

        log_set_max_level(LOG_WARNING);
        tcase_add_test(tc, test_siphash_vectors);
        tcase_add_test(tc, test_burst_then_rate);
        tcase_add_test(tc, test_keys_apart);
        tcase_add_test(tc, test_limit_off);
        tcase_add_test(tc, test_bad_options);
        tcase_add_test(tc, test_ipv6_prefix);
        tcase_add_test(tc, test_eviction_oldest_first);
        tcase_add_test(tc, test_flood_of_keys);
        tcase_add_test(tc, test_threads);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
