/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mail-sender.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>

#include "escape.h"
#include "log.h"
#include "mail-message.h"
#include "mail-spool.h"
#include "time-util.h"

/* Added to the longest attempt for the lease of a claimed mail. */
#define CLAIM_LEASE_MARGIN_SEC 60U
/* The longest sleep: also how often sent and failed mails are pruned, and
 * how soon a jump of the wall clock (next attempts are wall-clock times)
 * is noticed. */
#define MAX_SLEEP_USEC (5 * 60 * USEC_PER_SEC)
/* After the store failed (busy, full disk): try again in a moment. */
#define STORE_RETRY_USEC (1 * USEC_PER_SEC)
/* Sent and failed mails are kept this long (for "was it sent?"), then
 * deleted; their bodies are wiped at once. */
#define KEEP_FINISHED_USEC (30 * 24 * 3600 * USEC_PER_SEC)
#define PRUNE_INTERVAL_USEC (3600 * USEC_PER_SEC)

struct MailSender {
        MailDelivery delivery;
        Store *store;
        pthread_t thread;
        bool thread_started;

        pthread_mutex_t mutex;
        pthread_cond_t wake;      /* on CLOCK_MONOTONIC */
        bool woken;
        bool stopping;
        /* Read by curl's progress callback: abandons an attempt at shutdown. */
        atomic_bool stop;
};

char *mail_body_context(const char *part, const char *message_id, char *buf, size_t size) {
        snprintf(buf, size, "mail-%s:%s", part, message_id);
        return buf;
}

/* -- recording the outcome of an attempt ------------------------------------------------- */

static char *outcome_details(const OutboxMail *m, unsigned attempts, const char *error) {
        _cleanup_free_ char *s = NULL;
        json_t *j;

        j = json_pack("{s:I, s:s, s:i, s:s?}", "id", (json_int_t) m->id, "template", m->template_name, "attempts",
                      (int) attempts, "error", error);
        if (!j)
                return NULL;
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return TAKE_PTR(s);
}

/* The sender acts for nobody who asked: its events say "tesserad" on the
 * channel "mail". */
static int audit_outcome(Store *s, const OutboxMail *m, const char *action, AuditResult result, unsigned attempts,
                         const char *error) {
        _cleanup_free_ char *details = outcome_details(m, attempts, error);
        AuditEvent e = {
                .channel = "mail",
                .actor_uid = -1,
                .actor = "tesserad",
                .action = action,
                .tenant = m->tenant,
                .target = m->recipient,
                .result = result,
                .details = details,
        };

        return store_audit_append(s, &e);
}

typedef enum Outcome {
        OUTCOME_SENT,
        OUTCOME_DEFER,
        OUTCOME_FAIL,
} Outcome;

static int record(Store *s, const OutboxMail *m, Outcome o, int64_t now_usec,
                  int64_t next_usec, const char *error) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        unsigned attempts = m->attempts + 1;
        int r;

        r = store_begin(s);
        if (r < 0)
                return log_error_errno(r, "Failed to record the outcome of mail %" PRId64 ": %m", m->id);
        txn = s;
        switch (o) {
        case OUTCOME_SENT:
                r = store_outbox_mark_sent(s, m->id, now_usec);
                if (r >= 0)
                        r = audit_outcome(s, m, "mail.sent", AUDIT_SUCCESS, attempts, NULL);
                break;
        case OUTCOME_DEFER:
                r = store_outbox_defer(s, m->id, next_usec, error);
                break;
        case OUTCOME_FAIL:
                r = store_outbox_mark_failed(s, m->id, now_usec, error);
                if (r >= 0)
                        r = audit_outcome(s, m, "mail.failed", AUDIT_ERROR, attempts, error);
                break;
        }
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return log_error_errno(r, "Failed to record the outcome of mail %" PRId64 "%s: %m", m->id,
                                       o == OUTCOME_SENT ? " (it was sent and may go out again)" : "");
        return 0;
}

static void format_delay(uint64_t usec, char *buf, size_t size) {
        uint64_t sec = (usec + USEC_PER_SEC / 2) / USEC_PER_SEC;

        if (sec < 120)
                snprintf(buf, size, "%" PRIu64 " s", sec);
        else if (sec < 2 * 3600)
                snprintf(buf, size, "%" PRIu64 " min", sec / 60);
        else
                snprintf(buf, size, "%" PRIu64 " h %" PRIu64 " min", sec / 3600, sec / 60 % 60);
}

static int record_failure(const MailDelivery *d, Store *s, const OutboxMail *m, int64_t now_usec, const char *error,
                          bool permanent) {
        unsigned failures = m->attempts + 1;
        uint32_t random = 0;
        uint64_t delay;
        char when[32];
        int r;

        if (permanent || mail_backoff_exhausted(&d->retry, failures)) {
                r = record(s, m, OUTCOME_FAIL, now_usec, 0, error);
                if (r >= 0) {
                        atomic_fetch_add(&d->counters->failed, 1);
                        log_error("Mail %" PRId64 " (%s) to %s failed for good after %u attempt%s: %s", m->id,
                                  m->template_name, ESC(m->recipient), failures, failures == 1 ? "" : "s",
                                  ESC(error));
                }
                return r;
        }

        /* Jitter, no secret: before the kernel's pool is ready (EAGAIN,
         * early at boot) the microseconds of the clock spread retries
         * well enough. */
        if (getrandom(&random, sizeof(random), GRND_NONBLOCK) != (ssize_t) sizeof(random))
                random = (uint32_t) now_monotonic_usec();
        delay = mail_backoff_delay(&d->retry, failures, random);
        r = record(s, m, OUTCOME_DEFER, now_usec, now_usec + (int64_t) delay, error);
        if (r >= 0) {
                atomic_fetch_add(&d->counters->deferred, 1);
                format_delay(delay, when, sizeof(when));
                log_warning("Mail %" PRId64 " (%s) to %s not sent (attempt %u of %u), trying again in %s: %s", m->id,
                            m->template_name, ESC(m->recipient), failures, d->retry.max_attempts, when, ESC(error));
        }
        return r;
}

/* -- one attempt ---------------------------------------------------------------------------- */

static void secret_freep(char **p) {
        if (*p)
                erase_and_free(*p);
}

static int open_body(const MailDelivery *d, const OutboxMail *m, const char *part, const uint8_t *box, size_t len,
                     char **ret) {
        char context[300];
        uint8_t *plain = NULL;
        size_t n = 0;
        char *s;
        int r;

        if (!box)
                return -EBADMSG;
        r = secret_box_open(d->key, mail_body_context(part, m->message_id, context, sizeof(context)), box, len,
                            &plain, &n);
        if (r < 0)
                return r;
        s = malloc(n + 1);
        if (!s) {
                secret_free(plain, n);
                return -ENOMEM;
        }
        memcpy(s, plain, n);
        s[n] = '\0';
        secret_free(plain, n);
        *ret = s;
        return 0;
}

int mail_deliver_one(const MailDelivery *d, Store *s, const OutboxMail *m, int64_t now_usec) {
        _cleanup_(secret_freep) char *text = NULL, *html = NULL, *message = NULL;
        _cleanup_free_ char *error = NULL, *spooled = NULL;
        size_t len = 0;
        int r;

        r = open_body(d, m, "text", m->body_text, m->body_text_len, &text);
        if (r >= 0)
                r = open_body(d, m, "html", m->body_html, m->body_html_len, &html);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                /* Another key than the one that sealed it: no later attempt
                 * can do better. */
                return record_failure(d, s, m, now_usec,
                                      "its sealed body does not open with the secret key ([auth] key_file "
                                      "replaced since it was queued?)", true);

        MailContent c = {
                .from_address = d->from,
                .from_name = m->sender_name,
                .to = m->recipient,
                .subject = m->subject,
                .text = text,
                .html = html,
                .message_id = m->message_id,
                .date_usec = m->created_usec,
        };
        r = mail_message_build(&c, &message, &len);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return record_failure(d, s, m, now_usec, "it cannot be made into a message (an invalid header)",
                                      true);

        if (d->relay)
                r = mail_smtp_send(d->relay, d->from, m->recipient, message, len, d->stop, &error);
        else
                r = mail_spool_write(d->outbox_directory, m->id, m->created_usec, message, len, &spooled, &error);
        if (r == -ECANCELED) {
                log_info("Mail %" PRId64 " stays queued: tesserad is stopping.", m->id);
                /* Due again now, its claim given back: on PostgreSQL the
                 * lease would otherwise keep it from the next sender for
                 * the relay's timeout. Failing that, the lease runs out. */
                r = store_outbox_release(s, m->id, now_usec);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to give mail %" PRId64 " back to the queue; it goes out once "
                                          "its claim runs out: %m", m->id);
                return -ECANCELED;
        }
        if (r < 0)
                return record_failure(d, s, m, now_usec, error ?: strerror(-r), false);

        r = record(s, m, OUTCOME_SENT, now_usec, 0, NULL);
        if (r < 0)
                return r;
        atomic_fetch_add(&d->counters->sent, 1);
        if (spooled)
                log_info("Mail %" PRId64 " (%s) to %s written to %s.", m->id, m->template_name, ESC(m->recipient),
                         spooled);
        else
                log_info("Mail %" PRId64 " (%s) to %s sent.", m->id, m->template_name, ESC(m->recipient));
        return 0;
}

/* How long a claimed mail is left to this sender (store_outbox_claim()):
 * longer than one attempt can take. */
static int64_t claim_lease_usec(const MailDelivery *d) {
        unsigned attempt_sec = d->relay ? d->relay->timeout_sec : 0;

        return (int64_t) (MAX(attempt_sec, 60U) + CLAIM_LEASE_MARGIN_SEC) * (int64_t) USEC_PER_SEC;
}

int mail_deliver_due(const MailDelivery *d, Store *s, int64_t now_usec) {
        for (;;) {
                _cleanup_(outbox_mail_done) OutboxMail m = {};
                int r;

                if (d->stop && atomic_load(d->stop))
                        return 0;
                /* Under the write lock: a mail queued inside a transaction
                 * that was still open when the sender was woken is there
                 * once that transaction has committed. One mail at a time,
                 * claimed (the other instances' senders pass over it on
                 * PostgreSQL) in a transaction of its own, so that nothing
                 * is held while the relay answers. */
                r = store_begin(s);
                if (r < 0)
                        return r;
                r = store_outbox_claim(s, now_usec, claim_lease_usec(d), &m);
                if (r >= 0)
                        r = store_commit(s);
                else
                        store_rollback(s);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return log_error_errno(r, "Failed to read the mail outbox: %m");
                /* The mail leaves the due set (sent, deferred past now, or
                 * failed) unless the store fails: then stop and try later. */
                r = mail_deliver_one(d, s, &m, now_usec);
                if (r == -ECANCELED)
                        return 0;
                if (r < 0)
                        return r;
        }
}

/* -- the thread ------------------------------------------------------------------------------- */

/* Sleeps up to usec, until woken or stopped; false when stopped. */
static bool sender_sleep(MailSender *s, uint64_t usec) {
        uint64_t deadline = now_monotonic_usec() + usec;
        struct timespec ts = {
                .tv_sec = (time_t) (deadline / USEC_PER_SEC),
                .tv_nsec = (long) (deadline % USEC_PER_SEC * NSEC_PER_USEC),
        };
        bool go_on;

        pthread_mutex_lock(&s->mutex);
        while (!s->stopping && !s->woken && pthread_cond_timedwait(&s->wake, &s->mutex, &ts) == 0)
                ;
        s->woken = false;
        go_on = !s->stopping;
        pthread_mutex_unlock(&s->mutex);
        return go_on;
}

static void prune(MailSender *s, int64_t now_usec) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        uint64_t n = 0;
        int r;

        r = store_begin(s->store);
        if (r < 0)
                return;
        txn = s->store;
        r = store_outbox_prune(s->store, now_usec - (int64_t) KEEP_FINISHED_USEC, &n);
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                log_warning_errno(r, "Failed to delete old sent mails from the outbox: %m");
        else if (n > 0)
                log_info("Deleted %" PRIu64 " mails sent or failed more than 30 days ago from the outbox.", n);
}

/* How long to sleep: until the next mail is due, at most MAX_SLEEP_USEC. */
static uint64_t next_wait(MailSender *s) {
        int64_t next = 0, now;
        int r;

        r = store_outbox_next_attempt(s->store, &next);
        if (r == -ENOENT)
                return MAX_SLEEP_USEC;
        if (r < 0)
                return STORE_RETRY_USEC;
        now = now_realtime_usec();
        if (next <= now)
                return 0;
        return MIN((uint64_t) (next - now), MAX_SLEEP_USEC);
}

static void *sender_main(void *arg) {
        MailSender *s = arg;
        uint64_t last_prune = 0;
        sigset_t mask;

        /* A relay that closes the connection must not kill the daemon:
         * SIGPIPE for this thread's writes stays pending, and the write
         * fails with EPIPE instead. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGPIPE);
        (void) pthread_sigmask(SIG_BLOCK, &mask, NULL);

        for (;;) {
                uint64_t wait, mono = now_monotonic_usec();
                int r;

                r = mail_deliver_due(&s->delivery, s->store, now_realtime_usec());
                wait = r < 0 ? STORE_RETRY_USEC : next_wait(s);
                if (last_prune == 0 || mono - last_prune >= PRUNE_INTERVAL_USEC) {
                        prune(s, now_realtime_usec());
                        last_prune = mono;
                }
                if (!sender_sleep(s, wait))
                        break;
        }
        return NULL;
}

int mail_sender_start(const MailDelivery *d, StorePool *pool, MailSender **ret) {
        _cleanup_(mail_sender_freep) MailSender *s = NULL;
        pthread_condattr_t attr;
        int r;

        s = calloc(1, sizeof(MailSender));
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->mutex, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&s->wake, &attr);
        pthread_condattr_destroy(&attr);
        s->delivery = *d;
        s->delivery.stop = &s->stop;

        r = store_pool_open(pool, &s->store);
        if (r < 0)
                return r;
        r = pthread_create(&s->thread, NULL, sender_main, s);
        if (r != 0)
                return -r;
        s->thread_started = true;

        *ret = TAKE_PTR(s);
        return 0;
}

void mail_sender_wake(MailSender *s) {
        if (!s)
                return;
        pthread_mutex_lock(&s->mutex);
        s->woken = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mutex);
}

MailSender *mail_sender_free(MailSender *s) {
        if (!s)
                return NULL;
        atomic_store(&s->stop, true);
        pthread_mutex_lock(&s->mutex);
        s->stopping = true;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->mutex);
        if (s->thread_started)
                pthread_join(s->thread, NULL);
        store_close(s->store);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mutex);
        free(s);
        return NULL;
}
