/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/auth-codes.c: the forms of TOTP and backup codes, and the split of
 * password and code typed in one answer. */

#include "auth-codes.h"
#include "test-util.h"

static void check_split(const char *answer, int expected, const char *password, const char *code) {
        char a[128], c[33] = "untouched";

        snprintf(a, sizeof(a), "%s", answer);
        ck_assert_int_eq(auth_code_split(a, c, sizeof(c)), expected);
        ck_assert_str_eq(a, password);
        ck_assert_str_eq(c, code);
}

START_TEST(test_split_code) {
        check_split("hunter2secret123456", 1, "hunter2secret", "123456");
        /* A password ending in digits: the code is the last six. */
        check_split("pass99123456", 1, "pass99", "123456");
        check_split("123456", 1, "", "123456");
        check_split("pw7hk2m-x9qpa", 1, "pw", "7hk2m-x9qpa");
        check_split("pw7HK2M-X9QPA", 1, "pw", "7HK2M-X9QPA");
        /* A backup code ending in digits is not taken for a TOTP code. */
        check_split("secret7hk2m-x9234", 1, "secret", "7hk2m-x9234");
        /* No code: both stay as they were. */
        check_split("just a password", 0, "just a password", "untouched");
        check_split("pw12345", 0, "pw12345", "untouched");
        check_split("", 0, "", "untouched");
        /* Look-alikes are not in the alphabet: no backup code. */
        check_split("pw7hk2m-x9qpl", 0, "pw7hk2m-x9qpl", "untouched");
}
END_TEST

START_TEST(test_backup_code_normalize) {
        char out[BACKUP_CODE_CHARS + 1];

        ck_assert_int_eq(backup_code_normalize("7hk2m-x9qpa", out), 0);
        ck_assert_str_eq(out, "7hk2mx9qpa");
        ck_assert_int_eq(backup_code_normalize(" 7HK2M X9QPA ", out), 0);
        ck_assert_str_eq(out, "7hk2mx9qpa");
        ck_assert_int_eq(backup_code_normalize("7hk2mx9qpa", out), 0);
        ck_assert_int_eq(backup_code_normalize("7hk2m-x9qp", out), -EINVAL);
        ck_assert_int_eq(backup_code_normalize("7hk2m-x9qpaa", out), -EINVAL);
        ck_assert_int_eq(backup_code_normalize("7hk2m-x9qp1", out), -EINVAL);
        ck_assert_int_eq(backup_code_normalize("", out), -EINVAL);
        ck_assert_int_eq(backup_code_normalize("123456", out), -EINVAL);

        ck_assert(totp_code_wellformed("012345"));
        ck_assert(!totp_code_wellformed("01234"));
        ck_assert(!totp_code_wellformed("0123456"));
        ck_assert(!totp_code_wellformed("01234a"));
        ck_assert(!totp_code_wellformed(""));
        ck_assert(!totp_code_wellformed(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("auth-codes");
        TCase *tc = tcase_create("codes");

        tcase_add_test(tc, test_split_code);
        tcase_add_test(tc, test_backup_code_normalize);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
