/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Mail from tesserad: verification links, password resets, invitations.
 *
 * A core operation queues a mail inside its own transaction, so that "user
 * created" and "verification mail queued" commit together or not at all:
 * mail_queue() renders the template (mail-template.h) with the tenant's
 * name and the mail's values, checks every header value (no line breaks:
 * no header injection), seals the bodies with the secret key (they hold
 * single-use links) and adds the mail to the outbox table. The sender
 * (mail-sender.h) takes it from there on its own thread: to the relay
 * ([mail] relay, SMTP with libcurl) or, in development, into a folder
 * ([mail] outbox_directory). A mail queued before a crash is sent after
 * the restart.
 *
 * mail_queue() never waits on the network and may be called from any
 * thread with that thread's store connection. */

#include <stdbool.h>
#include <stdint.h>

#include "change.h"
#include "mail-sender.h"
#include "mail-template.h"
#include "manager.h"

/* The systemd credential that holds the relay's password
 * (LoadCredential=tessera.smtp-password:...), read when [mail]
 * password_file is not set. */
#define MAIL_PASSWORD_CREDENTIAL "tessera.smtp-password"
/* The longest link a mail carries. */
#define MAIL_LINK_MAX_LEN 2048

typedef struct MailMessage {
        MailTemplateId template;
        const char *tenant;           /* slug */
        const char *tenant_name;      /* display name; NULL or "": the slug */
        const char *recipient;        /* one address, ASCII */
        const char *user;             /* whom the mail greets; NULL: the recipient */
        const char *link;             /* http:// or https://; NULL for a mail without one */
        uint64_t expires_sec;         /* how long the link works; 0: not said */
} MailMessage;

/* For /metrics. */
typedef struct MailCounters {
        uint64_t sent;                /* delivered to the relay (or the folder) */
        uint64_t deferred;            /* attempts that failed and will be retried */
        uint64_t failed;              /* mails given up after the last attempt */
} MailCounters;

/* Loads the templates (refusing bad ones with file:line), reads the relay's
 * password, and starts the sender when a relay or a folder is configured.
 * Sets m->mail. Needs the store, the secret key and the blocked signals of
 * manager_start(). */
int mail_start(Manager *m);
/* The part of mail_start() before the thread: templates and settings,
 * for m->mail. */
int mail_new(Manager *m, Mail **ret);
/* What the sender delivers with (for a delivery on another thread, tests). */
void mail_delivery(const Manager *m, MailDelivery *ret);
/* Stops the sender (an attempt under way is abandoned; its mail stays
 * queued) and frees. */
Mail *mail_free(Mail *mail);
DEFINE_TRIVIAL_CLEANUP_FUNC(Mail *, mail_free);

/* True when mails go somewhere: a relay or a development folder. */
bool mail_enabled(const Manager *m);

/* Queues a mail inside the caller's transaction (or alone, outside one)
 * on s. -EOPNOTSUPP when mail is not configured, -EINVAL for a bad
 * address, link or value; the store's errors otherwise. Nothing is logged
 * or audited: that is the caller's change's business. */
int mail_queue(Manager *m, Store *s, const MailMessage *msg, int64_t *ret_id, TesseraError *e);

/* The operation behind Manager.SendTestMail: a "test" mail for tenant
 * (empty: the host's default) to recipient, authorized (POLICY_MAIL_TEST)
 * and audited as "mail.test". *ret_id is the outbox id. */
int mail_send_test(Manager *m, Store *s, const Principal *p, const char *tenant, const char *recipient,
                   int64_t *ret_id, TesseraError *e);

void mail_get_counters(const Manager *m, MailCounters *ret);

/* Tells the sender that a mail was committed (by a writer that queued it
 * in a transaction committed later, the batch writer's): it looks at the
 * outbox now instead of at its next due time. */
void mail_wake(Manager *m);

/* What --check-config can check of [mail] without starting: the templates. */
int mail_check_config(const Config *c);
