/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small pool of worker threads for slow work (password hashing), so that
 * the main loop, which serves D-Bus and NSS lookups, never waits on it. The
 * pool size caps how many hashes run at once, whichever channel asks. */

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct WorkerPool WorkerPool;

/* Runs on a worker thread; must not touch main-loop state. */
typedef void (*WorkerFunc)(void *userdata);
/* Runs on the main loop once the work is done. */
typedef void (*WorkerDoneFunc)(void *userdata);

int worker_pool_new(sd_event *event, unsigned n_threads, unsigned max_queued, WorkerPool **ret);
/* Lets queued and running work finish, runs their done callbacks, joins. */
WorkerPool *worker_pool_free(WorkerPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(WorkerPool *, worker_pool_free);

/* From the main loop: queues work; done(userdata) follows on the main loop.
 * -EBUSY when max_queued jobs are already waiting: tell the caller to
 * retry rather than queue without bound. */
int worker_pool_submit(WorkerPool *p, WorkerFunc work, WorkerDoneFunc done, void *userdata);

/* From any other thread (HTTP): runs work on the pool, under the same cap,
 * and returns once it is done. -EBUSY as above. */
int worker_pool_run(WorkerPool *p, WorkerFunc work, void *userdata);

unsigned worker_pool_size(WorkerPool *p);
