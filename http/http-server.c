/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "escape.h"
#include "http-internal.h"
#include "oidc-records.h"
#include "store-oidc.h"
#include "secret-box.h"
#include "time-util.h"
#include "token.h"

/* -- per-thread context ----------------------------------------------------- */

static void http_thread_free(void *p) {
        HttpThread *t = p;

        if (!t)
                return;
        /* t->store is the pool's: it closes it as the thread ends. */
        oauth_cache_done(&t->oauth);
        free(t);
}

static HttpThread *http_thread_get(HttpServer *s) {
        HttpThread *t = pthread_getspecific(s->thread_key);

        if (t)
                return t;
        t = calloc(1, sizeof(HttpThread));
        if (!t)
                return NULL;
        if (pthread_setspecific(s->thread_key, t) != 0) {
                free(t);
                return NULL;
        }
        return t;
}

Store *http_store(HttpRequest *req) {
        int r;

        if (req->thread->store)
                return req->thread->store;
        /* Each thread its own connection, from the store's pool: readers
         * go side by side. Kept here to save the pool's lookup per call. */
        r = store_pool_thread(req->manager->store_pool, &req->thread->store);
        if (r < 0) {
                http_log_errno(req, LOG_ERR, r, "Failed to open the store: %m");
                return NULL;
        }
        return req->thread->store;
}

/* -- request life cycle -------------------------------------------------------- */

static bool valid_request_id(const char *s) {
        size_t n = 0;

        for (; s && s[n]; n++)
                if (n >= HTTP_REQUEST_ID_MAX ||
                    !(isalnum((unsigned char) s[n]) || s[n] == '-' || s[n] == '_' || s[n] == '.'))
                        return false;
        return n > 0;
}

/* On the request's thread, after its write committed (or failed): the
 * handler's done makes the reply and frees what it allocated. */
static void write_finish(HttpRequest *req) {
        HttpWriteDone done = TAKE_PTR(req->write_done);

        if (!done)
                return;
        done(req, req->write_result, req->write_userdata);
        if (!req->response)
                http_reply_internal_error(req, req->write_result < 0 ? req->write_result : -EIO);
}

static void request_free(HttpRequest *req) {
        if (!req)
                return;
        /* A connection that went away after its write committed: done still
         * owns memory to free. (A suspended one is never freed: MHD stops
         * only once the writer has resumed every connection.) */
        write_finish(req);
        if (req->after_reply) {
                BatchWrite *w = req->after_reply;
                int r = batch_writer_queue(req->server->writer, w);

                if (r < 0) {
                        log_warning_errno(r, "[%s] Failed to queue the work after the reply: %m", req->id);
                        w->done(r, w->done_userdata ?: w->userdata);
                }
        }
        if (req->response)
                MHD_destroy_response(req->response);
        http_auth_free(req->auth);
        http_target_done(&req->target);
        free(req->path);
        if (req->body) {
                explicit_bzero(req->body, req->body_size);
                free(req->body);
        }
        free(req);
}

static void format_remote(struct MHD_Connection *c, char *buf, size_t size) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char host[INET6_ADDRSTRLEN] = "?";

        buf[0] = '\0';
        if (!ci || !ci->client_addr)
                return;
        if (ci->client_addr->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) ci->client_addr)->sin_addr, host, sizeof(host));
        else if (ci->client_addr->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ci->client_addr)->sin6_addr, host, sizeof(host));
        snprintf(buf, size, "%s", host);
}

typedef struct HeaderCount {
        size_t bytes;
} HeaderCount;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        HeaderCount *hc = cls;
        hc->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
        return MHD_YES;
}

/* The router matches the path as the client sent it: decoded, "%2F" would
 * be a separator and "%zz" would pass as it is. MHD names the request
 * target to on_uri(), then decodes, in place and on this same thread, the
 * query's keys and values and, last, the path, which starts where the
 * target does: that one string is left as it is (the log decodes its own
 * copy), the query is decoded as MHD always does. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
        HttpThread *t = http_thread_get(cls);

        if (t)
                t->parsing_target = uri;
        return NULL;
}

static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s) {
        HttpServer *server = cls;
        HttpThread *t = pthread_getspecific(server->thread_key);

        if (t && t->parsing_target == s) {
                t->parsing_target = NULL;
                return strlen(s);
        }
        return MHD_http_unescape(s);
}

static HttpRequest *request_new(HttpServer *s, struct MHD_Connection *c, const char *url, const char *method) {
        HttpRequest *req = http_request_alloc(url, strlen(url));
        const char *given;

        if (!req)
                return NULL;
        req->server = s;
        req->manager = s->manager;
        req->connection = c;
        req->method = method;
        req->start_usec = now_monotonic_usec();
        req->path = strdup(url);
        req->thread = http_thread_get(s);
        if (!req->path || !req->thread) {
                free(req->path);
                free(req);
                return NULL;
        }
        (void) MHD_http_unescape(req->path);
        /* A caller's id (a proxy's) is kept when it is harmless; else ours. */
        given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
        if (valid_request_id(given))
                snprintf(req->id, sizeof(req->id), "%s", given);
        else
                (void) token_random_id(12, req->id, sizeof(req->id));
        format_remote(c, req->remote, sizeof(req->remote));
        atomic_fetch_add(&s->n_requests, 1);
        return req;
}

static enum MHD_Result queue(HttpRequest *req) {
        enum MHD_Result r;

        /* Answered, whether or not the rest of the request came. */
        http_deadline_stop(req->server->deadlines, req->connection);
        if (!req->response) {
                http_reply_internal_error(req, -EIO);
                if (!req->response)
                        return MHD_NO;
        }
        /* A publishable key taken from its application's origin: the
         * browser may read the answer (CORS), whatever it is. */
        if (req->auth && req->auth->cors_origin) {
                http_reply_header(req, "Access-Control-Allow-Origin", req->auth->cors_origin);
                http_reply_header(req, "Vary", "Origin");
        }
        r = MHD_queue_response(req->connection, req->status, req->response);
        MHD_destroy_response(req->response);
        req->response = NULL;
        req->handled = true;
        return r;
}

static void dispatch(HttpRequest *req) {
        /* The whole request is in: what the handler takes is not the
         * client's doing. */
        http_deadline_stop(req->server->deadlines, req->connection);
        /* The route's policy action first: handlers run only for what is
         * allowed (a refusal is answered, and audited, by now). */
        if (http_authorize(req) >= 0)
                req->route->handler(req);
        /* A suspended request's reply belongs to the writer thread now. */
        if (!req->suspended && !req->response)
                http_reply_internal_error(req, -EIO);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        HttpServer *s = cls;
        HttpRequest *req = *con_cls;
        const Config *cfg = s->manager->config;

        if (!req) {
                const char *cl, *route_method;
                HttpRouteMiss miss;
                HeaderCount hc = {};
                int r;

                req = request_new(s, c, url, method);
                if (!req)
                        return MHD_NO;
                *con_cls = req;

                /* Limits first, before anything is parsed. The method is
                 * echoed in a 405 and logged: it must be a method. */
                if (!http_method_valid(method)) {
                        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
                                         "The request method is not a valid HTTP method.");
                        return queue(req);
                }
                MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &hc);
                if (hc.bytes > cfg->http_max_header) {
                        http_reply_error(req, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", NULL,
                                         "The request headers exceed %u bytes.", cfg->http_max_header);
                        return queue(req);
                }
                cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && strtoull(cl, NULL, 10) > cfg->http_max_body) {
                        http_reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", NULL,
                                         "The request body exceeds %u bytes.", cfg->http_max_body);
                        return queue(req);
                }

                route_method = streq(method, "HEAD") ? "GET" : method;
                r = http_route_find(req, route_method, &miss);
                if (r == -ENOENT) {
                        http_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", NULL, "No such resource.");
                        return queue(req);
                }
                if (r == -EOPNOTSUPP) {
                        http_reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
                                         "%s is not allowed here; use %s.", method, miss.allow);
                        http_reply_header(req, MHD_HTTP_HEADER_ALLOW, miss.allow);
                        return queue(req);
                }
                if (r == -E2BIG) {
                        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_path",
                                         json_pack("{s:s}", "capture", miss.capture),
                                         "The %s in the path is longer than %u bytes.", miss.capture,
                                         HTTP_CAPTURE_MAX_LEN);
                        return queue(req);
                }
                if (r < 0) {
                        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_path",
                                         json_pack("{s:s}", "capture", miss.capture),
                                         "The %s in the path is not one valid segment: bad percent-encoding, an "
                                         "encoded '/' or NUL, a control character, or not UTF-8.",
                                         miss.capture);
                        return queue(req);
                }
                return MHD_YES;
        }

        if (req->handled)
                return MHD_YES;

        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0;
                if (req->body_too_large || req->body_size + n > cfg->http_max_body) {
                        req->body_too_large = true;
                        return MHD_YES;
                }
                char *b = realloc(req->body, req->body_size + n + 1);
                if (!b)
                        return MHD_NO;
                memcpy(b + req->body_size, upload_data, n);
                req->body = b;
                req->body_size += n;
                req->body[req->body_size] = '\0';
                return MHD_YES;
        }

        if (req->suspended) {
                /* Resumed: the write is committed, or has failed. */
                req->suspended = false;
                write_finish(req);
                return queue(req);
        }

        if (req->body_too_large) {
                http_reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", NULL,
                                 "The request body exceeds %u bytes.", cfg->http_max_body);
                return queue(req);
        }

        dispatch(req);
        if (req->suspended)
                return MHD_YES;
        return queue(req);
}

/* On the writer thread: record the result and hand the connection back to
 * its MHD thread, which may free req at once. Nothing else happens here, so
 * that what the request's thread allocated is freed there too (frees from
 * another thread contend for malloc's arena locks). */
static void write_committed(int result, void *userdata) {
        HttpRequest *req = userdata;

        req->write_result = result;
        MHD_resume_connection(req->connection);
}

int http_write_async(HttpRequest *req, BatchWriteFunc write, HttpWriteDone done, void *userdata) {
        HttpServer *s = req->server;
        int r;

        assert(!req->write_done);
        pthread_rwlock_rdlock(&s->stop_lock);
        if (s->stopping) {
                pthread_rwlock_unlock(&s->stop_lock);
                return -ESHUTDOWN;
        }
        req->write = (BatchWrite) { .write = write, .userdata = userdata, .done = write_committed,
                                    .done_userdata = req };
        req->write_done = done;
        req->write_userdata = userdata;
        /* Suspend before queueing: the writer may be done before we return. */
        req->suspended = true;
        MHD_suspend_connection(req->connection);
        r = batch_writer_queue(s->writer, &req->write);
        if (r < 0) {
                req->suspended = false;
                req->write_done = NULL;
                MHD_resume_connection(req->connection);
        }
        pthread_rwlock_unlock(&s->stop_lock);
        return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        HttpServer *s = cls;
        HttpRequest *req = *con_cls;
        uint64_t took;

        /* Kept alive, the connection has as long for its next request. */
        http_deadline_restart(s->deadlines, c);
        if (!req)
                return;
        took = now_monotonic_usec() - req->start_usec;
        http_metrics_request_done(req, took);
        /* Failures are worth a line at info; every request only at debug.
         * The method and the (decoded) path are the client's bytes. */
        http_log(req, req->status >= 400 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? LOG_INFO : LOG_DEBUG,
                 "%s %s %s -> %u%s in %" PRIu64 " us", req->remote, ESC(req->method), ESC(req->path), req->status,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)", took);
        request_free(req);
        *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        HttpServer *s = cls;

        http_deadline_connection(s->deadlines, c, socket_context, code);
}

_printf_(2, 0) static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        HttpServer *s = cls;
        unsigned suppressed;
        char buf[512];
        size_t n;

        /* "Server reached connection limit" comes once per refused
         * connection: a client must not be able to fill the log. */
        if (!log_ratelimit_pass(&s->mhd_log, now_monotonic_usec(), &suppressed))
                return;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        n = strlen(buf);
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        if (suppressed > 0)
                log_info("libmicrohttpd: %s (and %u messages held back before this one)", ESC(buf), suppressed);
        else
                log_info("libmicrohttpd: %s", ESC(buf));
}

/* -- start and stop --------------------------------------------------------------- */

static int read_pem(const char *path, char **ret) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        _cleanup_free_ char *buf = NULL;
        size_t n;

        if (!f)
                return log_error_errno(-errno, "Failed to open %s: %m", path);
        buf = calloc(1, 256 * 1024 + 1);
        if (!buf)
                return log_oom();
        n = fread(buf, 1, 256 * 1024, f);
        if (ferror(f) || n == 0 || !feof(f))
                return log_error_errno(-EINVAL, "Failed to read %s, or it is empty or larger than 256 KiB.", path);
        *ret = TAKE_PTR(buf);
        return 0;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ret, socklen_t *ret_len) {
        _cleanup_free_ char *host = NULL;
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
        const char *colon = strrchr(listen, ':');
        int r;

        host = strndup(listen, (size_t) (colon - listen));
        if (!host)
                return -ENOMEM;
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = '\0';
        }
        r = getaddrinfo(host, colon + 1, &hints, &ai);
        if (r != 0)
                return log_error_errno(-EINVAL, "[http] listen = %s: not a numeric address and port: %s", listen,
                                       gai_strerror(r));
        memcpy(ret, ai->ai_addr, ai->ai_addrlen);
        *ret_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

int http_server_start(Manager *m, HttpServer **ret) {
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        const Config *cfg = m->config;
        struct sockaddr_storage addr = {};
        socklen_t addr_len = 0;
        unsigned threads = config_http_threads(cfg), flags;
        const union MHD_DaemonInfo *info;
        int r;

        s = calloc(1, sizeof(HttpServer));
        if (!s)
                return log_oom();
        s->manager = m;
        s->mhd_log = (LogRatelimit) LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 10);
        s->jwks_lock = (pthread_mutex_t) PTHREAD_MUTEX_INITIALIZER;
        r = pthread_rwlock_init(&s->stop_lock, NULL);
        if (r != 0)
                return log_error_errno(-r, "Failed to create a lock: %m");
        s->stop_lock_made = true;

        r = parse_listen(cfg->http_listen, &addr, &addr_len);
        if (r < 0)
                return r;

        r = pthread_key_create(&s->thread_key, http_thread_free);
        if (r != 0)
                return log_error_errno(-r, "Failed to create a thread key: %m");
        s->thread_key_made = true;

        r = batch_writer_new(m->store_pool, &s->writer);
        if (r < 0)
                return log_error_errno(r, "Failed to start the batch writer: %m");

        r = http_deadlines_new((uint64_t) cfg->http_request_timeout * USEC_PER_SEC, &s->deadlines);
        if (r < 0)
                return r;

        r = http_metrics_new(m, &s->metrics);
        if (r < 0)
                return r;

        flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        if (cfg->http_certificate) {
                if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
                        return log_error_errno(-EOPNOTSUPP, "This libmicrohttpd was built without TLS.");
                r = read_pem(cfg->http_certificate, &s->tls_cert);
                if (r >= 0)
                        r = read_pem(cfg->http_private_key, &s->tls_key);
                if (r < 0)
                        return r;
                flags |= MHD_USE_TLS;
                s->https = true;
        }

        s->daemon = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, s,
                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
                MHD_OPTION_THREAD_POOL_SIZE, threads,
                /* Header space per connection: our own limit is checked
                 * below this one so that the reply is our envelope. MHD
                 * clears the pool for every request: no bigger than needed. */
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) cfg->http_max_header + 8 * 1024,
                MHD_OPTION_CONNECTION_LIMIT, m->fd_budget.http,
                /* MHD closes a connection over this at once, unanswered;
                 * behind a proxy every connection has its address. */
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->http_connections_per_address,
                MHD_OPTION_CONNECTION_TIMEOUT, cfg->http_timeout,
                MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s,
                s->https ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert,
                MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
                MHD_OPTION_END);
        if (!s->daemon)
                return log_error_errno(-EADDRNOTAVAIL, "Failed to start the HTTP server on %s (in use, or not an "
                                                       "address of this machine?).", cfg->http_listen);

        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : 0;

        if (cfg->http_public_url)
                s->url = strdup(cfg->http_public_url);
        else {
                /* Derived from the listen address: right for loopback and tests. */
                const char *colon = strrchr(cfg->http_listen, ':');
                if (asprintf(&s->url, "%s://%.*s:%u", s->https ? "https" : "http", (int) (colon - cfg->http_listen),
                             cfg->http_listen, s->port) < 0)
                        s->url = NULL;
        }
        if (!s->url)
                return log_oom();
        if (strneq(s->url, "https://", 8))
                s->https = true;
        /* Before the main loop runs: the other doors read it only later. */
        if (!m->public_url && !(m->public_url = strdup(s->url)))
                return log_oom();

        log_info("HTTP server listening on %s (port %u, %u threads, %u connections, %u per address), issuers at "
                 "%s/t/TENANT.", cfg->http_listen, s->port, threads, m->fd_budget.http,
                 cfg->http_connections_per_address, s->url);
        *ret = TAKE_PTR(s);
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;
        /* Stop accepting; let every write that a suspended connection waits
         * on commit and resume it (MHD refuses to stop with connections
         * suspended); then close connections and join the threads; the
         * writer last, since a thread may still use it until then. */
        if (s->daemon)
                (void) MHD_quiesce_daemon(s->daemon);
        if (s->stop_lock_made) {
                pthread_rwlock_wrlock(&s->stop_lock);
                s->stopping = true;
                pthread_rwlock_unlock(&s->stop_lock);
        }
        if (s->writer)
                batch_writer_drain(s->writer);
        if (s->daemon)
                MHD_stop_daemon(s->daemon);
        /* After MHD: every connection is closed, and forgotten, by now. */
        s->deadlines = http_deadlines_free(s->deadlines);
        s->writer = batch_writer_free(s->writer);
        s->metrics = http_metrics_free(s->metrics);
        if (s->stop_lock_made)
                pthread_rwlock_destroy(&s->stop_lock);
        if (s->thread_key_made)
                pthread_key_delete(s->thread_key);
        if (s->tls_key)
                erase_and_free(s->tls_key);
        free(s->tls_cert);
        free(s->url);
        for (size_t i = 0; i < ELEMENTSOF(s->jwks_last); i++)
                free(s->jwks_last[i].json);
        free(s);
        return NULL;
}

const char *http_server_url(const HttpServer *s) {
        return s->url;
}

unsigned http_server_port(const HttpServer *s) {
        return s->port;
}

char *http_issuer(HttpRequest *req, const char *slug) {
        char *s;
        return asprintf(&s, "%s/t/%s", req->server->url, slug) < 0 ? NULL : s;
}

void http_write_after_reply(HttpRequest *req, BatchWrite *w) {
        assert(!req->after_reply);
        req->after_reply = w;
}

Principal http_principal(HttpRequest *req, const char *name) {
        Principal p = principal_anonymous("http", req->remote);

        p.name = name;
        return p;
}
