/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hashing a new password on the worker pool: the slow step of the password
 * operation (password-change.h), which every door goes through. Checking
 * a password is the authentication core's alone (auth.h): it counts
 * failures and audits. */

#include "workers.h"

typedef struct PasswordJob PasswordJob;
typedef void (*PasswordJobDone)(PasswordJob *j, void *userdata);

struct PasswordJob {
        /* In. Owned by the job and wiped when it is freed. */
        char *new_password;       /* hashed with prefix and cost */
        const char *prefix;
        unsigned long cost;

        /* Out. */
        char *new_hash;
        int hash_result;          /* 0 or < 0 */

        PasswordJobDone done;
        void *userdata;
};

PasswordJob *password_job_new(void);
PasswordJob *password_job_free(PasswordJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(PasswordJob *, password_job_free);

/* The work of a job, as a WorkerFunc, for callers that need their own
 * done callback (worker_pool_submit) or run it from another thread
 * (worker_pool_run). */
void password_job_work(void *job);

/* Queues j. On success the pool owns j until done(j) runs on the main loop;
 * done must free it. On failure (-EBUSY: too many queued) the caller still
 * owns it. */
int password_job_submit(WorkerPool *p, PasswordJob *j);
