/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/mail/mail-template.c: the built-in templates, placeholders and
 * their escaping, files that override them, and what a bad file gets. */

#include "mail-template.h"
#include "test-util.h"

static char *dir;

static void setup(void) {
        dir = test_mkdtemp();
}

static void teardown(void) {
        test_rm_rf(dir);
        dir = (free(dir), NULL);
}

static const MailParams params = {
        .tenant = "Acme Corp",
        .tenant_slug = "acme",
        .user = "Alice",
        .email = "alice@example.com",
        .link = "https://id.example.com/t/acme/verify?token=abc&x=1",
        .expires = "24 hours",
};

/* Loads the templates of dir; returns the result and what was logged. */
static int load(const char *directory, MailTemplates **ret, char **ret_log) {
        StderrCapture cap;
        char *log;
        int r;

        stderr_capture_start(&cap);
        r = mail_templates_load(directory, ret);
        log = stderr_capture_stop(&cap);
        if (ret_log)
                *ret_log = log;
        else
                free(log);
        return r;
}

START_TEST(test_builtin_templates_render) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;

        ck_assert_int_eq(load(NULL, &t, NULL), 0);
        for (MailTemplateId id = 0; id < _MAIL_TEMPLATE_MAX; id++) {
                _cleanup_(mail_rendered_done) MailRendered r = {};

                ck_assert_int_eq(mail_templates_render(t, id, &params, &r), 0);
                /* The tenant's name everywhere; subjects are one line. */
                ck_assert_ptr_nonnull(strstr(r.subject, "Acme Corp"));
                ck_assert_ptr_null(strchr(r.subject, '\n'));
                ck_assert_ptr_nonnull(strstr(r.text, "Acme Corp"));
                ck_assert_ptr_nonnull(strstr(r.html, "Acme Corp"));
                ck_assert_ptr_nonnull(strstr(r.html, "<html"));
                ck_assert_ptr_null(strstr(r.text, "${"));
                ck_assert_ptr_null(strstr(r.html, "${"));
                if (id != MAIL_TEMPLATE_TEST) {
                        /* Links as they are in text, escaped in HTML. */
                        ck_assert_ptr_nonnull(strstr(r.text, params.link));
                        ck_assert_ptr_nonnull(strstr(r.text, "24 hours"));
                        ck_assert_ptr_nonnull(strstr(r.html, "href=\"https://id.example.com/t/acme/verify?token=abc"
                                                             "&amp;x=1\""));
                        ck_assert_ptr_null(strstr(r.html, "abc&x=1"));
                }
        }
}
END_TEST

START_TEST(test_verify_email_text) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;
        _cleanup_(mail_rendered_done) MailRendered r = {};

        ck_assert_int_eq(load(NULL, &t, NULL), 0);
        ck_assert_int_eq(mail_templates_render(t, MAIL_TEMPLATE_VERIFY_EMAIL, &params, &r), 0);
        ck_assert_str_eq(r.subject, "Confirm your e-mail address for Acme Corp");
        ck_assert_ptr_nonnull(strstr(r.text, "Hello Alice,\n"));
        ck_assert_ptr_nonnull(strstr(r.text, "please confirm that alice@example.com is your e-mail address at Acme Corp"));
        ck_assert_ptr_nonnull(strstr(r.text, "\n-- \nAcme Corp\n"));
}
END_TEST

START_TEST(test_values_are_escaped_in_html_only) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;
        _cleanup_(mail_rendered_done) MailRendered r = {};
        MailParams p = params;

        p.tenant = "Smith & Sons <\"Best\"> 'Ltd'";
        ck_assert_int_eq(load(NULL, &t, NULL), 0);
        ck_assert_int_eq(mail_templates_render(t, MAIL_TEMPLATE_INVITATION, &p, &r), 0);
        ck_assert_str_eq(r.subject, "You are invited to Smith & Sons <\"Best\"> 'Ltd'");
        ck_assert_ptr_nonnull(strstr(r.text, "join Smith & Sons <\"Best\"> 'Ltd' as"));
        ck_assert_ptr_nonnull(strstr(r.html, "join Smith &amp; Sons &lt;&quot;Best&quot;&gt; &#39;Ltd&#39; as"));
        ck_assert_ptr_null(strstr(r.html, "<\"Best\">"));
}
END_TEST

START_TEST(test_expand_syntax) {
        static const struct {
                const char *text, *expected;
        } cases[] = {
                { "Price: $$5 for ${user}", "Price: $5 for Alice" },
                { "$$${tenant_slug}$$", "$acme$" },
                { "${email}", "alice@example.com" },
                { "no placeholders", "no placeholders" },
                { "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *buf = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&buf, &n);

                ck_assert_ptr_nonnull(f);
                ck_assert_int_eq(mail_template_expand(cases[i].text, MAIL_PART_TEXT, &params, f), 0);
                fclose(f);
                ck_assert_str_eq(buf, cases[i].expected);
        }
}
END_TEST

/* Each broken template is refused, and the message names file and line. */
START_TEST(test_check_names_file_and_line) {
        static const struct {
                const char *text;
                MailPart part;
                const char *message;
        } cases[] = {
                { "Hello\n\n${nope} there\n", MAIL_PART_TEXT, "t.txt:3: unknown placeholder ${nope}; known are "
                                                              "${tenant}, ${tenant_slug}, ${user}, ${email}, ${link}, "
                                                              "${expires}" },
                { "Hello ${User}\n", MAIL_PART_TEXT, "t.txt:1: '${' without its '}'" },
                { "one\ntwo $5\n", MAIL_PART_TEXT, "t.txt:2: a lone '$'" },
                { "ends in $", MAIL_PART_TEXT, "t.txt:1: a lone '$'" },
                { "${user", MAIL_PART_TEXT, "t.txt:1: '${' without its '}'" },
                { "Open ${link}", MAIL_PART_SUBJECT, "t.txt:1: ${link} may not be used in a subject" },
                { "Two\nlines", MAIL_PART_SUBJECT, "t.txt:1: a subject is one line" },
                { "a\nb\x01", MAIL_PART_HTML, "t.txt:2: control character 0x01" },
                { "caf\xe9", MAIL_PART_TEXT, "t.txt: not valid UTF-8" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                StderrCapture cap;
                _cleanup_free_ char *log = NULL;
                int r;

                stderr_capture_start(&cap);
                r = mail_template_check(cases[i].text, cases[i].part, "t.txt");
                log = stderr_capture_stop(&cap);
                ck_assert_msg(r == -EINVAL, "case %zu: %d", i, r);
                ck_assert_msg(strstr(log, cases[i].message), "case %zu: expected '%s' in: %s", i, cases[i].message,
                              log);
        }
        /* Good ones pass, in every part but as the subject allows. */
        ck_assert_int_eq(mail_template_check("${tenant} ${user} $$ ${expires}", MAIL_PART_SUBJECT, NULL), 0);
        ck_assert_int_eq(mail_template_check("<a href=\"${link}\">\t${link}</a>\n", MAIL_PART_HTML, NULL), 0);
}
END_TEST

START_TEST(test_directory_overrides_parts) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;
        _cleanup_(mail_rendered_done) MailRendered r = {}, other = {};
        _cleanup_free_ char *a = NULL, *b = NULL, *log = NULL;

        a = test_write_file(dir, "verify-email.subject", "Welcome to ${tenant}, ${user}!\n");
        /* Written on another system: CR LF. */
        b = test_write_file(dir, "verify-email.txt", "Hi ${user},\r\nclick ${link} (${expires}).\r\n");
        ck_assert_int_eq(load(dir, &t, &log), 0);

        ck_assert_int_eq(mail_templates_render(t, MAIL_TEMPLATE_VERIFY_EMAIL, &params, &r), 0);
        ck_assert_str_eq(r.subject, "Welcome to Acme Corp, Alice!");
        ck_assert_str_eq(r.text, "Hi Alice,\nclick https://id.example.com/t/acme/verify?token=abc&x=1 (24 hours).\n");
        /* The part without a file stays built in, and so do the others. */
        ck_assert_ptr_nonnull(strstr(r.html, "Confirm my e-mail address"));
        ck_assert_int_eq(mail_templates_render(t, MAIL_TEMPLATE_RESET_PASSWORD, &params, &other), 0);
        ck_assert_str_eq(other.subject, "Reset your password for Acme Corp");
}
END_TEST

START_TEST(test_bad_file_refused_with_its_line) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;
        _cleanup_free_ char *path = NULL, *log = NULL, *expected = NULL;

        path = test_write_file(dir, "reset-password.html", "<p>Hello ${user}</p>\n<p>${reset_link}</p>\n");
        ck_assert_int_eq(load(dir, &t, &log), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_int_ge(asprintf(&expected, "%s:2: unknown placeholder ${reset_link}", path), 0);
        ck_assert_msg(strstr(log, expected), "expected '%s' in: %s", expected, log);
}
END_TEST

START_TEST(test_file_limits) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;
        _cleanup_free_ char *big = NULL, *path = NULL, *log = NULL;

        big = malloc(MAIL_TEMPLATE_MAX_SIZE + 2);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', MAIL_TEMPLATE_MAX_SIZE + 1);
        big[MAIL_TEMPLATE_MAX_SIZE + 1] = '\0';
        path = test_write_file(dir, "test.txt", big);
        ck_assert_int_eq(load(dir, &t, &log), -EINVAL);
        ck_assert_ptr_nonnull(strstr(log, "larger than 65536 bytes"));
}
END_TEST

START_TEST(test_unknown_file_warned) {
        _cleanup_(mail_templates_freep) MailTemplates *t = NULL;
        _cleanup_free_ char *path = NULL, *log = NULL;

        /* A typo: the built-in text goes out, and the log says why. */
        path = test_write_file(dir, "verify-mail.txt", "Hi\n");
        ck_assert_int_eq(load(dir, &t, &log), 0);
        ck_assert_msg(strstr(log, "verify-mail.txt: no mail template reads this file"), "log: %s", log);
}
END_TEST

START_TEST(test_names) {
        for (MailTemplateId id = 0; id < _MAIL_TEMPLATE_MAX; id++)
                ck_assert_int_eq(mail_template_from_string(mail_template_to_string(id)), id);
        ck_assert_str_eq(mail_template_to_string(MAIL_TEMPLATE_VERIFY_EMAIL), "verify-email");
        ck_assert_int_eq(mail_template_from_string("verify"), _MAIL_TEMPLATE_INVALID);
        ck_assert_int_eq(mail_template_from_string(NULL), _MAIL_TEMPLATE_INVALID);
        ck_assert_ptr_null(mail_template_to_string(_MAIL_TEMPLATE_MAX));
        ck_assert_str_eq(mail_part_extension(MAIL_PART_HTML), "html");
}
END_TEST

int main(void) {
        Suite *s = suite_create("mail-template");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_builtin_templates_render);
        tcase_add_test(tc, test_verify_email_text);
        tcase_add_test(tc, test_values_are_escaped_in_html_only);
        tcase_add_test(tc, test_expand_syntax);
        tcase_add_test(tc, test_check_names_file_and_line);
        tcase_add_test(tc, test_directory_overrides_parts);
        tcase_add_test(tc, test_bad_file_refused_with_its_line);
        tcase_add_test(tc, test_file_limits);
        tcase_add_test(tc, test_unknown_file_warned);
        tcase_add_test(tc, test_names);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
