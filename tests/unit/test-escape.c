/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/escape.c: what a value from outside looks like in a log line. */

#include "escape.h"
#include "test-util.h"

static const char *esc(const char *s, size_t size) {
        static char buf[256];

        ck_assert_uint_le(size, sizeof(buf));
        return escape_text(s, buf, size);
}

START_TEST(test_plain_text_unchanged) {
        ck_assert_str_eq(esc("GET /t/acme/token", 256), "GET /t/acme/token");
        ck_assert_str_eq(esc("", 256), "");
        /* Valid UTF-8 stays readable. */
        ck_assert_str_eq(esc("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91", 256), "Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91");
        ck_assert_str_eq(esc(NULL, 256), "(null)");
}
END_TEST

START_TEST(test_no_new_lines) {
        /* A forged second line, as a request for "/x%0a..." would carry. */
        ck_assert_str_eq(esc("/x\ntesserad[1]: info: Accepted", 256), "/x\\ntesserad[1]: info: Accepted");
        ck_assert_str_eq(esc("a\r\nb\tc", 256), "a\\r\\nb\\tc");
        ck_assert_str_eq(esc("line\xe2\x80\xa8sep\xe2\x80\xa9", 256), "line\\u2028sep\\u2029");
}
END_TEST

START_TEST(test_no_terminal_sequences) {
        ck_assert_str_eq(esc("\x1b[2J\x1b]0;owned\x07", 256), "\\x1b[2J\\x1b]0;owned\\x07");
        ck_assert_str_eq(esc("del\x7f", 256), "del\\x7f");
        /* C1 CSI, as UTF-8: some terminals act on it. */
        ck_assert_str_eq(esc("\xc2\x9b" "31m", 256), "\\u009b31m");
        /* Text that reads backwards. */
        ck_assert_str_eq(esc("user\xe2\x80\xae" "nimda", 256), "user\\u202enimda");
        ck_assert_str_eq(esc("\xe2\x81\xa6x\xe2\x81\xa9", 256), "\\u2066x\\u2069");
}
END_TEST

START_TEST(test_backslash_is_unambiguous) {
        /* A literal "\n" in the input must not read like an escaped newline. */
        ck_assert_str_eq(esc("a\\nb", 256), "a\\\\nb");
}
END_TEST

START_TEST(test_invalid_utf8_bytes) {
        ck_assert_str_eq(esc("\xff\xfe", 256), "\\xff\\xfe");
        /* A cut sequence, an overlong '/', a surrogate: byte by byte, and
         * the valid text after them is kept. */
        ck_assert_str_eq(esc("\xe2\x82 ok", 256), "\\xe2\\x82 ok");
        ck_assert_str_eq(esc("\xc0\xaf", 256), "\\xc0\\xaf");
        ck_assert_str_eq(esc("\xed\xa0\x80z", 256), "\\xed\\xa0\\x80z");
        ck_assert_str_eq(esc("\xc3", 256), "\\xc3");
}
END_TEST

START_TEST(test_bounded) {
        char in[2000], buf[64];

        memset(in, 'a', sizeof(in) - 1);
        in[sizeof(in) - 1] = '\0';
        escape_text(in, buf, sizeof(buf));
        ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
        ck_assert_str_eq(buf + sizeof(buf) - 4, "...");

        /* Cut at a whole escape, never inside one. */
        memset(in, '\n', 100);
        in[100] = '\0';
        escape_text(in, buf, 16);
        ck_assert_str_eq(buf, "\\n\\n\\n\\n\\n\\n...");
        memset(in, 0, sizeof(in));
        for (size_t i = 0; i < 30; i++)
                memcpy(in + 2 * i, "\xc3\xa9", 2);
        escape_text(in, buf, 16);
        ck_assert_str_eq(buf, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");

        /* What fits exactly is not cut. */
        ck_assert_str_eq(esc("1234567", 8), "1234567");
        ck_assert_str_eq(esc("12345678", 8), "1234...");
        /* The ESC() buffer holds the escapes of a long input. */
        memset(in, '\x01', sizeof(in) - 1);
        in[sizeof(in) - 1] = '\0';
        ck_assert_uint_eq(strlen(ESC(in)), ESCAPE_LOG_SIZE - 4 + 3);
}
END_TEST

START_TEST(test_controls_only) {
        char buf[64];

        /* A line whose values were escaped already stays as it is... */
        ck_assert_str_eq(escape_controls("GET /a\\nb \xe2\x80\xae", buf, sizeof(buf)), "GET /a\\nb \xe2\x80\xae");
        /* ...and what a call site forgot to escape still cannot break it. */
        ck_assert_str_eq(escape_controls("x\ny\x1b[1m\xff", buf, sizeof(buf)), "x\\ny\\x1b[1m\\xff");
}
END_TEST

int main(void) {
        Suite *s = suite_create("escape");
        TCase *tc = tcase_create("escape");

        tcase_add_test(tc, test_plain_text_unchanged);
        tcase_add_test(tc, test_no_new_lines);
        tcase_add_test(tc, test_no_terminal_sequences);
        tcase_add_test(tc, test_backslash_is_unambiguous);
        tcase_add_test(tc, test_invalid_utf8_bytes);
        tcase_add_test(tc, test_bounded);
        tcase_add_test(tc, test_controls_only);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
