/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The process's own numbers, under the names Prometheus' client libraries
 * give them (process_*), so that the usual dashboards know them; and
 * tesserad's: its version, and the descriptor budget (fd-budget.h) beside
 * the descriptors open, since running out of them takes logins down. */

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "manager.h"
#include "metrics-core.h"
#include "time-util.h"

/* Descriptors open now, the one reading them included; -1 when /proc
 * can't tell. */
static int count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;   /* less the directory's own */
}

static long resident_bytes(void) {
        unsigned long size, resident;
        FILE *f = fopen("/proc/self/statm", "re");
        int n;

        if (!f)
                return -1;
        n = fscanf(f, "%lu %lu", &size, &resident);
        fclose(f);
        return n == 2 ? (long) resident * sysconf(_SC_PAGESIZE) : -1;
}

void metrics_process_collect(MetricText *t, void *userdata) {
        const Manager *m = userdata;
        const FdBudget *b = &m->fd_budget;
        struct rusage ru;
        struct rlimit rl;
        long rss;
        int fds;

        metric_text_family(t, "tessera_build_info", METRIC_GAUGE, "The version of tesserad running, as a label; always 1.");
        metric_text_sample(t, "tessera_build_info", (const char *const[]) { "version", TESSERA_VERSION, NULL }, 1);

        metric_text_family(t, "process_start_time_seconds", METRIC_GAUGE,
                           "When tesserad started, in seconds since the Unix epoch.");
        metric_text_sample(t, "process_start_time_seconds", NULL, (double) (m->core_metrics.start_usec / USEC_PER_SEC));

        if (getrusage(RUSAGE_SELF, &ru) == 0) {
                double cpu = (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
                             (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;

                metric_text_family(t, "process_cpu_seconds_total", METRIC_COUNTER,
                                   "CPU time tesserad used, user and system, in seconds.");
                metric_text_sample(t, "process_cpu_seconds_total", NULL, cpu);
        }
        rss = resident_bytes();
        if (rss >= 0) {
                metric_text_family(t, "process_resident_memory_bytes", METRIC_GAUGE, "Resident memory in bytes.");
                metric_text_sample(t, "process_resident_memory_bytes", NULL, (double) rss);
        }

        fds = count_open_fds();
        if (fds >= 0) {
                metric_text_family(t, "process_open_fds", METRIC_GAUGE, "Descriptors open now.");
                metric_text_sample(t, "process_open_fds", NULL, fds);
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                metric_text_family(t, "process_max_fds", METRIC_GAUGE,
                                   "The descriptor limit (RLIMIT_NOFILE, as raised at start).");
                metric_text_sample(t, "process_max_fds", NULL, (double) rl.rlim_cur);
        }
        metric_text_family(t, "tessera_fd_budget", METRIC_GAUGE,
                           "How the descriptor limit was split at start: the daemon's own (HTTP threads "
                           "included), kept for lookup and authentication socket clients, HTTP connections.");
        metric_text_sample(t, "tessera_fd_budget", (const char *const[]) { "part", "own", NULL }, b->own);
        metric_text_sample(t, "tessera_fd_budget", (const char *const[]) { "part", "nss", NULL }, b->nss);
        metric_text_sample(t, "tessera_fd_budget", (const char *const[]) { "part", "pam", NULL }, b->pam);
        metric_text_sample(t, "tessera_fd_budget", (const char *const[]) { "part", "http", NULL }, b->http);
}
