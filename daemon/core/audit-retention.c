/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audit-retention.h"

#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <sys/stat.h>

#include "log.h"
#include "time-util.h"

/* An event stays open for repeats for AUDIT_MERGE_WINDOW_USEC; a little
 * more keeps it from a repeat stamped a moment earlier on another thread. */
#define HOLD_MARGIN_USEC (5 * USEC_PER_SEC)

struct AuditRetention {
        AuditRetentionOptions options;
        char *export_file;
        Store *store;
        pthread_t thread;
        bool thread_started;

        pthread_mutex_t mutex;
        pthread_cond_t wake;      /* on CLOCK_MONOTONIC */
        bool stopping;
};

static json_t *event_to_json(const AuditEvent *e) {
        json_t *details = e->details ? json_loads(e->details, 0, NULL) : NULL;

        /* Details are JSON objects by contract; anything else is kept as text. */
        if (!details && e->details)
                details = json_string(e->details);
        /* An operator's doing, and an impersonation's reason, go to the
         * archive too: the tenant's owners may need them after the rows. */
        return json_pack("{s:I, s:I, s:I, s:I, s:s?, s:o?, s:s?, s:s?, s:s?, s:s?, s:s, s:s?, s:o?, s:s?, s:s?}",
                         "id", (json_int_t) e->id,
                         "time_usec", (json_int_t) e->time_usec,
                         "last_usec", (json_int_t) e->last_usec,
                         "count", (json_int_t) e->count,
                         "channel", e->channel,
                         "actor_uid", e->actor_uid >= 0 ? json_integer(e->actor_uid) : NULL,
                         "actor", e->actor,
                         "action", e->action,
                         "tenant", e->tenant,
                         "target", e->target,
                         "result", audit_result_to_string(e->result),
                         "remote", e->remote,
                         "details", details,
                         "operator", e->operator_name,
                         "reason", e->reason);
}

static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Makes a new file's name durable too. */
static int sync_directory_of(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_(closep) int fd = -EBADF;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Appends the events as JSON lines and syncs them to disk. */
static int export_events(const char *path, const AuditEvent *events, size_t n) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(closep) int fd = -EBADF;
        size_t len = 0;
        FILE *f;
        struct stat st;
        int r;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *j = event_to_json(&events[i]);
                r = j ? json_dumpf(j, f, JSON_COMPACT) : -1;
                json_decref(j);
                if (r < 0 || fputc('\n', f) == EOF) {
                        fclose(f);
                        return -ENOMEM;
                }
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        r = write_all(fd, buf, len);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        return st.st_size == 0 ? sync_directory_of(path) : 0;
}

int audit_prune(Store *s, const AuditRetentionOptions *o, int64_t now_usec, AuditPruneContinue more,
                void *userdata, uint64_t *ret_pruned) {
        AuditPrune p = {
                .before_usec = o->max_age_usec > 0 ? now_usec - (int64_t) o->max_age_usec : 0,
                .max_rows = o->max_rows,
                .hold_usec = now_usec - (int64_t) (AUDIT_MERGE_WINDOW_USEC + HOLD_MARGIN_USEC),
        };
        uint64_t total = 0;
        int r = 0;

        if (o->max_age_usec == 0 && o->max_rows == 0) {
                *ret_pruned = 0;
                return 0;
        }

        for (;;) {
                _cleanup_(store_rollbackp) Store *txn = NULL;
                AuditEvent *events = NULL;
                uint64_t deleted = 0;
                size_t n = 0;

                /* Read (and export) outside the write lock. */
                r = store_audit_prunable(s, &p, AUDIT_PRUNE_BATCH, &events, &n);
                if (r < 0)
                        break;
                if (n == 0) {
                        audit_event_array_free(events, n);
                        break;
                }
                if (o->export_file) {
                        r = export_events(o->export_file, events, n);
                        if (r < 0) {
                                log_error_errno(r, "Failed to export audit events to %s, keeping them: %m",
                                                o->export_file);
                                audit_event_array_free(events, n);
                                break;
                        }
                }
                r = store_begin(s);
                if (r >= 0) {
                        txn = s;
                        r = store_audit_delete(s, events[0].id, events[n - 1].id, &deleted);
                }
                if (r >= 0)
                        r = store_commit(TAKE_PTR(txn));
                audit_event_array_free(events, n);
                if (r < 0) {
                        log_error_errno(r, "Failed to delete old audit events: %m");
                        break;
                }
                total += deleted;
                if (more && !more(userdata))
                        break;
        }

        *ret_pruned = total;
        return r;
}

/* -- the thread ------------------------------------------------------------------ */

/* Waits up to usec or until stopped; false when stopped. */
static bool retention_sleep(AuditRetention *a, uint64_t usec) {
        uint64_t deadline = now_monotonic_usec() + usec;
        struct timespec ts = {
                .tv_sec = (time_t) (deadline / USEC_PER_SEC),
                .tv_nsec = (long) (deadline % USEC_PER_SEC * NSEC_PER_USEC),
        };
        bool go_on;

        pthread_mutex_lock(&a->mutex);
        while (!a->stopping && pthread_cond_timedwait(&a->wake, &a->mutex, &ts) == 0)
                ;
        go_on = !a->stopping;
        pthread_mutex_unlock(&a->mutex);
        return go_on;
}

static bool between_batches(void *userdata) {
        AuditRetention *a = userdata;

        return retention_sleep(a, a->options.pause_usec);
}

static void *retention_main(void *arg) {
        AuditRetention *a = arg;

        do {
                uint64_t pruned = 0, start = now_monotonic_usec();
                int r;

                r = audit_prune(a->store, &a->options, now_realtime_usec(), between_batches, a,
                                &pruned);
                if (pruned > 0)
                        log_info("Audit retention: deleted %" PRIu64 " old events%s%s in %" PRIu64 " ms%s.", pruned,
                                 a->options.export_file ? " after exporting them to " : "",
                                 strempty(a->options.export_file),
                                 (now_monotonic_usec() - start) / USEC_PER_MSEC,
                                 r < 0 ? ", then stopped on an error" : "");
        } while (retention_sleep(a, a->options.interval_usec));
        return NULL;
}

int audit_retention_start(StorePool *pool, const AuditRetentionOptions *o, AuditRetention **ret) {
        _cleanup_(audit_retention_freep) AuditRetention *a = NULL;
        pthread_condattr_t attr;
        int r;

        a = calloc(1, sizeof(AuditRetention));
        if (!a)
                return -ENOMEM;
        pthread_mutex_init(&a->mutex, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&a->wake, &attr);
        pthread_condattr_destroy(&attr);
        a->options = *o;
        if (o->export_file) {
                a->export_file = strdup(o->export_file);
                if (!a->export_file)
                        return -ENOMEM;
                a->options.export_file = a->export_file;
        }

        r = store_pool_open(pool, &a->store);
        if (r < 0)
                return r;
        r = pthread_create(&a->thread, NULL, retention_main, a);
        if (r != 0)
                return -r;
        a->thread_started = true;

        *ret = TAKE_PTR(a);
        return 0;
}

AuditRetention *audit_retention_free(AuditRetention *a) {
        if (!a)
                return NULL;
        pthread_mutex_lock(&a->mutex);
        a->stopping = true;
        pthread_cond_broadcast(&a->wake);
        pthread_mutex_unlock(&a->mutex);
        if (a->thread_started)
                pthread_join(a->thread, NULL);
        store_close(a->store);
        pthread_cond_destroy(&a->wake);
        pthread_mutex_destroy(&a->mutex);
        free(a->export_file);
        free(a);
        return NULL;
}
