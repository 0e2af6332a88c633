/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Group commit for the HTTP token path. Writes that must be durable before
 * a reply goes out (audit events, refresh tokens, used codes) are queued
 * here from many threads; one writer thread applies all that are waiting in
 * one transaction (each in a savepoint of its own, so one failing write
 * undoes only itself) and commits once, so that a single fsync covers a
 * whole batch. Each caller learns its result only after the commit. Since
 * the writer runs them one after another on one connection, a write may
 * read-check-modify (claim a code, rotate a refresh token) atomically. */

#include "macro.h"
#include "store-pool.h"

typedef struct BatchWriter BatchWriter;

/* Runs on the writer thread, inside the batch's transaction. Returns 0 or
 * a negative errno; any other value is passed on to done as it is. */
typedef int (*BatchWriteFunc)(Store *s, void *userdata);
/* Runs on the writer thread once the batch committed (or failed): result is
 * what write returned, or the commit's error. Must not block. */
typedef void (*BatchDoneFunc)(int result, void *userdata);

/* One queued write, in memory of the caller's: a server queues one per
 * request and keeps it in the request, saving an allocation (and a free on
 * another thread) each time. Set write, userdata, done and done_userdata
 * (NULL: userdata too); the rest is the writer's. Once done is called, the
 * writer no longer touches it. */
typedef struct BatchWrite {
        BatchWriteFunc write;
        void *userdata;
        BatchDoneFunc done;
        void *done_userdata;
        /* 0, or how long the write waits before it joins a batch: for work
         * whose asker has had the answer already and must not be able to
         * time the work through it (the writer's CPU and disk would slow
         * the asker's next read). Draining does not wait for it. */
        uint64_t delay_usec;

        struct BatchWrite *next;
        int result;
        uint64_t due_usec;        /* the writer's: CLOCK_MONOTONIC */
} BatchWrite;

/* Starts the writer thread, on a connection of its own from pool. */
int batch_writer_new(StorePool *pool, BatchWriter **ret);
/* Commits what is queued, then stops the thread. */
BatchWriter *batch_writer_free(BatchWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(BatchWriter *, batch_writer_free);

/* Queues a write; done follows on the writer thread. -ESHUTDOWN when
 * stopping, -EBUSY when too many writes are waiting. */
int batch_writer_queue(BatchWriter *w, BatchWrite *item);

/* Queues a write and waits until it is committed; returns its result. */
int batch_writer_run(BatchWriter *w, BatchWriteFunc write, void *userdata);

/* Refuses new writes from now on (-ESHUTDOWN) and waits until every queued
 * one is committed and its done has returned. */
void batch_writer_drain(BatchWriter *w);

