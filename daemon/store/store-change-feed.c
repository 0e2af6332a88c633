/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The change feed on PostgreSQL: NOTIFY on one channel, LISTEN on a
 * session of the feed's own, read by a thread of its own.
 *
 * Sending goes through a session of the feed's own too, not the calling
 * thread's: the caller has committed its change (a NOTIFY inside its
 * transaction would be the same, but the core announces changes after
 * the commit), and a session of its own is never inside someone's
 * transaction, aborted or not. The sessions reconnect as db-pg.c does.
 *
 * Each text goes out as "<instance> <payload>": every session listening
 * on the channel gets every notification, this instance's own among them,
 * and the thread drops those by the instance's id. */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>

#include "db-pg.h"
#include "db.h"
#include "log.h"
#include "store-change-feed.h"
#include "time-util.h"

#define CHANGE_CHANNEL "tessera_change"
#define INSTANCE_ID_LEN 16

/* Between attempts to make the listening session again. */
#define LISTEN_BACKOFF_MIN_USEC (100 * USEC_PER_MSEC)
#define LISTEN_BACKOFF_MAX_USEC (2 * USEC_PER_SEC)

struct StoreChangeFeed {
        StoreConfig config;       /* to listen again */
        char instance[INSTANCE_ID_LEN + 1];
        StoreChangeFunc func;
        void *userdata;

        pthread_mutex_t send_lock;  /* guards sender */
        Db *sender;

        Db *listener;             /* the thread's once it runs; NULL: to be made */
        int stop_fd;              /* eventfd: the thread ends */
        bool thread_started;
        pthread_t thread;
};

static int listen_open(StoreChangeFeed *f) {
        Db *db = NULL;
        int r;

        r = db_open(&f->config, &db);
        if (r < 0)
                return r;
        r = db_exec(db, "LISTEN " CHANGE_CHANNEL);
        if (r < 0) {
                db_close(db);
                return r;
        }
        f->listener = db;
        return 0;
}

int store_change_feed_new(const StoreConfig *c, StoreChangeFunc func, void *userdata, StoreChangeFeed **ret) {
        _cleanup_(store_change_feed_freep) StoreChangeFeed *f = NULL;
        uint8_t raw[INSTANCE_ID_LEN / 2];
        int r;

        if (!func)
                return -EINVAL;
        if (c->backend != STORE_BACKEND_POSTGRESQL) {
                *ret = NULL;
                return 0;
        }
        f = calloc(1, sizeof(StoreChangeFeed));
        if (!f)
                return -ENOMEM;
        f->stop_fd = -EBADF;
        pthread_mutex_init(&f->send_lock, NULL);
        f->func = func;
        f->userdata = userdata;
        r = store_config_copy(&f->config, c);
        if (r < 0)
                return r;
        /* 8 bytes never come short from the kernel's pool; -EIO if so. */
        errno = 0;
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
                return errno > 0 ? -errno : -EIO;
        for (size_t i = 0; i < sizeof(raw); i++)
                sprintf(f->instance + 2 * i, "%02x", raw[i]);
        f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->stop_fd < 0)
                return -errno;

        r = db_open(&f->config, &f->sender);
        if (r < 0)
                return r;
        /* Listening from now on: what is committed after this returns is
         * heard, even before the thread runs (the session keeps it). */
        r = listen_open(f);
        if (r < 0)
                log_warning_errno(r, "Failed to listen for the changes of other instances; trying again in the "
                                     "background: %m");
        *ret = TAKE_PTR(f);
        return 0;
}

/* Waits up to usec for the stop: true when it came. */
static bool wait_stop(StoreChangeFeed *f, uint64_t usec) {
        struct pollfd p = { .fd = f->stop_fd, .events = POLLIN };

        return poll(&p, 1, (int) (usec / USEC_PER_MSEC)) > 0;
}

static void deliver(StoreChangeFeed *f, const char *text) {
        const char *payload = strchr(text, ' ');

        if (!payload || payload - text != INSTANCE_ID_LEN) {
                log_warning("Ignoring a change notification of unknown form: %.64s", text);
                return;
        }
        /* Our own: the core announced it locally already. */
        if (strneq(text, f->instance, INSTANCE_ID_LEN))
                return;
        f->func(payload + 1, f->userdata);
}

static void *feed_thread(void *userdata) {
        StoreChangeFeed *f = userdata;
        uint64_t backoff = 0;
        int r;

        for (;;) {
                struct pollfd p[2];
                char *text;
                int fd;

                if (!f->listener) {
                        if (backoff > 0 && wait_stop(f, backoff))
                                break;
                        r = listen_open(f);
                        if (r < 0) {
                                backoff = backoff == 0 ? LISTEN_BACKOFF_MIN_USEC
                                                       : MIN(backoff * 2, LISTEN_BACKOFF_MAX_USEC);
                                continue;
                        }
                        backoff = 0;
                        /* Whatever was committed while no session of ours
                         * listened was never heard, and cannot be asked for
                         * again: everything may have changed. Said after
                         * LISTEN took effect, so that what the caller reads
                         * again now is not older than what it hears next. */
                        log_info("Listening for the changes of other instances again; every cache is dropped.");
                        f->func(NULL, f->userdata);
                        continue;
                }

                fd = db_pg_socket(f->listener);
                if (fd >= 0) {
                        p[0] = (struct pollfd) { .fd = fd, .events = POLLIN };
                        p[1] = (struct pollfd) { .fd = f->stop_fd, .events = POLLIN };
                        if (poll(p, 2, -1) < 0 && errno != EINTR) {
                                log_error_errno(errno, "Failed to wait for the changes of other instances: %m");
                                (void) wait_stop(f, LISTEN_BACKOFF_MAX_USEC);
                        }
                        if (p[1].revents)
                                break;
                        while ((r = db_pg_notification(f->listener, &text)) > 0) {
                                deliver(f, text);
                                free(text);
                        }
                } else
                        r = fd;
                if (r < 0) {
                        log_warning("Lost the session that listens for the changes of other instances (%s); "
                                    "making it again.", db_errmsg(f->listener));
                        f->listener = db_close(f->listener);
                        backoff = LISTEN_BACKOFF_MIN_USEC;
                }
        }
        return NULL;
}

int store_change_feed_start(StoreChangeFeed *f) {
        int r;

        if (!f || f->thread_started)
                return 0;
        r = pthread_create(&f->thread, NULL, feed_thread, f);
        if (r != 0)
                return -r;
        f->thread_started = true;
        return 0;
}

StoreChangeFeed *store_change_feed_free(StoreChangeFeed *f) {
        if (!f)
                return NULL;
        if (f->thread_started) {
                if (eventfd_write(f->stop_fd, 1) < 0)
                        log_error_errno(errno, "Failed to stop the change feed: %m");
                pthread_join(f->thread, NULL);
        }
        db_close(f->listener);
        db_close(f->sender);
        safe_close(f->stop_fd);
        pthread_mutex_destroy(&f->send_lock);
        store_config_done(&f->config);
        free(f);
        return NULL;
}

int store_change_feed_send(StoreChangeFeed *f, const char *payload) {
        /* A NOTIFY is a transaction of its own that commits: without
         * synchronous_commit it would wait for a flush of the WAL (and for
         * the synchronous standby), doubling the cost of every change. A
         * notification needs no durability: a server that crashes takes
         * the listening sessions along, and each instance drops every
         * cache when it listens again. Local to this transaction. */
        static const char sql[] = "SELECT pg_notify(?1, ?2), set_config('synchronous_commit', 'off', true)";
        _cleanup_free_ char *text = NULL;
        DbStmt *st;
        int r;

        if (!f)
                return 0;
        if (strlen(payload) > STORE_CHANGE_PAYLOAD_MAX)
                return -E2BIG;
        if (asprintf(&text, "%s %s", f->instance, payload) < 0)
                return -ENOMEM;

        pthread_mutex_lock(&f->send_lock);
        r = db_stmt(f->sender, sql, &st);
        if (r >= 0) {
                r = db_bind_text(st, 1, CHANGE_CHANNEL);
                if (r >= 0)
                        r = db_bind_text(st, 2, text);
                /* A SELECT outside a transaction: committed as it runs,
                 * and sent once more on a new session when the old one
                 * had broken (db-pg.c). */
                if (r >= 0)
                        r = db_step(st);
                if (r < 0)
                        log_warning_errno(r, "Failed to tell the other instances of a change: %s",
                                          db_errmsg(f->sender));
                db_stmt_reset(st);
        }
        pthread_mutex_unlock(&f->send_lock);
        return r < 0 ? r : 0;
}

const char *store_change_feed_instance(const StoreChangeFeed *f) {
        return f ? f->instance : "";
}
