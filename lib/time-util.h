/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define NSEC_PER_USEC UINT64_C(1000)
#define USEC_INFINITY UINT64_MAX

/* The one place that reads a clock. Two clocks, for two meanings:
 *
 *   - now_realtime_usec(): the wall clock, for points in time that are
 *     stored or compared with stored ones (created, changed, expires,
 *     locked until, token lifetimes). Signed, as records keep it.
 *   - now_monotonic_usec(): a clock that never jumps, for deadlines,
 *     durations and rates within one process (now_monotonic_nsec() for
 *     the shortest).
 *
 * libc only (the client modules use it too). clock_gettime() can fail only
 * for a clock the kernel lacks, which these two are not: 0 then, which
 * callers read as "the epoch" (everything has expired, every deadline
 * passed) rather than as a time in the future. */
static inline uint64_t clock_read_usec_(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static inline int64_t now_realtime_usec(void) {
        return (int64_t) clock_read_usec_(CLOCK_REALTIME);
}

static inline uint64_t now_monotonic_usec(void) {
        return clock_read_usec_(CLOCK_MONOTONIC);
}

/* The monotonic clock in nanoseconds, for durations of a few microseconds
 * (an NSS lookup answered from memory). */
static inline uint64_t now_monotonic_nsec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}
