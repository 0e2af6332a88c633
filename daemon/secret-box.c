/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "secret-box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "log.h"

#define BOX_VERSION 1
#define NONCE_SIZE 12
#define TAG_SIZE 16
#define BOX_MAX_PLAIN (64 * 1024)

struct SecretKey {
        uint8_t seal_key[SECRET_KEY_SIZE];
        uint8_t digest_key[SECRET_KEY_SIZE];
};

static int derive(const uint8_t *master, const char *label, uint8_t out[static SECRET_KEY_SIZE]) {
        unsigned len = 0;

        if (!HMAC(EVP_sha256(), master, SECRET_KEY_SIZE, (const uint8_t *) label, strlen(label), out, &len) ||
            len != SECRET_KEY_SIZE)
                return -EIO;
        return 0;
}

int secret_key_from_bytes(const uint8_t raw[static SECRET_KEY_SIZE], SecretKey **ret) {
        SecretKey *k = calloc(1, sizeof(SecretKey));
        int r;

        if (!k)
                return -ENOMEM;
        r = derive(raw, "tessera secret-box v1", k->seal_key);
        if (r >= 0)
                r = derive(raw, "tessera digest v1", k->digest_key);
        if (r < 0) {
                secret_key_free(k);
                return r;
        }
        *ret = k;
        return 0;
}

SecretKey *secret_key_free(SecretKey *k) {
        secret_free(k, sizeof(SecretKey));
        return NULL;
}

static int create_key_file(const char *path) {
        uint8_t raw[SECRET_KEY_SIZE];
        int fd, r = 0;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return errno == EEXIST ? 0 : log_error_errno(-errno, "Failed to create the key file %s: %m", path);
        if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
                r = log_error_errno(-EIO, "Failed to get random bytes for %s.", path);
        else if (write(fd, raw, sizeof(raw)) != sizeof(raw) || fsync(fd) < 0)
                r = log_error_errno(errno > 0 ? -errno : -EIO, "Failed to write the key file %s: %m", path);
        explicit_bzero(raw, sizeof(raw));
        close(fd);
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        log_info("Created a new secret key in %s; back it up apart from the database.", path);
        return 0;
}

int secret_key_load(const char *path, SecretKey **ret) {
        uint8_t raw[SECRET_KEY_SIZE + 1];
        struct stat st;
        ssize_t n;
        int fd, r;

        r = create_key_file(path);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open the key file %s: %m", path);
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return log_error_errno(r, "Failed to stat %s: %m", path);
        }
        if (!S_ISREG(st.st_mode) || (st.st_mode & 0077) != 0 || st.st_uid != geteuid()) {
                close(fd);
                return log_error_errno(-EPERM, "%s must be a regular file of ours that nobody else may read "
                                               "(chmod 0600).", path);
        }
        n = read(fd, raw, sizeof(raw));
        close(fd);
        if (n != SECRET_KEY_SIZE) {
                explicit_bzero(raw, sizeof(raw));
                return log_error_errno(n < 0 ? -errno : -EINVAL, "%s must hold exactly %d bytes.", path,
                                       SECRET_KEY_SIZE);
        }
        r = secret_key_from_bytes(raw, ret);
        explicit_bzero(raw, sizeof(raw));
        return r;
}

static void cipher_ctx_freep(EVP_CIPHER_CTX **c) {
        EVP_CIPHER_CTX_free(*c);
}

int secret_box_seal(const SecretKey *k, const char *context, const void *plain, size_t n, uint8_t **ret,
                    size_t *ret_len) {
        _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        uint8_t *nonce, *ct;
        int len;

        if (n > BOX_MAX_PLAIN)
                return -E2BIG;
        out = malloc(1 + NONCE_SIZE + n + TAG_SIZE);
        if (!out)
                return -ENOMEM;
        out[0] = BOX_VERSION;
        nonce = out + 1;
        ct = nonce + NONCE_SIZE;
        if (getrandom(nonce, NONCE_SIZE, 0) != NONCE_SIZE)
                return -EIO;
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->seal_key, nonce) != 1 ||
            EVP_EncryptUpdate(ctx, NULL, &len, (const uint8_t *) context, (int) strlen(context)) != 1 ||
            EVP_EncryptUpdate(ctx, ct, &len, plain, (int) n) != 1 || EVP_EncryptFinal_ex(ctx, ct + len, &len) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, ct + n) != 1)
                return -EIO;
        *ret_len = 1 + NONCE_SIZE + n + TAG_SIZE;
        *ret = TAKE_PTR(out);
        return 0;
}

int secret_box_open(const SecretKey *k, const char *context, const uint8_t *box, size_t n, uint8_t **ret,
                    size_t *ret_len) {
        _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = NULL;
        const uint8_t *nonce, *ct, *tag;
        uint8_t *out;
        size_t ct_n;
        int len;
        bool ok;

        if (n < 1 + NONCE_SIZE + TAG_SIZE || box[0] != BOX_VERSION || n > BOX_MAX_PLAIN + 1 + NONCE_SIZE + TAG_SIZE)
                return -EBADMSG;
        nonce = box + 1;
        ct = nonce + NONCE_SIZE;
        ct_n = n - 1 - NONCE_SIZE - TAG_SIZE;
        tag = ct + ct_n;
        out = malloc(ct_n + 1);
        if (!out)
                return -ENOMEM;
        ctx = EVP_CIPHER_CTX_new();
        ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->seal_key, nonce) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &len, (const uint8_t *) context, (int) strlen(context)) == 1 &&
             EVP_DecryptUpdate(ctx, out, &len, ct, (int) ct_n) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, (void *) tag) == 1 &&
             EVP_DecryptFinal_ex(ctx, out + len, &len) == 1;
        if (!ok) {
                secret_free(out, ct_n + 1);
                return ctx ? -EBADMSG : -ENOMEM;
        }
        out[ct_n] = 0;
        *ret = out;
        *ret_len = ct_n;
        return 0;
}

int secret_key_digest(const SecretKey *k, const char *context, const void *data, size_t n,
                      uint8_t ret[static SECRET_DIGEST_SIZE]) {
        uint8_t sub[SECRET_KEY_SIZE];
        unsigned len = 0;
        int r;

        /* A key per context: a digest made for one purpose says nothing
         * about another. */
        r = derive(k->digest_key, context, sub);
        if (r >= 0 && (!HMAC(EVP_sha256(), sub, sizeof(sub), data, n, ret, &len) || len != SECRET_DIGEST_SIZE))
                r = -EIO;
        explicit_bzero(sub, sizeof(sub));
        return r;
}
