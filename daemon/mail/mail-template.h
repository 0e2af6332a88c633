/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Mail templates: for each kind of mail a subject, a text body and an HTML
 * body, with placeholders for the values of one mail. Built-in English
 * texts, each part overridable by a file in [mail] template_directory:
 * NAME.subject, NAME.txt, NAME.html (verify-email.txt, ...).
 *
 * Placeholder syntax: ${name} inserts a value, $$ a dollar sign; any other
 * '$' is an error. The names: tenant (the tenant's display name), tenant_slug,
 * user, email (the recipient), link, expires ("24 hours"). In the HTML body
 * values are HTML-escaped (& < > " '); in the subject and the text body they
 * are inserted as they are (they never hold control characters). A subject
 * is one line and may not hold ${link}: links carry single-use tokens, and
 * the subject is kept readable in the outbox and shows in every mail list.
 *
 * Templates are checked when they are loaded (at start): an unknown
 * placeholder, a lone '$', bytes that are not UTF-8 or control characters
 * are refused with file:line, so that a mistake stops the daemon instead of
 * a mail going out wrong. */

#include <stdbool.h>
#include <stdio.h>

#include "macro.h"

typedef enum MailTemplateId {
        MAIL_TEMPLATE_VERIFY_EMAIL,
        MAIL_TEMPLATE_RESET_PASSWORD,
        MAIL_TEMPLATE_INVITATION,
        MAIL_TEMPLATE_TEST,
        _MAIL_TEMPLATE_MAX,
        _MAIL_TEMPLATE_INVALID = -EINVAL,
} MailTemplateId;

typedef enum MailPart {
        MAIL_PART_SUBJECT,
        MAIL_PART_TEXT,
        MAIL_PART_HTML,
        _MAIL_PART_MAX,
} MailPart;

/* A template file holds at most this many bytes. */
#define MAIL_TEMPLATE_MAX_SIZE (64 * 1024)

/* The values of one mail; NULL renders as empty. */
typedef struct MailParams {
        const char *tenant;           /* display name */
        const char *tenant_slug;
        const char *user;
        const char *email;
        const char *link;
        const char *expires;
} MailParams;

typedef struct MailRendered {
        char *subject;
        char *text;
        char *html;
} MailRendered;
void mail_rendered_done(MailRendered *r);

typedef struct MailTemplates MailTemplates;

/* The built-in templates, overridden by the files found in directory (NULL:
 * the built-in ones only). Every template is checked; what is wrong is
 * logged as file:line and gives -EINVAL. */
int mail_templates_load(const char *directory, MailTemplates **ret);
MailTemplates *mail_templates_free(MailTemplates *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(MailTemplates *, mail_templates_free);

/* Renders one template with p. */
int mail_templates_render(const MailTemplates *t, MailTemplateId id, const MailParams *p, MailRendered *ret);

/* Checks one template text as loading does; path names it in the messages
 * (NULL: nothing is logged). */
int mail_template_check(const char *text, MailPart part, const char *path);
/* Expands a checked template text into f, escaping values for part. */
int mail_template_expand(const char *text, MailPart part, const MailParams *p, FILE *f);

/* "verify-email", ...; NULL for an invalid id. */
const char *mail_template_to_string(MailTemplateId id);
MailTemplateId mail_template_from_string(const char *s);
/* "subject", "txt", "html": the extension of a part's file. */
const char *mail_part_extension(MailPart part);

/* Writes s HTML-escaped. */
void mail_html_escape(const char *s, FILE *f);
