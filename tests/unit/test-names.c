/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/names.c: the rules every name, path and text field is checked by,
 * in the daemon and in the client modules alike. */

#include "names.h"
#include "test-util.h"

/* Fills buf with prefix and n copies of c; returns buf. */
static char *repeat(char *buf, size_t size, const char *prefix, char c, size_t n) {
        size_t p = strlen(prefix);

        ck_assert_uint_lt(p + n, size);
        memcpy(buf, prefix, p);
        memset(buf + p, c, n);
        buf[p + n] = '\0';
        return buf;
}

START_TEST(test_user_name_valid) {
        char buf[64];

        ck_assert(valid_user_name("a"));
        ck_assert(valid_user_name("_"));
        ck_assert(valid_user_name("alice"));
        ck_assert(valid_user_name("_svc-backup_2"));
        ck_assert(valid_user_name("a1"));
        /* Exactly NAME_MAX_LEN bytes is the limit. */
        ck_assert(valid_user_name(repeat(buf, sizeof(buf), "", 'a', NAME_MAX_LEN)));
}
END_TEST

START_TEST(test_user_name_invalid) {
        char buf[64];

        ck_assert(!valid_user_name(NULL));
        ck_assert(!valid_user_name(""));
        ck_assert(!valid_user_name(repeat(buf, sizeof(buf), "", 'a', NAME_MAX_LEN + 1)));
        /* The first character: a lower-case letter or '_' only. */
        ck_assert(!valid_user_name("1alice"));
        ck_assert(!valid_user_name("-alice"));
        ck_assert(!valid_user_name("Alice"));
        /* Upper case anywhere. */
        ck_assert(!valid_user_name("aLice"));
        /* '@' separates the tenant, ':' the passwd fields. */
        ck_assert(!valid_user_name("alice@acme"));
        ck_assert(!valid_user_name("ali:ce"));
        ck_assert(!valid_user_name("ali ce"));
        ck_assert(!valid_user_name("ali.ce"));
        ck_assert(!valid_user_name("alice\n"));
        ck_assert(!valid_user_name("z\xc3\xa9"));
}
END_TEST

START_TEST(test_group_name) {
        char buf[64];

        ck_assert(valid_group_name("staff"));
        ck_assert(valid_group_name("_ops-team"));
        ck_assert(valid_group_name(repeat(buf, sizeof(buf), "g", 'x', NAME_MAX_LEN - 1)));
        ck_assert(!valid_group_name(repeat(buf, sizeof(buf), "g", 'x', NAME_MAX_LEN)));
        ck_assert(!valid_group_name(NULL));
        ck_assert(!valid_group_name(""));
        ck_assert(!valid_group_name("Staff"));
        ck_assert(!valid_group_name("9staff"));
        ck_assert(!valid_group_name("staff@acme"));
        ck_assert(!valid_group_name("st:aff"));
}
END_TEST

START_TEST(test_tenant_slug) {
        char buf[64];

        ck_assert(valid_tenant_slug("acme"));
        ck_assert(valid_tenant_slug("a"));
        ck_assert(valid_tenant_slug("0"));
        ck_assert(valid_tenant_slug("42"));
        ck_assert(valid_tenant_slug("acme-corp"));
        ck_assert(valid_tenant_slug("a--b"));
        ck_assert(valid_tenant_slug(repeat(buf, sizeof(buf), "", 'x', TENANT_SLUG_MAX_LEN)));

        ck_assert(!valid_tenant_slug(repeat(buf, sizeof(buf), "", 'x', TENANT_SLUG_MAX_LEN + 1)));
        ck_assert(!valid_tenant_slug(NULL));
        ck_assert(!valid_tenant_slug(""));
        ck_assert(!valid_tenant_slug("-acme"));
        ck_assert(!valid_tenant_slug("acme-"));
        ck_assert(!valid_tenant_slug("-"));
        ck_assert(!valid_tenant_slug("Acme"));
        ck_assert(!valid_tenant_slug("ac_me"));
        ck_assert(!valid_tenant_slug("ac.me"));
        ck_assert(!valid_tenant_slug("ac me"));
        ck_assert(!valid_tenant_slug("acme@x"));
}
END_TEST

START_TEST(test_unix_path_valid) {
        char buf[UNIX_PATH_FIELD_MAX_LEN + 16];

        ck_assert(valid_unix_path("/"));
        ck_assert(valid_unix_path("/bin/bash"));
        ck_assert(valid_unix_path("/home/alice"));
        ck_assert(valid_unix_path("/home/.alice"));
        ck_assert(valid_unix_path("/home/..alice"));
        ck_assert(valid_unix_path("/home/z\xc3\xa9"));
        ck_assert(valid_unix_path(repeat(buf, sizeof(buf), "/", 'a', UNIX_PATH_FIELD_MAX_LEN - 1)));
}
END_TEST

START_TEST(test_unix_path_invalid) {
        char buf[UNIX_PATH_FIELD_MAX_LEN + 16];

        ck_assert(!valid_unix_path(NULL));
        ck_assert(!valid_unix_path(""));
        /* Relative. */
        ck_assert(!valid_unix_path("home/alice"));
        ck_assert(!valid_unix_path("./home"));
        /* Not normalized. */
        ck_assert(!valid_unix_path("/home/../etc"));
        ck_assert(!valid_unix_path("/.."));
        ck_assert(!valid_unix_path("/home/."));
        ck_assert(!valid_unix_path("/./home"));
        ck_assert(!valid_unix_path("//"));
        ck_assert(!valid_unix_path("//home"));
        ck_assert(!valid_unix_path("/home//alice"));
        ck_assert(!valid_unix_path("/home/alice/"));
        /* ':' separates passwd fields; control characters break lines. */
        ck_assert(!valid_unix_path("/home/a:b"));
        ck_assert(!valid_unix_path("/home/a\nb"));
        ck_assert(!valid_unix_path("/home/a\tb"));
        ck_assert(!valid_unix_path("/home/a\x7f"));
        ck_assert(!valid_unix_path("/home/\xff"));
        /* One byte over the limit. */
        ck_assert(!valid_unix_path(repeat(buf, sizeof(buf), "/", 'a', UNIX_PATH_FIELD_MAX_LEN)));
}
END_TEST

START_TEST(test_real_name) {
        char buf[REAL_NAME_MAX_LEN + 16];

        ck_assert(valid_real_name(""));
        ck_assert(valid_real_name("Alice Liddell"));
        ck_assert(valid_real_name("Zo\xc3\xab \xc3\x9cnal, Room 3"));
        ck_assert(valid_real_name("\xe6\x97\xa5\xe6\x9c\xac"));
        ck_assert(valid_real_name(repeat(buf, sizeof(buf), "", 'a', REAL_NAME_MAX_LEN)));

        ck_assert(!valid_real_name(NULL));
        ck_assert(!valid_real_name(repeat(buf, sizeof(buf), "", 'a', REAL_NAME_MAX_LEN + 1)));
        ck_assert(!valid_real_name("Alice:Liddell"));
        ck_assert(!valid_real_name("Alice\nroot::0:0::/:/bin/sh"));
        ck_assert(!valid_real_name("Alice\r"));
        ck_assert(!valid_real_name("Alice\x7f"));
        /* Invalid UTF-8: a bad continuation byte, a lone lead byte. */
        ck_assert(!valid_real_name("Zo\xc3\x28"));
        ck_assert(!valid_real_name("Zo\xc3"));
}
END_TEST

START_TEST(test_display_text) {
        ck_assert(valid_display_text("Acme Corp.", 64));
        ck_assert(valid_display_text("a:b", 64));
        ck_assert(valid_display_text("", 64));
        ck_assert(!valid_display_text("abcd", 3));
        ck_assert(!valid_display_text("two\nlines", 64));
        ck_assert(!valid_display_text("\xed\xa0\x80", 64));
        ck_assert(!valid_display_text(NULL, 64));
}
END_TEST

START_TEST(test_email_valid) {
        char buf[EMAIL_MAX_LEN + 16];

        ck_assert(valid_email("a@b.c"));
        ck_assert(valid_email("alice@example.com"));
        ck_assert(valid_email("first.last+tag@mail.example.org"));
        ck_assert(valid_email("x@a-b.example"));
        ck_assert(valid_email("z\xc3\xa9@example.com"));
        /* A 64-byte local part is the limit. */
        ck_assert(valid_email(strcat(repeat(buf, sizeof(buf), "", 'l', 64), "@example.com")));
}
END_TEST

START_TEST(test_email_invalid) {
        char buf[EMAIL_MAX_LEN + 32];

        ck_assert(!valid_email(NULL));
        ck_assert(!valid_email(""));
        ck_assert(!valid_email("a@"));
        ck_assert(!valid_email("alice"));
        ck_assert(!valid_email("alice@example"));
        ck_assert(!valid_email("@example.com"));
        ck_assert(!valid_email("alice@@example.com"));
        ck_assert(!valid_email("alice@ex@ample.com"));
        ck_assert(!valid_email("ali ce@example.com"));
        ck_assert(!valid_email("alice@example.com\n"));
        ck_assert(!valid_email("alice\t@example.com"));
        ck_assert(!valid_email("<alice@example.com>"));
        ck_assert(!valid_email("alice@exa:mple.com"));
        ck_assert(!valid_email("alice@example..com"));
        ck_assert(!valid_email("alice@.example.com"));
        ck_assert(!valid_email("alice@example.com."));
        ck_assert(!valid_email("alice@-example.com"));
        ck_assert(!valid_email("alice@example-.com"));
        ck_assert(!valid_email("alice@\xc3\x28.com"));
        /* A 65-byte local part, and a whole address over 254 bytes. */
        ck_assert(!valid_email(strcat(repeat(buf, sizeof(buf), "", 'l', 65), "@example.com")));
        ck_assert(!valid_email(strcat(repeat(buf, sizeof(buf), "a@", 'd', EMAIL_MAX_LEN - 5), ".com")));
}
END_TEST

START_TEST(test_utf8_valid) {
        ck_assert(utf8_is_valid(""));
        ck_assert(utf8_is_valid("plain ascii"));
        ck_assert(utf8_is_valid("\xc2\x80"));                 /* U+0080, the lowest 2-byte form */
        ck_assert(utf8_is_valid("\xc3\xa9"));                 /* é */
        ck_assert(utf8_is_valid("\xe0\xa0\x80"));             /* U+0800, the lowest 3-byte form */
        ck_assert(utf8_is_valid("\xe2\x82\xac"));             /* € */
        ck_assert(utf8_is_valid("\xed\x9f\xbf"));             /* U+D7FF, just below the surrogates */
        ck_assert(utf8_is_valid("\xee\x80\x80"));             /* U+E000, just above them */
        ck_assert(utf8_is_valid("\xf0\x90\x80\x80"));         /* U+10000, the lowest 4-byte form */
        ck_assert(utf8_is_valid("\xf0\x9f\x98\x80"));         /* 😀 */
        ck_assert(utf8_is_valid("\xf4\x8f\xbf\xbf"));         /* U+10FFFF, the last code point */
}
END_TEST

START_TEST(test_utf8_invalid) {
        /* Overlong encodings of '/' and of U+07FF, U+FFFF. */
        ck_assert(!utf8_is_valid("\xc0\xaf"));
        ck_assert(!utf8_is_valid("\xc1\xbf"));
        ck_assert(!utf8_is_valid("\xe0\x80\xaf"));
        ck_assert(!utf8_is_valid("\xe0\x9f\xbf"));
        ck_assert(!utf8_is_valid("\xf0\x80\x80\xaf"));
        ck_assert(!utf8_is_valid("\xf0\x8f\xbf\xbf"));
        /* UTF-16 surrogates. */
        ck_assert(!utf8_is_valid("\xed\xa0\x80"));
        ck_assert(!utf8_is_valid("\xed\xbf\xbf"));
        /* Beyond U+10FFFF. */
        ck_assert(!utf8_is_valid("\xf4\x90\x80\x80"));
        ck_assert(!utf8_is_valid("\xf5\x80\x80\x80"));
        ck_assert(!utf8_is_valid("\xf7\xbf\xbf\xbf"));
        /* Bytes that never occur. */
        ck_assert(!utf8_is_valid("\xf8\x88\x80\x80\x80"));
        ck_assert(!utf8_is_valid("\xfe"));
        ck_assert(!utf8_is_valid("\xff"));
        /* Continuation bytes without a lead. */
        ck_assert(!utf8_is_valid("\x80"));
        ck_assert(!utf8_is_valid("a\xbf"));
        /* Truncated sequences, at the end and before ASCII. */
        ck_assert(!utf8_is_valid("\xc3"));
        ck_assert(!utf8_is_valid("\xe2\x82"));
        ck_assert(!utf8_is_valid("\xf0\x9f\x98"));
        ck_assert(!utf8_is_valid("\xe2\x82" "a"));
        ck_assert(!utf8_is_valid("\xf0\x9f" "ab"));
}
END_TEST

START_TEST(test_split_qualified_name) {
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        char buf[128];

        ck_assert_int_eq(split_qualified_name("alice", name, tenant), 0);
        ck_assert_str_eq(name, "alice");
        ck_assert_str_eq(tenant, "");

        ck_assert_int_eq(split_qualified_name("alice@acme", name, tenant), 0);
        ck_assert_str_eq(name, "alice");
        ck_assert_str_eq(tenant, "acme");

        ck_assert_int_eq(split_qualified_name("_svc-1@globex-eu", name, tenant), 0);
        ck_assert_str_eq(name, "_svc-1");
        ck_assert_str_eq(tenant, "globex-eu");

        /* Both parts at their longest fill the buffers exactly. */
        repeat(buf, sizeof(buf), "", 'n', NAME_MAX_LEN);
        strcat(buf, "@");
        memset(buf + NAME_MAX_LEN + 1, 't', TENANT_SLUG_MAX_LEN);
        buf[NAME_MAX_LEN + 1 + TENANT_SLUG_MAX_LEN] = '\0';
        ck_assert_uint_eq(strlen(buf), QUALIFIED_NAME_MAX_LEN);
        ck_assert_int_eq(split_qualified_name(buf, name, tenant), 0);
        ck_assert_uint_eq(strlen(name), NAME_MAX_LEN);
        ck_assert_uint_eq(strlen(tenant), TENANT_SLUG_MAX_LEN);
}
END_TEST

START_TEST(test_split_qualified_name_invalid) {
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        char buf[128];

        ck_assert_int_eq(split_qualified_name(NULL, name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("", name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("@acme", name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("alice@", name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("Alice@acme", name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("alice@Acme", name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("alice@acme-", name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("alice@ac_me", name, tenant), -EINVAL);
        /* The last '@' splits, and '@' is no name character. */
        ck_assert_int_eq(split_qualified_name("a@b@acme", name, tenant), -EINVAL);
        ck_assert_int_eq(split_qualified_name("ali:ce@acme", name, tenant), -EINVAL);

        /* One byte too long on either side. */
        ck_assert_int_eq(split_qualified_name(repeat(buf, sizeof(buf), "", 'n', NAME_MAX_LEN + 1), name, tenant),
                         -EINVAL);
        ck_assert_int_eq(split_qualified_name(strcat(repeat(buf, sizeof(buf), "", 'n', NAME_MAX_LEN + 1), "@acme"),
                                              name, tenant),
                         -EINVAL);
        ck_assert_int_eq(split_qualified_name(repeat(buf, sizeof(buf), "alice@", 't', TENANT_SLUG_MAX_LEN + 1), name,
                                              tenant),
                         -EINVAL);
}
END_TEST

static Suite *names_suite(void) {
        Suite *s = suite_create("names");
        TCase *tc;

        tc = tcase_create("user and group names");
        tcase_add_test(tc, test_user_name_valid);
        tcase_add_test(tc, test_user_name_invalid);
        tcase_add_test(tc, test_group_name);
        tcase_add_test(tc, test_tenant_slug);
        suite_add_tcase(s, tc);

        tc = tcase_create("fields");
        tcase_add_test(tc, test_unix_path_valid);
        tcase_add_test(tc, test_unix_path_invalid);
        tcase_add_test(tc, test_real_name);
        tcase_add_test(tc, test_display_text);
        tcase_add_test(tc, test_email_valid);
        tcase_add_test(tc, test_email_invalid);
        suite_add_tcase(s, tc);

        tc = tcase_create("utf8");
        tcase_add_test(tc, test_utf8_valid);
        tcase_add_test(tc, test_utf8_invalid);
        suite_add_tcase(s, tc);

        tc = tcase_create("qualified names");
        tcase_add_test(tc, test_split_qualified_name);
        tcase_add_test(tc, test_split_qualified_name_invalid);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(names_suite());
}
