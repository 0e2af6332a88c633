/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http-deadline.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"
#include "time-util.h"

/* One connection's clock. Every connection has the same timeout, so the
 * list of running clocks, appended to at the end, is in deadline order:
 * the thread only ever looks at its head. */
typedef struct Clock {
        struct Clock *prev, *next;
        int fd;
        uint64_t deadline_usec;
        bool running;
} Clock;

struct HttpDeadlines {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t thread;
        bool thread_started, stopping;
        uint64_t timeout_usec;
        Clock *head, *tail;
        LogRatelimit cut_log;
        unsigned long cut_unlogged;   /* touched by the thread only */
};

static void clock_unlink(HttpDeadlines *d, Clock *k) {
        if (!k->running)
                return;
        if (k->prev)
                k->prev->next = k->next;
        else
                d->head = k->next;
        if (k->next)
                k->next->prev = k->prev;
        else
                d->tail = k->prev;
        k->prev = k->next = NULL;
        k->running = false;
}

static void clock_start(HttpDeadlines *d, Clock *k) {
        clock_unlink(d, k);
        k->deadline_usec = now_monotonic_usec() + d->timeout_usec;
        k->prev = d->tail;
        if (d->tail)
                d->tail->next = k;
        else {
                d->head = k;
                /* The thread waits without a deadline while there is none. */
                pthread_cond_signal(&d->wake);
        }
        d->tail = k;
        k->running = true;
}

static void log_cut(HttpDeadlines *d, unsigned long n) {
        unsigned suppressed;

        d->cut_unlogged += n;
        if (!log_ratelimit_pass(&d->cut_log, now_monotonic_usec(), &suppressed))
                return;
        log_info("Closed %lu HTTP connections that did not send a whole request within %llu s (slow or stalled "
                 "clients).", d->cut_unlogged, (unsigned long long) (d->timeout_usec / USEC_PER_SEC));
        d->cut_unlogged = 0;
}

static void *deadline_thread(void *userdata) {
        HttpDeadlines *d = userdata;

        pthread_mutex_lock(&d->lock);
        while (!d->stopping) {
                uint64_t now = now_monotonic_usec();
                unsigned long cut = 0;

                while (d->head && d->head->deadline_usec <= now) {
                        Clock *k = d->head;

                        /* The descriptor is still the connection's: it is
                         * forgotten here, under the lock, before it is
                         * closed. The connection's thread sees the end of
                         * the stream and closes it. */
                        clock_unlink(d, k);
                        (void) shutdown(k->fd, SHUT_RDWR);
                        cut++;
                }
                if (cut > 0) {
                        pthread_mutex_unlock(&d->lock);
                        log_cut(d, cut);
                        pthread_mutex_lock(&d->lock);
                        continue;
                }
                if (d->head) {
                        struct timespec ts = {
                                .tv_sec = (time_t) (d->head->deadline_usec / USEC_PER_SEC),
                                .tv_nsec = (long) (d->head->deadline_usec % USEC_PER_SEC) * 1000,
                        };
                        (void) pthread_cond_timedwait(&d->wake, &d->lock, &ts);
                } else
                        (void) pthread_cond_wait(&d->wake, &d->lock);
        }
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

int http_deadlines_new(uint64_t timeout_usec, HttpDeadlines **ret) {
        pthread_condattr_t attr;
        HttpDeadlines *d;
        int r;

        d = calloc(1, sizeof(HttpDeadlines));
        if (!d)
                return log_oom();
        *d = (HttpDeadlines) {
                .timeout_usec = timeout_usec,
                .cut_log = LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 1),
        };
        pthread_mutex_init(&d->lock, NULL);
        pthread_condattr_init(&attr);
        /* Deadlines are on the monotonic clock: a clock step changes nothing. */
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&d->wake, &attr);
        pthread_condattr_destroy(&attr);

        r = pthread_create(&d->thread, NULL, deadline_thread, d);
        if (r != 0) {
                http_deadlines_free(d);
                return log_error_errno(-r, "Failed to start the HTTP request deadline thread: %m");
        }
        d->thread_started = true;
        *ret = d;
        return 0;
}

HttpDeadlines *http_deadlines_free(HttpDeadlines *d) {
        if (!d)
                return NULL;
        if (d->thread_started) {
                pthread_mutex_lock(&d->lock);
                d->stopping = true;
                pthread_cond_signal(&d->wake);
                pthread_mutex_unlock(&d->lock);
                pthread_join(d->thread, NULL);
        }
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
}

void http_deadline_connection(HttpDeadlines *d, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
        Clock *k = *socket_context;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

                /* Without a clock (out of memory) the idle timeout still
                 * applies: the connection is served, just less guarded. */
                k = ci ? calloc(1, sizeof(Clock)) : NULL;
                if (!k)
                        return;
                k->fd = ci->connect_fd;
                pthread_mutex_lock(&d->lock);
                clock_start(d, k);
                pthread_mutex_unlock(&d->lock);
                *socket_context = k;
                return;
        }

        if (!k)
                return;
        pthread_mutex_lock(&d->lock);
        clock_unlink(d, k);
        pthread_mutex_unlock(&d->lock);
        free(k);
        *socket_context = NULL;
}

static Clock *clock_of(struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return ci ? ci->socket_context : NULL;
}

void http_deadline_stop(HttpDeadlines *d, struct MHD_Connection *c) {
        Clock *k = clock_of(c);

        if (!k)
                return;
        pthread_mutex_lock(&d->lock);
        clock_unlink(d, k);
        pthread_mutex_unlock(&d->lock);
}

void http_deadline_restart(HttpDeadlines *d, struct MHD_Connection *c) {
        Clock *k = clock_of(c);

        if (!k)
                return;
        pthread_mutex_lock(&d->lock);
        clock_start(d, k);
        pthread_mutex_unlock(&d->lock);
}
