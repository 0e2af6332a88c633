/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Prometheus' text exposition format, version 0.0.4: per family a HELP and
 * a TYPE line, then its samples, "name{label="value",...} number". Label
 * values escape backslash, double quote and line feed; HELP text escapes
 * backslash and line feed. Histograms are written as Prometheus has them:
 * cumulative name_bucket{le="..."} lines ending in le="+Inf", then
 * name_sum and name_count. */

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "macro.h"
#include "metrics-internal.h"
#include "names.h"

static const char *const type_names[_METRIC_TYPE_MAX] = {
        [METRIC_COUNTER] = "counter",
        [METRIC_GAUGE] = "gauge",
        [METRIC_HISTOGRAM] = "histogram",
};

/* The shortest text that reads back as the same double ("0.005", not
 * "0.0050000000000000001"), as Prometheus' own clients write numbers. */
static void format_double(double v, char buf[static 32]) {
        if (isnan(v)) {
                strcpy(buf, "NaN");
                return;
        }
        if (isinf(v)) {
                strcpy(buf, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        /* Whole numbers as such ("30", not "3e+01"), as far as a double
         * holds them exactly. */
        if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double) (int64_t) v) {
                snprintf(buf, 32, "%" PRIi64, (int64_t) v);
                return;
        }
        for (int precision = 1; precision <= 17; precision++) {
                snprintf(buf, 32, "%.*g", precision, v);
                if (strtod(buf, NULL) == v)
                        return;
        }
}

static void write_escaped(FILE *f, const char *s, bool quote) {
        for (; *s; s++)
                switch (*s) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '"':
                        fputs(quote ? "\\\"" : "\"", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

void metric_text_family(MetricText *t, const char *name, MetricType type, const char *help) {
        if (!metric_name_valid(name) || type < 0 || type >= _METRIC_TYPE_MAX)
                return;
        fprintf(t->f, "# HELP %s ", name);
        /* HELP is UTF-8 like every label value; what is not is left out. */
        write_escaped(t->f, help && utf8_is_valid(help) ? help : "", false);
        fprintf(t->f, "\n# TYPE %s %s\n", name, type_names[type]);
}

/* name{a="x",b="y"}, with `extra` (the histogram's le) last. */
static void write_series_name(FILE *f, const char *name, const char *suffix, const char *const *labels,
                              const char *extra_name, const char *extra_value) {
        bool first = true;

        fprintf(f, "%s%s", name, suffix);
        for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
                fprintf(f, "%s%s=\"", first ? "{" : ",", labels[i]);
                write_escaped(f, labels[i + 1], true);
                fputc('"', f);
                first = false;
        }
        if (extra_name) {
                fprintf(f, "%s%s=\"%s\"", first ? "{" : ",", extra_name, extra_value);
                first = false;
        }
        if (!first)
                fputc('}', f);
}

void metric_text_sample(MetricText *t, const char *name, const char *const *labels, double value) {
        char number[32];

        if (!metric_name_valid(name))
                return;
        for (size_t i = 0; labels && labels[i]; i += 2)
                if (!labels[i + 1] || !metric_label_name_valid(labels[i]) || !utf8_is_valid(labels[i + 1]))
                        return;   /* a collector's mistake: the sample is left out, not the scrape */
        write_series_name(t->f, name, "", labels, NULL, NULL);
        format_double(value, number);
        fprintf(t->f, " %s\n", number);
}

static void write_family(FILE *f, const MetricFamily *fam) {
        const char *labels[2 * METRIC_LABELS_MAX + 1];
        MetricText t = { f };

        metric_text_family(&t, fam->name, fam->type, fam->help);
        for (size_t s = 0; s < fam->n_series; s++) {
                uint64_t value = 0, sum = 0, buckets[METRIC_BUCKETS_MAX + 1];
                unsigned index[METRIC_LABELS_MAX] = {};
                char number[32];

                metric_series_labels(fam, s, index);
                if (metric_read(fam, index, &value, &sum, buckets) < 0 || (fam->sparse && value == 0))
                        continue;
                for (size_t i = 0; i < fam->n_labels; i++) {
                        labels[2 * i] = fam->labels[i].name;
                        labels[2 * i + 1] = fam->labels[i].values[index[i]];
                }
                labels[2 * fam->n_labels] = NULL;

                if (fam->type != METRIC_HISTOGRAM) {
                        write_series_name(f, fam->name, "", labels, NULL, NULL);
                        fprintf(f, " %" PRIu64 "\n", value);
                        continue;
                }
                for (size_t b = 0; b <= fam->n_buckets; b++) {
                        if (b < fam->n_buckets)
                                format_double(fam->bounds[b], number);
                        else
                                strcpy(number, "+Inf");
                        write_series_name(f, fam->name, "_bucket", labels, "le", number);
                        fprintf(f, " %" PRIu64 "\n", buckets[b]);
                }
                write_series_name(f, fam->name, "_sum", labels, NULL, NULL);
                format_double((double) sum / 1e9, number);
                fprintf(f, " %s\n", number);
                write_series_name(f, fam->name, "_count", labels, NULL, NULL);
                fprintf(f, " %" PRIu64 "\n", value);
        }
}

int metrics_format(Metrics *m, char **ret, size_t *ret_size) {
        char *buf = NULL;
        size_t size = 0;
        MetricText t;
        int r;

        t.f = open_memstream(&buf, &size);
        if (!t.f)
                return -ENOMEM;
        pthread_mutex_lock(&m->lock);
        for (const MetricFamily *f = m->families; f; f = f->next)
                write_family(t.f, f);
        for (size_t i = 0; i < m->n_collectors; i++)
                m->collectors[i].func(&t, m->collectors[i].userdata);
        pthread_mutex_unlock(&m->lock);
        r = ferror(t.f) ? -ENOMEM : 0;
        if (fclose(t.f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}
