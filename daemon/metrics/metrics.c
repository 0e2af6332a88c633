/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#include "macro.h"
#include "metrics-internal.h"
#include "names.h"

#define CACHE_LINE_CELLS (64 / sizeof(uint64_t))
/* More shards than this buy nothing: a family's counts stay on few lines. */
#define SHARDS_MAX 16

bool metric_name_valid(const char *s) {
        if (isempty(s) || !(s[0] == '_' || s[0] == ':' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
                return false;
        for (const char *p = s + 1; *p; p++)
                if (!(*p == '_' || *p == ':' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9')))
                        return false;
        return strlen(s) <= 200;
}

bool metric_label_name_valid(const char *s) {
        /* Names starting with "__" are Prometheus' own. */
        return metric_name_valid(s) && !strchr(s, ':') && !strneq(s, "__", 2);
}

static unsigned shard_count(void) {
        int cpus = get_nprocs_conf();
        unsigned n = 1;

        while (n < SHARDS_MAX && n < (unsigned) MAX(cpus, 1))
                n <<= 1;
        return n;
}

int metrics_new(Metrics **ret) {
        Metrics *m = calloc(1, sizeof(Metrics));

        if (!m)
                return -ENOMEM;
        pthread_mutex_init(&m->lock, NULL);
        m->n_shards = shard_count();
        *ret = m;
        return 0;
}

static void family_free(MetricFamily *f) {
        if (!f)
                return;
        free(f->name);
        free(f->help);
        for (size_t i = 0; i < f->n_labels; i++) {
                free(f->labels[i].name);
                for (size_t j = 0; j < f->labels[i].n_values; j++)
                        free(f->labels[i].values[j]);
                free(f->labels[i].values);
        }
        if (f->cells)
                munmap(f->cells, f->cells_size);
        free(f);
}

Metrics *metrics_free(Metrics *m) {
        if (!m)
                return NULL;
        while (m->families) {
                MetricFamily *f = m->families;
                m->families = f->next;
                family_free(f);
        }
        free(m->collectors);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
}

static size_t count_labels(const MetricSpec *spec) {
        size_t n = 0;

        while (n < METRIC_LABELS_MAX && spec->labels[n].name)
                n++;
        return n;
}

static int check_spec(const MetricSpec *spec, size_t *ret_series) {
        size_t n_labels = count_labels(spec), series = 1;

        if (!metric_name_valid(spec->name) || !spec->help || !utf8_is_valid(spec->help))
                return -EINVAL;
        if (spec->type != METRIC_COUNTER && spec->type != METRIC_HISTOGRAM)
                return -EINVAL;   /* gauges come from collectors */
        if (spec->type == METRIC_HISTOGRAM) {
                if (spec->n_buckets == 0 || spec->n_buckets > METRIC_BUCKETS_MAX || !spec->buckets)
                        return -EINVAL;
                for (size_t i = 0; i < spec->n_buckets; i++)
                        /* Observed in nanoseconds: a bound fits in 64 bits of them. */
                        if (!isfinite(spec->buckets[i]) || spec->buckets[i] < 0 || spec->buckets[i] > 1e9 ||
                            (i > 0 && spec->buckets[i] <= spec->buckets[i - 1]))
                                return -EINVAL;
        } else if (spec->n_buckets > 0)
                return -EINVAL;

        for (size_t i = 0; i < n_labels; i++) {
                size_t n = 0;

                if (!metric_label_name_valid(spec->labels[i].name) || !spec->labels[i].values)
                        return -EINVAL;
                /* "le" is the histogram's own bucket label. */
                if (spec->type == METRIC_HISTOGRAM && streq(spec->labels[i].name, "le"))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(spec->labels[i].name, spec->labels[j].name))
                                return -EINVAL;
                for (; spec->labels[i].values[n]; n++)
                        if (!utf8_is_valid(spec->labels[i].values[n]))
                                return -EINVAL;
                if (n == 0)
                        return -EINVAL;
                series *= n;
                if (series > METRIC_SERIES_MAX)
                        return -E2BIG;
        }
        *ret_series = series;
        return 0;
}

/* The same family declared again: the same type and the same labels with
 * as many values, in the same order. */
static bool family_matches(const MetricFamily *f, const MetricSpec *spec, size_t n_series) {
        size_t n_labels = count_labels(spec);

        if (f->type != spec->type || f->n_labels != n_labels || f->n_series != n_series ||
            f->n_buckets != spec->n_buckets)
                return false;
        for (size_t i = 0; i < n_labels; i++)
                if (!streq(f->labels[i].name, spec->labels[i].name))
                        return false;
        return true;
}

static int family_new(const MetricSpec *spec, size_t n_series, unsigned n_shards, MetricFamily **ret) {
        MetricFamily *f = calloc(1, sizeof(MetricFamily));
        size_t bytes;
        void *p;

        if (!f)
                return -ENOMEM;
        *f = (MetricFamily) {
                .name = strdup(spec->name),
                .help = strdup(spec->help),
                .type = spec->type,
                .sparse = spec->sparse,
                .n_labels = count_labels(spec),
                .n_buckets = spec->n_buckets,
                .n_series = n_series,
                .cells_per_series = spec->type == METRIC_HISTOGRAM ? spec->n_buckets + 2 : 1,
                .n_shards = n_shards,
        };
        if (!f->name || !f->help)
                goto oom;
        for (size_t i = 0; i < f->n_labels; i++) {
                size_t n = 0;

                while (spec->labels[i].values[n])
                        n++;
                f->labels[i].name = strdup(spec->labels[i].name);
                f->labels[i].values = calloc(n, sizeof(char *));
                if (!f->labels[i].name || !f->labels[i].values)
                        goto oom;
                for (; f->labels[i].n_values < n; f->labels[i].n_values++) {
                        f->labels[i].values[f->labels[i].n_values] = strdup(spec->labels[i].values[f->labels[i].n_values]);
                        if (!f->labels[i].values[f->labels[i].n_values])
                                goto oom;
                }
        }
        for (size_t i = 0; i < f->n_buckets; i++) {
                f->bounds[i] = spec->buckets[i];
                f->bounds_nsec[i] = (uint64_t) (spec->buckets[i] * 1e9 + 0.5);
        }

        f->shard_stride = (n_series * f->cells_per_series + CACHE_LINE_CELLS - 1) / CACHE_LINE_CELLS * CACHE_LINE_CELLS;
        bytes = n_shards * f->shard_stride * sizeof(uint64_t);
        /* Zero pages from the kernel: a big family that is mostly never
         * counted costs address space, not memory. */
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                goto oom;
        f->cells = p;
        f->cells_size = bytes;
        *ret = f;
        return 0;
oom:
        family_free(f);
        return -ENOMEM;
}

int metrics_declare(Metrics *m, const MetricSpec *spec, MetricFamily **ret) {
        MetricFamily *f;
        size_t n_series;
        int r;

        r = check_spec(spec, &n_series);
        if (r < 0)
                return r;

        pthread_mutex_lock(&m->lock);
        for (f = m->families; f; f = f->next)
                if (streq(f->name, spec->name)) {
                        r = family_matches(f, spec, n_series) ? 0 : -EEXIST;
                        pthread_mutex_unlock(&m->lock);
                        if (r == 0)
                                *ret = f;
                        return r;
                }
        r = family_new(spec, n_series, m->n_shards, &f);
        if (r >= 0) {
                if (m->last)
                        m->last->next = f;
                else
                        m->families = f;
                m->last = f;
        }
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return r;
        *ret = f;
        return 0;
}

size_t metric_series_of(const MetricFamily *f, const unsigned *index) {
        size_t series = 0;

        for (size_t i = 0; i < f->n_labels; i++) {
                if (index[i] >= f->labels[i].n_values)
                        return SIZE_MAX;
                series = series * f->labels[i].n_values + index[i];
        }
        return series;
}

void metric_series_labels(const MetricFamily *f, size_t series, unsigned index[static METRIC_LABELS_MAX]) {
        for (size_t i = f->n_labels; i > 0; i--) {
                index[i - 1] = (unsigned) (series % f->labels[i - 1].n_values);
                series /= f->labels[i - 1].n_values;
        }
}

/* This CPU's cells of a series. A thread that moves to another CPU
 * meanwhile still counts right: the add is atomic. */
static _Atomic uint64_t *cells_here(MetricFamily *f, size_t series) {
        int cpu = sched_getcpu();
        unsigned shard = cpu < 0 ? 0 : (unsigned) cpu & (f->n_shards - 1);

        return f->cells + shard * f->shard_stride + series * f->cells_per_series;
}

void metric_add(MetricFamily *f, const unsigned *index, uint64_t n) {
        size_t series;

        if (!f || f->type != METRIC_COUNTER)
                return;
        series = metric_series_of(f, index);
        if (series == SIZE_MAX)
                return;
        atomic_fetch_add_explicit(cells_here(f, series), n, memory_order_relaxed);
}

void metric_observe(MetricFamily *f, const unsigned *index, uint64_t nsec) {
        _Atomic uint64_t *c;
        size_t series, b = 0;

        if (!f || f->type != METRIC_HISTOGRAM)
                return;
        series = metric_series_of(f, index);
        if (series == SIZE_MAX)
                return;
        /* A bucket holds what is at most its bound ("le"). */
        while (b < f->n_buckets && nsec > f->bounds_nsec[b])
                b++;
        c = cells_here(f, series);
        atomic_fetch_add_explicit(&c[b], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&c[f->n_buckets + 1], nsec, memory_order_relaxed);
}

int metric_read(const MetricFamily *f, const unsigned *index, uint64_t *ret_value, uint64_t *ret_sum,
                uint64_t *ret_buckets) {
        uint64_t sums[METRIC_BUCKETS_MAX + 2] = {};
        size_t series = metric_series_of(f, index);
        uint64_t count = 0;

        if (series == SIZE_MAX)
                return -ERANGE;
        for (unsigned s = 0; s < f->n_shards; s++) {
                const _Atomic uint64_t *c = f->cells + s * f->shard_stride + series * f->cells_per_series;

                for (size_t i = 0; i < f->cells_per_series; i++)
                        sums[i] += atomic_load_explicit(&c[i], memory_order_relaxed);
        }
        if (f->type != METRIC_HISTOGRAM) {
                if (ret_value)
                        *ret_value = sums[0];
                return 0;
        }
        /* The count is the sum of the buckets, so that +Inf and _count
         * agree in every scrape, whatever was counted meanwhile. */
        for (size_t i = 0; i <= f->n_buckets; i++) {
                count += sums[i];
                if (ret_buckets)
                        ret_buckets[i] = count;
        }
        if (ret_value)
                *ret_value = count;
        if (ret_sum)
                *ret_sum = sums[f->n_buckets + 1];
        return 0;
}

int metrics_add_collector(Metrics *m, MetricCollector func, void *userdata) {
        MetricCollectorEntry *c;

        pthread_mutex_lock(&m->lock);
        c = reallocarray(m->collectors, m->n_collectors + 1, sizeof(MetricCollectorEntry));
        if (!c) {
                pthread_mutex_unlock(&m->lock);
                return -ENOMEM;
        }
        c[m->n_collectors++] = (MetricCollectorEntry) { func, userdata };
        m->collectors = c;
        pthread_mutex_unlock(&m->lock);
        return 0;
}

void metrics_remove_collector(Metrics *m, MetricCollector func, void *userdata) {
        if (!m)
                return;
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_collectors; i++)
                if (m->collectors[i].func == func && m->collectors[i].userdata == userdata) {
                        memmove(m->collectors + i, m->collectors + i + 1,
                                (m->n_collectors - i - 1) * sizeof(MetricCollectorEntry));
                        m->n_collectors--;
                        break;
                }
        pthread_mutex_unlock(&m->lock);
}
