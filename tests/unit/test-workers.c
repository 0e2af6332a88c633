/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/workers.c: slow work on worker threads, results on the event loop. */

#include <stdatomic.h>

#include "test-util.h"
#include "workers.h"

/* What a job saw: where its two halves ran, and in which order it finished. */
typedef struct TestJob {
        TestGate *gate;           /* when set, the work waits for it to open */
        pthread_t work_thread;
        pthread_t done_thread;
        int work_runs;
        int done_runs;
        unsigned done_seq;
} TestJob;

static unsigned n_done;
static _Atomic unsigned n_work;

static void job_work(void *userdata) {
        TestJob *j = userdata;

        if (j->gate)
                test_gate_work(j->gate);
        j->work_thread = pthread_self();
        j->work_runs++;
        atomic_fetch_add(&n_work, 1);
}

static void job_done(void *userdata) {
        TestJob *j = userdata;

        j->done_thread = pthread_self();
        j->done_runs++;
        j->done_seq = ++n_done;
}

static sd_event *event;

static void setup(void) {
        n_done = 0;
        atomic_store(&n_work, 0);
        ck_assert_int_ge(sd_event_new(&event), 0);
}

static void teardown(void) {
        event = sd_event_unref(event);
}

static void run_until_done(unsigned n) {
        while (n_done < n)
                ck_assert_int_ge(sd_event_run(event, UINT64_MAX), 0);
}

START_TEST(test_submit) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        TestJob j = {};

        ck_assert_int_eq(worker_pool_new(event, 2, 8, &p), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &j), 0);
        run_until_done(1);

        ck_assert_int_eq(j.work_runs, 1);
        ck_assert_int_eq(j.done_runs, 1);
        /* The work on a worker, the completion on the loop's thread. */
        ck_assert(!pthread_equal(j.work_thread, pthread_self()));
        ck_assert(pthread_equal(j.done_thread, pthread_self()));
}
END_TEST

START_TEST(test_submit_without_done) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        TestJob j = {}, marker = {};

        ck_assert_int_eq(worker_pool_new(event, 1, 8, &p), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, NULL, &j), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &marker), 0);
        /* One thread runs jobs in order: when the marker is done, so is j. */
        run_until_done(1);
        ck_assert_int_eq(j.work_runs, 1);
        ck_assert_int_eq(j.done_runs, 0);
}
END_TEST

START_TEST(test_many_jobs) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        TestJob jobs[200] = {};

        ck_assert_int_eq(worker_pool_new(event, 4, 256, &p), 0);
        ck_assert_uint_eq(worker_pool_size(p), 4);
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++)
                ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &jobs[i]), 0);
        run_until_done(ELEMENTSOF(jobs));

        ck_assert_uint_eq(atomic_load(&n_work), ELEMENTSOF(jobs));
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                ck_assert_int_eq(jobs[i].work_runs, 1);
                ck_assert_int_eq(jobs[i].done_runs, 1);
                ck_assert(pthread_equal(jobs[i].done_thread, pthread_self()));
        }
}
END_TEST

START_TEST(test_queue_limit) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        TestGate gate;
        TestJob a = {}, b = {}, c = {}, d = {};

        test_gate_init(&gate);
        a.gate = &gate;

        /* One thread, two queue places. a holds the thread, b and c wait. */
        ck_assert_int_eq(worker_pool_new(event, 1, 2, &p), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &a), 0);
        test_gate_wait_started(&gate);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &b), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &c), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &d), -EBUSY);

        test_gate_open(&gate);
        run_until_done(3);
        ck_assert_uint_eq(a.done_seq, 1);
        ck_assert_uint_eq(b.done_seq, 2);
        ck_assert_uint_eq(c.done_seq, 3);
        ck_assert_int_eq(d.work_runs, 0);
        ck_assert_int_eq(d.done_runs, 0);

        /* With the queue drained there is room again. */
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &d), 0);
        run_until_done(4);
        ck_assert_int_eq(d.done_runs, 1);

        p = worker_pool_free(p);
        test_gate_destroy(&gate);
}
END_TEST

typedef struct RunArgs {
        WorkerPool *pool;
        TestJob job;
        pthread_t caller;
        int r;
} RunArgs;

static void *run_thread(void *userdata) {
        RunArgs *a = userdata;

        a->caller = pthread_self();
        a->r = worker_pool_run(a->pool, job_work, &a->job);
        return NULL;
}

START_TEST(test_run_from_thread) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        RunArgs args = {};
        pthread_t t;

        ck_assert_int_eq(worker_pool_new(event, 2, 8, &p), 0);
        args.pool = p;
        args.r = 1;
        ck_assert_int_eq(pthread_create(&t, NULL, run_thread, &args), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);

        /* Done when it returned, on a pool thread, and nothing for the loop. */
        ck_assert_int_eq(args.r, 0);
        ck_assert_int_eq(args.job.work_runs, 1);
        ck_assert(!pthread_equal(args.job.work_thread, args.caller));
        ck_assert(!pthread_equal(args.job.work_thread, pthread_self()));
        ck_assert_int_eq(sd_event_run(event, 0), 0);
        ck_assert_int_eq(args.job.done_runs, 0);
}
END_TEST

START_TEST(test_run_queue_limit) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        TestGate gate;
        TestJob a = {}, b = {};
        RunArgs args = {};
        pthread_t t;

        test_gate_init(&gate);
        a.gate = &gate;

        /* worker_pool_run() is under the same cap as submit. */
        ck_assert_int_eq(worker_pool_new(event, 1, 1, &p), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &a), 0);
        test_gate_wait_started(&gate);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &b), 0);

        args.pool = p;
        ck_assert_int_eq(pthread_create(&t, NULL, run_thread, &args), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_int_eq(args.r, -EBUSY);
        ck_assert_int_eq(args.job.work_runs, 0);

        test_gate_open(&gate);
        run_until_done(2);
        p = worker_pool_free(p);
        test_gate_destroy(&gate);
}
END_TEST

START_TEST(test_free_runs_done) {
        WorkerPool *p = NULL;
        TestGate gate;
        TestJob a = {}, jobs[5] = {};

        test_gate_init(&gate);
        a.gate = &gate;

        ck_assert_int_eq(worker_pool_new(event, 1, 16, &p), 0);
        ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &a), 0);
        test_gate_wait_started(&gate);
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++)
                ck_assert_int_eq(worker_pool_submit(p, job_work, job_done, &jobs[i]), 0);

        /* Free with work running and queued, without ever running the loop:
         * everything finishes and every done callback runs, here. */
        test_gate_open(&gate);
        p = worker_pool_free(p);
        ck_assert_ptr_null(p);

        ck_assert_uint_eq(n_done, 1 + ELEMENTSOF(jobs));
        ck_assert_int_eq(a.done_runs, 1);
        for (size_t i = 0; i < ELEMENTSOF(jobs); i++) {
                ck_assert_int_eq(jobs[i].work_runs, 1);
                ck_assert_int_eq(jobs[i].done_runs, 1);
                ck_assert(pthread_equal(jobs[i].done_thread, pthread_self()));
        }
        test_gate_destroy(&gate);
}
END_TEST

START_TEST(test_size) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL, *q = NULL;

        ck_assert_int_eq(worker_pool_new(event, 3, 0, &p), 0);
        ck_assert_uint_eq(worker_pool_size(p), 3);
        /* 0: one per CPU but one (a CPU stays the main loop's), at least one. */
        ck_assert_int_eq(worker_pool_new(event, 0, 0, &q), 0);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        ck_assert_uint_eq(worker_pool_size(q), cpus > 1 ? (unsigned) MIN(cpus - 1, 64) : 1);
}
END_TEST

static Suite *workers_suite(void) {
        Suite *s = suite_create("workers");
        TCase *tc = tcase_create("pool");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_submit);
        tcase_add_test(tc, test_submit_without_done);
        tcase_add_test(tc, test_many_jobs);
        tcase_add_test(tc, test_queue_limit);
        tcase_add_test(tc, test_run_from_thread);
        tcase_add_test(tc, test_run_queue_limit);
        tcase_add_test(tc, test_free_runs_done);
        tcase_add_test(tc, test_size);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(workers_suite());
}
