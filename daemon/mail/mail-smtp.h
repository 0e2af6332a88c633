/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sending one message to the relay over SMTP, with libcurl, on the calling
 * thread (the mail sender's, never the main loop).
 *
 * TLS: an smtps:// relay speaks TLS from the start; an smtp:// relay must
 * offer STARTTLS (CURLUSESSL_ALL), or nothing is sent and the attempt fails
 * with a message that says so, unless the relay is on loopback (the URL
 * names localhost, 127.0.0.0/8 or [::1]): a local MTA needs no TLS. A
 * name that resolves to loopback is no exception: only the URL counts.
 * Certificates are verified, against the system's CAs or [mail] ca_file.
 *
 * The credentials never come from the URL or the configuration file (the
 * configuration refuses a URL with user information): the password is
 * read from a file or a systemd credential (mail.h). */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct MailRelay {
        const char *url;              /* smtp://host[:port][/helo-name] or smtps://... */
        const char *username;         /* NULL: no authentication */
        const char *password;
        const char *ca_file;          /* NULL: the system's CAs */
        unsigned timeout_sec;         /* for a whole attempt */
} MailRelay;

/* True when the URL's host is a loopback address or "localhost". */
bool mail_relay_is_loopback(const char *url);

/* One-time set-up of libcurl, before any thread sends; and its end. */
int mail_smtp_global_init(void);
void mail_smtp_global_done(void);

/* Sends message (len bytes, CR LF lines) from from to to. 0 when the relay
 * accepted it; -ECANCELED when *stop was set meanwhile (the attempt is
 * abandoned: the mail stays queued); another negative errno when the
 * attempt failed, with *ret_error (allocated) saying why for the log and
 * the outbox. */
int mail_smtp_send(const MailRelay *relay, const char *from, const char *to, const char *message, size_t len,
                   const atomic_bool *stop, char **ret_error);
