/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-fetch.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <strings.h>

#include "macro.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_TOTAL_TIMEOUT_MS 10000u
#define DEFAULT_MAX_RESPONSE ((size_t) 1024 * 1024)

void upstream_response_done(UpstreamResponse *r) {
        if (!r)
                return;
        free(r->body);
        *r = (UpstreamResponse) {};
}

void upstream_limits_normalize(const UpstreamLimits *in, UpstreamLimits *out) {
        *out = in ? *in : (UpstreamLimits) {};
        if (out->connect_timeout_ms == 0)
                out->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
        if (out->total_timeout_ms == 0)
                out->total_timeout_ms = DEFAULT_TOTAL_TIMEOUT_MS;
        if (out->max_response == 0)
                out->max_response = DEFAULT_MAX_RESPONSE;
}

static void curl_url_cleanupp(CURLU **u) {
        if (*u)
                curl_url_cleanup(*u);
}

static void curl_freep(char **s) {
        curl_free(*s);
}

static bool host_is_loopback(const char *host) {
        struct in_addr a4;
        struct in6_addr a6;
        char buf[INET6_ADDRSTRLEN + 2];
        size_t n = strlen(host);

        if (strcasecmp(host, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        /* curl gives IPv6 hosts in brackets. */
        if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
                memcpy(buf, host + 1, n - 2);
                buf[n - 2] = '\0';
                return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
        }
        return false;
}

bool upstream_url_allowed(const char *url) {
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_(curl_freep) char *scheme = NULL, *host = NULL, *user = NULL;

        if (isempty(url) || strlen(url) > 2048)
                return false;
        /* Only what a person would write: no spaces or controls that one
         * parser might read differently from another. */
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        u = curl_url();
        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
                return false;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return false;
        if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
                return false;
        if (strcasecmp(scheme, "https") == 0)
                return true;
        return strcasecmp(scheme, "http") == 0 && host_is_loopback(host);
}

char *upstream_url_escape(const char *s) {
        char *c = curl_easy_escape(NULL, s, 0);
        char *r;

        if (!c)
                return NULL;
        /* Our allocator's string, so that callers free() it. */
        r = strdup(c);
        curl_free(c);
        return r;
}

typedef struct Download {
        char *data;
        size_t size, allocated, max;
        bool too_big;
        int64_t max_age_sec;
        bool no_store;
        int64_t expires;              /* -1 none */
        int64_t date;                 /* -1 none */
} Download;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Download *d = userdata;
        size_t n = size * nmemb;
        char *p;

        if (n > d->max - d->size) {
                d->too_big = true;
                return 0;             /* makes curl stop with CURLE_WRITE_ERROR */
        }
        if (d->size + n + 1 > d->allocated) {
                size_t want = MAX(d->allocated * 2, d->size + n + 1);
                want = MAX(want, (size_t) 4096);
                p = realloc(d->data, want);
                if (!p)
                        return 0;
                d->data = p;
                d->allocated = want;
        }
        memcpy(d->data + d->size, ptr, n);
        d->size += n;
        d->data[d->size] = '\0';
        return n;
}

/* Cache-Control's max-age, no-store and no-cache (RFC 9111 5.2.2). */
static void parse_cache_control(Download *d, const char *v) {
        while (*v) {
                while (*v == ' ' || *v == '\t' || *v == ',')
                        v++;
                if (strncasecmp(v, "max-age=", 8) == 0) {
                        char *end;
                        long long a;

                        errno = 0;
                        a = strtoll(v + 8, &end, 10);
                        if (errno == 0 && end != v + 8 && a >= 0)
                                d->max_age_sec = a;
                } else if (strncasecmp(v, "no-store", 8) == 0 || strncasecmp(v, "no-cache", 8) == 0)
                        d->no_store = true;
                v += strcspn(v, ",");
        }
}

static size_t on_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        Download *d = userdata;
        size_t n = size * nitems;
        char line[512];
        char *colon, *value;
        size_t len;

        /* A new status line (after a 100 Continue): forget what was read. */
        if (n >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
                d->max_age_sec = -1;
                d->no_store = false;
                d->expires = d->date = -1;
                return n;
        }
        len = MIN(n, sizeof(line) - 1);
        memcpy(line, buffer, len);
        line[len] = '\0';
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
                line[--len] = '\0';
        colon = strchr(line, ':');
        if (!colon)
                return n;
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t')
                value++;
        if (strcasecmp(line, "cache-control") == 0)
                parse_cache_control(d, value);
        else if (strcasecmp(line, "expires") == 0) {
                /* An Expires that is not a date means already expired. */
                time_t t = curl_getdate(value, NULL);
                d->expires = t >= 0 ? (int64_t) t : 0;
        } else if (strcasecmp(line, "date") == 0) {
                time_t t = curl_getdate(value, NULL);
                d->date = t >= 0 ? (int64_t) t : -1;
        }
        return n;
}

static void curl_easy_cleanupp(CURL **c) {
        if (*c)
                curl_easy_cleanup(*c);
}

static void curl_slist_free_allp(struct curl_slist **l) {
        curl_slist_free_all(*l);
}

#define SETOPT(c, opt, value)                                           \
        do {                                                            \
                if (curl_easy_setopt((c), (opt), (value)) != CURLE_OK)  \
                        return -EIO;                                    \
        } while (0)

static int setup(CURL *c, const UpstreamLimits *l, const char *url, const char *post_body,
                 struct curl_slist *headers, Download *d, char *errbuf) {
        SETOPT(c, CURLOPT_URL, url);
        SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
        /* An endpoint answers itself: a redirect could lead anywhere,
         * plain http included. */
        SETOPT(c, CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(c, CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (l->ca_file)
                SETOPT(c, CURLOPT_CAINFO, l->ca_file);
        SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, (long) l->connect_timeout_ms);
        SETOPT(c, CURLOPT_TIMEOUT_MS, (long) l->total_timeout_ms);
        /* Stops before reading a body that says it is too big. */
        SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) l->max_response);
        /* No signals from curl in a threaded daemon. */
        SETOPT(c, CURLOPT_NOSIGNAL, 1L);
        SETOPT(c, CURLOPT_USERAGENT, "tessera");
        /* Compressed answers would slip past the size check before
         * decoding: ask for none. */
        SETOPT(c, CURLOPT_ACCEPT_ENCODING, NULL);
        SETOPT(c, CURLOPT_WRITEFUNCTION, on_data);
        SETOPT(c, CURLOPT_WRITEDATA, d);
        SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
        SETOPT(c, CURLOPT_HEADERDATA, d);
        SETOPT(c, CURLOPT_ERRORBUFFER, errbuf);
        if (headers)
                SETOPT(c, CURLOPT_HTTPHEADER, headers);
        if (post_body) {
                SETOPT(c, CURLOPT_POSTFIELDS, post_body);
                SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(post_body));
        }
        return 0;
}

/* The answer's freshness in seconds: -1 no headers, 0 not to be reused. */
static int64_t freshness(const Download *d) {
        if (d->no_store)
                return 0;
        if (d->max_age_sec >= 0)
                return d->max_age_sec;
        if (d->expires >= 0) {
                int64_t now = d->date >= 0 ? d->date : (int64_t) time(NULL);
                return d->expires > now ? d->expires - now : 0;
        }
        return -1;
}

int upstream_fetch(const UpstreamLimits *limits, const char *what, const char *url, const char *post_body,
                   const char *const *headers, UpstreamResponse *ret, TesseraError *e) {
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *list = NULL;
        _cleanup_free_ char *data = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        UpstreamLimits l;
        Download d = { .max_age_sec = -1, .expires = -1, .date = -1 };
        CURLcode code;
        long status = 0;
        int r;

        upstream_limits_normalize(limits, &l);
        d.max = l.max_response;

        if (!upstream_url_allowed(url))
                return tessera_error_set(e, -EINVAL,
                                         "%s (%s) is not an https URL (plain http is for loopback only)", what, url);
        for (const char *const *h = headers; h && *h; h++) {
                struct curl_slist *n = curl_slist_append(list, *h);
                if (!n)
                        return -ENOMEM;
                list = n;
        }
        c = curl_easy_init();
        if (!c)
                return -ENOMEM;
        r = setup(c, &l, url, post_body, list, &d, errbuf);
        if (r < 0)
                return tessera_error_set(e, r, "libcurl refused an option (is it built with HTTPS?)");

        code = curl_easy_perform(c);
        data = d.data;
        if (d.too_big || code == CURLE_FILESIZE_EXCEEDED)
                return tessera_error_set(e, -EFBIG, "%s sent an answer over %zu bytes", what, l.max_response);
        switch (code) {
        case CURLE_OK:
                break;
        case CURLE_OPERATION_TIMEDOUT:
                return tessera_error_set(e, -ETIMEDOUT, "%s did not answer within %u ms", what,
                                         l.total_timeout_ms);
        case CURLE_COULDNT_CONNECT:
                return tessera_error_set(e, -ECONNREFUSED, "%s cannot be reached (%s): %s", what, url,
                                         *errbuf ? errbuf : curl_easy_strerror(code));
        case CURLE_COULDNT_RESOLVE_HOST:
                return tessera_error_set(e, -EHOSTUNREACH, "%s cannot be reached: no such host in %s", what, url);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
                return tessera_error_set(e, -EHOSTUNREACH, "%s cannot be reached securely (TLS): %s", what,
                                         *errbuf ? errbuf : curl_easy_strerror(code));
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_WEIRD_SERVER_REPLY:
                return tessera_error_set(e, -EBADMSG, "%s broke off its answer: %s", what,
                                         *errbuf ? errbuf : curl_easy_strerror(code));
        default:
                return tessera_error_set(e, -EIO, "%s failed: %s", what,
                                         *errbuf ? errbuf : curl_easy_strerror(code));
        }
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

        if (!data) {
                data = strdup("");
                if (!data)
                        return -ENOMEM;
        }
        *ret = (UpstreamResponse) {
                .status = status,
                .body = TAKE_PTR(data),
                .size = d.size,
                .max_age_sec = freshness(&d),
        };
        return 0;
}
