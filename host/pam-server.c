/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "accept-pause.h"
#include "host-metrics.h"
#include "listen-fds.h"
#include "log.h"
#include "pam-internal.h"
#include "time-util.h"
#include "wire.h"

struct PamServer {
        Manager *manager;
        char *path;
        int fd;
        bool inherited;           /* systemd's socket (tessera-pam.socket): not ours to unlink */
        sd_event_source *listen_source;
        AcceptPause *pause;
        PamConnection *connections;
        unsigned n_connections;
        LogRatelimit full_log;
        PamMetrics metrics;
};

static void connection_free(PamConnection *c) {
        PamServer *s = c->server;

        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer_source);
        safe_close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        auth_attempt_free(c->attempt);
        /* The buffers held passwords. */
        explicit_bzero(c->in, sizeof(c->in));
        pam_request_wipe(&c->req);
        free(c);

        /* Below the limit again: take new connections. */
        if (s->n_connections-- >= s->manager->config->pam_max_connections && s->listen_source)
                (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
}

/* Closes now, or, while work for the connection is on the pool, as soon
 * as it comes back. */
static void connection_close(PamConnection *c) {
        if (c->busy) {
                c->dead = true;
                (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
                (void) sd_event_source_set_enabled(c->timer_source, SD_EVENT_OFF);
                return;
        }
        connection_free(c);
}

bool pam_connection_job_done(PamConnection *c) {
        c->busy = false;
        if (c->dead) {
                connection_free(c);
                return false;
        }
        return true;
}

static int restart_timer(PamConnection *c) {
        int r = sd_event_source_set_time_relative(c->timer_source,
                                                  (uint64_t) c->manager->config->pam_request_timeout * USEC_PER_SEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
        return r;
}

void pam_connection_reply(PamConnection *c, const PamReply *reply) {
        int r;

        pam_metrics_request(&c->server->metrics, c->req_type, (PamStatus) reply->status,
                            c->req_started > 0 ? now_monotonic_nsec() - c->req_started : 0);
        c->req_type = 0;
        c->req_started = 0;
        pam_request_wipe(&c->req);
        c->attempt = auth_attempt_free(c->attempt);

        r = pam_reply_write(reply, c->out, sizeof(c->out), &c->out_len);
        if (r < 0) {
                /* Only a message text too long can get here: a bug, but
                 * the client still gets an answer, and not a success. */
                log_error_errno(r, "Failed to encode a reply on %s: %m", PAM_SOCKET_NAME);
                r = pam_reply_write(&(PamReply) { .status = PAM_STATUS_ERROR }, c->out, sizeof(c->out), &c->out_len);
                if (r < 0) {
                        connection_close(c);
                        return;
                }
        }
        c->out_sent = 0;
        r = sd_event_source_set_io_events(c->io_source, EPOLLOUT);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->io_source, SD_EVENT_ON);
        if (r >= 0)
                r = restart_timer(c);
        if (r < 0) {
                log_error_errno(r, "Failed to wait for a client of %s: %m", PAM_SOCKET_NAME);
                connection_close(c);
        }
}

/* A request that could not even be read: answer so the module fails
 * fast and closed, then hang up. */
static void reply_bad_request(PamConnection *c) {
        c->close_after_reply = true;
        pam_connection_reply(c, &(PamReply) { .status = PAM_STATUS_BAD_REQUEST });
}

static void handle_request(PamConnection *c) {
        int r;

        c->req_started = now_monotonic_nsec();
        r = pam_request_read(c->in, c->in_len, &c->req);
        explicit_bzero(c->in, c->in_len);
        c->in_len = 0;
        if (r < 0) {
                log_debug_errno(r, "Malformed request on %s from pid %d: %m", PAM_SOCKET_NAME, (int) c->peer.pid);
                reply_bad_request(c);
                return;
        }

        c->req_type = c->req.type;
        /* Nothing more is read until this request is answered. */
        (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(c->timer_source, SD_EVENT_OFF);
        pam_request_dispatch(c);
}

/* Reads what is there; a request is handled once it is complete. */
static void on_readable(PamConnection *c) {
        for (;;) {
                size_t want = WIRE_HEADER_SIZE;
                ssize_t n;

                if (c->in_len >= WIRE_HEADER_SIZE) {
                        uint32_t payload;
                        uint16_t type;
                        int r = wire_header_parse(c->in, sizeof(c->in), &type, &payload);

                        if (r < 0) {
                                reply_bad_request(c);
                                return;
                        }
                        want = WIRE_HEADER_SIZE + payload;
                        if (c->in_len == want) {
                                handle_request(c);
                                return;
                        }
                }

                n = recv(c->fd, c->in + c->in_len, want - c->in_len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        /* EOF between requests is the normal end. */
                        if (n < 0 || c->in_len > 0)
                                log_debug("Client of %s (pid %d) went away mid-request.", PAM_SOCKET_NAME,
                                          (int) c->peer.pid);
                        connection_close(c);
                        return;
                }
                c->in_len += (size_t) n;
        }
}

static void on_writable(PamConnection *c) {
        while (c->out_sent < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0) {
                        connection_close(c);
                        return;
                }
                c->out_sent += (size_t) n;
        }

        if (c->close_after_reply) {
                connection_close(c);
                return;
        }
        /* Ready for another request on the same connection. */
        if (sd_event_source_set_io_events(c->io_source, EPOLLIN) < 0 || restart_timer(c) < 0)
                connection_close(c);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PamConnection *c = userdata;

        if (c->out_len > c->out_sent && (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                on_writable(c);
        else if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        PamConnection *c = userdata;

        log_debug("Client of %s (pid %d) took too long; closing.", PAM_SOCKET_NAME, (int) c->peer.pid);
        connection_close(c);
        return 0;
}

static int connection_new(PamServer *s, int fd) {
        PamConnection *c;
        socklen_t len = sizeof(struct ucred);
        int r;

        c = calloc(1, sizeof(PamConnection));
        if (!c) {
                safe_close(fd);
                return log_oom();
        }
        *c = (PamConnection) { .server = s, .manager = s->manager, .fd = fd, .next = s->connections };
        if (s->connections)
                s->connections->prev = c;
        s->connections = c;
        s->n_connections++;

        /* The kernel's word on who connected is what every rule goes by. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len) < 0) {
                r = log_warning_errno(-errno, "Failed to read the credentials of a client of %s: %m", PAM_SOCKET_NAME);
                connection_free(c);
                return r;
        }

        r = sd_event_add_io(s->manager->event, &c->io_source, fd, EPOLLIN, on_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(s->manager->event, &c->timer_source, CLOCK_MONOTONIC,
                                               (uint64_t) s->manager->config->pam_request_timeout * USEC_PER_SEC, 0,
                                               on_timeout, c);
        if (r < 0) {
                log_error_errno(r, "Failed to watch a client of %s: %m", PAM_SOCKET_NAME);
                connection_free(c);
                return r;
        }
        (void) sd_event_source_set_description(c->io_source, "pam-connection");
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        PamServer *s = userdata;
        unsigned suppressed;

        /* Take what is waiting, up to the limit; the rest waits in the
         * backlog until a connection closes. */
        while (s->n_connections < s->manager->config->pam_max_connections) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED &&
                            !accept_pause_on_error(s->pause, source, errno))
                                log_warning_errno(-errno, "Failed to accept on %s: %m", s->path);
                        return 0;
                }
                (void) connection_new(s, cfd);
        }
        if (log_ratelimit_pass(&s->full_log, now_monotonic_usec(), &suppressed))
                log_warning("%u clients on %s: not taking more until some are done (%u times since this was "
                            "last logged).", s->n_connections, s->path, suppressed);
        (void) sd_event_source_set_enabled(source, SD_EVENT_OFF);
        return 0;
}

static void resume_accepting(void *userdata) {
        PamServer *s = userdata;

        /* At the limit it stays off: the next connection to close turns it on. */
        if (s->n_connections < s->manager->config->pam_max_connections)
                (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
}

static int bind_socket(PamServer *s) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;

        if (strlen(s->path) >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "Socket path %s is too long.", s->path);
        strcpy(sa.sun_path, s->path);

        /* A socket left by an earlier run goes; anything else there is a
         * mistake we don't paper over. */
        if (lstat(s->path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode))
                        return log_error_errno(-EEXIST, "%s exists and is not a socket.", s->path);
                if (unlink(s->path) < 0)
                        return log_error_errno(-errno, "Failed to remove the old socket %s: %m", s->path);
        }

        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->fd < 0)
                return log_error_errno(-errno, "Failed to create a socket: %m");
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(-errno, "Failed to bind %s: %m", s->path);
        /* Everyone may connect; the daemon decides per caller. */
        if (chmod(s->path, 0666) < 0)
                return log_error_errno(-errno, "Failed to make %s reachable: %m", s->path);
        if (listen(s->fd, SOMAXCONN) < 0)
                return log_error_errno(-errno, "Failed to listen on %s: %m", s->path);
        return 0;
}

static int serve_socket(PamServer *s) {
        int r;

        r = sd_event_add_io(s->manager->event, &s->listen_source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", s->path);
        (void) sd_event_source_set_description(s->listen_source, "pam-listen");
        return accept_pause_new(s->manager->event, s->path, resume_accepting, s, &s->pause);
}

int pam_server_start(Manager *m, ListenFds *listen_fds, PamServer **ret) {
        PamServer *s;
        int r;

        s = calloc(1, sizeof(PamServer));
        if (!s)
                return log_oom();
        *s = (PamServer) { .manager = m, .fd = -EBADF, .full_log = LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 1) };
        if (m->config->pam_socket)
                s->path = strdup(m->config->pam_socket);
        else if (asprintf(&s->path, "%s/%s", m->config->runtime_directory, PAM_SOCKET_NAME) < 0)
                s->path = NULL;
        if (!s->path) {
                pam_server_free(s);
                return log_oom();
        }

        r = pam_metrics_declare(m->metrics, &s->metrics);
        if (r < 0) {
                pam_server_free(s);
                return log_error_errno(r, "Failed to declare the authentication socket's metrics: %m");
        }
        r = listen_fds_take(listen_fds, PAM_LISTEN_FD_NAME, s->path);
        if (r >= 0) {
                s->fd = r;
                s->inherited = true;
        } else if (r == -ENOENT)
                r = bind_socket(s);
        if (r >= 0)
                r = serve_socket(s);
        if (r < 0) {
                pam_server_free(s);
                return r;
        }
        log_debug("Serving authentication on %s%s.", s->path, s->inherited ? " (from the service manager)" : "");
        *ret = s;
        return 0;
}

PamServer *pam_server_free(PamServer *s) {
        if (!s)
                return NULL;
        /* The worker pool is gone by now (manager_free() stops it first),
         * so no connection is busy any more. */
        while (s->connections) {
                s->connections->busy = false;
                connection_free(s->connections);
        }
        s->pause = accept_pause_free(s->pause);
        s->listen_source = sd_event_source_disable_unref(s->listen_source);
        if (s->fd >= 0) {
                safe_close(s->fd);
                /* systemd's socket stays bound while we restart: logins
                 * wait in its backlog meanwhile. */
                if (!s->inherited)
                        (void) unlink(s->path);
        }
        free(s->path);
        free(s);
        return NULL;
}
