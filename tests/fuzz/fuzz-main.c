/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The fuzzers as plain regression programs: replays every file of the
 * corpus directories (or files) given, then a fixed number of
 * deterministic mutations of each (bit flips, truncations, extensions), so
 * that the normal test suite exercises the parsers beyond the seeds
 * without libFuzzer. The same input always gives the same run.
 *
 *   fuzz-TARGET [--mutations N] CORPUS-DIR-OR-FILE...
 *
 * N (default 20000) is per input: targets whose one run costs more (a whole
 * HTTP exchange) take fewer, so that the suite stays quick. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define MUTATIONS_PER_INPUT_DEFAULT 20000
#define FUZZ_MAX_INPUT (1024 * 1024)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static unsigned mutations_per_input = MUTATIONS_PER_INPUT_DEFAULT;

static uint64_t rng(void) {
        /* xorshift64*: deterministic, good enough to pick bytes. */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dULL;
}

static void mutate_and_run(const uint8_t *seed, size_t n) {
        uint8_t *buf = malloc(n + 64);

        if (!buf)
                abort();
        for (unsigned i = 0; i < mutations_per_input; i++) {
                size_t len = n;

                memcpy(buf, seed, n);
                switch (rng() % 4) {
                case 0: /* flip a few bits */
                        for (unsigned k = 1 + rng() % 4; k > 0 && len > 0; k--)
                                buf[rng() % len] ^= (uint8_t) (1u << (rng() % 8));
                        break;
                case 1: /* set a byte to an edge value */
                        if (len > 0) {
                                static const uint8_t edge[] = { 0x00, 0xff, 0x7f, 0x80, 0x01, ':', '\n', ',' };
                                buf[rng() % len] = edge[rng() % sizeof(edge)];
                        }
                        break;
                case 2: /* truncate */
                        len = n ? rng() % n : 0;
                        break;
                case 3: /* extend with noise */
                        for (unsigned k = rng() % 64; k > 0; k--)
                                buf[len++] = (uint8_t) rng();
                        break;
                }
                /* A copy of exactly len bytes: ASan sees reads past the end. */
                uint8_t *exact = malloc(len ? len : 1);
                if (!exact)
                        abort();
                memcpy(exact, buf, len);
                LLVMFuzzerTestOneInput(exact, len);
                free(exact);
        }
        free(buf);
}

static int run_file(const char *path, unsigned *count) {
        FILE *f = fopen(path, "re");
        uint8_t *buf;
        size_t n;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        buf = malloc(FUZZ_MAX_INPUT);
        if (!buf)
                abort();
        n = fread(buf, 1, FUZZ_MAX_INPUT, f);
        fclose(f);
        /* Which seed a crash came from, when it comes. */
        printf("%s\n", path);
        fflush(stdout);
        LLVMFuzzerTestOneInput(buf, n);
        mutate_and_run(buf, n);
        free(buf);
        (*count)++;
        return 0;
}

int main(int argc, char **argv) {
        unsigned count = 0;
        int first = 1;

        if (argc > 2 && strcmp(argv[1], "--mutations") == 0) {
                char *end;
                unsigned long n;

                errno = 0;
                n = strtoul(argv[2], &end, 10);
                if (errno != 0 || *end || end == argv[2] || n > 1000000) {
                        fprintf(stderr, "--mutations: not a count: %s\n", argv[2]);
                        return 1;
                }
                mutations_per_input = (unsigned) n;
                first = 3;
        }

        /* The empty input is always worth a try. */
        LLVMFuzzerTestOneInput((const uint8_t *) "", 0);
        for (int i = first; i < argc; i++) {
                struct dirent **names;
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i], &count) < 0)
                                return 1;
                        continue;
                }
                /* In name order: the mutations drawn for a file depend on
                 * the files before it, so a failure found on one machine
                 * happens the same way on every other. */
                int n = scandir(argv[i], &names, NULL, alphasort);
                if (n < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                for (int k = 0; k < n; k++) {
                        char path[4096];
                        int r = 0;

                        if (names[k]->d_name[0] != '.') {
                                snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
                                r = run_file(path, &count);
                        }
                        free(names[k]);
                        if (r < 0) {
                                while (++k < n)
                                        free(names[k]);
                                free(names);
                                return 1;
                        }
                }
                free(names);
        }
        if (count == 0) {
                fprintf(stderr, "no corpus files found\n");
                return 1;
        }
        printf("%u inputs replayed, %u mutations each: no crash\n", count, mutations_per_input);
        return 0;
}
