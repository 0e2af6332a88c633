/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-metrics.h"

#include "macro.h"
#include "nss-memcache.h"
#include "nss-proto.h"

/* The request types in the order of their numbers (NSS_REQ_USER_BY_NAME
 * is 0x0101, ...), and one for a request that could not be read. */
static const char *const nss_types[] = {
        "user_by_name", "user_by_uid", "group_by_name", "group_by_gid", "initgroups", "list_users", "list_groups",
        "invalid", NULL,
};
#define NSS_TYPE_INVALID 7

static const char *const nss_results[_NSS_METRIC_RESULT_MAX + 1] = {
        [NSS_METRIC_FOUND] = "found",
        [NSS_METRIC_NOT_FOUND] = "not_found",
        [NSS_METRIC_ERROR] = "error",
};

/* PAM_MSG_* are 1..7; index 0 is a request that could not be read. */
static const char *const pam_types[_PAM_MSG_REQUEST_MAX + 1] = {
        [0] = "invalid",
        [PAM_MSG_LOOKUP] = "lookup",
        [PAM_MSG_AUTHENTICATE] = "authenticate",
        [PAM_MSG_ACCOUNT] = "account",
        [PAM_MSG_CHAUTHTOK_CHECK] = "chauthtok_check",
        [PAM_MSG_CHAUTHTOK] = "chauthtok",
        [PAM_MSG_SESSION_OPEN] = "session_open",
        [PAM_MSG_SESSION_CLOSE] = "session_close",
};

static const char *const pam_statuses[_PAM_STATUS_MAX + 1] = {
        [PAM_STATUS_OK] = "ok",
        [PAM_STATUS_AUTH_FAILED] = "auth_failed",
        [PAM_STATUS_USER_UNKNOWN] = "user_unknown",
        [PAM_STATUS_LOCKED] = "locked",
        [PAM_STATUS_ACCOUNT_LOCKED] = "account_locked",
        [PAM_STATUS_ACCOUNT_DISABLED] = "account_disabled",
        [PAM_STATUS_ACCOUNT_EXPIRED] = "account_expired",
        [PAM_STATUS_DENIED] = "denied",
        [PAM_STATUS_REJECTED] = "rejected",
        [PAM_STATUS_BUSY] = "busy",
        [PAM_STATUS_ERROR] = "error",
        [PAM_STATUS_BAD_REQUEST] = "bad_request",
        [PAM_STATUS_NEED_CODE] = "need_code",
};

/* A lookup takes tens of microseconds when the store's pages are cached,
 * milliseconds when they are not; seconds would be a stuck disk. */
static const double nss_buckets[] = {
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1,
};

/* A password check takes the hash's time (tens of milliseconds at
 * yescrypt's default cost) plus its wait for a worker; the rest is quick. */
static const double pam_buckets[] = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const MetricSpec nss_requests_spec = {
        .name = "tessera_nss_requests_total",
        .help = "Requests on the lookup socket (nss.sock) by type and answer. Lookups answered from the memory "
                "cache inside the asking process never reach the daemon and are not counted.",
        .type = METRIC_COUNTER,
        .labels = { { "type", nss_types }, { "result", nss_results } },
        .sparse = true,
};

static const MetricSpec nss_duration_spec = {
        .name = "tessera_nss_request_duration_seconds",
        .help = "Time the daemon took to answer a request on the lookup socket, from the whole request read to "
                "the reply ready.",
        .type = METRIC_HISTOGRAM,
        .labels = { { "type", nss_types } },
        .buckets = nss_buckets,
        .n_buckets = ELEMENTSOF(nss_buckets),
        .sparse = true,
};

static const MetricSpec pam_requests_spec = {
        .name = "tessera_pam_requests_total",
        .help = "Requests on the authentication socket (pam.sock) by type and the status answered.",
        .type = METRIC_COUNTER,
        .labels = { { "type", pam_types }, { "status", pam_statuses } },
        .sparse = true,
};

static const MetricSpec pam_duration_spec = {
        .name = "tessera_pam_request_duration_seconds",
        .help = "Time the daemon took to answer a request on the authentication socket, from the whole request "
                "read to the reply ready: for a password, its wait for a worker and the hash.",
        .type = METRIC_HISTOGRAM,
        .labels = { { "type", pam_types } },
        .buckets = pam_buckets,
        .n_buckets = ELEMENTSOF(pam_buckets),
        .sparse = true,
};

int nss_metrics_declare(Metrics *m, NssMetrics *ret) {
        NssMetrics nm;
        int r;

        r = metrics_declare(m, &nss_requests_spec, &nm.requests);
        if (r >= 0)
                r = metrics_declare(m, &nss_duration_spec, &nm.duration);
        if (r < 0)
                return r;
        *ret = nm;
        return 0;
}

void nss_metrics_request(const NssMetrics *nm, uint16_t type, NssMetricResult result, uint64_t nsec) {
        unsigned t = type >= NSS_REQ_USER_BY_NAME && type <= NSS_REQ_LIST_GROUPS ? type - NSS_REQ_USER_BY_NAME
                                                                                 : NSS_TYPE_INVALID;

        metric_add(nm->requests, (unsigned[]) { t, result }, 1);
        metric_observe(nm->duration, (unsigned[]) { t }, nsec);
}

int pam_metrics_declare(Metrics *m, PamMetrics *ret) {
        PamMetrics pm;
        int r;

        r = metrics_declare(m, &pam_requests_spec, &pm.requests);
        if (r >= 0)
                r = metrics_declare(m, &pam_duration_spec, &pm.duration);
        if (r < 0)
                return r;
        *ret = pm;
        return 0;
}

void pam_metrics_request(const PamMetrics *pm, uint16_t type, PamStatus status, uint64_t nsec) {
        unsigned t = type < _PAM_MSG_REQUEST_MAX ? type : 0;

        /* An out-of-range status counts nothing (metric_add checks). */
        metric_add(pm->requests, (unsigned[]) { t, (unsigned) status }, 1);
        metric_observe(pm->duration, (unsigned[]) { t }, nsec);
}

void nss_memcache_collect(MetricText *t, void *userdata) {
        NssMemcacheStats st;

        nss_memcache_get_stats(userdata, &st);
        metric_text_family(t, "tessera_nss_cache_valid", METRIC_GAUGE,
                           "1 while a current memory cache image is published to the NSS module, 0 while it is "
                           "being rebuilt after a change (lookups go by the socket meanwhile).");
        metric_text_sample(t, "tessera_nss_cache_valid", NULL, st.valid);
        metric_text_family(t, "tessera_nss_cache_size_bytes", METRIC_GAUGE,
                           "Bytes of the published memory cache image (0 when none is valid).");
        metric_text_sample(t, "tessera_nss_cache_size_bytes", NULL, (double) st.size);
        metric_text_family(t, "tessera_nss_cache_rebuild_seconds", METRIC_GAUGE,
                           "Time the last published rebuild of the memory cache image took: reading every "
                           "account the host sees in one snapshot, building the image and sealing it. It "
                           "grows with the number of accounts.");
        metric_text_sample(t, "tessera_nss_cache_rebuild_seconds", NULL, (double) st.last_rebuild_usec / 1e6);
        metric_text_family(t, "tessera_nss_cache_invalidations_total", METRIC_COUNTER,
                           "Changes that made the memory cache image stale: the cache's generation.");
        metric_text_sample(t, "tessera_nss_cache_invalidations_total", NULL, (double) st.invalidations);
        metric_text_family(t, "tessera_nss_cache_rebuilds_total", METRIC_COUNTER,
                           "Rebuilds of the memory cache image: published, superseded by a change while being "
                           "built, or failed (tried again after a while).");
        metric_text_sample(t, "tessera_nss_cache_rebuilds_total", (const char *const[]) { "result", "published", NULL },
                           (double) st.published);
        metric_text_sample(t, "tessera_nss_cache_rebuilds_total",
                           (const char *const[]) { "result", "superseded", NULL }, (double) st.superseded);
        metric_text_sample(t, "tessera_nss_cache_rebuilds_total", (const char *const[]) { "result", "failed", NULL },
                           (double) st.failed);
}
