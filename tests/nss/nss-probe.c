/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Loads libnss_tessera.so.2 the way glibc does (dlopen, then dlsym of
 * _nss_tessera_*) and checks its contract from the caller's side. The
 * Python tests drive it: each command prints one line and exits 0 when
 * the check held, 1 when not.
 *
 *   nss-probe MODULE getpwnam NAME            -> "SUCCESS name:uid:gid:gecos:dir:shell" | "NOTFOUND" | "UNAVAIL errno"
 *   nss-probe MODULE getpwuid UID
 *   nss-probe MODULE getgrnam NAME            -> "SUCCESS name:gid:mem1,mem2"
 *   nss-probe MODULE getgrgid GID
 *   nss-probe MODULE initgroups NAME GID      -> "SUCCESS gid,gid,..."
 *   nss-probe MODULE getpwent | getgrent      -> one line per entry, then "END n"
 *   nss-probe MODULE erange NAME              -> TRYAGAIN/ERANGE for small buffers, then the same answer
 *   nss-probe MODULE errno NAME               -> errno untouched by a successful lookup
 *   nss-probe MODULE threads NAME UID N ITER  -> N threads looking up by name and uid, all right
 *   nss-probe MODULE fork NAME                -> lookup in parent, in a forked child, in the parent again
 *   nss-probe MODULE timed MAX_MS CMD ARGS..  -> runs CMD, prints its result and fails past MAX_MS
 *   nss-probe MODULE fds NAME N               -> N lookups leave no new descriptor (but the kept socket)
 *   nss-probe MODULE repeat N CMD ARGS..      -> runs CMD N times, prints the last result
 *   nss-probe MODULE prime NAME PID CMD ARGS..-> looks NAME up (mapping the cache), SIGSTOPs PID, runs CMD
 *   nss-probe MODULE statuses N ITER NAME     -> N threads look NAME up ITER times each; counts by status
 *   nss-probe MODULE signal SIG PID           -> sends SIGSTOP ("stop") or SIGCONT ("cont") to PID
 *   nss-probe MODULE sleep MS                 -> sleeps (for a contract's duration, such as a back-off)
 *   nss-probe MODULE setenv NAME VALUE        -> changes the environment for the steps that follow
 *   nss-probe MODULE read-line                -> prints "waiting", then waits for a line on stdin
 *   nss-probe MODULE seq "CMD ARGS" ...       -> runs each quoted command in turn in this one process;
 *                                                fails when a step did
 */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "time-util.h"

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getpwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getgrnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*getgrgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long int *, long int *, gid_t **, long int, int *);
typedef enum nss_status (*setent_fn)(int);
typedef enum nss_status (*endent_fn)(void);
typedef enum nss_status (*getpwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getgrent_fn)(struct group *, char *, size_t, int *);

static struct {
        getpwnam_fn getpwnam;
        getpwuid_fn getpwuid;
        getgrnam_fn getgrnam;
        getgrgid_fn getgrgid;
        initgroups_fn initgroups;
        setent_fn setpwent, setgrent;
        endent_fn endpwent, endgrent;
        getpwent_fn getpwent;
        getgrent_fn getgrent;
} M;

static void *sym(void *h, const char *name) {
        char full[128];
        void *p;

        snprintf(full, sizeof(full), "_nss_tessera_%s", name);
        p = dlsym(h, full);
        if (!p) {
                fprintf(stderr, "missing symbol %s\n", full);
                exit(2);
        }
        return p;
}

static const char *status_name(enum nss_status st) {
        switch (st) {
        case NSS_STATUS_SUCCESS: return "SUCCESS";
        case NSS_STATUS_NOTFOUND: return "NOTFOUND";
        case NSS_STATUS_UNAVAIL: return "UNAVAIL";
        case NSS_STATUS_TRYAGAIN: return "TRYAGAIN";
        default: return "OTHER";
        }
}

static void format_result(char *out, size_t size, enum nss_status st, int err, const char *detail) {
        if (st == NSS_STATUS_SUCCESS)
                snprintf(out, size, "SUCCESS %s", detail);
        else if (st == NSS_STATUS_NOTFOUND)
                snprintf(out, size, "NOTFOUND");
        else
                snprintf(out, size, "%s %s", status_name(st), strerror(err));
}

static void format_pw(char *out, size_t size, const struct passwd *pw) {
        snprintf(out, size, "%s:%s:%u:%u:%s:%s:%s", pw->pw_name, pw->pw_passwd, pw->pw_uid, pw->pw_gid, pw->pw_gecos,
                 pw->pw_dir, pw->pw_shell);
}

static void format_gr(char *out, size_t size, const struct group *gr) {
        size_t n = (size_t) snprintf(out, size, "%s:%s:%u:", gr->gr_name, gr->gr_passwd, gr->gr_gid);
        for (char **m = gr->gr_mem; m && *m && n < size; m++)
                n += (size_t) snprintf(out + n, size - n, "%s%s", m == gr->gr_mem ? "" : ",", *m);
}

/* One lookup into out; returns the status. */
static enum nss_status lookup(const char *what, const char *arg, char *out, size_t size) {
        char buf[16384], detail[16384] = "";
        struct passwd pw;
        struct group gr;
        enum nss_status st;
        int err = 0;

        if (strcmp(what, "getpwnam") == 0) {
                st = M.getpwnam(arg, &pw, buf, sizeof(buf), &err);
                if (st == NSS_STATUS_SUCCESS)
                        format_pw(detail, sizeof(detail), &pw);
        } else if (strcmp(what, "getpwuid") == 0) {
                st = M.getpwuid((uid_t) strtoul(arg, NULL, 10), &pw, buf, sizeof(buf), &err);
                if (st == NSS_STATUS_SUCCESS)
                        format_pw(detail, sizeof(detail), &pw);
        } else if (strcmp(what, "getgrnam") == 0) {
                st = M.getgrnam(arg, &gr, buf, sizeof(buf), &err);
                if (st == NSS_STATUS_SUCCESS)
                        format_gr(detail, sizeof(detail), &gr);
        } else if (strcmp(what, "getgrgid") == 0) {
                st = M.getgrgid((gid_t) strtoul(arg, NULL, 10), &gr, buf, sizeof(buf), &err);
                if (st == NSS_STATUS_SUCCESS)
                        format_gr(detail, sizeof(detail), &gr);
        } else {
                fprintf(stderr, "unknown lookup %s\n", what);
                exit(2);
        }
        format_result(out, size, st, err, detail);
        return st;
}

static int cmd_initgroups(const char *name, gid_t primary, char *out, size_t size) {
        long int start = 1, n = 2;
        gid_t *groups = malloc(2 * sizeof(gid_t));
        enum nss_status st;
        int err = 0;
        size_t len;

        groups[0] = primary;
        st = M.initgroups(name, primary, &start, &n, &groups, 0, &err);
        if (st != NSS_STATUS_SUCCESS) {
                format_result(out, size, st, err, "");
                free(groups);
                return st == NSS_STATUS_NOTFOUND ? 0 : 1;
        }
        len = (size_t) snprintf(out, size, "SUCCESS ");
        for (long int i = 1; i < start && len < size; i++)
                len += (size_t) snprintf(out + len, size - len, "%s%u", i == 1 ? "" : ",", groups[i]);
        free(groups);
        return 0;
}

static int cmd_ent(bool users) {
        char buf[16384], line[16384];
        unsigned n = 0;
        int err = 0;

        if ((users ? M.setpwent(0) : M.setgrent(0)) != NSS_STATUS_SUCCESS) {
                printf("setent failed\n");
                return 1;
        }
        for (;;) {
                enum nss_status st;
                if (users) {
                        struct passwd pw;
                        st = M.getpwent(&pw, buf, sizeof(buf), &err);
                        if (st == NSS_STATUS_SUCCESS)
                                format_pw(line, sizeof(line), &pw);
                } else {
                        struct group gr;
                        st = M.getgrent(&gr, buf, sizeof(buf), &err);
                        if (st == NSS_STATUS_SUCCESS)
                                format_gr(line, sizeof(line), &gr);
                }
                if (st == NSS_STATUS_NOTFOUND)
                        break;
                if (st != NSS_STATUS_SUCCESS) {
                        printf("%s %s\n", status_name(st), strerror(err));
                        return 1;
                }
                printf("%s\n", line);
                n++;
        }
        (users ? M.endpwent : M.endgrent)();
        printf("END %u\n", n);
        return 0;
}

/* Every buffer size from 0 up must give TRYAGAIN/ERANGE until one fits,
 * and then exactly the answer a large buffer gives. */
static int cmd_erange(const char *name) {
        char big[16384], expect[16384], got[16384];
        struct passwd pw;
        int err;

        if (M.getpwnam(name, &pw, big, sizeof(big), &err) != NSS_STATUS_SUCCESS) {
                printf("lookup with a large buffer failed\n");
                return 1;
        }
        format_pw(expect, sizeof(expect), &pw);
        for (size_t size = 0; size < sizeof(big); size++) {
                char *buf = size ? malloc(size) : NULL;
                enum nss_status st;

                err = 0;
                st = M.getpwnam(name, &pw, buf, size, &err);
                if (st == NSS_STATUS_TRYAGAIN && err == ERANGE) {
                        free(buf);
                        continue;
                }
                if (st != NSS_STATUS_SUCCESS) {
                        printf("size %zu: %s %s\n", size, status_name(st), strerror(err));
                        free(buf);
                        return 1;
                }
                format_pw(got, sizeof(got), &pw);
                free(buf);
                if (strcmp(got, expect) != 0) {
                        printf("size %zu: got %s, expected %s\n", size, got, expect);
                        return 1;
                }
                printf("ERANGE below %zu bytes, then %s\n", size, got);
                return 0;
        }
        printf("never fit\n");
        return 1;
}

static int cmd_erange_group(const char *name) {
        char big[16384], expect[16384], got[16384];
        struct group gr;
        int err;

        if (M.getgrnam(name, &gr, big, sizeof(big), &err) != NSS_STATUS_SUCCESS) {
                printf("lookup with a large buffer failed\n");
                return 1;
        }
        format_gr(expect, sizeof(expect), &gr);
        /* Odd offsets too: the member array must be aligned by the module. */
        for (size_t size = 0; size < 4096; size++) {
                char *mem = malloc(size + 1), *buf = mem + 1;
                enum nss_status st;

                err = 0;
                st = M.getgrnam(name, &gr, size ? buf : NULL, size, &err);
                if (st == NSS_STATUS_TRYAGAIN && err == ERANGE) {
                        free(mem);
                        continue;
                }
                if (st != NSS_STATUS_SUCCESS) {
                        printf("size %zu: %s\n", size, status_name(st));
                        free(mem);
                        return 1;
                }
                format_gr(got, sizeof(got), &gr);
                free(mem);
                if (strcmp(got, expect) != 0) {
                        printf("size %zu: got %s, expected %s\n", size, got, expect);
                        return 1;
                }
                printf("ERANGE below %zu bytes, then %s\n", size, got);
                return 0;
        }
        printf("never fit\n");
        return 1;
}

static int cmd_errno(const char *name) {
        char buf[4096];
        struct passwd pw;
        int err = 0;
        enum nss_status st;

        errno = 4242;
        st = M.getpwnam(name, &pw, buf, sizeof(buf), &err);
        if (errno != 4242) {
                printf("errno changed to %d by a %s lookup\n", errno, status_name(st));
                return 1;
        }
        printf("errno kept (%s)\n", status_name(st));
        return 0;
}

typedef struct ThreadArg {
        const char *name, *uid;
        unsigned iterations;
        const char *expect_name, *expect_uid;
        int failures;
} ThreadArg;

static void *thread_main(void *p) {
        ThreadArg *a = p;
        char out[16384];

        for (unsigned i = 0; i < a->iterations; i++) {
                lookup("getpwnam", a->name, out, sizeof(out));
                if (strcmp(out, a->expect_name) != 0)
                        a->failures++;
                lookup("getpwuid", a->uid, out, sizeof(out));
                if (strcmp(out, a->expect_uid) != 0)
                        a->failures++;
        }
        return NULL;
}

static int cmd_threads(const char *name, const char *uid, unsigned n, unsigned iterations) {
        char expect_name[16384], expect_uid[16384];
        pthread_t t[64];
        ThreadArg args[64];
        int failures = 0;

        if (n > 64)
                n = 64;
        if (lookup("getpwnam", name, expect_name, sizeof(expect_name)) != NSS_STATUS_SUCCESS ||
            lookup("getpwuid", uid, expect_uid, sizeof(expect_uid)) != NSS_STATUS_SUCCESS) {
                printf("single-threaded lookup failed: %s / %s\n", expect_name, expect_uid);
                return 1;
        }
        for (unsigned i = 0; i < n; i++) {
                args[i] = (ThreadArg) { name, uid, iterations, expect_name, expect_uid, 0 };
                pthread_create(&t[i], NULL, thread_main, &args[i]);
        }
        for (unsigned i = 0; i < n; i++) {
                pthread_join(t[i], NULL);
                failures += args[i].failures;
        }
        printf("%u threads x %u lookups: %d wrong\n", n, 2 * iterations, failures);
        return failures == 0 ? 0 : 1;
}

static int cmd_fork(const char *name) {
        char before[16384], after[16384];
        int status;
        pid_t pid;

        lookup("getpwnam", name, before, sizeof(before));
        pid = fork();
        if (pid == 0) {
                char child[16384];
                lookup("getpwnam", name, child, sizeof(child));
                /* The child must not talk over its parent's connection: the
                 * answer would be right but the stream shared. */
                _exit(strcmp(child, before) == 0 ? 0 : 1);
        }
        waitpid(pid, &status, 0);
        lookup("getpwnam", name, after, sizeof(after));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strcmp(before, after) != 0) {
                printf("fork: parent before %s, after %s, child status %d\n", before, after, status);
                return 1;
        }
        printf("fork: %s in parent, child and parent again\n", before);
        return 0;
}

static unsigned count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;
        for (struct dirent *e; d && (e = readdir(d));)
                n += e->d_name[0] != '.';
        if (d)
                closedir(d);
        return n;
}

static int cmd_fds(const char *name, unsigned n) {
        char out[16384];
        unsigned before, after;

        lookup("getpwnam", name, out, sizeof(out));
        before = count_fds();
        for (unsigned i = 0; i < n; i++)
                lookup("getpwnam", name, out, sizeof(out));
        after = count_fds();
        printf("%u descriptors before, %u after %u lookups (%s)\n", before, after, n, out);
        return after <= before ? 0 : 1;
}

typedef struct StatusArg {
        const char *name;
        unsigned iterations;
        unsigned counts[5];       /* SUCCESS, NOTFOUND, UNAVAIL, TRYAGAIN, other */
} StatusArg;

static void *status_thread(void *p) {
        StatusArg *a = p;
        char out[16384];

        for (unsigned i = 0; i < a->iterations; i++)
                switch (lookup("getpwnam", a->name, out, sizeof(out))) {
                case NSS_STATUS_SUCCESS: a->counts[0]++; break;
                case NSS_STATUS_NOTFOUND: a->counts[1]++; break;
                case NSS_STATUS_UNAVAIL: a->counts[2]++; break;
                case NSS_STATUS_TRYAGAIN: a->counts[3]++; break;
                default: a->counts[4]++; break;
                }
        return NULL;
}

/* Lookups from many threads at once, for what the module does when they
 * all meet the same trouble: prints how many ended how. */
static int cmd_statuses(unsigned n, unsigned iterations, const char *name) {
        static const char *const names[] = { "SUCCESS", "NOTFOUND", "UNAVAIL", "TRYAGAIN", "OTHER" };
        pthread_t t[64];
        StatusArg args[64];
        unsigned total[5] = {};

        if (n > 64)
                n = 64;
        for (unsigned i = 0; i < n; i++) {
                args[i] = (StatusArg) { .name = name, .iterations = iterations };
                pthread_create(&t[i], NULL, status_thread, &args[i]);
        }
        for (unsigned i = 0; i < n; i++) {
                pthread_join(t[i], NULL);
                for (unsigned k = 0; k < 5; k++)
                        total[k] += args[i].counts[k];
        }
        for (unsigned k = 0; k < 5; k++)
                printf("%s%s %u", k ? " " : "", names[k], total[k]);
        printf("\n");
        return 0;
}

/* Splits one step of "seq" at spaces and runs it. */
static int run(int argc, char **argv);

static int cmd_seq(int argc, char **argv) {
        int r = 0;

        for (int i = 0; i < argc; i++) {
                char *copy = strdup(argv[i]), *save = NULL, *words[32];
                int n = 0;

                for (char *w = strtok_r(copy, " ", &save); w && n < 32; w = strtok_r(NULL, " ", &save))
                        words[n++] = w;
                if (n > 0 && run(n, words) != 0)
                        r = 1;
                fflush(stdout);
                free(copy);
        }
        return r;
}

static int cmd_timed(long max_ms, int argc, char **argv) {
        uint64_t start = now_monotonic_usec();
        long ms;
        int r;

        r = run(argc, argv);
        ms = (long) ((now_monotonic_usec() - start) / USEC_PER_MSEC);
        printf("took %ld ms (bound %ld ms)\n", ms, max_ms);
        return ms <= max_ms ? r : 1;
}

static int run(int argc, char **argv) {
        char out[16384];

        if (argc < 1)
                return 2;
        if (strcmp(argv[0], "initgroups") == 0 && argc == 3) {
                int r = cmd_initgroups(argv[1], (gid_t) strtoul(argv[2], NULL, 10), out, sizeof(out));
                printf("%s\n", out);
                return r;
        }
        if (strcmp(argv[0], "getpwent") == 0)
                return cmd_ent(true);
        if (strcmp(argv[0], "getgrent") == 0)
                return cmd_ent(false);
        if (strcmp(argv[0], "erange") == 0 && argc == 2)
                return cmd_erange(argv[1]);
        if (strcmp(argv[0], "erange-group") == 0 && argc == 2)
                return cmd_erange_group(argv[1]);
        if (strcmp(argv[0], "errno") == 0 && argc == 2)
                return cmd_errno(argv[1]);
        if (strcmp(argv[0], "threads") == 0 && argc == 5)
                return cmd_threads(argv[1], argv[2], (unsigned) atoi(argv[3]), (unsigned) atoi(argv[4]));
        if (strcmp(argv[0], "fork") == 0 && argc == 2)
                return cmd_fork(argv[1]);
        if (strcmp(argv[0], "fds") == 0 && argc == 3)
                return cmd_fds(argv[1], (unsigned) atoi(argv[2]));
        if (strcmp(argv[0], "timed") == 0 && argc >= 3)
                return cmd_timed(atol(argv[1]), argc - 2, argv + 2);
        if (strcmp(argv[0], "prime") == 0 && argc >= 4) {
                lookup("getpwnam", argv[1], out, sizeof(out));
                if (kill((pid_t) atol(argv[2]), SIGSTOP) < 0) {
                        perror("kill");
                        return 2;
                }
                return run(argc - 3, argv + 3);
        }
        if (strcmp(argv[0], "statuses") == 0 && argc == 4)
                return cmd_statuses((unsigned) atoi(argv[1]), (unsigned) atoi(argv[2]), argv[3]);
        if (strcmp(argv[0], "signal") == 0 && argc == 3) {
                int sig = strcmp(argv[1], "stop") == 0 ? SIGSTOP : strcmp(argv[1], "cont") == 0 ? SIGCONT : 0;
                if (sig == 0 || kill((pid_t) atol(argv[2]), sig) < 0) {
                        perror("kill");
                        return 2;
                }
                printf("sent %s\n", argv[1]);
                return 0;
        }
        if (strcmp(argv[0], "sleep") == 0 && argc == 2) {
                long ms = atol(argv[1]);
                struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                printf("slept %ld ms\n", ms);
                return 0;
        }
        if (strcmp(argv[0], "setenv") == 0 && argc == 3) {
                setenv(argv[1], argv[2], 1);
                printf("%s=%s\n", argv[1], argv[2]);
                return 0;
        }
        if (strcmp(argv[0], "read-line") == 0 && argc == 1) {
                char line[64];
                printf("waiting\n");
                fflush(stdout);
                return fgets(line, sizeof(line), stdin) ? 0 : 1;
        }
        if (strcmp(argv[0], "seq") == 0)
                return cmd_seq(argc - 1, argv + 1);
        if (strcmp(argv[0], "repeat") == 0 && argc >= 3) {
                int r = 0;
                for (int i = atoi(argv[1]); i > 0; i--)
                        r = run(argc - 2, argv + 2);
                return r;
        }
        if (argc == 2) {
                lookup(argv[0], argv[1], out, sizeof(out));
                printf("%s\n", out);
                return 0;
        }
        fprintf(stderr, "bad command\n");
        return 2;
}

int main(int argc, char **argv) {
        void *h;

        if (argc < 3) {
                fprintf(stderr, "usage: %s MODULE COMMAND [ARGS...]\n", argv[0]);
                return 2;
        }
        /* RTLD_LOCAL as glibc's nss loader uses it. */
        h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                fprintf(stderr, "%s\n", dlerror());
                return 2;
        }
        M.getpwnam = (getpwnam_fn) sym(h, "getpwnam_r");
        M.getpwuid = (getpwuid_fn) sym(h, "getpwuid_r");
        M.getgrnam = (getgrnam_fn) sym(h, "getgrnam_r");
        M.getgrgid = (getgrgid_fn) sym(h, "getgrgid_r");
        M.initgroups = (initgroups_fn) sym(h, "initgroups_dyn");
        M.setpwent = (setent_fn) sym(h, "setpwent");
        M.endpwent = (endent_fn) sym(h, "endpwent");
        M.getpwent = (getpwent_fn) sym(h, "getpwent_r");
        M.setgrent = (setent_fn) sym(h, "setgrent");
        M.endgrent = (endent_fn) sym(h, "endgrent");
        M.getgrent = (getgrent_fn) sym(h, "getgrent_r");
        return run(argc - 2, argv + 2);
}
