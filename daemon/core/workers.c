/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "log.h"

typedef struct SyncWait {
        pthread_mutex_t *mutex;
        pthread_cond_t cond;
        bool done;
} SyncWait;

typedef struct Job {
        struct Job *next;
        WorkerFunc work;
        WorkerDoneFunc done;
        void *userdata;
        SyncWait *sync;           /* set for worker_pool_run() */
} Job;

typedef struct JobQueue {
        Job *head, *tail;
        unsigned n;
} JobQueue;

struct WorkerPool {
        sd_event_source *event_source;
        int event_fd;

        pthread_mutex_t mutex;
        pthread_cond_t wake;
        JobQueue queued;          /* waiting for a thread */
        JobQueue finished;        /* waiting for the main loop */
        unsigned max_queued;
        bool stopping;

        pthread_t *threads;
        unsigned n_threads;
};

static void queue_push(JobQueue *q, Job *j) {
        j->next = NULL;
        if (q->tail)
                q->tail->next = j;
        else
                q->head = j;
        q->tail = j;
        q->n++;
}

static Job *queue_pop(JobQueue *q) {
        Job *j = q->head;

        if (!j)
                return NULL;
        q->head = j->next;
        if (!q->head)
                q->tail = NULL;
        q->n--;
        return j;
}

static void *worker_main(void *arg) {
        WorkerPool *p = arg;

        pthread_mutex_lock(&p->mutex);
        for (;;) {
                Job *j;

                while (!(j = queue_pop(&p->queued)) && !p->stopping)
                        pthread_cond_wait(&p->wake, &p->mutex);
                if (!j)
                        break;

                pthread_mutex_unlock(&p->mutex);
                j->work(j->userdata);
                pthread_mutex_lock(&p->mutex);

                if (j->sync) {
                        j->sync->done = true;
                        pthread_cond_signal(&j->sync->cond);
                } else {
                        queue_push(&p->finished, j);
                        /* EAGAIN: a full counter wakes the loop all the
                         * same. Otherwise the job is finished with the
                         * next one that wakes it. */
                        if (eventfd_write(p->event_fd, 1) < 0 && errno != EAGAIN)
                                log_error_errno(errno, "Failed to wake the main loop for a finished job: %m");
                }
        }
        pthread_mutex_unlock(&p->mutex);
        return NULL;
}

static void run_finished(WorkerPool *p) {
        JobQueue done;

        pthread_mutex_lock(&p->mutex);
        done = p->finished;
        p->finished = (JobQueue) {};
        pthread_mutex_unlock(&p->mutex);

        for (Job *j; (j = queue_pop(&done)); free(j))
                if (j->done)
                        j->done(j->userdata);
}

static int on_event_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WorkerPool *p = userdata;
        eventfd_t v;

        /* EAGAIN: reset already. The finished jobs are run whatever the
         * read says: they are in the queue, not in the counter. */
        if (eventfd_read(fd, &v) < 0 && errno != EAGAIN)
                log_warning_errno(errno, "Failed to reset the wake-up of the worker pool: %m");
        run_finished(p);
        return 0;
}

int worker_pool_new(sd_event *event, unsigned n_threads, unsigned max_queued, WorkerPool **ret) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        int r;

        /* One per CPU but one: a flood of logins keeps every worker busy,
         * and the CPU left over is the main loop's, so that lookups and
         * D-Bus calls are answered as quickly as when all is quiet
         * (bench/pam measures both). */
        if (n_threads == 0) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                n_threads = n > 1 ? (unsigned) MIN(n - 1, 64) : 1;
        }

        p = calloc(1, sizeof(WorkerPool));
        if (!p)
                return -ENOMEM;
        p->event_fd = -EBADF;
        p->max_queued = max_queued > 0 ? max_queued : 256;
        pthread_mutex_init(&p->mutex, NULL);
        pthread_cond_init(&p->wake, NULL);

        p->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->event_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &p->event_source, p->event_fd, EPOLLIN, on_event_fd, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->event_source, "worker-done");

        p->threads = calloc(n_threads, sizeof(pthread_t));
        if (!p->threads)
                return -ENOMEM;
        for (; p->n_threads < n_threads; p->n_threads++) {
                r = pthread_create(&p->threads[p->n_threads], NULL, worker_main, p);
                if (r != 0)
                        return -r;
        }

        *ret = TAKE_PTR(p);
        return 0;
}

WorkerPool *worker_pool_free(WorkerPool *p) {
        if (!p)
                return NULL;

        pthread_mutex_lock(&p->mutex);
        p->stopping = true;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);

        /* Threads drain the queue before they exit. */
        for (unsigned i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        run_finished(p);

        sd_event_source_disable_unref(p->event_source);
        safe_close(p->event_fd);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mutex);
        free(p->threads);
        free(p);
        return NULL;
}

static int enqueue(WorkerPool *p, Job *j) {
        if (p->stopping)
                return -ESHUTDOWN;
        if (p->queued.n >= p->max_queued)
                return -EBUSY;
        queue_push(&p->queued, j);
        pthread_cond_signal(&p->wake);
        return 0;
}

int worker_pool_submit(WorkerPool *p, WorkerFunc work, WorkerDoneFunc done, void *userdata) {
        Job *j = calloc(1, sizeof(Job));
        int r;

        if (!j)
                return -ENOMEM;
        *j = (Job) { .work = work, .done = done, .userdata = userdata };

        pthread_mutex_lock(&p->mutex);
        r = enqueue(p, j);
        pthread_mutex_unlock(&p->mutex);
        if (r < 0)
                free(j);
        return r;
}

int worker_pool_run(WorkerPool *p, WorkerFunc work, void *userdata) {
        SyncWait w = { .mutex = &p->mutex };
        Job j = { .work = work, .userdata = userdata, .sync = &w };
        int r;

        pthread_cond_init(&w.cond, NULL);
        pthread_mutex_lock(&p->mutex);
        r = enqueue(p, &j);
        while (r >= 0 && !w.done)
                pthread_cond_wait(&w.cond, &p->mutex);
        pthread_mutex_unlock(&p->mutex);
        pthread_cond_destroy(&w.cond);
        return r;
}

unsigned worker_pool_size(WorkerPool *p) {
        return p->n_threads;
}
