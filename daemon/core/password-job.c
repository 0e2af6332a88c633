/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "password-job.h"

#include <stdlib.h>

#include "password.h"

PasswordJob *password_job_new(void) {
        return calloc(1, sizeof(PasswordJob));
}

PasswordJob *password_job_free(PasswordJob *j) {
        if (!j)
                return NULL;
        erase_and_free(j->new_password);
        erase_and_free(j->new_hash);
        free(j);
        return NULL;
}

void password_job_work(void *userdata) {
        PasswordJob *j = userdata;

        j->hash_result = j->new_password ? password_hash(j->new_password, j->prefix, j->cost, &j->new_hash) : -EINVAL;
}

static void job_done(void *userdata) {
        PasswordJob *j = userdata;
        j->done(j, j->userdata);
}

int password_job_submit(WorkerPool *p, PasswordJob *j) {
        return worker_pool_submit(p, password_job_work, job_done, j);
}
