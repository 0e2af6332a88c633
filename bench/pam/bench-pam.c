/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authentications per second through libpam: pam_tessera.so against
 * pam_unix.so checking a hash of the same method and cost, and the hash
 * alone, in one run; then the latency of lookups (D-Bus, and NSS when
 * libnss_tessera is there) while tessera is flooded with authentications.
 * Run by bench/pam/run (which sets up the daemon, the users and a private
 * mount namespace for pam_unix's shadow file); prints a table. */

#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

static const char *arg_confdir, *arg_unix_user, *arg_tessera_user, *arg_password, *arg_hash;
#define MAX_ROUNDS 9

static double arg_seconds = 3.0;
static int arg_rounds = 3;
static int arg_clients;
static const char *arg_nss_user;
static bool arg_lookups_only;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct pam_response *r = calloc((size_t) n, sizeof(struct pam_response));

        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++)
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
                        r[i].resp = strdup(data);
        *resp = r;
        return PAM_SUCCESS;
}

/* One authentication through a service file of arg_confdir. */
static int authenticate(const char *service, const char *user) {
        struct pam_conv c = { conv, (void *) arg_password };
        pam_handle_t *h = NULL;
        int r;

        r = pam_start_confdir(service, user, &c, arg_confdir, &h);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_authenticate(h, 0);
        pam_end(h, r);
        return r;
}

typedef struct Counter {
        long ok, failed;
} Counter;

/* clients processes authenticate in a loop for arg_seconds; returns the
 * successes per second, and the mean time one took. */
static int run_load(const char *service, const char *user, int clients, double seconds, double *ret_rate,
                    double *ret_latency) {
        Counter *counts = mmap(NULL, sizeof(Counter) * (size_t) clients, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        double start = now(), elapsed;
        long ok = 0, failed = 0;

        if (counts == MAP_FAILED)
                return -errno;
        for (int i = 0; i < clients; i++) {
                pid_t pid = fork();
                if (pid < 0)
                        return -errno;
                if (pid == 0) {
                        while (now() - start < seconds) {
                                if (authenticate(service, user) == PAM_SUCCESS)
                                        counts[i].ok++;
                                else
                                        counts[i].failed++;
                        }
                        _exit(0);
                }
        }
        while (wait(NULL) > 0)
                ;
        elapsed = now() - start;
        for (int i = 0; i < clients; i++) {
                ok += counts[i].ok;
                failed += counts[i].failed;
        }
        munmap(counts, sizeof(Counter) * (size_t) clients);
        if (failed > 0 || ok == 0) {
                fprintf(stderr, "bench-pam: %s for %s: %ld failed, %ld succeeded\n", service, user, failed, ok);
                return -EIO;
        }
        *ret_rate = (double) ok / elapsed;
        *ret_latency = elapsed * clients / (double) ok;
        return 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* The hash alone, in one process, as the baseline both modules pay: a
 * fresh struct crypt_data per call, as pam_unix and tesserad both do. */
static double hash_time(double seconds) {
        double start = now();
        int n = 0;

        while (now() - start < seconds) {
                struct crypt_data *cd = calloc(1, sizeof(struct crypt_data));
                const char *h = cd ? crypt_rn(arg_password, arg_hash, cd, sizeof(*cd)) : NULL;
                if (!h || strcmp(h, arg_hash) != 0) {
                        fprintf(stderr, "bench-pam: the hash does not verify the password\n");
                        exit(EXIT_FAILURE);
                }
                free(cd);
                n++;
        }
        return (now() - start) / n;
}

static double median(double *v, int n) {
        qsort(v, (size_t) n, sizeof(double), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Lookups of the tessera user, timed one by one: D-Bus on the main loop
 * that also serves the PAM socket, and getpwnam() through NSS. */
typedef enum LookupKind { LOOKUP_DBUS, LOOKUP_NSS } LookupKind;

static int lookup_once(sd_bus *bus, LookupKind kind) {
        if (kind == LOOKUP_NSS) {
                char buf[4096];
                struct passwd pw, *res = NULL;
                return getpwnam_r(arg_nss_user, &pw, buf, sizeof(buf), &res) == 0 && res ? 0 : -ENOENT;
        }
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, "org.tessera.Identity1", "/org/tessera/Identity1",
                                   "org.tessera.Identity1.Manager", "GetUserByName", &e, &reply, "ss", "",
                                   arg_tessera_user);
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        return r;
}

/* Lookup latency: median and 99th percentile over n calls, in ms, and how
 * many failed (for NSS: missed the module's deadline). Fails only when
 * most do: then the lookups themselves are broken. */
static int measure_lookups(sd_bus *bus, LookupKind kind, int n, double *p50, double *p99, int *failed) {
        double *t = calloc((size_t) n, sizeof(double));
        int ok = 0;

        if (!t)
                return -ENOMEM;
        *failed = 0;
        for (int i = 0; i < n; i++) {
                double start = now();
                if (lookup_once(bus, kind) < 0)
                        (*failed)++;
                else
                        t[ok++] = (now() - start) * 1000.0;
                /* Spread the samples over the flood. */
                usleep(2000);
        }
        if (ok < n / 2) {
                free(t);
                return -ENOENT;
        }
        qsort(t, (size_t) ok, sizeof(double), cmp_double);
        *p50 = t[ok / 2];
        *p99 = t[(ok * 99) / 100];
        free(t);
        return 0;
}

/* One row of the lookup table, in a process of its own. */
static int lookups(LookupKind kind, const char *label) {
        double q50, q99, f50, f99, rate, lat;
        int qfail, ffail;
        sd_bus *bus = NULL;
        pid_t flood;
        int r;

        if (kind == LOOKUP_DBUS) {
                r = sd_bus_open_system(&bus);
                if (r < 0) {
                        fprintf(stderr, "bench-pam: no bus for the lookup test: %s\n", strerror(-r));
                        return 1;
                }
        }
        r = measure_lookups(bus, kind, 300, &q50, &q99, &qfail);
        if (r >= 0) {
                flood = fork();
                if (flood == 0)
                        _exit(run_load("tessera", arg_tessera_user, arg_clients * 2, arg_seconds, &rate, &lat) < 0);
                usleep(300 * 1000);   /* let the flood build up */
                r = measure_lookups(bus, kind, 300, &f50, &f99, &ffail);
                waitpid(flood, NULL, 0);
        }
        sd_bus_flush_close_unref(bus);
        if (r < 0) {
                fprintf(stderr, "bench-pam: %s failed: %s\n", label, strerror(-r));
                return 1;
        }
        printf("%-26s %10.3f %10.3f %10.3f %10.3f %7d\n", label, q50, q99, f50, f99, qfail + ffail);
        fflush(stdout);   /* the caller leaves with _exit() */
        return 0;
}

/* The table of authentications: rounds that take turns, and the median
 * of each, so that a machine whose load drifts during the run hurts both
 * sides alike. */
static int auth_table(void) {
        double hash, rate[2][2], lat[2][2], hashes[MAX_ROUNDS], rates[2][2][MAX_ROUNDS], lats[2][2][MAX_ROUNDS];
        int levels[2] = { 1, arg_clients }, r;
        const char *names[2] = { "pam_unix", "pam_tessera" };

        for (int round = 0; round < arg_rounds; round++) {
                hashes[round] = hash_time(arg_seconds / 2);
                for (int l = 0; l < 2; l++)
                        for (int m = 0; m < 2; m++) {
                                r = run_load(m == 0 ? "unix" : "tessera", m == 0 ? arg_unix_user : arg_tessera_user,
                                             levels[l], arg_seconds, &rates[m][l][round], &lats[m][l][round]);
                                if (r < 0)
                                        return 1;
                        }
        }
        hash = median(hashes, arg_rounds);
        for (int m = 0; m < 2; m++)
                for (int l = 0; l < 2; l++) {
                        rate[m][l] = median(rates[m][l], arg_rounds);
                        lat[m][l] = median(lats[m][l], arg_rounds);
                }

        printf("\nAuthentications through libpam: median of %d rounds of %.1f s, the same hash for both\n\n",
               arg_rounds, arg_seconds);
        printf("%-12s %8s %10s %12s %16s %8s %12s\n", "module", "clients", "auths/s", "ms per auth", "beyond the hash",
               "hashes", "vs pam_unix");
        printf("%-12s %8s %10.1f %12.2f %16s %8s %12s\n", "hash alone", "1", 1.0 / hash, hash * 1000.0, "-", "1.00",
               "-");
        for (int l = 0; l < 2; l++)
                for (int m = 0; m < 2; m++) {
                        /* What a module adds to the hash (measured alone, so with
                         * several clients this includes their contention). */
                        double beyond = (lat[m][l] - hash) * 1000.0;
                        char vs[32] = "-";
                        if (m == 1)
                                snprintf(vs, sizeof(vs), "%+.1f %%", (lat[1][l] / lat[0][l] - 1.0) * 100.0);
                        /* The time of one authentication in hashes' worth: pam_unix on
                         * Debian 12 computes the hash twice per login. */
                        printf("%-12s %8d %10.1f %12.2f %13.2f ms %8.2f %12s\n", names[m], levels[l], rate[m][l],
                               lat[m][l] * 1000.0, beyond, lat[m][l] / hash, vs);
                }

        return 0;
}

static void help(void) {
        printf("bench-pam --confdir DIR --unix-user U --tessera-user T --password P --hash HASH\n"
               "          [--clients N] [--seconds S] [--rounds R] [--nss-user NAME] [--lookups-only]\n"
               "Service files in DIR: 'unix' (pam_unix.so) and 'tessera' (pam_tessera.so).\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "confdir", required_argument, NULL, 'c' },   { "unix-user", required_argument, NULL, 'u' },
                { "tessera-user", required_argument, NULL, 't' }, { "password", required_argument, NULL, 'p' },
                { "hash", required_argument, NULL, 'H' },      { "clients", required_argument, NULL, 'n' },
                { "seconds", required_argument, NULL, 's' },   { "nss-user", required_argument, NULL, 'N' },
                { "rounds", required_argument, NULL, 'r' },    { "lookups-only", no_argument, NULL, 'L' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        arg_clients = (int) sysconf(_SC_NPROCESSORS_ONLN);
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'c': arg_confdir = optarg; break;
                case 'u': arg_unix_user = optarg; break;
                case 't': arg_tessera_user = optarg; break;
                case 'p': arg_password = optarg; break;
                case 'H': arg_hash = optarg; break;
                case 'n': arg_clients = atoi(optarg); break;
                case 's': arg_seconds = atof(optarg); break;
                case 'N': arg_nss_user = optarg; break;
                case 'r': arg_rounds = atoi(optarg); break;
                case 'L': arg_lookups_only = true; break;
                case 'h': help(); return 0;
                default: return 2;
                }
        if (!arg_confdir || !arg_unix_user || !arg_tessera_user || !arg_password || !arg_hash || arg_clients < 1 ||
            arg_seconds <= 0 || arg_rounds < 1 || arg_rounds > MAX_ROUNDS) {
                help();
                return 2;
        }

        if (!arg_lookups_only && auth_table() != 0)
                return 1;

        /* Lookups: quiet, then while twice arg_clients processes flood
         * tessera with logins. Each kind in a process of its own, so that
         * the NSS module reads its environment (cache or not) afresh. */
        printf("\nLookups of %s, one at a time, 300 quiet and 300 during the flood (ms)\n\n%-26s %10s %10s %10s "
               "%10s %7s\n", arg_tessera_user, "", "p50 quiet", "p99 quiet", "p50 flood", "p99 flood", "failed");
        fflush(stdout);
        for (int k = 0; k < (arg_nss_user ? 3 : 1); k++) {
                pid_t child = fork();
                int status;

                if (child < 0)
                        return 1;
                if (child == 0) {
                        if (k == 2)
                                setenv("TESSERA_NSS_CACHE", "0", 1);
                        _exit(lookups(k == 0 ? LOOKUP_DBUS : LOOKUP_NSS, k == 0   ? "D-Bus GetUserByName"
                                                                         : k == 1 ? "NSS getpwnam (cache)"
                                                                                  : "NSS getpwnam (socket)"));
                }
                if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        return 1;
        }
        return 0;
}
