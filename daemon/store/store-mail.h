/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mail outbox (mail.h): part of the narrow store interface of store.h,
 * kept in a header of its own. Same conventions: 0 or a negative errno,
 * -ENOENT when a record does not exist, out-parameters written only on
 * success.
 *
 * A mail is queued inside the transaction of the change it belongs to, so
 * that both commit or neither does; it stays until it was sent or failed
 * for good, whatever happens to the daemon meanwhile. Its bodies are
 * stored sealed (secret-box.h) and wiped once it is done. */

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef enum OutboxState {
        OUTBOX_QUEUED,
        OUTBOX_SENT,
        OUTBOX_FAILED,
        _OUTBOX_STATE_MAX,
        _OUTBOX_STATE_INVALID = -EINVAL,
} OutboxState;

typedef struct OutboxMail {
        int64_t id;                   /* set by the store */
        char *tenant;                 /* slug, copied: a mail outlives nothing it was about */
        char *template_name;          /* "verify-email", ... */
        char *recipient;
        char *sender_name;            /* the display name of From */
        char *subject;
        char *message_id;             /* without angle brackets; unique */
        uint8_t *body_text;           /* sealed; NULL once the mail is done */
        size_t body_text_len;
        uint8_t *body_html;
        size_t body_html_len;
        OutboxState state;
        uint32_t attempts;            /* attempts that failed, or the one that succeeded */
        int64_t next_attempt_usec;    /* CLOCK_REALTIME */
        char *last_error;
        int64_t created_usec;
        int64_t finished_usec;        /* when it was sent or given up; 0 while queued */
} OutboxMail;

void outbox_mail_done(OutboxMail *m);
void outbox_mail_array_free(OutboxMail *a, size_t n);

const char *outbox_state_to_string(OutboxState s);
OutboxState outbox_state_from_string(const char *s);

/* Queues m (state, attempts, last_error and finished are ignored; created
 * 0: now; next attempt 0: at once). */
int store_outbox_add(Store *s, const OutboxMail *m, int64_t *ret_id);
int store_outbox_get(Store *s, int64_t id, OutboxMail *ret);
/* Queued mails due at now_usec, the longest due first, at most limit. */
int store_outbox_due(Store *s, int64_t now_usec, size_t limit, OutboxMail **ret, size_t *ret_n);
/* The sender's way in: the longest due queued mail, claimed for one
 * attempt, in the caller's transaction (commit it before the attempt).
 * On PostgreSQL, where the senders of several tesserad share the outbox,
 * the claim is a lease: the mail is skipped by the others (FOR UPDATE SKIP
 * LOCKED, then its next attempt moved to now + lease_usec) until the
 * outcome is recorded or the lease is over (the sender died). SQLite
 * (one tesserad, one sender) reads it as it is. -ENOENT: none is due. */
int store_outbox_claim(Store *s, int64_t now_usec, int64_t lease_usec, OutboxMail *ret);
/* The earliest next attempt of a queued mail; -ENOENT when none is queued. */
int store_outbox_next_attempt(Store *s, int64_t *ret_usec);
/* How many mails are in state. */
int store_outbox_count(Store *s, OutboxState state, uint64_t *ret);

/* The end of an attempt of a queued mail (-ENOENT when it is not queued):
 * sent, deferred to next_attempt_usec, or failed for good. Each counts the
 * attempt; sent and failed wipe the bodies. */
int store_outbox_mark_sent(Store *s, int64_t id, int64_t now_usec);
int store_outbox_defer(Store *s, int64_t id, int64_t next_attempt_usec, const char *error);
int store_outbox_mark_failed(Store *s, int64_t id, int64_t now_usec, const char *error);

/* An attempt given up unfinished (tesserad is stopping): the queued mail
 * is due again at next_attempt_usec and no attempt is counted. On
 * PostgreSQL this ends the claim's lease, so that the next sender (this
 * tesserad restarted, or another instance) takes it at once rather than
 * when the lease is over. -ENOENT when the mail is no longer queued. */
int store_outbox_release(Store *s, int64_t id, int64_t next_attempt_usec);

/* Deletes sent and failed mails finished before before_usec. */
int store_outbox_prune(Store *s, int64_t before_usec, uint64_t *ret_n);
