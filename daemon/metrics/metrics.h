/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The registry of what tesserad counts, served as /metrics in Prometheus'
 * text format (metrics-text.c). It knows no face: the core and each face
 * declare their families when they start, each label with every value it
 * can take, and count into them from any thread. No request can add a
 * series: a route is counted under its template ("/t/{tenant}/token"),
 * never its path.
 *
 * Counting is a relaxed atomic add into the counting CPU's shard of the
 * family (threads on different CPUs never write the same cache line); a
 * scrape sums the shards. Counters and histograms are declared here;
 * numbers that live elsewhere (the mail sender's, the memory cache's, the
 * process's) are written by collectors at scrape time.
 *
 *     static const char *const channels[] = { "pam", "http", NULL };
 *     static const MetricSpec spec = {
 *             .name = "tessera_signins_total", .help = "...", .type = METRIC_COUNTER,
 *             .labels = { { "channel", channels } },
 *     };
 *     r = metrics_declare(m->metrics, &spec, &family);
 *     ...
 *     metric_add(family, (unsigned[]) { CHANNEL_PAM }, 1);
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRIC_LABELS_MAX 3
#define METRIC_BUCKETS_MAX 24
/* A family that would have more series than this is a declaration mistake. */
#define METRIC_SERIES_MAX 65536

typedef struct Metrics Metrics;
typedef struct MetricFamily MetricFamily;
typedef struct MetricText MetricText;

typedef enum MetricType {
        METRIC_COUNTER,
        METRIC_GAUGE,             /* written by collectors only */
        METRIC_HISTOGRAM,         /* of durations: observed in nanoseconds, written in seconds */
        _METRIC_TYPE_MAX,
} MetricType;

/* A label and every value it can take (NULL-terminated). */
typedef struct MetricLabel {
        const char *name;
        const char *const *values;
} MetricLabel;

typedef struct MetricSpec {
        const char *name;         /* tessera_signins_total: counters end in _total, units are base units */
        const char *help;
        MetricType type;          /* METRIC_COUNTER or METRIC_HISTOGRAM */
        MetricLabel labels[METRIC_LABELS_MAX];   /* the first without a name ends them */
        /* METRIC_HISTOGRAM: upper bounds in seconds, ascending; +Inf is implied. */
        const double *buckets;
        size_t n_buckets;
        /* Series are written once they are not zero any more: for label
         * sets of which most combinations never happen (a route and a
         * method it does not take). Otherwise every series is written,
         * zeros too, so that rate() sees the first increase. */
        bool sparse;
} MetricSpec;

/* A new, empty registry. */
int metrics_new(Metrics **ret);
Metrics *metrics_free(Metrics *m);

static inline void metrics_freep(Metrics **m) {
        if (*m)
                metrics_free(*m);
}

/* Declares a family; the registry keeps copies of the spec's strings. A
 * family of the same name, type and labels is returned again (a face
 * started twice); another of the same name is -EEXIST. -EINVAL for a name
 * Prometheus would refuse, a label without values, "le" on a histogram,
 * unordered buckets, or too many series. Thread-safe, but families are
 * declared before the threads that count in them start. */
int metrics_declare(Metrics *m, const MetricSpec *spec, MetricFamily **ret);

/* Adds n to the series of the label values with these indexes (in the
 * order of the spec's labels; NULL for a family without labels). An index
 * out of range counts nothing. f may be NULL: nothing happens, so that
 * code runs the same without a registry (unit tests of other parts). */
void metric_add(MetricFamily *f, const unsigned *index, uint64_t n);
/* Counts a duration into a histogram. */
void metric_observe(MetricFamily *f, const unsigned *index, uint64_t nsec);

/* What a scrape sees of one series (all shards summed): a counter's value,
 * or a histogram's count; with ret_sum, a histogram's sum in nanoseconds;
 * with ret_buckets (n_buckets + 1 entries, the last for +Inf), its
 * cumulative bucket counts. -ERANGE for an index out of range. */
int metric_read(const MetricFamily *f, const unsigned *index, uint64_t *ret_value, uint64_t *ret_sum,
                uint64_t *ret_buckets);

/* Numbers kept elsewhere are written by a collector when /metrics is
 * read, with metric_text_family() and metric_text_sample() below. A
 * collector runs on the scraping thread: it reads atomics or takes short
 * locks, nothing slow. userdata must stay valid until the collector is
 * removed. */
typedef void (*MetricCollector)(MetricText *t, void *userdata);
int metrics_add_collector(Metrics *m, MetricCollector f, void *userdata);
void metrics_remove_collector(Metrics *m, MetricCollector f, void *userdata);

/* -- the text format (metrics-text.c) */

/* Every family and collector in the text format (version 0.0.4), into
 * *ret (NUL-terminated, the caller frees it) and its length. */
int metrics_format(Metrics *m, char **ret, size_t *ret_size);

/* For collectors: the HELP and TYPE lines of a family, then its samples.
 * labels are name, value pairs ending in NULL (or NULL: none); values are
 * escaped here. */
void metric_text_family(MetricText *t, const char *name, MetricType type, const char *help);
void metric_text_sample(MetricText *t, const char *name, const char *const *labels, double value);

/* Is s a metric name / label name Prometheus accepts? */
bool metric_name_valid(const char *s);
bool metric_label_name_valid(const char *s);
