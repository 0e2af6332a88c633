/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of http/ share: the request, its thread's context, the
 * route table, and the one set of reply helpers every handler goes
 * through. Nothing outside http/ includes this. */

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "batch-writer.h"
#include "http-deadline.h"
#include "http-server.h"
#include "json-text.h"
#include "log.h"
#include "key-set.h"
#include "oauth-cache.h"

#define HTTP_REQUEST_ID_MAX 64
#define HTTP_MAX_PARAMS 64
#define HTTP_PARAM_MAX_LEN 8192

/* Per MHD thread: its own store connection, and the OpenID provider's
 * caches of that thread (oauth-cache.h). */
typedef struct HttpThread {
        Store *store;             /* this thread's, borrowed from the store pool */
        OAuthCache oauth;
} HttpThread;

struct HttpServer {
        Manager *manager;
        struct MHD_Daemon *daemon;
        BatchWriter *writer;
        HttpDeadlines *deadlines;
        LogRatelimit mhd_log;     /* libmicrohttpd logs some things per connection */
        pthread_key_t thread_key;
        bool thread_key_made;
        char *url;                /* public base URL, no trailing slash */
        unsigned port;
        bool https;               /* served over TLS, or behind https public_url */
        char *tls_cert, *tls_key; /* PEM, kept for MHD's lifetime */
        _Atomic unsigned long n_requests;

        /* Held shared from a connection's suspension until its write is
         * queued, exclusively to set stopping: once it is set, no
         * connection is left suspended without a write that resumes it. */
        pthread_rwlock_t stop_lock;
        bool stop_lock_made;
        bool stopping;
};

typedef struct HttpParam {
        char *key, *value;
} HttpParam;

typedef struct HttpParams {
        HttpParam items[HTTP_MAX_PARAMS];
        size_t n;
        bool duplicate;           /* a key was given twice */
        bool too_many;
        bool malformed;           /* a query key or value held a NUL or was not UTF-8 */
} HttpParams;

void http_params_done(HttpParams *p);
const char *http_params_get(const HttpParams *p, const char *key);

typedef struct HttpRequest HttpRequest;
typedef void (*HttpHandler)(HttpRequest *req);
/* See http_write_async(). */
typedef void (*HttpWriteDone)(HttpRequest *req, int result, void *userdata);

typedef struct HttpRoute {
        const char *method;
        const char *pattern;      /* "/t/{tenant}/token" */
        HttpHandler handler;
} HttpRoute;

struct HttpRequest {
        HttpServer *server;
        Manager *manager;
        HttpThread *thread;
        struct MHD_Connection *connection;
        char id[HTTP_REQUEST_ID_MAX + 1];
        char remote[64];
        const char *method;       /* as MHD gives it; "HEAD" is served as "GET" */
        char *path;
        uint64_t start_usec;

        char *body;
        size_t body_size;
        bool body_too_large;

        const HttpRoute *route;
        char tenant_slug[64];

        /* The reply, set by the helpers below, queued by the dispatcher (or
         * after a resume, when the handler suspended the connection). */
        struct MHD_Response *response;
        unsigned status;
        bool suspended;
        bool handled;

        /* The durable write the connection is suspended for (one at a
         * time). The writer thread only records its result and resumes the
         * connection; write_done runs back on this request's thread. */
        BatchWrite write;
        HttpWriteDone write_done;
        void *write_userdata;
        int write_result;
};

/* Logs with the request id in front. */
#define http_log(req, level, fmt, ...) \
        log_full_errno(level, 0, "[%s] " fmt, (req)->id, ##__VA_ARGS__)
#define http_log_errno(req, level, e, fmt, ...) \
        log_full_errno(level, e, "[%s] " fmt, (req)->id, ##__VA_ARGS__)

/* -- routes (http-router.c) */
extern const HttpRoute http_routes[];
/* A method as RFC 9110 has them (a token), short enough to be one. */
bool http_method_valid(const char *method);
/* Finds the route; 404 (no path matches) or 405 (path matches, method not:
 * *ret_allow lists the methods) as negative errno -ENOENT / -EOPNOTSUPP. */
int http_route_find(HttpRequest *req, const char *method, const char *path, char *allow, size_t allow_size);

/* -- replies (http-reply.c): every reply goes through these. */
/* Replies with a JSON document (the reference is taken). */
void http_reply_json(HttpRequest *req, unsigned status, json_t *body);
/* The same with the document as text (taken). */
void http_reply_json_text(HttpRequest *req, unsigned status, char *text);
/* Replies with the error envelope {"error": message, "code": code,
 * "details": {...}} (details' reference is taken, may be NULL). */
void http_reply_error(HttpRequest *req, unsigned status, const char *code, json_t *details, const char *format, ...)
        _printf_(5, 6);
/* OAuth endpoints: RFC 6749's {"error": code, "error_description": ...}
 * in the same envelope ("code" and "details" too). */
void http_reply_oauth_error(HttpRequest *req, unsigned status, const char *oauth_error, const char *format, ...)
        _printf_(4, 5);
void http_reply_html(HttpRequest *req, unsigned status, char *html);
/* 302 (or 303 after a POST) to url. */
void http_reply_redirect(HttpRequest *req, const char *url);
/* Adds a header to the reply queued so far. */
void http_reply_header(HttpRequest *req, const char *name, const char *value);
/* For token responses and everything that carries a secret. */
void http_reply_no_store(HttpRequest *req);
void http_reply_internal_error(HttpRequest *req, int error);

/* -- requests (http-request.c) */
const char *http_header(HttpRequest *req, const char *name);
const char *http_cookie(HttpRequest *req, const char *name);
/* The query string's parameters, each key once at most (-ENOTUNIQ), as
 * valid UTF-8 without NUL (-EINVAL), not too many nor too long (-E2BIG). */
int http_query_params(HttpRequest *req, HttpParams *ret);
/* The body as application/x-www-form-urlencoded (or, for endpoints that
 * take it, a flat JSON object of strings, strictly: allowed lists the keys
 * that may appear). Replies with an error itself and returns < 0 on bad
 * input. */
int http_body_params(HttpRequest *req, const char *const *json_allowed, HttpParams *ret);
/* Decodes one urlencoded component ('+' is a space); refuses bad escapes,
 * %00 and what is not UTF-8 (-EINVAL). */
int http_url_decode(const char *s, size_t n, char **ret);
/* Parses a urlencoded string; exposed for tests of the parser. */
int http_parse_urlencoded(const char *s, size_t n, HttpParams *ret);
/* The parameters as a urlencoded string. */
int http_params_encode(const HttpParams *p, char **ret);
/* Percent-encodes s for a query component. */
char *http_url_encode(const char *s);

/* The Store of this thread, opened on first use. NULL after logging. */
Store *http_store(HttpRequest *req);
/* The tenant named in the path; replies 404 itself when unknown. */
int http_tenant(HttpRequest *req, TenantRecord **ret);

/* Durable writes on the request path go through the batch writer, so that
 * one commit (one fsync) serves many requests. Asynchronously: the
 * connection is suspended, write runs in the next batch, done (on the
 * writer thread, after the commit) sets the reply and the connection
 * resumes. The handler returns right after a successful call. */
int http_write_async(HttpRequest *req, BatchWriteFunc write, HttpWriteDone done, void *userdata);

/* The issuer of a tenant: {public_url}/t/{slug}. */
char *http_issuer(HttpRequest *req, const char *slug);

/* An Principal for the audit trail. */
Principal http_principal(HttpRequest *req, const char *name);
