/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-server.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "accept-pause.h"
#include "host-metrics.h"
#include "listen-fds.h"
#include "log.h"
#include "manager.h"
#include "nss-lookup.h"
#include "nss-memcache.h"
#include "nss-proto.h"
#include "time-util.h"

/* A connection may wait this long for its next request (the module keeps
 * one open between lookups), but only this long half-way through a
 * request or with a reply the client does not read. */
#define IDLE_TIMEOUT_USEC (60 * 1000000ULL)
#define BUSY_TIMEOUT_USEC (5 * 1000000ULL)

typedef struct NssConnection NssConnection;

struct NssServer {
        Manager *manager;
        NssMemcache *memcache;    /* NULL with [nss] memory_cache = no */
        char *path;
        int fd;
        bool inherited;           /* systemd's socket (tessera-nss.socket): not ours to unlink */
        sd_event_source *source;
        AcceptPause *pause;
        unsigned n_connections, max_connections;
        NssConnection *connections;
        uint8_t *scratch;         /* one reply is built at a time: the loop is single-threaded */
        LogRatelimit refused_log;
        NssMetrics metrics;
};

struct NssConnection {
        NssServer *server;
        NssConnection *prev, *next;
        int fd;
        sd_event_source *io, *timer;
        uint8_t in[NSS_MAX_REQUEST];
        size_t in_len;
        uint8_t *out;
        size_t out_len, out_sent;
        int pass_fd;              /* sent with the first byte of out, then closed */
};

static void connection_free(NssConnection *c) {
        NssServer *s;

        if (!c)
                return;
        s = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        safe_close(c->pass_fd);
        free(c->out);
        free(c);
}

static int connection_arm_timer(NssConnection *c) {
        uint64_t now, timeout = c->in_len > 0 || c->out ? BUSY_TIMEOUT_USEC : IDLE_TIMEOUT_USEC;
        int r;

        r = sd_event_now(sd_event_source_get_event(c->io), CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_source_set_time(c->timer, now + timeout);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
        return r;
}

/* Builds the reply to the request in c->in[0..len) into c->out. */
static int connection_answer(NssConnection *c, size_t len) {
        NssServer *s = c->server;
        Manager *m = s->manager;
        uint64_t started = now_monotonic_nsec();
        NssMetricResult result;
        NssRequest q;
        WireWriter w;
        size_t out_len;
        uint64_t cache_size = 0;
        int r, cache_fd = -EBADF;

        r = nss_request_parse(c->in, len, &q);
        if (r < 0) {
                /* A client that speaks garbage gets no answer and no second chance. */
                log_debug_errno(r, "Bad request on the lookup socket, closing the connection: %m");
                nss_metrics_request(&s->metrics, 0, NSS_METRIC_ERROR, now_monotonic_nsec() - started);
                return r;
        }

        wire_writer_init(&w, s->scratch, NSS_MAX_REPLY, 0);
        r = nss_lookup_answer(m->config, m->store, &q, &w);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to answer a lookup (type 0x%04x): %m", q.type);
        result = r < 0 ? NSS_METRIC_ERROR : w.type == NSS_REPLY_NOTFOUND ? NSS_METRIC_NOT_FOUND : NSS_METRIC_FOUND;
        if (q.want_cache) {
                cache_fd = nss_memcache_get_fd(s->memcache, &cache_size);
                if (cache_fd >= 0)
                        wire_put_u64(&w, NSS_TAG_CACHE, cache_size);
        }
        r = wire_writer_finish(&w, &out_len);
        if (r < 0) {
                safe_close(cache_fd);
                return log_error_errno(r, "Failed to encode a lookup reply: %m");
        }
        c->out = malloc(out_len);
        if (!c->out) {
                safe_close(cache_fd);
                return log_oom();
        }
        memcpy(c->out, s->scratch, out_len);
        c->out_len = out_len;
        c->out_sent = 0;
        c->pass_fd = cache_fd;
        nss_metrics_request(&s->metrics, q.type, result, now_monotonic_nsec() - started);
        return 0;
}

/* Sends what it can of the reply: 1 when all of it went, 0 when the
 * socket is full, negative on error. */
static int connection_flush(NssConnection *c) {
        while (c->out_sent < c->out_len) {
                ssize_t n;

                if (c->pass_fd >= 0) {
                        n = wire_send_with_fd(c->fd, c->out, c->out_len, c->pass_fd);
                        if (n > 0)
                                c->pass_fd = safe_close(c->pass_fd);
                } else {
                        n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0)
                                n = -errno;
                }
                if (n == -EINTR)
                        continue;
                if (n == -EAGAIN)
                        return 0;
                if (n < 0)
                        return (int) n;
                c->out_sent += (size_t) n;
        }
        c->out = (free(c->out), NULL);
        c->out_len = c->out_sent = 0;
        return 1;
}

/* Answers every whole request in the input buffer, one at a time. */
static int connection_process(NssConnection *c) {
        for (;;) {
                uint16_t type;
                uint32_t payload;
                size_t len;
                int r;

                if (c->out) {
                        r = connection_flush(c);
                        if (r <= 0)
                                return r;
                }
                if (c->in_len < WIRE_HEADER_SIZE)
                        return 0;
                r = wire_header_parse(c->in, NSS_MAX_REQUEST, &type, &payload);
                if (r < 0)
                        return log_debug_errno(r, "Bad request header on the lookup socket: %m");
                len = WIRE_HEADER_SIZE + payload;
                if (c->in_len < len)
                        return 0;
                r = connection_answer(c, len);
                if (r < 0)
                        return r;
                memmove(c->in, c->in + len, c->in_len - len);
                c->in_len -= len;
        }
}

static int on_connection_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        NssConnection *c = userdata;
        int r;

        if (revents & EPOLLIN && !c->out) {
                ssize_t n = recv(fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        goto close;
                if (n == 0)
                        goto close;
                if (n > 0)
                        c->in_len += (size_t) n;
        } else if (revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLOUT))
                goto close;

        r = connection_process(c);
        if (r < 0)
                goto close;
        /* While a reply is pending we stop reading: one request at a time
         * per client, and the input buffer cannot be overrun. */
        if (sd_event_source_set_io_events(c->io, c->out ? EPOLLOUT : EPOLLIN) < 0 || connection_arm_timer(c) < 0)
                goto close;
        return 0;
close:
        connection_free(c);
        return 0;
}

static int on_connection_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        NssConnection *c = userdata;

        log_debug("Closing a lookup connection: %s.", c->in_len > 0 || c->out ? "too slow" : "idle");
        connection_free(c);
        return 0;
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        NssServer *s = userdata;
        NssConnection *c;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED &&
                    !accept_pause_on_error(s->pause, es, errno))
                        log_warning_errno(-errno, "Failed to accept a lookup connection: %m");
                return 0;
        }
        /* Over the limit the client learns at once (its read fails), so
         * that it falls back within its deadline rather than wait in line. */
        if (s->n_connections >= s->max_connections) {
                unsigned suppressed;

                if (log_ratelimit_pass(&s->refused_log, now_monotonic_usec(), &suppressed))
                        log_warning("Too many lookup connections (%u), refusing some (%u refused since this was "
                                    "last logged).", s->max_connections, suppressed);
                close(cfd);
                return 0;
        }

        c = calloc(1, sizeof(NssConnection));
        if (!c) {
                close(cfd);
                return log_oom(), 0;
        }
        c->server = s;
        c->fd = cfd;
        c->pass_fd = -EBADF;
        c->next = s->connections;
        if (c->next)
                c->next->prev = c;
        s->connections = c;
        s->n_connections++;

        r = sd_event_add_io(sd_event_source_get_event(es), &c->io, cfd, EPOLLIN, on_connection_io, c);
        if (r >= 0)
                r = sd_event_add_time(sd_event_source_get_event(es), &c->timer, CLOCK_MONOTONIC, 0, 0,
                                      on_connection_timeout, c);
        if (r >= 0)
                r = connection_arm_timer(c);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch a lookup connection: %m");
                connection_free(c);
        }
        return 0;
}

static void resume_accepting(void *userdata) {
        NssServer *s = userdata;

        (void) sd_event_source_set_enabled(s->source, SD_EVENT_ON);
}

NssServer *nss_server_free(NssServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        if (s->memcache)
                metrics_remove_collector(s->manager->metrics, nss_memcache_collect, s->memcache);
        accept_pause_free(s->pause);
        sd_event_source_disable_unref(s->source);
        nss_memcache_free(s->memcache);
        if (s->fd >= 0) {
                close(s->fd);
                /* systemd's socket stays bound while we restart: lookups
                 * made meanwhile wait in its backlog. */
                if (!s->inherited)
                        (void) unlink(s->path);
        }
        free(s->path);
        free(s->scratch);
        free(s);
        return NULL;
}

/* Binds the lookup socket at path, mode 0666, when started by hand. */
static int bind_socket(NssServer *s) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(s->path) >= sizeof(sa.sun_path))
                return log_error_errno(-EINVAL, "The lookup socket path %s is too long.", s->path);
        strcpy(sa.sun_path, s->path);

        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->fd < 0)
                return log_error_errno(-errno, "Failed to create the lookup socket: %m");
        /* A stale socket of a previous run would make bind() fail. */
        (void) unlink(s->path);
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = log_error_errno(-errno, "Failed to bind the lookup socket %s: %m", s->path);
                s->fd = safe_close(s->fd);
                return r;
        }
        /* Every process on the host resolves users: everyone may connect. */
        if (chmod(s->path, 0666) < 0 || listen(s->fd, SOMAXCONN) < 0)
                return log_error_errno(-errno, "Failed to set up the lookup socket %s: %m", s->path);
        return 0;
}

/* listen_fd: the socket systemd handed over, or negative to bind our own. */
static int nss_server_new(Manager *m, const char *path, int listen_fd, unsigned max_connections, NssServer **ret) {
        NssServer *s;
        int r;

        s = calloc(1, sizeof(NssServer));
        if (!s) {
                safe_close(listen_fd);
                return log_oom();
        }
        s->manager = m;
        s->max_connections = max_connections;
        s->refused_log = (LogRatelimit) LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 1);
        s->fd = listen_fd;
        s->inherited = listen_fd >= 0;
        s->path = strdup(path);
        s->scratch = malloc(NSS_MAX_REPLY);
        if (!s->path || !s->scratch) {
                nss_server_free(s);
                return log_oom();
        }
        if (!s->inherited) {
                r = bind_socket(s);
                if (r < 0)
                        goto fail;
        }
        r = sd_event_add_io(m->event, &s->source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0) {
                log_error_errno(r, "Failed to watch the lookup socket: %m");
                goto fail;
        }
        (void) sd_event_source_set_description(s->source, "nss-listen");
        r = accept_pause_new(m->event, path, resume_accepting, s, &s->pause);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        nss_server_free(s);
        return r;
}

/* What a host sees changed: the published image goes invalid at once (on
 * the thread that made the change, before it is acknowledged), and a new
 * one follows on the main loop. */
static void on_change(const ChangeEvent *e, void *userdata) {
        NssServer *s = userdata;

        switch (e->kind) {
        case CHANGE_TENANT:
        case CHANGE_USER:
        case CHANGE_GROUP:
        case CHANGE_LOCKOUT:
        case CHANGE_EVERYTHING:
                nss_memcache_invalidate(s->memcache);
                break;
        default:
                break;
        }
}

int nss_server_start(Manager *m, ListenFds *listen_fds, NssServer **ret) {
        _cleanup_free_ char *path = NULL;
        NssMemcache *memcache = NULL;
        NssServer *s = NULL;
        int r, fd;

        /* The memory cache first, so that the first client can get it. */
        if (m->config->nss_memory_cache) {
                r = nss_memcache_new(m, &memcache);
                if (r < 0)
                        return r;
        }
        r = config_nss_socket_path(m->config, &path);
        if (r < 0) {
                nss_memcache_free(memcache);
                return log_oom();
        }
        fd = listen_fds_take(listen_fds, NSS_LISTEN_FD_NAME, path);
        if (fd < 0 && fd != -ENOENT) {
                nss_memcache_free(memcache);
                return fd;
        }
        r = nss_server_new(m, path, fd, m->config->nss_max_connections, &s);
        if (r < 0) {
                nss_memcache_free(memcache);
                return r;
        }
        r = nss_metrics_declare(m->metrics, &s->metrics);
        if (r < 0) {
                nss_server_free(s);
                nss_memcache_free(memcache);
                return log_error_errno(r, "Failed to declare the lookup socket's metrics: %m");
        }
        s->memcache = memcache;
        if (memcache) {
                r = event_bus_subscribe(m->events, EVENT_DELIVER_INLINE, on_change, s);
                if (r >= 0)
                        r = metrics_add_collector(m->metrics, nss_memcache_collect, memcache);
                if (r < 0) {
                        nss_server_free(s);
                        return log_error_errno(r, "Failed to follow changes for the NSS memory cache: %m");
                }
        }
        *ret = s;
        return 0;
}
