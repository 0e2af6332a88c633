/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the host face counts for /metrics (metrics.h): requests on the
 * lookup and the authentication sockets, by type and answer, and how long
 * the daemon took for each (from the whole request read to the reply
 * ready); the memory cache's rebuilds. Lookups a process answers from the
 * memory cache never reach the daemon, and are not counted. */

#include <stdint.h>

#include "metrics.h"
#include "pam-proto.h"

typedef enum NssMetricResult {
        NSS_METRIC_FOUND,
        NSS_METRIC_NOT_FOUND,
        NSS_METRIC_ERROR,         /* the store failed, or a bad request (type "invalid") */
        _NSS_METRIC_RESULT_MAX,
} NssMetricResult;

typedef struct NssMetrics {
        MetricFamily *requests;   /* type × result */
        MetricFamily *duration;   /* type */
} NssMetrics;

typedef struct PamMetrics {
        MetricFamily *requests;   /* type × status */
        MetricFamily *duration;   /* type */
} PamMetrics;

typedef struct NssMemcache NssMemcache;

int nss_metrics_declare(Metrics *m, NssMetrics *ret);
/* type: the request's (NSS_REQ_*), or 0 for one that could not be read. */
void nss_metrics_request(const NssMetrics *nm, uint16_t type, NssMetricResult result, uint64_t nsec);

int pam_metrics_declare(Metrics *m, PamMetrics *ret);
/* type: the request's (PAM_MSG_*), or 0 for one that could not be read. */
void pam_metrics_request(const PamMetrics *pm, uint16_t type, PamStatus status, uint64_t nsec);

/* The memory cache's collector (userdata: the NssMemcache). */
void nss_memcache_collect(MetricText *t, void *userdata);
