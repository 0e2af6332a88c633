/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/password-job.c: hashing a new password on the worker pool. */

#include "password-job.h"
#include "password.h"
#include "test-util.h"

#define PREFIX "$2b$"
#define COST 4   /* bcrypt's cheapest, to keep the test fast */

static sd_event *event;
static WorkerPool *pool;
static unsigned n_done;

/* What done saw, copied out before done frees the job as it must. */
typedef struct Outcome {
        bool ran;
        pthread_t thread;
        int hash_result;
        char *new_hash;
} Outcome;

static void setup(void) {
        n_done = 0;
        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(worker_pool_new(event, 2, 4, &pool), 0);
}

static void teardown(void) {
        pool = worker_pool_free(pool);
        event = sd_event_unref(event);
}

static void on_done(PasswordJob *j, void *userdata) {
        Outcome *o = userdata;

        o->ran = true;
        o->thread = pthread_self();
        o->hash_result = j->hash_result;
        o->new_hash = j->new_hash ? strdup(j->new_hash) : NULL;
        n_done++;
        password_job_free(j);
}

static PasswordJob *job(const char *new_password, Outcome *o) {
        PasswordJob *j = password_job_new();

        ck_assert_ptr_nonnull(j);
        j->new_password = new_password ? strdup(new_password) : NULL;
        j->prefix = PREFIX;
        j->cost = COST;
        j->hash_result = -1;
        j->done = on_done;
        j->userdata = o;
        return j;
}

static void run_until_done(unsigned n) {
        while (n_done < n)
                ck_assert_int_ge(sd_event_run(event, UINT64_MAX), 0);
}

START_TEST(test_hash) {
        Outcome o = {};

        ck_assert_int_eq(password_job_submit(pool, job("fresh-password", &o)), 0);
        run_until_done(1);
        ck_assert(o.ran);
        /* done runs on the main loop, not on the worker. */
        ck_assert(pthread_equal(o.thread, pthread_self()));
        ck_assert_int_eq(o.hash_result, 0);
        ck_assert(strneq(o.new_hash, "$2b$04$", 7));
        ck_assert_int_eq(password_verify("fresh-password", o.new_hash), 1);
        ck_assert_int_eq(password_verify("other-password", o.new_hash), 0);
        erase_and_free(o.new_hash);
}
END_TEST

START_TEST(test_nothing_to_hash) {
        Outcome o = {};

        ck_assert_int_eq(password_job_submit(pool, job(NULL, &o)), 0);
        run_until_done(1);
        ck_assert_int_eq(o.hash_result, -EINVAL);
        ck_assert_ptr_null(o.new_hash);
}
END_TEST

START_TEST(test_busy_leaves_job_with_caller) {
        _cleanup_(password_job_freep) PasswordJob *rejected = NULL;
        TestGate gate;
        Outcome queued = {}, o = {};
        WorkerPool *small = NULL;

        test_gate_init(&gate);
        /* One thread, held by the gate; one queue place, taken. */
        ck_assert_int_eq(worker_pool_new(event, 1, 1, &small), 0);
        ck_assert_int_eq(worker_pool_submit(small, test_gate_work, NULL, &gate), 0);
        test_gate_wait_started(&gate);
        ck_assert_int_eq(password_job_submit(small, job("queued-password", &queued)), 0);

        rejected = job("rejected-password", &o);
        ck_assert_int_eq(password_job_submit(small, rejected), -EBUSY);
        /* Still ours: freed by the cleanup, never by the pool. */

        test_gate_open(&gate);
        run_until_done(1);
        ck_assert_int_eq(queued.hash_result, 0);
        ck_assert(!o.ran);
        erase_and_free(queued.new_hash);
        small = worker_pool_free(small);
        test_gate_destroy(&gate);
}
END_TEST

static Suite *password_job_suite(void) {
        Suite *s = suite_create("password-job");
        TCase *tc = tcase_create("jobs");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_hash);
        tcase_add_test(tc, test_nothing_to_hash);
        tcase_add_test(tc, test_busy_leaves_job_with_caller);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(password_job_suite());
}
