/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the limits on failed authentications cost a request that passes:
 * the two checks every token request makes (its address, its client id),
 * on one thread and on several at once, with the table empty and with it
 * full of other keys. Run on demand: build/bench/bench-limiter [THREADS]. */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "limiter.h"
#include "time-util.h"

#define ROUNDS 2000000

typedef struct Run {
        Limiter *l;
        unsigned id;
        uint64_t nsec;
} Run;

/* CPU time of the calling thread in ns: what a request pays, whatever else
 * runs on the machine (a clock only this benchmark reads). */
static uint64_t thread_cpu_nsec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static void *run(void *arg) {
        Run *r = arg;
        char addr[32], client[32];
        uint64_t start, now = now_monotonic_usec();
        unsigned refused = 0;

        /* Each thread as one HTTP thread serving one client. */
        snprintf(addr, sizeof(addr), "192.0.2.%u", r->id + 1);
        snprintf(client, sizeof(client), "app_client_%u", r->id);
        start = thread_cpu_nsec();
        for (unsigned i = 0; i < ROUNDS; i++) {
                refused += limiter_check(r->l, LIMIT_ADDRESS, addr, now, NULL) > 0;
                refused += limiter_check(r->l, LIMIT_CLIENT, client, now, NULL) > 0;
        }
        r->nsec = thread_cpu_nsec() - start;
        if (refused)
                fprintf(stderr, "unexpected refusals: %u\n", refused);
        return NULL;
}

static double measure(Limiter *l, unsigned threads) {
        pthread_t t[64];
        Run r[64];
        uint64_t total = 0;

        for (unsigned i = 0; i < threads; i++) {
                r[i] = (Run) { .l = l, .id = i };
                pthread_create(&t[i], NULL, run, &r[i]);
        }
        for (unsigned i = 0; i < threads; i++) {
                pthread_join(t[i], NULL);
                total += r[i].nsec;
        }
        /* ns per request (two checks), on each thread. */
        return (double) total / threads / ROUNDS;
}

int main(int argc, char *argv[]) {
        LimiterOptions o = {
                .rules = {
                        [LIMIT_ADDRESS] = { 30, 6 * USEC_PER_SEC },
                        [LIMIT_CLIENT] = { 100, USEC_PER_SEC },
                },
                .max_entries = 65536,
                .ipv6_prefix = 64,
        };
        unsigned threads = argc > 1 ? (unsigned) atoi(argv[1]) : 4;
        uint64_t now = now_monotonic_usec();
        Limiter *l = NULL;
        char key[64];

        if (threads < 1 || threads > 64 || limiter_new(&o, &l) < 0)
                return EXIT_FAILURE;
        printf("empty table:  1 thread %6.1f ns of CPU per request (address and client checked)\n", measure(l, 1));
        printf("empty table: %2u threads %5.1f ns per request, each\n", threads, measure(l, threads));
        /* Another 100000 keys failing: the table full, every bucket busy. */
        for (unsigned i = 0; i < 100000; i++) {
                snprintf(key, sizeof(key), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
                limiter_fail(l, LIMIT_ADDRESS, key, now);
        }
        printf("full table:   1 thread %6.1f ns per request\n", measure(l, 1));
        printf("full table:  %2u threads %5.1f ns per request, each\n", threads, measure(l, threads));
        limiter_free(l);
        return EXIT_SUCCESS;
}
