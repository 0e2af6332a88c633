/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mail.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "escape.h"
#include "log.h"
#include "mail-message.h"
#include "mail-sender.h"
#include "mail-smtp.h"
#include "names.h"
#include "store-mail.h"
#include "tenant.h"
#include "token.h"

/* A password file holds one line; longer is surely the wrong file. */
#define PASSWORD_MAX_LEN 1024
/* A subject longer than this reads as a mistake in a template. */
#define SUBJECT_MAX_LEN 250

struct Mail {
        MailTemplates *templates;
        char *from;
        const char *domain;           /* of from: the right side of message ids */
        MailRelay relay;
        char *password;
        bool use_relay;
        char *outbox_directory;
        MailRetryPolicy retry;
        bool curl_initialized;
        MailCounterSet counters;
        MailSender *sender;
};

bool mail_enabled(const Manager *m) {
        return m->mail && (m->mail->use_relay || m->mail->outbox_directory);
}

void mail_wake(Manager *m) {
        if (m->mail && m->mail->sender)
                mail_sender_wake(m->mail->sender);
}

void mail_get_counters(const Manager *m, MailCounters *ret) {
        if (!m->mail) {
                *ret = (MailCounters) {};
                return;
        }
        *ret = (MailCounters) {
                .sent = atomic_load(&m->mail->counters.sent),
                .deferred = atomic_load(&m->mail->counters.deferred),
                .failed = atomic_load(&m->mail->counters.failed),
        };
}

int mail_check_config(const Config *c) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;

        return mail_templates_load(c->mail_template_directory, &t);
}

/* -- start and stop -------------------------------------------------------------------------- */

/* The relay's password: [mail] password_file, else the systemd credential.
 * Like the secret key, a file that anybody may read is refused. */
static int read_password(const Config *c, char **ret) {
        _cleanup_free_ char *credential = NULL;
        _cleanup_(erase_and_freep) char *buf = NULL;
        _cleanup_(closep) int fd = -EBADF;
        const char *path = c->mail_password_file, *dir;
        struct stat st;
        ssize_t n;

        if (!path) {
                dir = secure_getenv("CREDENTIALS_DIRECTORY");
                if (isempty(dir) || asprintf(&credential, "%s/%s", dir, MAIL_PASSWORD_CREDENTIAL) < 0)
                        return log_error_errno(-ENOENT,
                                               "[mail] username is set, but there is no password: set [mail] "
                                               "password_file, or pass the systemd credential %s.",
                                               MAIL_PASSWORD_CREDENTIAL);
                path = credential;
        }

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open the relay's password %s: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "%s is not a regular file.", path);
        if (st.st_mode & S_IROTH)
                return log_error_errno(-EPERM, "%s may be read by anybody; refusing to use the password in it "
                                               "(chmod o-r).", path);
        buf = calloc(1, PASSWORD_MAX_LEN + 2);
        if (!buf)
                return log_oom();
        n = read(fd, buf, PASSWORD_MAX_LEN + 1);
        if (n < 0)
                return log_error_errno(-errno, "Failed to read %s: %m", path);
        if (n > PASSWORD_MAX_LEN)
                return log_error_errno(-EINVAL, "%s holds more than %d bytes: is it the right file?", path,
                                       PASSWORD_MAX_LEN);
        buf[strcspn(buf, "\r\n")] = '\0';
        if (buf[0] == '\0')
                return log_error_errno(-EINVAL, "%s holds no password.", path);
        *ret = TAKE_PTR(buf);
        return 0;
}

static int make_outbox_directory(const char *path) {
        struct stat st;

        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create the mail folder %s: %m", path);
        if (stat(path, &st) < 0)
                return log_error_errno(-errno, "Failed to stat the mail folder %s: %m", path);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(-ENOTDIR, "[mail] outbox_directory %s is not a directory.", path);
        return 0;
}

static void log_waiting(Manager *m) {
        uint64_t n = 0;

        if (store_outbox_count(m->store, OUTBOX_QUEUED, &n) >= 0 && n > 0)
                log_warning("%" PRIu64 " mail%s wait%s in the outbox, but [mail] has neither relay nor "
                            "outbox_directory: they go out once one is set.", n, n == 1 ? "" : "s",
                            n == 1 ? "s" : "");
}

int mail_new(Manager *m, Mail **ret) {
        const Config *c = m->config;
        _cleanup_(mail_freep) Mail *mail = NULL;
        int r;

        mail = calloc(1, sizeof(Mail));
        if (!mail)
                return log_oom();
        r = mail_templates_load(c->mail_template_directory, &mail->templates);
        if (r < 0)
                return log_error_errno(r, "The mail templates are not usable; fix them or unset [mail] "
                                          "template_directory.");
        mail->retry = (MailRetryPolicy) {
                .initial_usec = c->mail_retry_initial * USEC_PER_SEC,
                .max_usec = c->mail_retry_max * USEC_PER_SEC,
                .max_attempts = c->mail_max_attempts,
        };
        if (!c->mail_relay && !c->mail_outbox_directory) {
                *ret = TAKE_PTR(mail);
                return 0;
        }

        mail->from = strdup(c->mail_from);
        if (!mail->from)
                return log_oom();
        mail->domain = strchr(mail->from, '@') + 1;

        if (c->mail_relay) {
                if (c->mail_username) {
                        r = read_password(c, &mail->password);
                        if (r < 0)
                                return r;
                }
                r = mail_smtp_global_init();
                if (r < 0)
                        return r;
                mail->curl_initialized = true;
                mail->use_relay = true;
                mail->relay = (MailRelay) {
                        .url = c->mail_relay,
                        .username = c->mail_username,
                        .password = mail->password,
                        .ca_file = c->mail_ca_file,
                        .timeout_sec = c->mail_timeout,
                };
        } else {
                mail->outbox_directory = strdup(c->mail_outbox_directory);
                if (!mail->outbox_directory)
                        return log_oom();
                r = make_outbox_directory(mail->outbox_directory);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(mail);
        return 0;
}

void mail_delivery(const Manager *m, MailDelivery *ret) {
        Mail *mail = m->mail;

        *ret = (MailDelivery) {
                .from = mail->from,
                .relay = mail->use_relay ? &mail->relay : NULL,
                .outbox_directory = mail->outbox_directory,
                .key = m->secret_key,
                .retry = mail->retry,
                .counters = &mail->counters,
        };
}

int mail_start(Manager *m) {
        MailDelivery d;
        int r;

        r = mail_new(m, &m->mail);
        if (r < 0)
                return r;
        if (!mail_enabled(m)) {
                log_debug("Mail: neither [mail] relay nor outbox_directory is set: no mail is sent.");
                log_waiting(m);
                return 0;
        }

        mail_delivery(m, &d);
        r = mail_sender_start(&d, m->store_pool, &m->mail->sender);
        if (r < 0)
                return log_error_errno(r, "Failed to start the mail sender: %m");

        if (m->mail->use_relay)
                log_info("Mail: from %s through %s%s.", m->mail->from, m->config->mail_relay,
                         mail_relay_is_loopback(m->config->mail_relay) || strneq(m->config->mail_relay, "smtps:", 6)
                                 ? ""
                                 : " (STARTTLS required)");
        else
                log_info("Mail: from %s, written as .eml files into %s (development: nothing is sent).",
                         m->mail->from, m->mail->outbox_directory);
        return 0;
}

Mail *mail_free(Mail *mail) {
        if (!mail)
                return NULL;
        /* The thread first: it reads everything below. */
        mail->sender = mail_sender_free(mail->sender);
        if (mail->curl_initialized)
                mail_smtp_global_done();
        mail_templates_free(mail->templates);
        erase_and_free(mail->password);
        free(mail->from);
        free(mail->outbox_directory);
        free(mail);
        return NULL;
}

/* -- queueing ------------------------------------------------------------------------------- */

/* A link for a mail: http(s), printable ASCII without spaces, quotes or
 * angle brackets, bounded. */
static bool link_valid(const char *s) {
        if (!strneq(s, "https://", 8) && !strneq(s, "http://", 7))
                return false;
        if (strlen(s) > MAIL_LINK_MAX_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p > '~' || strchr("\"'<>\\`", *p))
                        return false;
        return true;
}

/* "24 hours", "30 minutes", "7 days": the largest unit that divides it. */
static void format_expiry(uint64_t sec, char *buf, size_t size) {
        static const struct {
                uint64_t seconds;
                const char *one, *many;
        } units[] = {
                { 86400, "day", "days" },
                { 3600, "hour", "hours" },
                { 60, "minute", "minutes" },
                { 1, "second", "seconds" },
        };

        buf[0] = '\0';
        if (sec == 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (sec % units[i].seconds == 0) {
                        uint64_t n = sec / units[i].seconds;
                        snprintf(buf, size, "%" PRIu64 " %s", n, n == 1 ? units[i].one : units[i].many);
                        return;
                }
}

static int seal_body(const Manager *m, const char *part, const char *message_id, const char *body, uint8_t **ret,
                     size_t *ret_len) {
        char context[300];

        return secret_box_seal(m->secret_key, mail_body_context(part, message_id, context, sizeof(context)), body,
                               strlen(body), ret, ret_len);
}

int mail_queue(Manager *m, Store *s, const MailMessage *msg, int64_t *ret_id, TesseraError *e) {
        _cleanup_(mail_rendered_done) MailRendered out = {};
        _cleanup_free_ uint8_t *text_box = NULL, *html_box = NULL;
        size_t text_len = 0, html_len = 0;
        const char *template = mail_template_to_string(msg->template);
        const char *tenant_name = isempty(msg->tenant_name) ? msg->tenant : msg->tenant_name;
        char expires[64], hex[33], message_id[300];
        int r;

        if (!mail_enabled(m))
                return tessera_error_set(e, -EOPNOTSUPP, "Mail is not set up on this host: set [mail] relay (or, "
                                                         "in development, outbox_directory) in tesserad.conf.");
        if (!template)
                return tessera_error_set(e, -EINVAL, "There is no such mail template.");
        /* Checked here, not only where a face read it: nothing that could
         * end a header line goes into one (header injection). */
        if (!mail_address_valid(msg->recipient))
                return tessera_error_set(e, -EINVAL,
                                         "'%.64s' is not an e-mail address tessera can send to: one address, "
                                         "ASCII, without spaces or line breaks.",
                                         strempty(msg->recipient));
        if (!mail_header_text_valid(strempty(tenant_name)) || (msg->user && !mail_header_text_valid(msg->user)))
                return tessera_error_set(e, -EINVAL, "A name for the mail holds a line break or a control character.");
        if (msg->link && !link_valid(msg->link))
                return tessera_error_set(e, -EINVAL, "The mail's link must be an http:// or https:// URL of at most "
                                                     "%d characters, without spaces or quotes.",
                                         MAIL_LINK_MAX_LEN);

        format_expiry(msg->expires_sec, expires, sizeof(expires));
        MailParams p = {
                .tenant = tenant_name,
                .tenant_slug = msg->tenant,
                .user = msg->user ?: msg->recipient,
                .email = msg->recipient,
                .link = msg->link,
                .expires = expires,
        };
        r = mail_templates_render(m->mail->templates, msg->template, &p, &out);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to render the mail template %s.", template);
        if (!mail_header_text_valid(out.subject) || strlen(out.subject) > SUBJECT_MAX_LEN)
                return tessera_error_set(e, -EINVAL,
                                         "The subject of the mail %s would be longer than %d bytes or hold a "
                                         "control character.",
                                         template, SUBJECT_MAX_LEN);

        /* Unique, and the same on every attempt: receivers drop repeats. */
        r = token_random_hex(16, hex, sizeof(hex));
        if (r < 0)
                return tessera_error_set(e, r, "Failed to make a message id.");
        snprintf(message_id, sizeof(message_id), "%s.tessera@%s", hex, m->mail->domain);

        r = seal_body(m, "text", message_id, out.text, &text_box, &text_len);
        if (r >= 0)
                r = seal_body(m, "html", message_id, out.html, &html_box, &html_len);
        if (r >= 0) {
                OutboxMail row = {
                        .tenant = (char *) msg->tenant,
                        .template_name = (char *) template,
                        .recipient = (char *) msg->recipient,
                        .sender_name = (char *) tenant_name,
                        .subject = out.subject,
                        .message_id = message_id,
                        .body_text = text_box,
                        .body_text_len = text_len,
                        .body_html = html_box,
                        .body_html_len = html_len,
                };
                r = store_outbox_add(s, &row, ret_id);
        }
        if (r < 0)
                return tessera_error_set(e, r, "Failed to queue the mail %s to %.64s.", template, msg->recipient);

        mail_sender_wake(m->mail->sender);
        return 0;
}

int mail_send_test(Manager *m, Store *s, const Principal *p, const char *tenant, const char *recipient,
                   int64_t *ret_id, TesseraError *e) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *details = NULL;
        int64_t id = 0;
        int r;

        r = change_authorize(s, p, POLICY_MAIL_TEST, POLICY_TARGET_NONE, tenant, recipient, e);
        if (r < 0)
                return r;

        r = tenant_lookup(m, s, tenant, &t, e);
        if (r >= 0)
                r = change_begin(s, &txn, e);
        if (r >= 0) {
                MailMessage msg = {
                        .template = MAIL_TEMPLATE_TEST,
                        .tenant = t->slug,
                        .tenant_name = t->display_name,
                        .recipient = recipient,
                };
                r = mail_queue(m, s, &msg, &id, e);
        }
        if (r >= 0) {
                if (asprintf(&details, "{\"id\":%" PRId64 "}", id) < 0)
                        details = NULL;
                r = change_commit(&txn, p, "mail.test", t->slug, recipient, details, e);
        }
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, p, "mail.test", t ? t->slug : tenant, recipient, e);
                return r;
        }

        log_info("Queued test mail %" PRId64 " for %s to %s.", id, t->slug, ESC(recipient));
        if (ret_id)
                *ret_id = id;
        return 0;
}
