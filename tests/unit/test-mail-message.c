/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/mail/mail-message.c: the RFC 5322 message: headers, encoded
 * words, quoted-printable, the MIME structure, and header injection. */

#include <openssl/evp.h>

#include "mail-message.h"
#include "names.h"
#include "test-util.h"

/* 2025-07-01 12:00:00 UTC, a Tuesday. */
#define JULY_FIRST_NOON (INT64_C(1751371200) * 1000000)

static const MailContent base = {
        .from_address = "noreply@example.com",
        .from_name = "Acme Corp",
        .to = "alice@example.org",
        .subject = "Confirm your e-mail address for Acme Corp",
        .text = "Hello Alice,\n\nopen https://id.example.com/v?t=abc&x=1\n",
        .html = "<p>Hello <b>Alice</b></p>\n",
        .message_id = "0123456789abcdef.tessera@example.com",
        .date_usec = JULY_FIRST_NOON,
};

static char *build(const MailContent *c) {
        char *m = NULL;
        size_t n = 0;

        ck_assert_int_eq(mail_message_build(c, &m, &n), 0);
        ck_assert_uint_eq(strlen(m), n);
        return m;
}

/* Not inlined: gcc then takes the buffer open_memstream() hands back for
 * one of this frame. */
static __attribute__((noinline)) char *capture(void (*write)(FILE *f, const char *s), const char *s) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        ck_assert_ptr_nonnull(f);
        write(f, s);
        fclose(f);
        return buf;
}

static void write_qp(FILE *f, const char *s) {
        mail_write_quoted_printable(f, s);
}

static void write_subject(FILE *f, const char *s) {
        mail_write_unstructured(f, "Subject", s);
}

/* Every line ends in CR LF, none is longer than max (without CR LF). */
static void assert_lines(const char *m, size_t max) {
        size_t column = 0;

        for (const char *p = m; *p; p++) {
                if (*p == '\n') {
                        ck_assert_msg(p > m && p[-1] == '\r', "bare LF at offset %zu", (size_t) (p - m));
                        ck_assert_msg(column - 1 <= max, "a line of %zu characters", column - 1);
                        column = 0;
                        continue;
                }
                ck_assert_msg(*p != '\r' || p[1] == '\n', "bare CR at offset %zu", (size_t) (p - m));
                column++;
        }
        ck_assert_uint_eq(column, 0);
}

/* Quoted-printable decoded again (soft breaks dropped, CR LF to LF). */
static char *qp_decode(const char *s) {
        char *out = malloc(strlen(s) + 1), *o = out;

        ck_assert_ptr_nonnull(out);
        for (const char *p = s; *p; p++) {
                if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
                        p += 2;
                } else if (p[0] == '=') {
                        unsigned v;
                        ck_assert_int_eq(sscanf(p + 1, "%2X", &v), 1);
                        *o++ = (char) v;
                        p += 2;
                } else if (p[0] == '\r' && p[1] == '\n') {
                        *o++ = '\n';
                        p++;
                } else
                        *o++ = *p;
        }
        *o = '\0';
        return out;
}

START_TEST(test_date) {
        char buf[32];

        ck_assert_int_eq(mail_format_date(JULY_FIRST_NOON, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "Tue, 01 Jul 2025 12:00:00 +0000");
        ck_assert_int_eq(mail_format_date(0, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
        ck_assert_int_eq(mail_format_date(INT64_C(951782400) * 1000000 + 999999, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "Tue, 29 Feb 2000 00:00:00 +0000");
        ck_assert_int_eq(mail_format_date(0, buf, 10), -ENOBUFS);
}
END_TEST

START_TEST(test_headers_and_structure) {
        _cleanup_free_ char *m = build(&base);
        const char *body = strstr(m, "\r\n\r\n");

        assert_lines(m, 78);
        ck_assert_ptr_nonnull(body);
        /* The headers, in the head. */
        ck_assert(strneq(m, "Date: Tue, 01 Jul 2025 12:00:00 +0000\r\n", 39));
        ck_assert_ptr_nonnull(strstr(m, "\r\nFrom: \"Acme Corp\" <noreply@example.com>\r\n"));
        ck_assert_ptr_nonnull(strstr(m, "\r\nTo: <alice@example.org>\r\n"));
        ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: Confirm your e-mail address for Acme Corp\r\n"));
        ck_assert_ptr_nonnull(strstr(m, "\r\nMessage-ID: <0123456789abcdef.tessera@example.com>\r\n"));
        ck_assert_ptr_nonnull(strstr(m, "\r\nAuto-Submitted: auto-generated\r\n"));
        ck_assert_ptr_nonnull(strstr(m, "\r\nMIME-Version: 1.0\r\n"));
        ck_assert_ptr_nonnull(strstr(m, "\r\nContent-Type: multipart/alternative;\r\n"
                                        " boundary=\"=_tessera_0123456789abcdef\"\r\n"));
        ck_assert(strstr(m, "Message-ID") < body);

        /* Text first, HTML last (the one a reader prefers), then the end. */
        const char *text = strstr(m, "--=_tessera_0123456789abcdef\r\n"
                                     "Content-Type: text/plain; charset=UTF-8\r\n"
                                     "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                     "Hello Alice,\r\n\r\nopen https://id.example.com/v?t=3Dabc&x=3D1\r\n");
        const char *html = strstr(m, "--=_tessera_0123456789abcdef\r\n"
                                     "Content-Type: text/html; charset=UTF-8\r\n"
                                     "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                     "<p>Hello <b>Alice</b></p>\r\n");
        ck_assert_ptr_nonnull(text);
        ck_assert_ptr_nonnull(html);
        ck_assert(body < text && text < html);
        const char *end = "--=_tessera_0123456789abcdef--\r\n";
        ck_assert(strlen(m) >= strlen(end));
        ck_assert_str_eq(m + strlen(m) - strlen(end), end);
}
END_TEST

START_TEST(test_same_bytes_every_attempt) {
        _cleanup_free_ char *a = build(&base), *b = build(&base);

        /* Retries send the very same message: receivers drop repeats by id. */
        ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(test_subject_encoded_words) {
        const char *subject = "Bestätigen Sie Ihre Adresse für Müller & Söhne GmbH – Zürich, ünd noch viel mehr Text";
        _cleanup_free_ char *h = capture(write_subject, subject);
        _cleanup_free_ char *decoded = calloc(1, strlen(subject) + 64);
        size_t n = 0;

        ck_assert_ptr_nonnull(decoded);
        assert_lines(h, 78);
        ck_assert(strneq(h, "Subject: =?UTF-8?B?", 19));
        /* Each word decodes to whole UTF-8 characters; together they are
         * the subject. */
        for (const char *p = strstr(h, "=?UTF-8?B?"); p; p = strstr(p, "=?UTF-8?B?")) {
                const char *start = p + 10, *end = strstr(start, "?=");
                unsigned char word[128];
                int len, pad = 0;

                ck_assert_ptr_nonnull(end);
                ck_assert_uint_le((size_t) (end + 2 - p), 75);
                len = EVP_DecodeBlock(word, (const unsigned char *) start, (int) (end - start));
                ck_assert_int_gt(len, 0);
                for (const char *q = end - 1; *q == '='; q--)
                        pad++;
                len -= pad;
                word[len] = '\0';
                ck_assert_msg(utf8_is_valid((const char *) word), "a word splits a character");
                memcpy(decoded + n, word, (size_t) len);
                n += (size_t) len;
                p = end + 2;
        }
        ck_assert_str_eq(decoded, subject);
}
END_TEST

START_TEST(test_subject_plain_when_short_ascii) {
        _cleanup_free_ char *a = capture(write_subject, "Reset your password");
        _cleanup_free_ char *b = capture(write_subject, "Looks like =?UTF-8?B?x?= but is not");
        _cleanup_free_ char *c = capture(write_subject, "A subject of plain ASCII that is much too long to stay on one "
                                                        "line of the header");

        ck_assert_str_eq(a, "Subject: Reset your password\r\n");
        /* Text that would read as an encoded word is encoded. */
        ck_assert(strneq(b, "Subject: =?UTF-8?B?", 19));
        ck_assert(strneq(c, "Subject: =?UTF-8?B?", 19));
        assert_lines(c, 78);
}
END_TEST

START_TEST(test_from_name_forms) {
        MailContent c = base;
        _cleanup_free_ char *quoted = NULL, *encoded = NULL, *none = NULL;

        c.from_name = "Acme \"Best\" \\ Corp";
        quoted = build(&c);
        ck_assert_ptr_nonnull(strstr(quoted, "\r\nFrom: \"Acme \\\"Best\\\" \\\\ Corp\" <noreply@example.com>\r\n"));

        c.from_name = "Müller AG";
        encoded = build(&c);
        ck_assert_ptr_nonnull(strstr(encoded, "\r\nFrom: =?UTF-8?B?TcO8bGxlciBBRw==?= <noreply@example.com>\r\n"));

        c.from_name = NULL;
        none = build(&c);
        ck_assert_ptr_nonnull(strstr(none, "\r\nFrom: <noreply@example.com>\r\n"));
}
END_TEST

START_TEST(test_quoted_printable) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "a=b", "a=3Db\r\n" },
                { "trailing space \ntab\t", "trailing space=20\r\ntab=09\r\n" },
                { ".a dot starts a line\n.", "=2Ea dot starts a line\r\n=2E\r\n" },
                { "From here\nnot From here", "=46rom here\r\nnot From here\r\n" },
                { "café", "caf=C3=A9\r\n" },
                { "cr\r\nlf", "cr\r\nlf\r\n" },
                { "lone\rcr", "lone=0Dcr\r\n" },
                { "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = capture(write_qp, cases[i].in);
                ck_assert_str_eq(s, cases[i].out);
        }
}
END_TEST

START_TEST(test_quoted_printable_long_lines) {
        _cleanup_free_ char *text = malloc(3000), *qp = NULL, *back = NULL;
        size_t n = 0;

        ck_assert_ptr_nonnull(text);
        /* Long lines of every kind of byte: soft breaks keep lines at 76,
         * never inside an =XX, and decoding gives the text back. */
        for (int line = 0; line < 3; line++) {
                for (int i = 0; i < 300; i++)
                        text[n++] = " .=ab\t"[i % 6];
                n += (size_t) sprintf(text + n, "ü€ ..");
                text[n++] = '\n';
        }
        text[n] = '\0';
        qp = capture(write_qp, text);
        assert_lines(qp, 76);
        for (const char *p = qp; (p = strchr(p, '=')); p++)
                ck_assert_msg(p[1] == '\r' || (strchr("0123456789ABCDEF", p[1]) && strchr("0123456789ABCDEF", p[2])),
                              "a broken escape");
        back = qp_decode(qp);
        ck_assert_str_eq(back, text);
}
END_TEST

START_TEST(test_header_injection_refused) {
        static const char *const subjects[] = {
                "Hello\r\nBcc: everyone@example.net", "Hello\nBcc: x@example.net", "Hello\rthere", "tab\there",
                "caf\xe9",
        };
        static const char *const addresses[] = {
                "alice@example.org\r\nBcc: everyone@example.net", "alice@example.org>", "<alice@example.org",
                "alice @example.org", "ålice@example.org", "alice", "",
        };
        MailContent c;
        char *m = NULL;
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(subjects); i++) {
                c = base;
                c.subject = subjects[i];
                ck_assert_int_eq(mail_message_build(&c, &m, &n), -EINVAL);
                c = base;
                c.from_name = subjects[i];
                ck_assert_int_eq(mail_message_build(&c, &m, &n), -EINVAL);
        }
        for (size_t i = 0; i < ELEMENTSOF(addresses); i++) {
                c = base;
                c.to = addresses[i];
                ck_assert_msg(mail_message_build(&c, &m, &n) == -EINVAL, "to '%s'", addresses[i]);
                c = base;
                c.from_address = addresses[i];
                ck_assert_msg(mail_message_build(&c, &m, &n) == -EINVAL, "from '%s'", addresses[i]);
        }
        c = base;
        c.message_id = "abc@example.com>\r\nBcc: x@example.net";
        ck_assert_int_eq(mail_message_build(&c, &m, &n), -EINVAL);
        ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_address_rules) {
        ck_assert(mail_address_valid("alice@example.org"));
        ck_assert(mail_address_valid("a.b+tag@sub.example.org"));
        ck_assert(!mail_address_valid("älice@example.org"));
        ck_assert(!mail_address_valid("alice@exämple.org"));
        ck_assert(!mail_address_valid("alice@example.org\n"));
        ck_assert(!mail_address_valid(NULL));
        ck_assert(mail_header_text_valid("Müller & Söhne"));
        ck_assert(!mail_header_text_valid("a\nb"));
        ck_assert(!mail_header_text_valid("a\x7f"));
}
END_TEST

int main(void) {
        Suite *s = suite_create("mail-message");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_date);
        tcase_add_test(tc, test_headers_and_structure);
        tcase_add_test(tc, test_same_bytes_every_attempt);
        tcase_add_test(tc, test_subject_encoded_words);
        tcase_add_test(tc, test_subject_plain_when_short_ascii);
        tcase_add_test(tc, test_from_name_forms);
        tcase_add_test(tc, test_quoted_printable);
        tcase_add_test(tc, test_quoted_printable_long_lines);
        tcase_add_test(tc, test_header_injection_refused);
        tcase_add_test(tc, test_address_rules);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
