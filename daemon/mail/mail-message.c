/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mail-message.h"

#include <openssl/evp.h>
#include <time.h>

#include "macro.h"
#include "names.h"
#include "time-util.h"

/* Bytes of text per encoded word: 39 bytes are 52 base64 characters, and
 * "=?UTF-8?B?" "?=" make a word of 64, so that "Subject: " and a word stay
 * within 78 characters (RFC 5322 2.1.1, RFC 2047 2: a word has at most 75). */
#define ENCODED_WORD_BYTES 39
/* Printable ASCII up to this length goes into a header as it is. */
#define PLAIN_HEADER_MAX 68
/* Characters of quoted-printable before a soft line break (76 with "="). */
#define QP_LINE_MAX 75

bool mail_address_valid(const char *s) {
        if (!valid_email(s))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p >= 0x80)
                        return false;
        return true;
}

bool mail_header_text_valid(const char *s) {
        if (!s || !utf8_is_valid(s))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int mail_format_date(int64_t usec, char *buf, size_t size) {
        static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        time_t t = (time_t) (usec / (int64_t) USEC_PER_SEC);
        struct tm tm;
        int n;

        /* By hand, not strftime(): its %a and %b follow the locale. */
        if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
                return -EINVAL;
        n = snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return n > 0 && (size_t) n < size ? 0 : -ENOBUFS;
}

static bool printable_ascii(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p > 0x7e)
                        return false;
        return true;
}

/* Encoded words of whole UTF-8 characters, separated by CR LF and a space
 * (folding whitespace, which a reader drops between encoded words). */
static void write_encoded_words(FILE *f, const char *value) {
        const char *p = value;
        bool first = true;

        do {
                unsigned char b64[4 * ((ENCODED_WORD_BYTES + 2) / 3) + 1];
                size_t n = 0;

                while (p[n]) {
                        size_t k = utf8_char_valid(p + n);
                        if (k == 0)
                                k = 1;     /* checked by the caller; never splits a byte */
                        if (n + k > ENCODED_WORD_BYTES)
                                break;
                        n += k;
                }
                EVP_EncodeBlock(b64, (const unsigned char *) p, (int) n);
                fprintf(f, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64);
                first = false;
                p += n;
        } while (*p);
}

void mail_write_unstructured(FILE *f, const char *name, const char *value) {
        fprintf(f, "%s: ", name);
        /* "=?" in a plain value could be read as the start of an encoded word. */
        if (printable_ascii(value) && strlen(value) <= PLAIN_HEADER_MAX && !strstr(value, "=?"))
                fputs(value, f);
        else
                write_encoded_words(f, value);
        fputs("\r\n", f);
}

void mail_write_phrase(FILE *f, const char *value) {
        if (printable_ascii(value) && strlen(value) <= PLAIN_HEADER_MAX && !strstr(value, "=?")) {
                fputc('"', f);
                for (const char *p = value; *p; p++) {
                        if (*p == '"' || *p == '\\')
                                fputc('\\', f);
                        fputc(*p, f);
                }
                fputc('"', f);
        } else
                write_encoded_words(f, value);
}

/* The start of a line that some relays and mailbox formats treat
 * specially: "." (the end of DATA) and "From " (mbox). */
static bool special_line_start(const char *p) {
        return *p == '.' || strneq(p, "From ", 5);
}

void mail_write_quoted_printable(FILE *f, const char *text) {
        size_t column = 0;

        for (const char *p = text; *p; p++) {
                unsigned char c = (unsigned char) *p;
                char token[4];
                size_t len;

                if (c == '\n' || (c == '\r' && p[1] == '\n')) {
                        if (c == '\r')
                                p++;
                        fputs("\r\n", f);
                        column = 0;
                        continue;
                }

                bool line_end = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
                if ((c >= 33 && c <= 126 && c != '=' && !(column == 0 && special_line_start(p))) ||
                    ((c == ' ' || c == '\t') && !line_end)) {
                        token[0] = (char) c;
                        token[1] = '\0';
                        len = 1;
                } else {
                        snprintf(token, sizeof(token), "=%02X", c);
                        len = 3;
                }
                if (column + len > QP_LINE_MAX) {
                        fputs("=\r\n", f);
                        column = 0;
                        /* A soft break starts a new line too. */
                        if (len == 1 && special_line_start(p)) {
                                snprintf(token, sizeof(token), "=%02X", c);
                                len = 3;
                        }
                }
                fputs(token, f);
                column += len;
        }
        /* The body ends with a line break, before the boundary's. */
        if (column > 0)
                fputs("\r\n", f);
}

static void write_part(FILE *f, const char *boundary, const char *type, const char *body) {
        fprintf(f,
                "--%s\r\n"
                "Content-Type: %s; charset=UTF-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n"
                "\r\n",
                boundary, type);
        mail_write_quoted_printable(f, body);
}

static bool message_id_valid(const char *s) {
        /* dot-atom-text "@" dot-atom-text, as we make them: hex@domain. */
        const char *at = s ? strchr(s, '@') : NULL;

        if (!at || at == s || strlen(s) > 255)
                return false;
        for (const char *p = s; *p; p++)
                if (!(p == at || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(".-_", *p)))
                        return false;
        return true;
}

int mail_message_build(const MailContent *c, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        char date[32], boundary[96];
        size_t n = 0;
        FILE *f;
        int r;

        if (!mail_address_valid(c->from_address) || !mail_address_valid(c->to) ||
            !mail_header_text_valid(c->subject) || (c->from_name && !mail_header_text_valid(c->from_name)) ||
            !message_id_valid(c->message_id) || !c->text || !c->html)
                return -EINVAL;
        r = mail_format_date(c->date_usec, date, sizeof(date));
        if (r < 0)
                return r;
        /* From the message id: the same mail gets the same bytes on every
         * attempt. "=_" never occurs in quoted-printable. */
        snprintf(boundary, sizeof(boundary), "=_tessera_%.*s", (int) MIN(strcspn(c->message_id, ".@"), (size_t) 64),
                 c->message_id);

        f = open_memstream(&buf, &n);
        if (!f)
                return -ENOMEM;
        fprintf(f, "Date: %s\r\n", date);
        fputs("From: ", f);
        if (!isempty(c->from_name)) {
                mail_write_phrase(f, c->from_name);
                fputc(' ', f);
        }
        fprintf(f, "<%s>\r\n", c->from_address);
        fprintf(f, "To: <%s>\r\n", c->to);
        mail_write_unstructured(f, "Subject", c->subject);
        fprintf(f, "Message-ID: <%s>\r\n", c->message_id);
        /* RFC 3834: made by a program; vacation responders stay quiet. */
        fputs("Auto-Submitted: auto-generated\r\n", f);
        fputs("MIME-Version: 1.0\r\n", f);
        fprintf(f, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", boundary);
        fputs("\r\n", f);
        fputs("This is a MIME message in two forms: text and HTML.\r\n\r\n", f);
        write_part(f, boundary, "text/plain", c->text);
        write_part(f, boundary, "text/html", c->html);
        fprintf(f, "--%s--\r\n", boundary);
        if (fclose(f) != 0)
                return -ENOMEM;

        *ret_len = n;
        *ret = TAKE_PTR(buf);
        return 0;
}
