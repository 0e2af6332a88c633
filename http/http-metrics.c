/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* GET /metrics, and what the HTTP face counts for it: requests by route
 * template, method and status, and their durations by route.
 *
 * Who may read it: the numbers are the whole host's, every tenant's
 * together, so what a tenant holds never opens it (POLICY_METRICS). The
 * door's own rule decides: a client from an address of [metrics] allow
 * (loopback by default), or one that presents the token of [metrics]
 * token_file as "Authorization: Bearer <token>". A credential that is
 * presented must be the right one, from any address. Refusals are audited
 * (metrics.read) and a wrong token counts as a failed authentication of
 * the address (limiter.h). */

#include <fcntl.h>
#include <sys/stat.h>

#include "change.h"
#include "http-handlers.h"
#include "limiter.h"
#include "names.h"
#include "token.h"

#define METRICS_TOKEN_CREDENTIAL "tessera.metrics-token"
/* The token is a password nobody types: long enough not to be guessed. */
#define METRICS_TOKEN_MIN_LEN 32

static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other", NULL };
#define METHOD_OTHER 7

/* The codes this server answers with, each its own value; anything else by
 * its class, and "none" for a request that got no reply (the client went
 * away first). */
static const unsigned known_statuses[] = {
        200, 201, 202, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 408, 409, 410, 412, 413,
        415, 422, 428, 429, 431, 500, 501, 502, 503, 504, 507,
};
#define N_KNOWN_STATUSES ELEMENTSOF(known_statuses)
/* After the codes: "1xx" .. "5xx", then "none". */
#define STATUS_NONE (N_KNOWN_STATUSES + 5)

#define ROUTE_UNMATCHED_NAME "unmatched"

/* Most requests take microseconds to a few milliseconds; a sign-in takes a
 * hash (tens of milliseconds); seconds are a slow client or a stuck disk. */
static const double duration_buckets[] = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct HttpMetrics {
        MetricFamily *requests;   /* route × method × status */
        MetricFamily *duration;   /* route */
        /* The route label's values: each pattern of the table once, then
         * "unmatched"; and for each row of the table, its pattern's index. */
        char *statuses_text[N_KNOWN_STATUSES + 6 + 1];
        const char **routes;
        unsigned *route_of_row;
        size_t n_routes;
        uint8_t status_index[600];
        bool have_token;
        uint8_t token_digest[TOKEN_DIGEST_SIZE];
};

/* -- the token -------------------------------------------------------------------------- */

/* RFC 6750's b64token: what a Bearer header can carry as it is. */
static bool token_chars_valid(const char *s) {
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");

        return s[n + strspn(s + n, "=")] == '\0';
}

/* [metrics] token_file, else the systemd credential when it was passed;
 * neither: no token (0, *ret_have false). Like every secret file, one that
 * anybody may read is refused. */
static int read_token(const Config *c, uint8_t digest[static TOKEN_DIGEST_SIZE], bool *ret_have) {
        _cleanup_free_ char *credential = NULL;
        _cleanup_(erase_and_freep) char *buf = NULL;
        _cleanup_(closep) int fd = -EBADF;
        const char *path = c->metrics_token_file, *dir;
        struct stat st;
        ssize_t n;

        if (!path) {
                dir = secure_getenv("CREDENTIALS_DIRECTORY");
                if (isempty(dir) || asprintf(&credential, "%s/%s", dir, METRICS_TOKEN_CREDENTIAL) < 0) {
                        *ret_have = false;
                        return 0;
                }
                if (access(credential, F_OK) < 0 && errno == ENOENT) {
                        *ret_have = false;
                        return 0;
                }
                path = credential;
        }

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open the metrics token %s: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "%s is not a regular file.", path);
        if (st.st_mode & S_IROTH)
                return log_error_errno(-EPERM, "%s may be read by anybody; refusing to use the metrics token in it "
                                               "(chmod o-r).", path);
        buf = calloc(1, TOKEN_MAX_LEN + 2);
        if (!buf)
                return log_oom();
        n = read(fd, buf, TOKEN_MAX_LEN + 1);
        if (n < 0)
                return log_error_errno(-errno, "Failed to read %s: %m", path);
        if (n > TOKEN_MAX_LEN)
                return log_error_errno(-EINVAL, "%s holds more than %d bytes: is it the right file?", path,
                                       TOKEN_MAX_LEN);
        /* One line; its line feed is not part of the token. */
        buf[strcspn(buf, "\r\n")] = '\0';
        if (strlen(buf) < METRICS_TOKEN_MIN_LEN || !token_chars_valid(buf))
                return log_error_errno(-EINVAL, "%s must hold one token of at least %d characters of A-Z a-z 0-9 "
                                                "-._~+/ (for example from 'openssl rand -hex 32').", path,
                                       METRICS_TOKEN_MIN_LEN);
        token_digest(buf, digest);
        *ret_have = true;
        return 0;
}

/* -- counting ----------------------------------------------------------------------------- */

static int make_route_values(HttpMetrics *hm) {
        size_t n_rows = 0;

        while (http_routes[n_rows].method)
                n_rows++;
        hm->routes = calloc(n_rows + 2, sizeof(char *));
        hm->route_of_row = calloc(n_rows + 1, sizeof(unsigned));
        if (!hm->routes || !hm->route_of_row)
                return -ENOMEM;
        for (size_t i = 0; i < n_rows; i++) {
                size_t j = 0;

                while (j < hm->n_routes && !streq(hm->routes[j], http_routes[i].pattern))
                        j++;
                if (j == hm->n_routes)
                        hm->routes[hm->n_routes++] = http_routes[i].pattern;
                hm->route_of_row[i] = (unsigned) j;
        }
        hm->routes[hm->n_routes] = ROUTE_UNMATCHED_NAME;
        hm->routes[hm->n_routes + 1] = NULL;
        return 0;
}

static int make_status_values(HttpMetrics *hm) {
        size_t n = 0;

        for (; n < N_KNOWN_STATUSES; n++)
                if (asprintf(&hm->statuses_text[n], "%u", known_statuses[n]) < 0)
                        return -ENOMEM;
        for (unsigned class = 1; class <= 5; class++, n++)
                if (asprintf(&hm->statuses_text[n], "%uxx", class) < 0)
                        return -ENOMEM;
        hm->statuses_text[n] = strdup("none");
        if (!hm->statuses_text[n])
                return -ENOMEM;

        for (unsigned code = 0; code < ELEMENTSOF(hm->status_index); code++)
                hm->status_index[code] = code >= 100 ? (uint8_t) (N_KNOWN_STATUSES + code / 100 - 1) : STATUS_NONE;
        for (size_t i = 0; i < N_KNOWN_STATUSES; i++)
                hm->status_index[known_statuses[i]] = (uint8_t) i;
        return 0;
}

HttpMetrics *http_metrics_free(HttpMetrics *hm) {
        if (!hm)
                return NULL;
        free(hm->routes);
        free(hm->route_of_row);
        for (size_t i = 0; i < ELEMENTSOF(hm->statuses_text); i++)
                free(hm->statuses_text[i]);
        explicit_bzero(hm->token_digest, sizeof(hm->token_digest));
        free(hm);
        return NULL;
}

int http_metrics_new(Manager *m, HttpMetrics **ret) {
        _cleanup_(http_metrics_freep) HttpMetrics *hm = calloc(1, sizeof(HttpMetrics));
        int r;

        if (!hm)
                return log_oom();
        r = make_route_values(hm);
        if (r >= 0)
                r = make_status_values(hm);
        if (r < 0)
                return log_oom();

        MetricSpec requests = {
                .name = "tessera_http_requests_total",
                .help = "HTTP requests by route (the pattern of the route table; \"unmatched\" when no route took the "
                        "request: 404, 405, and what was refused before routing), method and status (the code, or its class for a code not listed; \"none\" when the client "
                        "went away before the reply).",
                .type = METRIC_COUNTER,
                .labels = { { "route", hm->routes }, { "method", methods },
                            { "status", (const char *const *) hm->statuses_text } },
                .sparse = true,
        };
        MetricSpec duration = {
                .name = "tessera_http_request_duration_seconds",
                .help = "Time from a request's head received to its reply sent, by route.",
                .type = METRIC_HISTOGRAM,
                .labels = { { "route", hm->routes } },
                .buckets = duration_buckets,
                .n_buckets = ELEMENTSOF(duration_buckets),
                .sparse = true,
        };
        r = metrics_declare(m->metrics, &requests, &hm->requests);
        if (r >= 0)
                r = metrics_declare(m->metrics, &duration, &hm->duration);
        if (r < 0)
                return log_error_errno(r, "Failed to declare the HTTP metrics: %m");

        r = read_token(m->config, hm->token_digest, &hm->have_token);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(hm);
        return 0;
}

static unsigned method_index(const char *method) {
        for (unsigned i = 0; i < METHOD_OTHER; i++)
                if (streq(methods[i], method))
                        return i;
        return METHOD_OTHER;
}

void http_metrics_request_done(HttpRequest *req, uint64_t usec) {
        HttpMetrics *hm = req->server->metrics;
        unsigned route, status;

        if (!hm)
                return;
        route = req->route ? hm->route_of_row[req->route - http_routes] : (unsigned) hm->n_routes;
        status = req->status < ELEMENTSOF(hm->status_index) ? hm->status_index[req->status] : STATUS_NONE;
        metric_add(hm->requests, (unsigned[]) { route, method_index(req->method), status }, 1);
        metric_observe(hm->duration, (unsigned[]) { route }, usec * NSEC_PER_USEC);
}

/* -- the endpoint ------------------------------------------------------------------------------ */

typedef struct Refusal {
        Principal principal;
        AuditResult result;
        const char *reason;
} Refusal;

static int refusal_write(Store *s, void *userdata) {
        Refusal *r = userdata;
        _cleanup_free_ char *details = NULL;

        if (asprintf(&details, "{\"reason\":\"%s\"}", r->reason) < 0)
                return -ENOMEM;
        return change_audit(s, &r->principal, policy_action_to_string(POLICY_METRICS), NULL, "/metrics", r->result,
                            details);
}

static void refusal_done(HttpRequest *req, int result, void *userdata) {
        /* The refusal went out whether or not it was recorded. */
        free(userdata);
}

/* Sends the refusal set on the request once it is recorded (with other
 * requests' writes, one commit for many). reason is a static string. */
static void refuse(HttpRequest *req, AuditResult result, const char *reason) {
        Refusal *r = malloc(sizeof(Refusal));

        if (!r)
                return;   /* the refusal goes out unrecorded */
        *r = (Refusal) { .principal = http_principal(req, NULL), .result = result, .reason = reason };
        if (http_write_async(req, refusal_write, refusal_done, r) < 0)
                free(r);
}

static bool bearer_valid(const HttpMetrics *hm, const char *authorization) {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        const char *token;

        if (!hm->have_token || strncasecmp(authorization, "Bearer ", 7) != 0)
                return false;
        token = authorization + 7 + strspn(authorization + 7, " ");
        if (strlen(token) > TOKEN_MAX_LEN)
                return false;
        /* Digests of the same length, compared in constant time: the time
         * tells nothing about the token, not even its length. */
        token_digest(token, digest);
        return memeq_consttime(digest, hm->token_digest, sizeof(digest));
}

static const struct sockaddr *client_address(HttpRequest *req) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->connection,
                                                                      MHD_CONNECTION_INFO_CLIENT_ADDRESS);

        return ci ? ci->client_addr : NULL;
}

void http_handle_metrics(HttpRequest *req) {
        HttpMetrics *hm = req->server->metrics;
        Limiter *limiter = req->manager->limiter;
        const char *authorization = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        Principal p = http_principal(req, NULL);
        uint64_t now = now_monotonic_usec();
        _cleanup_free_ char *text = NULL;
        char wait[16];
        size_t size;
        unsigned retry;
        int r;

        if (authorization) {
                /* Before the digest: an address that guessed too often waits. */
                retry = limiter_check(limiter, LIMIT_ADDRESS, req->remote, now, NULL);
                if (retry > 0) {
                        http_reply_error(req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", NULL,
                                         "Too many failed attempts from this address; try again later.");
                        snprintf(wait, sizeof(wait), "%u", retry);
                        http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, wait);
                        return;
                }
                if (!bearer_valid(hm, authorization)) {
                        limiter_fail(limiter, LIMIT_ADDRESS, req->remote, now);
                        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_token", NULL,
                                         "The credentials are not the metrics token.");
                        http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                          "Bearer realm=\"metrics\", error=\"invalid_token\"");
                        refuse(req, AUDIT_FAILURE, "wrong token");
                        return;
                }
        } else if (!address_ranges_match(&req->manager->config->metrics_allow, client_address(req))) {
                if (hm->have_token) {
                        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL,
                                         "From this address, /metrics needs the metrics token (Authorization: "
                                         "Bearer).");
                        http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"metrics\"");
                } else
                        http_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                                         "/metrics may not be read from this address ([metrics] allow).");
                refuse(req, AUDIT_DENIED, "address not allowed");
                return;
        }

        /* The route's action: the one table has the last word. */
        if (policy_check(&p, POLICY_METRICS, &POLICY_TARGET_NONE) < 0) {
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                                 "Metrics cover every tenant: a tenant's credentials do not open them.");
                refuse(req, AUDIT_DENIED, "not allowed by the policy");
                return;
        }

        r = metrics_format(req->manager->metrics, &text, &size);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_text(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", TAKE_PTR(text), size);
        http_reply_no_store(req);
}
