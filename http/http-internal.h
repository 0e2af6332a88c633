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
#include "http-json.h"
#include "http-server.h"
#include "json-text.h"
#include "log.h"
#include "key-set.h"
#include "oauth-cache.h"
#include "policy.h"

#define HTTP_REQUEST_ID_MAX 64
#define HTTP_MAX_PARAMS 64
#define HTTP_PARAM_MAX_LEN 8192
/* Named captures of a route's pattern ("{user}"): how many a pattern may
 * have, and the longest value, decoded, in bytes. */
#define HTTP_CAPTURES_MAX 4
#define HTTP_CAPTURE_MAX_LEN 255
#define HTTP_TENANT_SLUG_MAX 64

/* Per MHD thread: its own store connection, and the OpenID provider's
 * caches of that thread (oauth-cache.h). */
typedef struct HttpThread {
        Store *store;             /* this thread's, borrowed from the store pool */
        OAuthCache oauth;
        /* The request target MHD is parsing on this thread, from its URI
         * callback to its unescaping the path (http-server.c). */
        const char *parsing_target;
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
        struct HttpMetrics *metrics;

        /* Held shared from a connection's suspension until its write is
         * queued, exclusively to set stopping: once it is set, no
         * connection is left suspended without a write that resumes it. */
        pthread_rwlock_t stop_lock;
        bool stop_lock_made;
        bool stopping;

        /* The last JWKS served per tenant (JSON text), served again while
         * the store is away (http-oidc-discovery.c). */
        pthread_mutex_t jwks_lock;
        struct {
                int64_t tenant_id;
                char *json;
        } jwks_last[16];
        unsigned jwks_next;
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
        /* "/api/v1/tenants/{tenant}/users/{user}": literal segments and
         * captures, each capture a whole segment. {tenant} takes a valid
         * slug (else the route does not match); any other capture takes one
         * segment, percent-decoded, UTF-8 without control characters or
         * "/", at most HTTP_CAPTURE_MAX_LEN bytes (else 400). */
        const char *pattern;
        /* Checked with the request's principal before the handler runs
         * (http-authorize.c); nothing else grants access. */
        PolicyAction action;
        HttpHandler handler;
        /* The signed-in user's own routes (".../me/..."): the target of
         * the policy is the principal's own user, whom req->target.user
         * then holds for the handler. */
        bool self;
} HttpRoute;

typedef struct HttpCapture {
        const char *name;         /* in the route's pattern, name_len long */
        size_t name_len;
        const char *value;        /* decoded, in the request's own memory */
} HttpCapture;

/* Who asks (http-principal.c), and the records that keep the principal's
 * borrowed strings alive for as long as the request. Made for the routes
 * that are not open to everybody only. */
typedef struct HttpAuth {
        Principal principal;
        TenantRecord *tenant;     /* the token's tenant */
        UserRecord *user;         /* PRINCIPAL_USER */
        struct ApplicationRecord *app;   /* PRINCIPAL_CLIENT, PRINCIPAL_PUBLISHABLE_KEY */
        json_t *claims;
        int error;                /* why a token presented was not taken: -EKEYREJECTED, -ETIME; its
                                   * user disabled -EKEYREVOKED, expired -EKEYEXPIRED, locked -ENOLCK */
        /* An API key (X-API-Key, or Authorization: Bearer tsk_/tpk_): its
         * record once it was taken, and why not when it was not (error:
         * -EKEYREJECTED, -EKEYREVOKED, -EKEYEXPIRED, or -EPERM for a
         * publishable key from an origin its application does not allow). */
        bool key_presented;
        struct ApiKeyRecord *key;
        char key_name[24];        /* "key_0123456789abcdef": the principal's name */
        /* The Origin a publishable key was accepted from: answered with
         * Access-Control-Allow-Origin (CORS). */
        char *cors_origin;
        /* PRINCIPAL_OPERATOR, PRINCIPAL_IMPERSONATION: the token's row,
         * whose strings the principal borrows (operator.h). */
        PlatformToken platform;
} HttpAuth;

/* What the route's captures name, looked up before the handler runs (and
 * before the policy is asked, which needs them): the handler reads them
 * here instead of looking them up again. */
typedef struct HttpTarget {
        TenantRecord *tenant;     /* {tenant} */
        UserRecord *user;         /* {user} */
        GroupRecord *group;       /* {group} */
} HttpTarget;

struct HttpRequest {
        HttpServer *server;
        Manager *manager;
        HttpThread *thread;
        struct MHD_Connection *connection;
        char id[HTTP_REQUEST_ID_MAX + 1];
        char remote[64];
        const char *method;       /* as MHD gives it; "HEAD" is served as "GET" */
        char *path;               /* decoded, for the log */
        uint64_t start_usec;

        char *body;
        size_t body_size;
        bool body_too_large;

        const HttpRoute *route;
        char tenant_slug[HTTP_TENANT_SLUG_MAX];   /* {tenant}, when the route has it */
        HttpCapture captures[HTTP_CAPTURES_MAX];
        size_t n_captures;

        HttpAuth *auth;           /* NULL until http_request_principal() */
        HttpTarget target;

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
        /* Work queued on the batch writer only once the reply went out
         * (http_write_after_reply()). */
        BatchWrite *after_reply;

        /* The path as the client sent it, not decoded, without the query:
         * what the router matches. After it, in the same allocation, as
         * much room again for the captures' decoded values (each is shorter
         * than its segment, and each segment follows a "/"). */
        size_t raw_path_len;
        char raw_path[];
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

/* Why no route was chosen. */
typedef struct HttpRouteMiss {
        char allow[64];           /* -EOPNOTSUPP: the methods the path takes */
        char capture[32];         /* -EBADMSG, -E2BIG: the capture that is not a valid segment */
} HttpRouteMiss;

/* A request for path (n bytes, as the client sent it: not decoded, no
 * query), with room for what the router decodes from it; the rest zero.
 * NULL when out of memory. */
HttpRequest *http_request_alloc(const char *path, size_t n);

/* Finds the route for method and the request's raw (undecoded) path, and
 * decodes its captures into req: -ENOENT when no path matches (404), -EOPNOTSUPP when
 * the path matches with other methods only (405, ret_miss->allow lists
 * them), -EBADMSG or -E2BIG when a capture is not a valid segment (bad
 * percent-encoding, %00, "%2F", a control character, not UTF-8) or too long
 * (400, ret_miss->capture names it). */
int http_route_find(HttpRequest *req, const char *method, HttpRouteMiss *ret_miss);
/* The same against another table (for tests). */
int http_routes_find(const HttpRoute *table, HttpRequest *req, const char *method, HttpRouteMiss *ret_miss);
/* The decoded value of the route's capture name ("user"), or NULL when the
 * route has none of that name. */
const char *http_capture(const HttpRequest *req, const char *name);
/* Percent-decodes one path segment (no "+" for space, unlike a form) into
 * out: -EBADMSG for a bad escape, NUL, "/", a control character or what is
 * not UTF-8; -E2BIG when it does not fit out_size with its NUL. */
int http_path_segment_decode(const char *s, size_t n, char *out, size_t out_size, size_t *ret_len);

/* -- metrics (http-metrics.c): GET /metrics, and what this face counts */
typedef struct HttpMetrics HttpMetrics;
/* Declares the face's families and reads the metrics token ([metrics]). */
int http_metrics_new(Manager *m, HttpMetrics **ret);
HttpMetrics *http_metrics_free(HttpMetrics *hm);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpMetrics *, http_metrics_free);
/* Counts a request as it ends, usec after its head came. */
void http_metrics_request_done(HttpRequest *req, uint64_t usec);

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
/* Any other text, of n bytes (taken), with its content type. */
void http_reply_text(HttpRequest *req, unsigned status, const char *content_type, char *text, size_t n);
/* 302 (or 303 after a POST) to url. */
void http_reply_redirect(HttpRequest *req, const char *url);
/* Adds a header to the reply queued so far. */
void http_reply_header(HttpRequest *req, const char *name, const char *value);
/* For token responses and everything that carries a secret. */
void http_reply_no_store(HttpRequest *req);

/* -- the core's errors as HTTP replies (http-errors.c): the twin of
 * lib/bus-errors.c. */
typedef struct HttpErrorMap {
        int error;                /* errno, positive */
        unsigned status;
        const char *code;         /* of the envelope, stable: clients branch on it */
        const char *message;      /* when the core said nothing better */
        unsigned retry_after;     /* seconds, 0: no Retry-After */
        bool server_side;         /* ours, not the client's (5xx and 507) */
} HttpErrorMap;

/* The entry for error (negative errno); the 500 internal_error one for an
 * error the map does not name. */
const HttpErrorMap *http_error_map(int error);
/* Replies a core operation's failure in the envelope: status and code from
 * the map, the sentence from e when the core set one (e may be NULL).
 * Every JSON API handler replies its failures through this. */
void http_reply_errno(HttpRequest *req, int error, const TesseraError *e);
/* For an error the caller did not expect (out of memory, a failed store
 * read): our own failures (busy, shutting down, disk full, I/O) keep their
 * status and Retry-After, anything else is 500 internal_error. Logged. */
void http_reply_internal_error(HttpRequest *req, int error);

/* Parses the request's body as application/json into obj by schema
 * (http-json.h). On bad input it replies the envelope itself (415, 400
 * malformed_json, 422 with details.field) and returns < 0. */
int http_json_body(HttpRequest *req, const JsonSchema *schema, void *obj);

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
/* A tenant by slug, from the thread's cache when current; -ENOENT when
 * unknown. Replies nothing. */
int http_tenant_lookup(HttpRequest *req, const char *slug, TenantRecord **ret);

/* Durable writes on the request path go through the batch writer, so that
 * one commit (one fsync) serves many requests. Asynchronously: the
 * connection is suspended, write runs in the next batch, done (on the
 * writer thread, after the commit) sets the reply and the connection
 * resumes. The handler returns right after a successful call. */
int http_write_async(HttpRequest *req, BatchWriteFunc write, HttpWriteDone done, void *userdata);

/* Queues w on the batch writer once the reply has gone out (or the
 * client went away): for work whose answer does not wait for it and must
 * not be timed through it ("forgot" answers the same for every account,
 * and the work for a real one must not slow that answer down). When it
 * can't be queued, w's done gets the error (and frees what it owns). */
void http_write_after_reply(HttpRequest *req, BatchWrite *w);

/* The issuer of a tenant: {public_url}/t/{slug}. */
char *http_issuer(HttpRequest *req, const char *slug);

/* An anonymous Principal with a name, for the audit trail of the OpenID
 * provider's endpoints (whose protocol authenticates inside). */
Principal http_principal(HttpRequest *req, const char *name);

/* -- who asks (http-principal.c) */
/* The principal of the request, from its credentials, looked at once per
 * request: anonymous without Authorization: Bearer; the tenant's user or
 * client of a valid access token; anonymous again for a token that is not
 * valid, with req->auth->error saying why (-EKEYREJECTED, -ETIME: expired).
 * *ret lives as long as the request. < 0 (and *ret not set) when the token
 * could not be checked (out of memory, the store failed). */
int http_request_principal(HttpRequest *req, const Principal **ret);
/* True when the request presents an API key (X-API-Key, or a Bearer
 * token that is one): then even an open route judges its principal. */
bool http_request_presents_key(HttpRequest *req);
HttpAuth *http_auth_free(HttpAuth *a);

/* -- the policy at the door (http-authorize.c) */
/* Before the handler: looks up what the route's captures name
 * (req->target), the principal, and asks the policy for the route's action.
 * 0: the handler may run. < 0: the request was answered (401 with a Bearer
 * challenge, 403, 404, 5xx), and a refusal is being audited before the
 * reply goes out (the connection is suspended for that write). */
int http_authorize(HttpRequest *req);
/* A user of tenant t by name or by its id ("usr_42"), a group by name or
 * id ("grp_7"): -ENOENT (with e) for none of that tenant. */
int http_user_lookup(HttpRequest *req, Store *s, const TenantRecord *t, const char *name_or_id, UserRecord **ret,
                     TesseraError *e);
int http_group_lookup(HttpRequest *req, Store *s, const TenantRecord *t, const char *name_or_id, GroupRecord **ret,
                      TesseraError *e);
void http_target_done(HttpTarget *t);
