/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sender: a thread of its own, with a store connection of its own,
 * that takes the mails due from the outbox and sends them (to the relay,
 * or into the development folder), never on the main loop.
 *
 * It sleeps until the next mail is due or mail_sender_wake() says one was
 * queued; at start it sends what a crash left in the outbox. A mail that
 * could not be sent is tried again after a back-off (mail-backoff.h) and,
 * after the last attempt, marked failed and audited. At shutdown an
 * attempt under way is abandoned and the mail stays queued: nothing is
 * lost, though a mail the relay had taken just then may go out twice at
 * the next start (at least once, never lost). */

#include <stdatomic.h>

#include "mail-backoff.h"
#include "mail-smtp.h"
#include "secret-box.h"
#include "store-mail.h"
#include "store-pool.h"

/* Live counters for /metrics: attempts that delivered, that will be tried
 * again, and mails given up. */
typedef struct MailCounterSet {
        _Atomic uint64_t sent;
        _Atomic uint64_t deferred;
        _Atomic uint64_t failed;
} MailCounterSet;

/* Everything a delivery needs; borrowed, alive while the sender runs. */
typedef struct MailDelivery {
        const char *from;                     /* the envelope and header sender */
        const MailRelay *relay;               /* NULL: write into outbox_directory */
        const char *outbox_directory;
        const SecretKey *key;                 /* opens the sealed bodies */
        MailRetryPolicy retry;
        MailCounterSet *counters;
        const atomic_bool *stop;              /* set: abandon the attempt under way */
} MailDelivery;

/* The sealing context of a body: bound to the mail, so that a sealed body
 * copied into another row does not open. buf needs 300 bytes. */
char *mail_body_context(const char *part, const char *message_id, char *buf, size_t size);

/* Delivers every mail due at now_usec from s, on the calling thread; the
 * thread uses it, and so do the tests. Failures of a delivery are recorded
 * in the outbox; a negative return means the store failed (try later). */
int mail_deliver_due(const MailDelivery *d, Store *s, int64_t now_usec);
/* One attempt at one queued mail, recorded: sent, deferred or failed. */
int mail_deliver_one(const MailDelivery *d, Store *s, const OutboxMail *m, int64_t now_usec);

typedef struct MailSender MailSender;

/* Opens its own connection to the database and starts the thread, which
 * first sends whatever is due. d is copied; what it points to must stay. */
int mail_sender_start(const MailDelivery *d, StorePool *pool, MailSender **ret);
/* A mail was queued (perhaps in a transaction not yet committed: the
 * sender waits for the write lock before it looks). From any thread. */
void mail_sender_wake(MailSender *s);
/* Stops the thread, abandoning an attempt under way, and frees. */
MailSender *mail_sender_free(MailSender *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(MailSender *, mail_sender_free);
