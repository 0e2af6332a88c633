/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/secret-box.c: the key outside the database, sealing and keyed
 * digests. */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "test-auth-util.h"
#include "secret-box.h"

static char *dir;

static void setup(void) {
        dir = test_mkdtemp();
        unsetenv("CREDENTIALS_DIRECTORY");
}

static void teardown(void) {
        test_rm_rf(dir);
        dir = (free(dir), NULL);
}

static char *path_in(const char *name) {
        char *p;
        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, n), (ssize_t) n);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static SecretKey *key_of(uint8_t fill) {
        uint8_t raw[SECRET_KEY_SIZE];
        SecretKey *k = NULL;

        memset(raw, fill, sizeof(raw));
        ck_assert_int_eq(secret_key_from_bytes(raw, &k), 0);
        return k;
}

START_TEST(test_seal_open) {
        _cleanup_(secret_key_freep) SecretKey *k = key_of(1), *other = key_of(2);
        static const char plain[] = "12345678901234567890";
        uint8_t *box = NULL, *out = NULL;
        size_t box_len, out_len;

        ck_assert_int_eq(secret_box_seal(k, "totp:1", plain, 20, &box, &box_len), 0);
        ck_assert_uint_gt(box_len, 20);
        /* The seed is nowhere in the box. */
        ck_assert_ptr_null(memmem(box, box_len, plain, 20));

        ck_assert_int_eq(secret_box_open(k, "totp:1", box, box_len, &out, &out_len), 0);
        ck_assert_uint_eq(out_len, 20);
        ck_assert_mem_eq(out, plain, 20);
        secret_free(out, out_len);

        /* Another context (another user's row), another key, a changed
         * byte, a cut box: none opens. */
        ck_assert_int_eq(secret_box_open(k, "totp:2", box, box_len, &out, &out_len), -EBADMSG);
        ck_assert_int_eq(secret_box_open(other, "totp:1", box, box_len, &out, &out_len), -EBADMSG);
        box[box_len / 2] ^= 1;
        ck_assert_int_eq(secret_box_open(k, "totp:1", box, box_len, &out, &out_len), -EBADMSG);
        box[box_len / 2] ^= 1;
        ck_assert_int_eq(secret_box_open(k, "totp:1", box, box_len - 1, &out, &out_len), -EBADMSG);
        ck_assert_int_eq(secret_box_open(k, "totp:1", box, 5, &out, &out_len), -EBADMSG);
        box[0] = 9;   /* an unknown version */
        ck_assert_int_eq(secret_box_open(k, "totp:1", box, box_len, &out, &out_len), -EBADMSG);
        free(box);

        /* Two seals of the same value differ (fresh nonces). */
        uint8_t *b1 = NULL, *b2 = NULL;
        size_t l1, l2;
        ck_assert_int_eq(secret_box_seal(k, "x", plain, 20, &b1, &l1), 0);
        ck_assert_int_eq(secret_box_seal(k, "x", plain, 20, &b2, &l2), 0);
        ck_assert_uint_eq(l1, l2);
        ck_assert(memcmp(b1, b2, l1) != 0);
        free(b1);
        free(b2);

        /* An empty value seals and opens too. */
        ck_assert_int_eq(secret_box_seal(k, "x", "", 0, &b1, &l1), 0);
        ck_assert_int_eq(secret_box_open(k, "x", b1, l1, &out, &out_len), 0);
        ck_assert_uint_eq(out_len, 0);
        free(out);
        free(b1);
}
END_TEST

START_TEST(test_digest) {
        _cleanup_(secret_key_freep) SecretKey *k = key_of(1), *other = key_of(2);
        uint8_t a[SECRET_DIGEST_SIZE], b[SECRET_DIGEST_SIZE];

        ck_assert_int_eq(secret_key_digest(k, "backup-code:1", "7hk2mx9qpa", 10, a), 0);
        ck_assert_int_eq(secret_key_digest(k, "backup-code:1", "7hk2mx9qpa", 10, b), 0);
        ck_assert_mem_eq(a, b, sizeof(a));
        ck_assert_int_eq(secret_key_digest(k, "backup-code:2", "7hk2mx9qpa", 10, b), 0);
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
        ck_assert_int_eq(secret_key_digest(other, "backup-code:1", "7hk2mx9qpa", 10, b), 0);
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
        ck_assert_int_eq(secret_key_digest(k, "backup-code:1", "7hk2mx9qpb", 10, b), 0);
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(test_key_file_created) {
        _cleanup_free_ char *path = path_in("secret.key");
        _cleanup_(secret_key_freep) SecretKey *k1 = NULL, *k2 = NULL;
        uint8_t *box = NULL, *out = NULL;
        size_t box_len, out_len;
        struct stat st;

        /* First start: created, 0600, 32 bytes. */
        ck_assert_int_eq(secret_key_load(path, &k1), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(st.st_size, SECRET_KEY_SIZE);

        /* Next start: the same key opens what the first one sealed. */
        ck_assert_int_eq(secret_key_load(path, &k2), 0);
        ck_assert_int_eq(secret_box_seal(k1, "c", "seed", 4, &box, &box_len), 0);
        ck_assert_int_eq(secret_box_open(k2, "c", box, box_len, &out, &out_len), 0);
        ck_assert_mem_eq(out, "seed", 4);
        free(out);
        free(box);
}
END_TEST

START_TEST(test_key_file_refused) {
        _cleanup_free_ char *path = path_in("secret.key"), *link = path_in("link.key");
        uint8_t raw[SECRET_KEY_SIZE] = { 7 };
        SecretKey *k = NULL;

        /* Readable by others: refused, not silently used. */
        write_file(path, raw, sizeof(raw), 0644);
        ck_assert_int_eq(secret_key_load(path, &k), -EPERM);
        ck_assert_ptr_null(k);
        /* Wrong sizes. */
        write_file(path, raw, sizeof(raw) - 1, 0600);
        ck_assert_int_eq(secret_key_load(path, &k), -EBADMSG);
        write_file(path, raw, sizeof(raw), 0600);
        {
                int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                ck_assert_int_eq(write(fd, "x", 1), 1);
                close(fd);
        }
        ck_assert_int_eq(secret_key_load(path, &k), -EBADMSG);
        /* A symlink is not followed. */
        write_file(path, raw, sizeof(raw), 0600);
        ck_assert_int_eq(symlink(path, link), 0);
        ck_assert_int_lt(secret_key_load(link, &k), 0);
        ck_assert_ptr_null(k);
        /* A directory. */
        ck_assert_int_lt(secret_key_load(dir, &k), 0);
}
END_TEST

START_TEST(test_key_credential) {
        _cleanup_free_ char *path = path_in("secret.key"), *cred = path_in(SECRET_KEY_CREDENTIAL);
        _cleanup_(secret_key_freep) SecretKey *k = NULL, *expected = NULL;
        uint8_t raw[SECRET_KEY_SIZE];
        uint8_t a[SECRET_DIGEST_SIZE], b[SECRET_DIGEST_SIZE];

        memset(raw, 0x42, sizeof(raw));
        write_file(cred, raw, sizeof(raw), 0400);
        ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", dir, 1), 0);

        /* The credential wins; no key file is created. */
        ck_assert_int_eq(secret_key_load(path, &k), 0);
        ck_assert_int_eq(access(path, F_OK), -1);
        ck_assert_int_eq(secret_key_from_bytes(raw, &expected), 0);
        ck_assert_int_eq(secret_key_digest(k, "c", "d", 1, a), 0);
        ck_assert_int_eq(secret_key_digest(expected, "c", "d", 1, b), 0);
        ck_assert_mem_eq(a, b, sizeof(a));
        unsetenv("CREDENTIALS_DIRECTORY");
}
END_TEST

int main(void) {
        Suite *s = suite_create("secret-box");
        TCase *tc = tcase_create("secret-box");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_seal_open);
        tcase_add_test(tc, test_digest);
        tcase_add_test(tc, test_key_file_created);
        tcase_add_test(tc, test_key_file_refused);
        tcase_add_test(tc, test_key_credential);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
