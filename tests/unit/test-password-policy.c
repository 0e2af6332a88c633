/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core/password-policy.c: the checks every new password goes through, with
 * libpwquality and cracklib's dictionary (cracklib-runtime must be
 * installed: tools/install-deps). */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "password-policy.h"
#include "test-util.h"

/* What tesserad applies without settings: Debian's pam_pwquality's. */
static const PasswordPolicy defaults = {
        .min_length = 8,
        .max_bytes = PASSWORD_MAX_BYTES,
        .dictionary_check = true,
        .user_check = true,
};

static int check(const PasswordPolicy *p, const char *user, const char *email, const char *password,
                 const char *current, TesseraError *e) {
        *e = (TesseraError) {};
        return password_policy_check(p, user, email, password, current, e);
}

/* Refused with -EINVAL and a message that says why (contains reason),
 * one line of UTF-8 that ends in a full stop. */
static void assert_refused(const PasswordPolicy *p, const char *user, const char *email, const char *password,
                           const char *reason) {
        TesseraError e;
        size_t n;

        ck_assert_msg(check(p, user, email, password, NULL, &e) == -EINVAL, "'%s' was not refused (%s)", password,
                      tessera_error_message(&e));
        ck_assert_msg(strstr(e.message, reason), "'%s': '%s' does not say '%s'", password, e.message, reason);
        ck_assert_ptr_null(strchr(e.message, '\n'));
        ck_assert(utf8_is_valid(e.message));
        n = strlen(e.message);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(e.message[n - 1], '.');
}

static void assert_accepted(const PasswordPolicy *p, const char *user, const char *email, const char *password) {
        TesseraError e;

        ck_assert_msg(check(p, user, email, password, NULL, &e) == 0, "'%s' was refused: %s", password,
                      tessera_error_message(&e));
}

START_TEST(test_good_passphrases_accepted) {
        assert_accepted(&defaults, "alice", "alice@example.com", "correct horse battery staple");
        assert_accepted(&defaults, "alice", NULL, "quiet lantern orbit");
        assert_accepted(&defaults, "alice", "alice@example.com", "Tr0ub4dor&3");
        /* UTF-8 is fine. */
        assert_accepted(&defaults, "alice", NULL, "grüne Äpfel im Schnee");
}
END_TEST

START_TEST(test_too_short) {
        PasswordPolicy p = defaults;

        assert_refused(&defaults, "alice", NULL, "x9$Kq2", "at least 8 characters");
        /* Characters, not bytes: 7 of them in 14 bytes are too few. */
        assert_refused(&defaults, "alice", NULL, "ÄöüßÉèñ", "at least 8 characters");
        /* The tenant's own least length. */
        p.min_length = 12;
        assert_refused(&p, "alice", NULL, "rx7#Lq2mZw9", "at least 12 characters");
        assert_accepted(&p, "alice", NULL, "rx7#Lq2mZw9!");
}
END_TEST

START_TEST(test_dictionary_word) {
        PasswordPolicy p = defaults;

        assert_refused(&defaults, "alice", NULL, "password", "dictionary");
        assert_refused(&defaults, "alice", NULL, "Password1", "dictionary");
        assert_refused(&defaults, "alice", NULL, "sunshine99", "dictionary");
        /* cracklib's rules beyond the words. */
        assert_refused(&defaults, "alice", NULL, "abcdefghij", "simplistic");
        /* A tenant that turned the check off. */
        p.dictionary_check = false;
        assert_accepted(&p, "alice", NULL, "sunshine99");
}
END_TEST

START_TEST(test_user_name) {
        PasswordPolicy p = defaults;

        /* The name itself, whatever the settings. */
        assert_refused(&defaults, "rosalind", NULL, "ROSALIND", "must not be the user name");
        /* In some form: inside, reversed. */
        assert_refused(&defaults, "rosalind", NULL, "xrosalind42!", "user name");
        assert_refused(&defaults, "rosalind", NULL, "dnilasor-42!", "user name");
        /* The parts of a name. */
        assert_refused(&defaults, "mary-anne", NULL, "anne-is-great-7", "user name");
        /* Without the check, only the name itself is refused. */
        p.user_check = false;
        assert_accepted(&p, "rosalind", NULL, "xrosalind42!");
        assert_refused(&p, "rosalind", NULL, "Rosalind", "must not be the user name");
}
END_TEST

START_TEST(test_email) {
        PasswordPolicy p = defaults;

        assert_refused(&defaults, "alice", "alice.liddell@example.com", "alice.liddell@example.com",
                       "must not be the e-mail address");
        assert_refused(&defaults, "alice", "wonder@example.com", "Wonder", "at least 8");
        assert_refused(&defaults, "alice", "wonderland@example.com", "WONDERLAND", "must not be the e-mail address");
        /* The local part and its parts, in some form. */
        assert_refused(&defaults, "al", "alice.liddell@example.com", "my-alice.liddell-7", "e-mail address");
        assert_refused(&defaults, "al", "alice.liddell@example.com", "liddell-rocks-42", "e-mail address");
        assert_refused(&defaults, "al", "rabbit_hole@example.com", "down-the-hole-92", "e-mail address");
        /* Not the domain. */
        assert_accepted(&defaults, "al", "rabbit@example.com", "an example of sorts");
        p.user_check = false;
        assert_accepted(&p, "al", "alice.liddell@example.com", "liddell-rocks-42");
}
END_TEST

START_TEST(test_classes) {
        PasswordPolicy p = defaults;

        /* None asked by default. */
        assert_accepted(&defaults, "alice", NULL, "quiet lantern orbit");
        p.min_classes = 3;
        assert_refused(&p, "alice", NULL, "quiet lantern orbit", "less than 3 character classes");
        assert_accepted(&p, "alice", NULL, "Quiet lantern orbit 7");
}
END_TEST

START_TEST(test_max_repeat) {
        PasswordPolicy p = defaults;

        assert_accepted(&defaults, "alice", NULL, "zzz-quiet-lantern");
        p.max_repeat = 2;
        assert_refused(&p, "alice", NULL, "zzz-quiet-lantern", "more than 2 same characters consecutively");
}
END_TEST

START_TEST(test_current_password) {
        TesseraError e;

        ck_assert_int_eq(check(&defaults, "alice", NULL, "quiet lantern orbit", "quiet lantern orbit", &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "must differ from the current one"));
        /* The same in other case, or rotated: libpwquality's. */
        ck_assert_int_eq(check(&defaults, "alice", NULL, "QUIET LANTERN ORBIT", "quiet lantern orbit", &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "case"));
        ck_assert_int_eq(check(&defaults, "alice", NULL, "lantern orbitquiet ", "quiet lantern orbit", &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "rotated"));
        ck_assert_int_eq(check(&defaults, "alice", NULL, "a different passphrase", "quiet lantern orbit", &e), 0);
        /* A current password longer than any we set is not compared. */
        {
                char *huge = malloc(1024 * 1024);

                ck_assert_ptr_nonnull(huge);
                memset(huge, 'q', 1024 * 1024 - 1);
                huge[1024 * 1024 - 1] = '\0';
                ck_assert_int_eq(check(&defaults, "alice", NULL, "a different passphrase", huge, &e), 0);
                free(huge);
        }
}
END_TEST

START_TEST(test_lengths_and_encoding) {
        PasswordPolicy bcrypt = defaults;
        char buf[600];
        TesseraError e;

        /* 512 bytes at most. */
        for (size_t i = 0; i < 513; i++)
                buf[i] = "qwertzuiopasdfghjklyxcvbnm0123456789"[(i * 7) % 36];
        buf[513] = '\0';
        assert_refused(&defaults, "alice", NULL, buf, "at most 512");
        buf[512] = '\0';
        ck_assert_int_ne(check(&defaults, "alice", NULL, buf, NULL, &e), -E2BIG);
        ck_assert_ptr_null(strstr(e.message, "at most"));

        /* bcrypt's 72 bytes: refused, not cut short. */
        bcrypt.max_bytes = PASSWORD_MAX_BYTES_BCRYPT;
        buf[73] = '\0';
        assert_refused(&bcrypt, "alice", NULL, buf, "at most 72 bytes");
        buf[72] = '\0';
        ck_assert_ptr_null(check(&bcrypt, "alice", NULL, buf, NULL, &e) == -EINVAL ? strstr(e.message, "72") : NULL);

        assert_refused(&defaults, "alice", NULL, "bad \xff bytes here", "not valid UTF-8");
        ck_assert_int_eq(check(&defaults, "alice", NULL, NULL, NULL, &e), -EINVAL);
}
END_TEST

START_TEST(test_policy_of_tenant) {
        _cleanup_(config_freep) Config *c = NULL;
        TenantRecord t = {};
        PasswordPolicy p;

        ck_assert_int_eq(config_new_default(&c), 0);
        password_policy_of_tenant(c, NULL, &p);
        ck_assert_uint_eq(p.min_length, 8);
        ck_assert(p.dictionary_check);
        ck_assert(p.user_check);
        ck_assert_uint_eq(p.min_classes, 0);
        ck_assert_uint_eq(p.max_repeat, 0);
        ck_assert_uint_eq(p.max_bytes, PASSWORD_MAX_BYTES);
        ck_assert_ptr_null(p.dictionary);

        /* The tenant's own values, the site's for the rest. */
        t.settings = (TenantSettings) {
                .set = TENANT_SETTING_BIT(TENANT_SETTING_PASSWORD_MIN_LENGTH) |
                       TENANT_SETTING_BIT(TENANT_SETTING_PASSWORD_DICTIONARY_CHECK),
                .password_min_length = 14,
                .password_dictionary_check = false,
                .password_min_classes = 4,      /* not set: ignored */
        };
        c->password_min_classes = 2;
        free(c->hash_prefix);
        c->hash_prefix = strdup("$2b$");
        ck_assert_ptr_nonnull(c->hash_prefix);
        password_policy_of_tenant(c, &t, &p);
        ck_assert_uint_eq(p.min_length, 14);
        ck_assert(!p.dictionary_check);
        ck_assert_uint_eq(p.min_classes, 2);
        ck_assert_uint_eq(p.max_bytes, PASSWORD_MAX_BYTES_BCRYPT);
}
END_TEST

/* A dictionary that isn't there: every new password is refused, with a
 * message that says why, unless the tenant turned the check off. */
START_TEST(test_missing_dictionary_fails_closed) {
        PasswordPolicy p = defaults;
        char reason[128] = "";
        TesseraError e;

        ck_assert_int_eq(password_policy_probe(NULL, reason, sizeof(reason)), 0);
        p.dictionary = "/nonexistent/cracklib_dict";
        ck_assert_int_eq(password_policy_probe(p.dictionary, reason, sizeof(reason)), -EOPNOTSUPP);
        ck_assert_ptr_nonnull(strstr(reason, "dictionary"));

        ck_assert_int_eq(check(&p, "alice", NULL, "correct horse battery staple", NULL, &e), -EOPNOTSUPP);
        ck_assert_ptr_nonnull(strstr(e.message, "can't be checked against the dictionary"));
        ck_assert_ptr_nonnull(strstr(e.message, reason));
        /* The rules before the dictionary still say their own. */
        assert_refused(&p, "alice", NULL, "short", "at least 8");
        p.dictionary_check = false;
        assert_accepted(&p, "alice", NULL, "correct horse battery staple");
}
END_TEST

/* cracklib works in static buffers: checks on several threads at once
 * must still each get their own answer. */
static void *check_many(void *userdata) {
        unsigned *wrong = userdata;

        for (unsigned i = 0; i < 150; i++) {
                TesseraError e = {};
                bool weak = i % 2 == 0;
                int r = password_policy_check(&defaults, "alice", NULL, weak ? "sunshine99" : "quiet lantern orbit",
                                              NULL, &e);

                if (weak ? r != -EINVAL || !strstr(e.message, "dictionary") : r != 0)
                        (*wrong)++;
        }
        return NULL;
}

START_TEST(test_threads) {
        pthread_t threads[4];
        unsigned wrong[4] = {};

        for (size_t i = 0; i < ELEMENTSOF(threads); i++)
                ck_assert_int_eq(pthread_create(&threads[i], NULL, check_many, &wrong[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
                ck_assert_uint_eq(wrong[i], 0);
        }
}
END_TEST

static Suite *password_policy_suite(void) {
        Suite *s = suite_create("password-policy");
        TCase *tc = tcase_create("checks");

        tcase_add_test(tc, test_good_passphrases_accepted);
        tcase_add_test(tc, test_too_short);
        tcase_add_test(tc, test_dictionary_word);
        tcase_add_test(tc, test_user_name);
        tcase_add_test(tc, test_email);
        tcase_add_test(tc, test_classes);
        tcase_add_test(tc, test_max_repeat);
        tcase_add_test(tc, test_current_password);
        tcase_add_test(tc, test_lengths_and_encoding);
        tcase_add_test(tc, test_policy_of_tenant);
        tcase_add_test(tc, test_missing_dictionary_fails_closed);
        tcase_add_test(tc, test_threads);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        log_set_max_level(LOG_CRIT);
        return test_run_suite(password_policy_suite());
}
