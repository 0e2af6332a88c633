/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Per-call latency of one NSS module, called directly the way glibc calls
 * it (dlopen + _nss_PREFIX_*), so that the figures compare the modules and
 * not glibc's dispatch around them:
 *
 *   nss-bench MODULE PREFIX NAME UID GID [ROUND_SECONDS]
 *
 * prints "getpwnam_r NS", "getpwuid_r NS", "initgroups_dyn NS": the median
 * over 7 rounds of the mean time per call, each round running for about
 * ROUND_SECONDS (default 0.2; bench/scale's smoke test takes less) after a
 * warm-up. Every call must succeed, or it says so and fails. */

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getpwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long int *, long int *, gid_t **, long int, int *);

static getpwnam_fn f_getpwnam;
static getpwuid_fn f_getpwuid;
static initgroups_fn f_initgroups;
static const char *arg_name;
static uid_t arg_uid;
static gid_t arg_gid;
static double arg_round_ns = 2e8;

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int call(int which) {
        char buf[4096];
        struct passwd pw;
        int err = 0;

        switch (which) {
        case 0:
                return f_getpwnam(arg_name, &pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS ? 0 : -1;
        case 1:
                return f_getpwuid(arg_uid, &pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS ? 0 : -1;
        default: {
                long int start = 1, size = 64;
                gid_t *groups = malloc(64 * sizeof(gid_t));
                enum nss_status st;

                groups[0] = arg_gid;
                st = f_initgroups(arg_name, arg_gid, &start, &size, &groups, 0, &err);
                free(groups);
                return st == NSS_STATUS_SUCCESS ? 0 : -1;
        }
        }
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int measure(int which, double *ret_ns) {
        double rounds[7];
        unsigned long n = 1;

        /* Warm up (connections, mappings, caches) and calibrate. */
        for (;;) {
                double t = now_ns();
                for (unsigned long i = 0; i < n; i++)
                        if (call(which) < 0)
                                return -1;
                if (now_ns() - t > arg_round_ns / 10 || n > (1ul << 30))
                        break;
                n *= 2;
        }
        n = (unsigned long) (n * 10);
        for (int r = 0; r < 7; r++) {
                double t = now_ns();
                for (unsigned long i = 0; i < n; i++)
                        if (call(which) < 0)
                                return -1;
                rounds[r] = (now_ns() - t) / (double) n;
                /* Fewer iterations for slow paths: keep a round near its time. */
                if (rounds[r] * n > 2 * arg_round_ns && n > 1)
                        n /= 2;
        }
        qsort(rounds, 7, sizeof(double), cmp_double);
        *ret_ns = rounds[3];
        return 0;
}

int main(int argc, char **argv) {
        static const char *const names[] = { "getpwnam_r", "getpwuid_r", "initgroups_dyn" };
        char sym[128];
        void *h;

        if (argc != 6 && argc != 7) {
                fprintf(stderr, "usage: %s MODULE PREFIX NAME UID GID [ROUND_SECONDS]\n", argv[0]);
                return 2;
        }
        h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                fprintf(stderr, "%s\n", dlerror());
                return 2;
        }
        snprintf(sym, sizeof(sym), "_nss_%s_getpwnam_r", argv[2]);
        f_getpwnam = (getpwnam_fn) dlsym(h, sym);
        snprintf(sym, sizeof(sym), "_nss_%s_getpwuid_r", argv[2]);
        f_getpwuid = (getpwuid_fn) dlsym(h, sym);
        snprintf(sym, sizeof(sym), "_nss_%s_initgroups_dyn", argv[2]);
        f_initgroups = (initgroups_fn) dlsym(h, sym);
        if (!f_getpwnam || !f_getpwuid) {
                fprintf(stderr, "%s lacks _nss_%s_* entry points\n", argv[1], argv[2]);
                return 2;
        }
        arg_name = argv[3];
        arg_uid = (uid_t) strtoul(argv[4], NULL, 10);
        arg_gid = (gid_t) strtoul(argv[5], NULL, 10);
        if (argc == 7) {
                char *end;
                double sec = strtod(argv[6], &end);

                if (*end != '\0' || !(sec > 0 && sec <= 60)) {
                        fprintf(stderr, "ROUND_SECONDS must be a number of seconds in (0, 60]\n");
                        return 2;
                }
                arg_round_ns = sec * 1e9;
        }

        for (int which = 0; which < 3; which++) {
                double ns;

                if (which == 2 && !f_initgroups) {
                        /* libnss_files has none: glibc walks the group file. */
                        printf("%s -\n", names[which]);
                        continue;
                }
                if (measure(which, &ns) < 0) {
                        printf("%s FAILED\n", names[which]);
                        return 1;
                }
                printf("%s %.1f\n", names[which], ns);
        }
        return 0;
}
