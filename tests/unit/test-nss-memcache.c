/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/nss-memcache.c: the image is rebuilt after a change, and tried
 * again when a rebuild failed, not only at the next change. */

#include <fcntl.h>
#include <sys/resource.h>

#include "nss-memcache.h"
#include "test-util.h"
#include "time-util.h"

/* Runs the loop until the cache has a valid image or the time is up;
 * returns whether it has one. */
static bool wait_valid(sd_event *e, NssMemcache *c, uint64_t usec) {
        uint64_t deadline = now_monotonic_usec() + usec, size;

        for (;;) {
                int fd = nss_memcache_get_fd(c, &size);
                uint64_t now = now_monotonic_usec();

                if (fd >= 0) {
                        close(fd);
                        return true;
                }
                if (now >= deadline)
                        return false;
                ck_assert_int_ge(sd_event_run(e, deadline - now), 0);
        }
}

START_TEST(test_rebuild_retried_after_failure) {
        _cleanup_(manager_freep) Manager *m = test_manager_new();
        NssMemcache *c = NULL;
        struct rlimit saved, none;
        StderrCapture cap;
        char *log;
        int lowest;

        ck_assert_int_ge(sd_event_new(&m->event), 0);
        ck_assert_int_eq(nss_memcache_new(m, &c), 0);
        ck_assert(wait_valid(m->event, c, 0));

        /* No descriptor left: the rebuild after a change fails. */
        lowest = fcntl(0, F_DUPFD_CLOEXEC, 0);
        ck_assert_int_ge(lowest, 0);
        close(lowest);
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
        none = (struct rlimit) { .rlim_cur = (rlim_t) lowest, .rlim_max = saved.rlim_max };
        stderr_capture_start(&cap);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
        nss_memcache_invalidate(c);
        ck_assert(!wait_valid(m->event, c, 200 * USEC_PER_MSEC));
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
        log = stderr_capture_stop(&cap);
        ck_assert_ptr_nonnull(strstr(log, "Failed to create the NSS memory cache: Too many open files"));
        free(log);

        /* Descriptors back, no change since: the image comes back anyway. */
        ck_assert(wait_valid(m->event, c, 10 * USEC_PER_SEC));
        nss_memcache_free(c);
}
END_TEST

int main(void) {
        Suite *s = suite_create("nss-memcache");
        TCase *tc = tcase_create("rebuild");

        tcase_add_test(tc, test_rebuild_retried_after_failure);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
