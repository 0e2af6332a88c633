/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The password check of a sign-in, alone: password_verify() (libxcrypt,
 * the daemon's default method and cost) on as many threads as tesserad's
 * worker pool has, for a number of seconds, with nothing else of a request
 * around it. bench/http/run prints it beside the sign-in row: a sign-in can
 * go no faster than this. Run on demand:
 *
 *     build/bench/bench-password-hash THREADS SECONDS [PREFIX [COST]]
 *
 * Prints one JSON line: {"per_second": N, "threads": N, "ms_each": N, ...}. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "password.h"
#include "time-util.h"

#define PASSWORD "correct horse battery"

typedef struct Run {
        const char *hash;
        uint64_t until_usec;
        atomic_uint *done;
        int result;
} Run;

static void *run(void *arg) {
        Run *r = arg;

        while (now_monotonic_usec() < r->until_usec) {
                r->result = password_verify(PASSWORD, r->hash);
                if (r->result != 1)
                        return NULL;
                atomic_fetch_add(r->done, 1);
        }
        return NULL;
}

int main(int argc, char *argv[]) {
        unsigned threads = argc > 1 ? (unsigned) atoi(argv[1]) : 1;
        unsigned seconds = argc > 2 ? (unsigned) atoi(argv[2]) : 5;
        const char *prefix = argc > 3 ? argv[3] : "$y$";
        unsigned long cost = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;
        _cleanup_free_ char *hash = NULL;
        pthread_t t[64];
        Run r[64];
        atomic_uint done = 0;
        uint64_t start, elapsed;
        int failed = 0;

        if (threads < 1 || threads > 64 || seconds < 1) {
                fprintf(stderr, "usage: %s THREADS(1-64) SECONDS [PREFIX [COST]]\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (password_hash(PASSWORD, prefix, cost, &hash) < 0) {
                fprintf(stderr, "cannot hash with %s at cost %lu\n", prefix, cost);
                return EXIT_FAILURE;
        }
        start = now_monotonic_usec();
        for (unsigned i = 0; i < threads; i++) {
                r[i] = (Run) { .hash = hash, .until_usec = start + seconds * USEC_PER_SEC, .done = &done };
                if (pthread_create(&t[i], NULL, run, &r[i]) != 0)
                        return EXIT_FAILURE;
        }
        for (unsigned i = 0; i < threads; i++) {
                pthread_join(t[i], NULL);
                failed |= r[i].result != 1;
        }
        elapsed = now_monotonic_usec() - start;
        if (failed) {
                fprintf(stderr, "password_verify() refused the right password\n");
                return EXIT_FAILURE;
        }
        printf("{\"per_second\": %.2f, \"threads\": %u, \"ms_each\": %.2f, \"method\": \"%s\", \"cost\": %lu}\n",
               (double) done * USEC_PER_SEC / (double) elapsed, threads,
               done ? (double) elapsed * threads / done / 1000.0 : 0.0,
               prefix, cost);
        return EXIT_SUCCESS;
}
