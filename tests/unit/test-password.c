/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/password.c: hashing and verifying in the formats of /etc/shadow. */

#include <crypt.h>

#include "password.h"
#include "test-util.h"

/* The cheapest costs each method allows, so that the tests stay fast; the
 * format does not depend on the cost. */
#define YESCRYPT_COST 1
#define BCRYPT_COST 4
#define SHA512_COST 1000

/* What `mkpasswd -m METHOD` writes into /etc/shadow, made with libxcrypt
 * directly rather than with tessera's code. */
static char *shadow_hash(const char *password, const char *prefix, unsigned long cost) {
        struct crypt_data cd = {};
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *h;
        char *copy;

        ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, cost, NULL, 0, setting, sizeof(setting)));
        h = crypt_rn(password, setting, &cd, sizeof(cd));
        ck_assert_ptr_nonnull(h);
        ck_assert_int_ne(h[0], '*');
        copy = strdup(h);
        ck_assert_ptr_nonnull(copy);
        return copy;
}

static void assert_hash_and_verify(const char *prefix, unsigned long cost, const char *expected_start) {
        _cleanup_(erase_and_freep) char *h = NULL, *h2 = NULL;

        ck_assert_int_eq(password_hash("correct horse battery staple", prefix, cost, &h), 0);
        ck_assert_msg(strneq(h, expected_start, strlen(expected_start)), "'%s' does not begin with '%s'", h,
                      expected_start);
        ck_assert_int_eq(password_verify("correct horse battery staple", h), 1);
        ck_assert_int_eq(password_verify("correct horse battery stapl", h), 0);
        ck_assert_int_eq(password_verify("Correct horse battery staple", h), 0);
        ck_assert_int_eq(password_verify("", h), 0);

        /* A fresh salt every time. */
        ck_assert_int_eq(password_hash("correct horse battery staple", prefix, cost, &h2), 0);
        ck_assert_str_ne(h, h2);
        ck_assert_int_eq(password_verify("correct horse battery staple", h2), 1);
}

START_TEST(test_yescrypt) {
        assert_hash_and_verify("$y$", 0, "$y$j9T$");
        assert_hash_and_verify("$y$", YESCRYPT_COST, "$y$");
}
END_TEST

START_TEST(test_bcrypt) {
        assert_hash_and_verify("$2b$", BCRYPT_COST, "$2b$04$");
}
END_TEST

START_TEST(test_sha512crypt) {
        assert_hash_and_verify("$6$", 0, "$6$");
        assert_hash_and_verify("$6$", SHA512_COST, "$6$rounds=1000$");
}
END_TEST

START_TEST(test_shadow_hashes) {
        static const struct {
                const char *prefix;
                unsigned long cost;
        } methods[] = {
                { "$y$", 0 },
                { "$y$", YESCRYPT_COST },
                { "$2b$", BCRYPT_COST },
                { "$2y$", BCRYPT_COST },
                { "$6$", 0 },
                { "$6$", SHA512_COST },
                { "$5$", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                _cleanup_free_ char *h = shadow_hash("s3cret-Pa55", methods[i].prefix, methods[i].cost);

                ck_assert_int_eq(password_verify("s3cret-Pa55", h), 1);
                ck_assert_int_eq(password_verify("s3cret-Pa56", h), 0);
        }
}
END_TEST

START_TEST(test_known_vectors) {
        /* From the SHA-crypt specification (Drepper), as found in shadow files. */
        ck_assert_int_eq(password_verify("Hello world!",
                                         "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4O"
                                         "TLiBFdcbYEdFCoEOfaS35inz1"),
                         1);
        ck_assert_int_eq(password_verify("Hello world!",
                                         "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVN"
                                         "SnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
                         1);
        ck_assert_int_eq(password_verify("Hello world?",
                                         "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4O"
                                         "TLiBFdcbYEdFCoEOfaS35inz1"),
                         0);
        /* The same digest under another salt is no match. */
        ck_assert_int_eq(password_verify("Hello world!",
                                         "$6$saltstrinG$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4O"
                                         "TLiBFdcbYEdFCoEOfaS35inz1"),
                         0);
}
END_TEST

START_TEST(test_verify_malformed) {
        ck_assert_int_eq(password_verify("pw", "$y$garbage"), -EINVAL);
        ck_assert_int_eq(password_verify("pw", "$2b$05$short"), -EINVAL);
        ck_assert_int_eq(password_verify("pw", "$9$unknown$method"), -EINVAL);
        /* Locked and disabled accounts in shadow. */
        ck_assert_int_eq(password_verify("pw", "!"), -EINVAL);
        ck_assert_int_eq(password_verify("pw", "*"), -EINVAL);
        ck_assert_int_eq(password_verify("pw", "!$y$j9T$abc$def"), -EINVAL);
        ck_assert_int_eq(password_verify("pw", ""), -EINVAL);
        ck_assert_int_eq(password_verify("pw", NULL), -EINVAL);
        ck_assert_int_eq(password_verify(NULL, "$6$saltstring$abc"), -EINVAL);
}
END_TEST

START_TEST(test_hash_invalid_policy) {
        char *h = NULL;

        ck_assert_int_lt(password_hash("pw", "$x$", 0, &h), 0);
        /* yescrypt's cost goes up to 11, bcrypt's from 4. */
        ck_assert_int_lt(password_hash("pw", "$y$", 12, &h), 0);
        ck_assert_int_lt(password_hash("pw", "$2b$", 3, &h), 0);
        ck_assert_int_eq(password_hash(NULL, "$y$", 0, &h), -EINVAL);
        ck_assert_int_eq(password_hash("pw", NULL, 0, &h), -EINVAL);
        ck_assert_ptr_null(h);
}
END_TEST

START_TEST(test_needs_upgrade) {
        _cleanup_free_ char *y = shadow_hash("pw", "$y$", 0), *y1 = shadow_hash("pw", "$y$", YESCRYPT_COST),
                            *b4 = shadow_hash("pw", "$2b$", BCRYPT_COST), *b5 = shadow_hash("pw", "$2b$", 5),
                            *s = shadow_hash("pw", "$6$", 0), *s1000 = shadow_hash("pw", "$6$", SHA512_COST),
                            *s10000 = shadow_hash("pw", "$6$", 10000);

        /* The policy the hash was made with. */
        ck_assert(!password_hash_needs_upgrade(y, "$y$", 0));
        ck_assert(!password_hash_needs_upgrade(y1, "$y$", YESCRYPT_COST));
        ck_assert(!password_hash_needs_upgrade(b4, "$2b$", BCRYPT_COST));
        ck_assert(!password_hash_needs_upgrade(s, "$6$", 0));
        ck_assert(!password_hash_needs_upgrade(s1000, "$6$", SHA512_COST));
        ck_assert(!password_hash_needs_upgrade(s10000, "$6$", 10000));

        /* Another method. */
        ck_assert(password_hash_needs_upgrade(s, "$y$", 0));
        ck_assert(password_hash_needs_upgrade(b4, "$y$", 0));
        ck_assert(password_hash_needs_upgrade(y, "$2b$", BCRYPT_COST));
        ck_assert(password_hash_needs_upgrade(y, "$6$", 0));

        /* Another cost, in either direction. */
        ck_assert(password_hash_needs_upgrade(y1, "$y$", 0));
        ck_assert(password_hash_needs_upgrade(y, "$y$", 7));
        ck_assert(password_hash_needs_upgrade(b4, "$2b$", 5));
        ck_assert(password_hash_needs_upgrade(b5, "$2b$", BCRYPT_COST));
        ck_assert(password_hash_needs_upgrade(s, "$6$", 10000));
        ck_assert(password_hash_needs_upgrade(s10000, "$6$", SHA512_COST));
        /* sha512crypt writes no "rounds=" at its default cost: a hash that
         * has one is not of the default policy. */
        ck_assert(password_hash_needs_upgrade(s1000, "$6$", 0));
        ck_assert(password_hash_needs_upgrade(s10000, "$6$", 0));

        ck_assert(!password_hash_needs_upgrade(NULL, "$y$", 0));
}
END_TEST

START_TEST(test_dummy_hash) {
        _cleanup_(erase_and_freep) char *d = NULL, *d2 = NULL;

        ck_assert_int_eq(password_dummy_hash("$y$", 0, &d), 0);
        ck_assert(strneq(d, "$y$j9T$", 7));
        ck_assert(!password_hash_needs_upgrade(d, "$y$", 0));
        /* Nobody knows its password. */
        ck_assert_int_eq(password_verify("", d), 0);
        ck_assert_int_eq(password_verify("password", d), 0);
        ck_assert_int_eq(password_verify("00000000000000000000000000000000", d), 0);

        ck_assert_int_eq(password_dummy_hash("$y$", 0, &d2), 0);
        ck_assert_str_ne(d, d2);
        erase_and_free(TAKE_PTR(d2));

        ck_assert_int_eq(password_dummy_hash("$2b$", BCRYPT_COST, &d2), 0);
        ck_assert(strneq(d2, "$2b$04$", 7));
        ck_assert_int_eq(password_verify("", d2), 0);
}
END_TEST

static Suite *password_suite(void) {
        Suite *s = suite_create("password");
        TCase *tc;

        tc = tcase_create("hash and verify");
        tcase_add_test(tc, test_yescrypt);
        tcase_add_test(tc, test_bcrypt);
        tcase_add_test(tc, test_sha512crypt);
        tcase_add_test(tc, test_shadow_hashes);
        tcase_add_test(tc, test_known_vectors);
        tcase_add_test(tc, test_verify_malformed);
        tcase_add_test(tc, test_hash_invalid_policy);
        suite_add_tcase(s, tc);

        tc = tcase_create("policy");
        tcase_add_test(tc, test_needs_upgrade);
        tcase_add_test(tc, test_dummy_hash);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(password_suite());
}
