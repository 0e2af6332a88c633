/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/mail/mail-backoff.c: when a mail that failed is tried again. */

#include "mail-backoff.h"
#include "test-util.h"

#define S UINT64_C(1000000)

static const MailRetryPolicy policy = { .initial_usec = 30 * S, .max_usec = 3600 * S, .max_attempts = 16 };

START_TEST(test_doubles_up_to_max) {
        static const uint64_t expected[] = { 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600 };

        /* Without jitter (the random draw at its bottom) the full delay. */
        for (unsigned n = 1; n <= ELEMENTSOF(expected); n++)
                ck_assert_uint_eq(mail_backoff_delay(&policy, n, 0), expected[n - 1] * S);
        /* Far past the cap it neither overflows nor grows. */
        ck_assert_uint_eq(mail_backoff_delay(&policy, 1000, 0), 3600 * S);
        ck_assert_uint_eq(mail_backoff_delay(&policy, UINT32_MAX, 0), 3600 * S);
}
END_TEST

START_TEST(test_jitter_takes_off_up_to_half) {
        uint64_t lo = mail_backoff_delay(&policy, 3, UINT32_MAX), mid = mail_backoff_delay(&policy, 3, UINT32_MAX / 2);

        ck_assert_uint_eq(lo, 60 * S);
        ck_assert_uint_gt(mid, 60 * S);
        ck_assert_uint_lt(mid, 120 * S);
        for (uint32_t r = 0; r < UINT32_MAX - 7919 * 65536u; r += 7919 * 65536u) {
                uint64_t d = mail_backoff_delay(&policy, 5, r);
                ck_assert_uint_ge(d, 240 * S);
                ck_assert_uint_le(d, 480 * S);
        }
}
END_TEST

START_TEST(test_limits) {
        MailRetryPolicy p = { .initial_usec = 0, .max_usec = 0, .max_attempts = 3 };

        /* A policy of zeros still waits, a little. */
        ck_assert_uint_ge(mail_backoff_delay(&p, 1, 0), 1);
        ck_assert(!mail_backoff_exhausted(&p, 1));
        ck_assert(!mail_backoff_exhausted(&p, 2));
        ck_assert(mail_backoff_exhausted(&p, 3));
        ck_assert(mail_backoff_exhausted(&p, 4));
        /* The whole default schedule: 4.5 to 9 hours before giving up. */
        uint64_t total = 0;
        for (unsigned n = 1; n < policy.max_attempts; n++)
                total += mail_backoff_delay(&policy, n, 0);
        ck_assert_uint_eq(total, (30 + 60 + 120 + 240 + 480 + 960 + 1920 + 8 * 3600) * S);
}
END_TEST

int main(void) {
        Suite *s = suite_create("mail-backoff");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_doubles_up_to_max);
        tcase_add_test(tc, test_jitter_takes_off_up_to_half);
        tcase_add_test(tc, test_limits);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
