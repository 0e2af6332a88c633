/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the registry (metrics.c) and the text format (metrics-text.c);
 * nothing else includes this. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "metrics.h"

struct MetricFamily {
        char *name, *help;
        MetricType type;
        bool sparse;
        size_t n_labels;
        struct {
                char *name;
                char **values;
                size_t n_values;
        } labels[METRIC_LABELS_MAX];
        double bounds[METRIC_BUCKETS_MAX];              /* seconds, as declared */
        uint64_t bounds_nsec[METRIC_BUCKETS_MAX];       /* the same, as observed */
        size_t n_buckets;

        size_t n_series;
        /* A counter: one cell. A histogram: one per bucket (not yet
         * cumulative), one above the last bound, then the sum. */
        size_t cells_per_series;
        /* Cells of one shard, rounded up to whole cache lines so that two
         * CPUs never write the same line. */
        size_t shard_stride;
        unsigned n_shards;        /* a power of two */
        _Atomic uint64_t *cells;  /* n_shards × shard_stride, mapped */
        size_t cells_size;

        MetricFamily *next;
};

typedef struct MetricCollectorEntry {
        MetricCollector func;
        void *userdata;
} MetricCollectorEntry;

struct Metrics {
        /* Guards the lists, not the counts: declarations and collectors
         * come and go at start and stop, a scrape walks them. */
        pthread_mutex_t lock;
        MetricFamily *families, *last;   /* in declaration order */
        MetricCollectorEntry *collectors;
        size_t n_collectors;
        unsigned n_shards;
};

struct MetricText {
        FILE *f;
};

/* The series of a combination of label indexes, or SIZE_MAX when one is
 * out of range. */
size_t metric_series_of(const MetricFamily *f, const unsigned *index);
/* The label indexes of a series. */
void metric_series_labels(const MetricFamily *f, size_t series, unsigned index[static METRIC_LABELS_MAX]);
