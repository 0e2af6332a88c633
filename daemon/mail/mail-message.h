/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One mail as it goes over the wire: an RFC 5322 message with Date,
 * Message-ID, From (the tenant's name and the configured address), To,
 * Subject (RFC 2047 encoded words when it isn't short ASCII) and
 * Auto-Submitted, and a MIME multipart/alternative body of text and HTML
 * (RFC 2045/2046), both UTF-8 in quoted-printable, lines ending in CR LF.
 * Quoted-printable keeps every line short and never leaves '=' literal, so
 * the boundary ("=_tessera_...") can't appear in a body; a '.' or "From "
 * at the start of a line is encoded too, for relays that mangle those
 * (curl dot-stuffs anyway).
 *
 * Header values are checked here too, whoever built them: a CR or LF (a
 * header injection) or any other control character is refused. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct MailContent {
        const char *from_address;     /* tessera@example.com */
        const char *from_name;        /* the tenant's display name; NULL or "": none */
        const char *to;               /* the recipient's address */
        const char *subject;
        const char *text;             /* lines end in "\n" */
        const char *html;
        const char *message_id;       /* without the angle brackets */
        int64_t date_usec;            /* CLOCK_REALTIME */
} MailContent;

/* The whole message, NUL-terminated. -EINVAL for an address, subject, name
 * or message id that can't go into a header. */
int mail_message_build(const MailContent *c, char **ret, size_t *ret_len);

/* An address that may go into an envelope and a header: valid_email()'s
 * rules, and ASCII only (tessera speaks no SMTPUTF8). */
bool mail_address_valid(const char *s);
/* Text that may go into a header: valid UTF-8 without control characters. */
bool mail_header_text_valid(const char *s);

/* RFC 5322 date-time in UTC: "Tue, 01 Jul 2025 12:00:00 +0000". buf needs 32
 * bytes. */
int mail_format_date(int64_t usec, char *buf, size_t size);

/* "Name: value" and CR LF, value as is when it is short printable ASCII,
 * else as RFC 2047 encoded words of whole UTF-8 characters, one per line. */
void mail_write_unstructured(FILE *f, const char *name, const char *value);
/* The display name of an address ("From: NAME <addr>"): a quoted string
 * when it is short printable ASCII, else encoded words. */
void mail_write_phrase(FILE *f, const char *value);
/* text in quoted-printable (RFC 2045 6.7), lines of at most 76 characters
 * ending in CR LF. */
void mail_write_quoted_printable(FILE *f, const char *text);
