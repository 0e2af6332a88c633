/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/core/cursor.c: list positions as opaque, tamper-evident text. */

#include <stdlib.h>

#include "test-auth-util.h"
#include "base64url.h"
#include "cursor.h"

static SecretKey *key_of(uint8_t fill) {
        uint8_t raw[SECRET_KEY_SIZE];
        SecretKey *k = NULL;

        memset(raw, fill, sizeof(raw));
        ck_assert_int_eq(secret_key_from_bytes(raw, &k), 0);
        return k;
}

START_TEST(test_round_trip) {
        _cleanup_(secret_key_freep) SecretKey *k = key_of(1);
        _cleanup_free_ char *s = NULL, *t = NULL;
        Cursor in = { .number = -1700000000000000, .text = (char *) "alice@acme.example", .id = 42 }, out = {};

        ck_assert_int_eq(cursor_encode(k, "users:1:q=al", &in, &s), 0);
        /* Opaque: the position is not readable as text in the URL. */
        ck_assert_ptr_null(strstr(s, "alice"));
        ck_assert_int_eq(cursor_decode(k, "users:1:q=al", s, &out), 0);
        ck_assert_int_eq(out.number, in.number);
        ck_assert_int_eq(out.id, 42);
        ck_assert_str_eq(out.text, "alice@acme.example");
        cursor_done(&out);

        /* No text key: NULL back, not "". */
        in.text = NULL;
        ck_assert_int_eq(cursor_encode(k, "audit:1", &in, &t), 0);
        ck_assert_int_eq(cursor_decode(k, "audit:1", t, &out), 0);
        ck_assert_ptr_null(out.text);
        ck_assert_int_eq(out.id, 42);
}
END_TEST

START_TEST(test_refused) {
        _cleanup_(secret_key_freep) SecretKey *k = key_of(1), *other = key_of(2);
        _cleanup_free_ char *s = NULL, *forged = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        Cursor in = { .number = 5, .text = (char *) "bob", .id = 7 }, out = { .id = 99 };
        size_t n;

        ck_assert_int_eq(cursor_encode(k, "users:1", &in, &s), 0);

        /* Another list or query, another key. */
        ck_assert_int_eq(cursor_decode(k, "users:2", s, &out), -EBADMSG);
        ck_assert_int_eq(cursor_decode(k, "users:1:q=b", s, &out), -EBADMSG);
        ck_assert_int_eq(cursor_decode(other, "users:1", s, &out), -EBADMSG);

        /* Altered by hand: the id moved by one, re-encoded. */
        ck_assert_int_eq(base64url_decode(s, strlen(s), &raw, &n), 0);
        raw[16] ^= 1;
        ck_assert_int_eq(base64url_encode(raw, n, &forged), 0);
        ck_assert_int_eq(cursor_decode(k, "users:1", forged, &out), -EBADMSG);

        /* Truncated, garbage, empty, absurdly long. */
        s[strlen(s) - 3] = '\0';
        ck_assert_int_eq(cursor_decode(k, "users:1", s, &out), -EBADMSG);
        ck_assert_int_eq(cursor_decode(k, "users:1", "!!!not base64!!!", &out), -EBADMSG);
        ck_assert_int_eq(cursor_decode(k, "users:1", "", &out), -EBADMSG);
        _cleanup_free_ char *big = malloc(4097);
        memset(big, 'A', 4096);
        big[4096] = '\0';
        ck_assert_int_eq(cursor_decode(k, "users:1", big, &out), -EBADMSG);

        /* Nothing written on failure. */
        ck_assert_int_eq(out.id, 99);
}
END_TEST

START_TEST(test_limit) {
        unsigned l = 0;

        ck_assert_int_eq(cursor_limit_parse(NULL, &l), 0);
        ck_assert_uint_eq(l, CURSOR_LIMIT_DEFAULT);
        ck_assert_int_eq(cursor_limit_parse("1", &l), 0);
        ck_assert_uint_eq(l, 1);
        ck_assert_int_eq(cursor_limit_parse("200", &l), 0);
        ck_assert_uint_eq(l, 200);
        ck_assert_int_eq(cursor_limit_parse("0", &l), -ERANGE);
        ck_assert_int_eq(cursor_limit_parse("201", &l), -ERANGE);
        ck_assert_int_eq(cursor_limit_parse("-1", &l), -ERANGE);
        ck_assert_int_eq(cursor_limit_parse(" 5", &l), -ERANGE);
        ck_assert_int_eq(cursor_limit_parse("5x", &l), -ERANGE);
        ck_assert_int_eq(cursor_limit_parse("", &l), -ERANGE);
        ck_assert_int_eq(cursor_limit_parse("99999999999999999999999", &l), -ERANGE);
        ck_assert_uint_eq(l, 200);
}
END_TEST

int main(void) {
        Suite *s = suite_create("cursor");
        TCase *tc = tcase_create("cursor");

        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_limit);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
