/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/totp.c: RFC 6238 codes, the window, replays, URIs, backup codes. */

#include <stdlib.h>

#include "test-auth-util.h"
#include "totp.h"

/* RFC 6238, appendix B: the SHA-1 seed, and codes at given times (the
 * last six digits of the eight-digit codes listed there). */
static const uint8_t rfc_secret[] = "12345678901234567890";

START_TEST(test_rfc6238_vectors) {
        static const struct {
                int64_t t;
                const char *code;
        } vectors[] = {
                { 59, "287082" },
                { 1111111109, "081804" },
                { 1111111111, "050471" },
                { 1234567890, "005924" },
                { 2000000000, "279037" },
                { 20000000000, "353130" },
        };

        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                char code[TOTP_DIGITS + 1];
                int64_t step = totp_step_at(vectors[i].t * 1000000);

                ck_assert_int_eq(totp_code_at(rfc_secret, 20, step, code), 0);
                ck_assert_str_eq(code, vectors[i].code);
        }
        ck_assert_int_eq(totp_step_at(59 * INT64_C(1000000)), 1);
        ck_assert_int_eq(totp_step_at(60 * INT64_C(1000000)), 2);
}
END_TEST

START_TEST(test_verify_window) {
        const int64_t now = 1234567890 / 30;
        char before[7], at[7], after[7], far[7];
        int64_t step = 0;

        ck_assert_int_eq(totp_code_at(rfc_secret, 20, now - 1, before), 0);
        ck_assert_int_eq(totp_code_at(rfc_secret, 20, now, at), 0);
        ck_assert_int_eq(totp_code_at(rfc_secret, 20, now + 1, after), 0);
        ck_assert_int_eq(totp_code_at(rfc_secret, 20, now + 2, far), 0);

        ck_assert_int_eq(totp_verify(rfc_secret, 20, at, now, 1, 0, &step), 0);
        ck_assert_int_eq(step, now);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, before, now, 1, 0, &step), 0);
        ck_assert_int_eq(step, now - 1);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, after, now, 1, 0, &step), 0);
        ck_assert_int_eq(step, now + 1);
        /* Outside the window. */
        ck_assert_int_eq(totp_verify(rfc_secret, 20, far, now, 1, 0, &step), -EKEYREJECTED);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, far, now, 2, 0, &step), 0);
        /* A window of 0: now only. */
        ck_assert_int_eq(totp_verify(rfc_secret, 20, before, now, 0, 0, &step), -EKEYREJECTED);

        /* Used steps don't count again: a replay, told apart from a wrong code. */
        ck_assert_int_eq(totp_verify(rfc_secret, 20, at, now, 1, now, &step), -ESTALE);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, before, now, 1, now - 1, &step), -ESTALE);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, after, now, 1, now, &step), 0);
        ck_assert_int_eq(step, now + 1);

        /* Any other code is wrong. */
        for (int i = 0; i < 4; i++) {
                char wrong[7];
                snprintf(wrong, sizeof(wrong), "%06d", i);
                if (streq(wrong, before) || streq(wrong, at) || streq(wrong, after))
                        continue;
                ck_assert_int_eq(totp_verify(rfc_secret, 20, wrong, now, 1, 0, &step), -EKEYREJECTED);
        }
        ck_assert_int_eq(totp_verify(rfc_secret, 20, "12345", now, 1, 0, &step), -EINVAL);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, "1234567", now, 1, 0, &step), -EINVAL);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, "", now, 1, 0, &step), -EINVAL);
        ck_assert_int_eq(totp_verify(rfc_secret, 20, "12a456", now, 1, 0, &step), -EINVAL);
}
END_TEST

START_TEST(test_base32_uri) {
        _cleanup_free_ char *b32 = NULL, *uri = NULL;
        uint8_t a[TOTP_SECRET_SIZE], b[TOTP_SECRET_SIZE];

        ck_assert_int_eq(totp_secret_to_base32(rfc_secret, 20, &b32), 0);
        ck_assert_str_eq(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");

        ck_assert_int_eq(totp_uri("Acme Corp", "alice@acme", b32, &uri), 0);
        ck_assert_str_eq(uri, "otpauth://totp/Acme%20Corp:alice%40acme?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                              "&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30");

        ck_assert_int_eq(totp_secret_generate(a), 0);
        ck_assert_int_eq(totp_secret_generate(b), 0);
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(test_backup_codes) {
        char codes[50][BACKUP_CODE_LEN + 1];

        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                char normalized[BACKUP_CODE_CHARS + 1];

                ck_assert_int_eq(backup_code_generate(codes[i]), 0);
                ck_assert_uint_eq(strlen(codes[i]), BACKUP_CODE_LEN);
                ck_assert_int_eq(codes[i][5], '-');
                ck_assert_int_eq(backup_code_normalize(codes[i], normalized), 0);
                /* A code is never taken for a TOTP code when split off a password. */
                {
                        char answer[64], code[32];
                        snprintf(answer, sizeof(answer), "pw%s", codes[i]);
                        ck_assert_int_eq(auth_code_split(answer, code, sizeof(code)), 1);
                        ck_assert_str_eq(code, codes[i]);
                }
                for (size_t j = 0; j < i; j++)
                        ck_assert_str_ne(codes[i], codes[j]);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("totp");
        TCase *tc = tcase_create("totp");

        tcase_add_test(tc, test_rfc6238_vectors);
        tcase_add_test(tc, test_verify_window);
        tcase_add_test(tc, test_base32_uri);
        tcase_add_test(tc, test_backup_codes);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
