/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch-writer.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

#include "log.h"
#include "store-oidc.h"
#include "time-util.h"

/* Bounds the memory a flood of requests can pin, and one transaction. */
#define MAX_QUEUED 8192
#define MAX_BATCH 512
/* Runs of one write that met a deadlock. */
#define MAX_WRITE_ATTEMPTS 3
#define PURGE_INTERVAL_USEC (10 * 60 * USEC_PER_SEC)

struct BatchWriter {
        Store *store;
        pthread_t thread;
        bool thread_started;

        pthread_mutex_t mutex;
        pthread_cond_t wake;
        pthread_cond_t drained;
        BatchWrite *head, *tail;
        BatchWrite *delayed;      /* writes with a delay, in order of their due time */
        unsigned n_queued;
        unsigned n_unfinished;    /* queued or in the batch at hand */
        bool stopping;

        uint64_t n_batches, n_writes;
        uint64_t last_purge_usec;
};

static BatchWrite *take_batch(BatchWriter *w, unsigned *ret_n) {
        BatchWrite *first = w->head, *last = first;
        unsigned n = 1;

        while (last->next && n < MAX_BATCH) {
                last = last->next;
                n++;
        }
        w->head = last->next;
        if (!w->head)
                w->tail = NULL;
        last->next = NULL;
        w->n_queued -= n;
        *ret_n = n;
        return first;
}

static void apply_batch(BatchWriter *w, BatchWrite *batch, unsigned n_items) {
        uint64_t now = now_monotonic_usec();
        unsigned n = 0;
        int r;

        r = store_begin(w->store);
        if (r < 0)
                log_error_errno(r, "Batch writer: failed to begin a transaction: %m");
        for (BatchWrite *i = batch; r >= 0 && i; i = i->next) {
                bool written = false, broken = false;

                /* A write that met a deadlock (-EAGAIN: the rows of two
                 * batches of two tesserad on one PostgreSQL, taken in
                 * opposite orders) was undone alone by its savepoint, and
                 * runs again: the other batch got its locks meanwhile. */
                for (unsigned attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
                        int s = store_savepoint(w->store);
                        if (s < 0) {
                                i->result = s;
                                break;
                        }
                        i->result = i->write(w->store, i->userdata);
                        s = i->result < 0 ? store_savepoint_rollback(w->store) : store_savepoint_release(w->store);
                        if (s < 0) {
                                r = s;
                                broken = true;
                                break;
                        }
                        written = true;
                        if (i->result != -EAGAIN)
                                break;
                }
                if (broken)
                        /* The transaction itself is broken; fail everything. */
                        break;
                if (written)
                        n++;
        }
        if (r >= 0 && now - w->last_purge_usec > PURGE_INTERVAL_USEC) {
                if (store_savepoint(w->store) >= 0) {
                        if (store_oidc_purge(w->store, now_realtime_usec()) < 0)
                                (void) store_savepoint_rollback(w->store);
                        else
                                (void) store_savepoint_release(w->store);
                }
                w->last_purge_usec = now;
        }
        if (r >= 0) {
                r = store_commit(w->store);
                if (r < 0)
                        log_error_errno(r, "Batch writer: commit failed: %m");
        } else
                store_rollback(w->store);

        for (BatchWrite *i = batch, *next; i; i = next) {
                /* Once done ran, the caller's item (a request's, or a
                 * synchronous waiter's on its stack) may be gone: read what
                 * we need first. */
                next = i->next;
                i->done(r < 0 ? r : i->result, i->done_userdata ?: i->userdata);
        }

        pthread_mutex_lock(&w->mutex);
        w->n_batches++;
        w->n_writes += n;
        w->n_unfinished -= n_items;
        if (w->n_unfinished == 0)
                pthread_cond_broadcast(&w->drained);
        pthread_mutex_unlock(&w->mutex);
}

static void append(BatchWriter *w, BatchWrite *item) {
        item->next = NULL;
        if (w->tail)
                w->tail->next = item;
        else
                w->head = item;
        w->tail = item;
}

/* Moves the delayed writes that are due (all of them when stopping) to
 * the queue. Under the mutex. */
static void release_due(BatchWriter *w, uint64_t now) {
        while (w->delayed && (w->stopping || w->delayed->due_usec <= now)) {
                BatchWrite *item = w->delayed;

                w->delayed = item->next;
                append(w, item);
        }
}

static void *writer_main(void *arg) {
        BatchWriter *w = arg;

        pthread_mutex_lock(&w->mutex);
        for (;;) {
                BatchWrite *batch;
                unsigned n;

                for (;;) {
                        release_due(w, now_monotonic_usec());
                        if (w->head || w->stopping)
                                break;
                        if (w->delayed) {
                                struct timespec ts = {
                                        .tv_sec = (time_t) (w->delayed->due_usec / USEC_PER_SEC),
                                        .tv_nsec = (long) (w->delayed->due_usec % USEC_PER_SEC) * 1000,
                                };
                                (void) pthread_cond_timedwait(&w->wake, &w->mutex, &ts);
                        } else
                                pthread_cond_wait(&w->wake, &w->mutex);
                }
                if (!w->head)
                        break;
                batch = take_batch(w, &n);
                pthread_mutex_unlock(&w->mutex);
                apply_batch(w, batch, n);
                pthread_mutex_lock(&w->mutex);
        }
        pthread_mutex_unlock(&w->mutex);
        return NULL;
}

int batch_writer_new(StorePool *pool, BatchWriter **ret) {
        _cleanup_(batch_writer_freep) BatchWriter *w = NULL;
        pthread_condattr_t attr;
        int r;

        w = calloc(1, sizeof(BatchWriter));
        if (!w)
                return -ENOMEM;
        pthread_mutex_init(&w->mutex, NULL);
        /* Due times of delayed writes are on CLOCK_MONOTONIC. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&w->wake, &attr);
        pthread_condattr_destroy(&attr);
        pthread_cond_init(&w->drained, NULL);

        r = store_pool_open(pool, &w->store);
        if (r < 0)
                return r;
        r = pthread_create(&w->thread, NULL, writer_main, w);
        if (r != 0)
                return -r;
        w->thread_started = true;

        *ret = TAKE_PTR(w);
        return 0;
}

BatchWriter *batch_writer_free(BatchWriter *w) {
        if (!w)
                return NULL;
        pthread_mutex_lock(&w->mutex);
        w->stopping = true;
        pthread_cond_broadcast(&w->wake);
        pthread_mutex_unlock(&w->mutex);
        if (w->thread_started)
                pthread_join(w->thread, NULL);
        if (w->n_batches > 0)
                log_info("Batch writer: %" PRIu64 " writes committed in %" PRIu64 " transactions.", w->n_writes,
                         w->n_batches);
        store_close(w->store);
        pthread_cond_destroy(&w->drained);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mutex);
        free(w);
        return NULL;
}

int batch_writer_queue(BatchWriter *w, BatchWrite *item) {
        int r = 0;

        assert(item->write && item->done);
        item->next = NULL;
        pthread_mutex_lock(&w->mutex);
        if (w->stopping)
                r = -ESHUTDOWN;
        else if (w->n_queued >= MAX_QUEUED)
                r = -EBUSY;
        else {
                if (item->delay_usec > 0) {
                        BatchWrite **p = &w->delayed;

                        item->due_usec = now_monotonic_usec() + item->delay_usec;
                        while (*p && (*p)->due_usec <= item->due_usec)
                                p = &(*p)->next;
                        item->next = *p;
                        *p = item;
                } else
                        append(w, item);
                w->n_queued++;
                w->n_unfinished++;
                pthread_cond_signal(&w->wake);
        }
        pthread_mutex_unlock(&w->mutex);
        return r;
}

void batch_writer_drain(BatchWriter *w) {
        pthread_mutex_lock(&w->mutex);
        w->stopping = true;
        pthread_cond_broadcast(&w->wake);
        while (w->n_unfinished > 0)
                pthread_cond_wait(&w->drained, &w->mutex);
        pthread_mutex_unlock(&w->mutex);
}

typedef struct SyncWait {
        pthread_mutex_t mutex;
        pthread_cond_t cond;
        bool done;
        int result;
} SyncWait;

static void sync_done(int result, void *userdata) {
        SyncWait *s = userdata;

        pthread_mutex_lock(&s->mutex);
        s->result = result;
        s->done = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->mutex);
}

int batch_writer_run(BatchWriter *w, BatchWriteFunc write, void *userdata) {
        SyncWait s = { .mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
        BatchWrite i = { .write = write, .userdata = userdata, .done = sync_done, .done_userdata = &s };
        int r;

        r = batch_writer_queue(w, &i);
        if (r < 0)
                return r;
        pthread_mutex_lock(&s.mutex);
        while (!s.done)
                pthread_cond_wait(&s.cond, &s.mutex);
        pthread_mutex_unlock(&s.mutex);
        pthread_cond_destroy(&s.cond);
        pthread_mutex_destroy(&s.mutex);
        return s.result;
}
