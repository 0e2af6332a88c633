/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/fd-budget.c: how the descriptor limit is split between the doors,
 * so that HTTP connections can never take what the lookup and the
 * authentication sockets need. */

#include <limits.h>
#include <sys/resource.h>

#include "fd-budget.h"
#include "test-util.h"

static Config *config(unsigned nss, unsigned pam, unsigned http) {
        Config *c;

        ck_assert_int_eq(config_new_default(&c), 0);
        c->nss_max_connections = nss;
        c->pam_max_connections = pam;
        c->http_connection_limit = http;
        return c;
}

/* Plans and returns what was logged. */
static char *plan(const Config *c, unsigned limit, unsigned threads, int expected, FdBudget *ret) {
        StderrCapture cap;

        stderr_capture_start(&cap);
        ck_assert_int_eq(fd_budget_plan(c, limit, threads, ret), expected);
        return stderr_capture_stop(&cap);
}

START_TEST(test_reserve_first) {
        _cleanup_(config_freep) Config *c = config(256, 256, 0);
        _cleanup_free_ char *log = NULL;
        FdBudget b;

        /* systemd's default soft limit: what is left after the reserve. */
        log = plan(c, 1024, 4, 0, &b);
        ck_assert_uint_eq(b.limit, 1024);
        ck_assert_uint_eq(b.own, FD_BUDGET_OWN + 4 * FD_BUDGET_PER_HTTP_THREAD);
        ck_assert_uint_eq(b.nss, 2 * 256 + 1);
        ck_assert_uint_eq(b.pam, 256);
        ck_assert_uint_eq(b.http, 1024 - b.own - b.nss - b.pam);
        ck_assert_uint_le(b.own + b.nss + b.pam + b.http, b.limit);
        ck_assert_str_eq(log, "");
}
END_TEST

START_TEST(test_auto_is_capped) {
        _cleanup_(config_freep) Config *c = config(256, 256, 0);
        _cleanup_free_ char *log = NULL;
        FdBudget b;

        log = plan(c, 524288, 8, 0, &b);
        ck_assert_uint_eq(b.http, FD_BUDGET_HTTP_AUTO_MAX);
}
END_TEST

START_TEST(test_configured_limit_kept_or_clamped) {
        _cleanup_(config_freep) Config *c = config(16, 16, 300);
        _cleanup_free_ char *log = NULL, *log2 = NULL;
        FdBudget b;

        log = plan(c, 65536, 4, 0, &b);
        ck_assert_uint_eq(b.http, 300);
        ck_assert_str_eq(log, "");

        /* The old default, 1024, under a limit of 1024: it would eat the
         * reserve, so it is lowered, and the log says so. */
        c->http_connection_limit = 1024;
        log2 = plan(c, 1024, 4, 0, &b);
        ck_assert_uint_eq(b.http, 1024 - b.own - b.nss - b.pam);
        ck_assert_ptr_nonnull(strstr(log2, "connection_limit = 1024 would use descriptors kept"));
}
END_TEST

START_TEST(test_too_small_refused) {
        _cleanup_(config_freep) Config *c = config(256, 256, 0);
        _cleanup_free_ char *log = NULL;
        FdBudget b = {};

        log = plan(c, 800, 4, -ENFILE, &b);
        ck_assert_uint_eq(b.http, 0);
        ck_assert_ptr_nonnull(strstr(log, "raise LimitNOFILE="));
}
END_TEST

START_TEST(test_without_http) {
        _cleanup_(config_freep) Config *c = config(256, 256, 0);
        _cleanup_free_ char *log = NULL, *log2 = NULL;
        FdBudget b;

        log = plan(c, 1024, 0, 0, &b);
        ck_assert_uint_eq(b.http, 0);
        ck_assert_uint_eq(b.own, FD_BUDGET_OWN);
        ck_assert_str_eq(log, "");
        /* Too small even for the host sockets: it runs, and warns. */
        log2 = plan(c, 512, 0, 0, &b);
        ck_assert_ptr_nonnull(strstr(log2, "below what the lookup and authentication sockets may need"));
}
END_TEST

START_TEST(test_limit_raised) {
        struct rlimit rl, low;
        unsigned limit;

        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        if (rl.rlim_max < 64)
                return;
        low = (struct rlimit) { .rlim_cur = 32, .rlim_max = rl.rlim_max };
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        ck_assert_int_eq(fd_limit_raise(&limit), 0);
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &low), 0);
        ck_assert_uint_eq(low.rlim_cur, rl.rlim_max);
        ck_assert_uint_eq(limit, rl.rlim_max > INT_MAX ? INT_MAX : rl.rlim_max);
}
END_TEST

int main(void) {
        Suite *s = suite_create("fd-budget");
        TCase *tc = tcase_create("plan");

        tcase_add_test(tc, test_reserve_first);
        tcase_add_test(tc, test_auto_is_capped);
        tcase_add_test(tc, test_configured_limit_kept_or_clamped);
        tcase_add_test(tc, test_too_small_refused);
        tcase_add_test(tc, test_without_http);
        tcase_add_test(tc, test_limit_raised);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
