/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "secret-box.h"

#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "log.h"

/* A box: version | nonce | ciphertext | tag. */
#define BOX_VERSION 1
#define BOX_NONCE_SIZE 12
#define BOX_TAG_SIZE 16
#define BOX_OVERHEAD (1 + BOX_NONCE_SIZE + BOX_TAG_SIZE)
/* Nothing we seal comes near this; it keeps lengths within int. */
#define BOX_MAX_PLAIN (64 * 1024)

struct SecretKey {
        /* Separate keys for separate uses, derived from the one on disk, so
         * that no value is ever both an encryption and a MAC key. */
        uint8_t seal_key[SECRET_KEY_SIZE];
        uint8_t digest_key[SECRET_KEY_SIZE];
};

static int derive(const uint8_t *master, const char *label, uint8_t out[static SECRET_KEY_SIZE]) {
        unsigned len = 0;

        if (!HMAC(EVP_sha256(), master, SECRET_KEY_SIZE, (const unsigned char *) label, strlen(label), out, &len) ||
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

/* Reads exactly SECRET_KEY_SIZE bytes from a file only we may read. */
static int read_key_file(const char *path, uint8_t raw[static SECRET_KEY_SIZE]) {
        _cleanup_(closep) int fd = -EBADF;
        uint8_t extra;
        struct stat st;
        size_t got = 0;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat the key file %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EBADF, "The key file %s is not a regular file.", path);
        if (st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
                return log_error_errno(-EPERM,
                                       "The key file %s must belong to uid %u and be readable by it alone "
                                       "(mode 0600 or 0400); refusing to use a key others may know.",
                                       path, (unsigned) geteuid());

        while (got < SECRET_KEY_SIZE) {
                n = read(fd, raw + got, SECRET_KEY_SIZE - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return log_error_errno(-errno, "Failed to read the key file %s: %m", path);
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        n = read(fd, &extra, 1);
        if (got != SECRET_KEY_SIZE || n != 0) {
                explicit_bzero(raw, SECRET_KEY_SIZE);
                return log_error_errno(-EBADMSG, "The key file %s must hold exactly %d bytes.", path,
                                       SECRET_KEY_SIZE);
        }
        return 0;
}

static int fsync_directory_of(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_(closep) int fd = -EBADF;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                return 0;
        if (slash == dir)
                slash[1] = '\0';
        else
                *slash = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Creates the key file with fresh random bytes. -EEXIST when another
 * process was quicker: then read its key. */
static int create_key_file(const char *path, uint8_t raw[static SECRET_KEY_SIZE]) {
        _cleanup_(closep) int fd = -EBADF;
        int r;

        if (getrandom(raw, SECRET_KEY_SIZE, 0) != SECRET_KEY_SIZE)
                return log_error_errno(-EIO, "Failed to get random bytes for a new key.");

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0) {
                r = -errno;
                explicit_bzero(raw, SECRET_KEY_SIZE);
                return r == -EEXIST ? r : log_error_errno(r, "Failed to create the key file %s: %m", path);
        }
        /* The key is durable before anything is sealed with it. */
        if (write(fd, raw, SECRET_KEY_SIZE) != SECRET_KEY_SIZE || fsync(fd) < 0) {
                r = -errno ?: -EIO;
                (void) unlink(path);
                explicit_bzero(raw, SECRET_KEY_SIZE);
                return log_error_errno(r, "Failed to write the key file %s: %m", path);
        }
        r = fsync_directory_of(path);
        if (r < 0)
                log_warning_errno(r, "Failed to sync the directory of %s: %m", path);
        log_info("Created a new secret key in %s.", path);
        return 0;
}

int secret_key_load(const char *path, SecretKey **ret) {
        _cleanup_free_ char *credential = NULL;
        uint8_t raw[SECRET_KEY_SIZE];
        const char *dir;
        int r;

        /* systemd passes credentials in a directory only the service sees. */
        dir = secure_getenv("CREDENTIALS_DIRECTORY");
        if (!isempty(dir)) {
                if (asprintf(&credential, "%s/%s", dir, SECRET_KEY_CREDENTIAL) < 0)
                        return log_oom();
                r = read_key_file(credential, raw);
                if (r >= 0) {
                        log_debug("Using the secret key from credential %s.", SECRET_KEY_CREDENTIAL);
                        path = NULL;
                } else if (r != -ENOENT)
                        return r;
        }

        if (path) {
                r = read_key_file(path, raw);
                if (r == -ENOENT) {
                        r = create_key_file(path, raw);
                        if (r == -EEXIST)
                                r = read_key_file(path, raw);
                } else if (r < 0 && r != -EPERM && r != -EBADMSG && r != -EBADF)
                        r = log_error_errno(r, "Failed to open the key file %s: %m", path);
                if (r < 0)
                        return r;
        }

        r = secret_key_from_bytes(raw, ret);
        explicit_bzero(raw, sizeof(raw));
        return r;
}

static void cipher_ctx_freep(EVP_CIPHER_CTX **c) {
        EVP_CIPHER_CTX_free(*c);
}

/* Fills box (BOX_OVERHEAD + n bytes) with the sealed value. */
static int seal_into(const SecretKey *k, const char *context, const void *plain, size_t n, uint8_t *box) {
        _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *c = NULL;
        uint8_t *nonce = box + 1, *ct = box + 1 + BOX_NONCE_SIZE;
        int len;

        box[0] = BOX_VERSION;
        /* Random 96-bit nonces: we seal a handful of values per user, far
         * below where collisions become a concern. */
        if (getrandom(nonce, BOX_NONCE_SIZE, 0) != BOX_NONCE_SIZE)
                return -EIO;

        c = EVP_CIPHER_CTX_new();
        if (!c)
                return -ENOMEM;
        if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->seal_key, nonce) != 1 ||
            EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *) context, (int) strlen(context)) != 1 ||
            (n > 0 && EVP_EncryptUpdate(c, ct, &len, plain, (int) n) != 1) ||
            EVP_EncryptFinal_ex(c, ct + n, &len) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, BOX_TAG_SIZE, ct + n) != 1)
                return -EIO;
        return 0;
}

int secret_box_seal(const SecretKey *k, const char *context, const void *plain, size_t n, uint8_t **ret,
                    size_t *ret_len) {
        size_t size = BOX_OVERHEAD + n;
        uint8_t *box;
        int r;

        if (n > BOX_MAX_PLAIN || !context)
                return -EINVAL;
        box = malloc(size);
        if (!box)
                return -ENOMEM;
        r = seal_into(k, context, plain, n, box);
        if (r < 0) {
                secret_free(box, size);
                return r;
        }
        *ret = box;
        *ret_len = size;
        return 0;
}

int secret_box_open(const SecretKey *k, const char *context, const uint8_t *box, size_t len, uint8_t **ret,
                    size_t *ret_len) {
        _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *c = NULL;
        const uint8_t *nonce, *ct;
        size_t n;
        uint8_t *plain;
        int l;

        if (!context)
                return -EINVAL;
        if (!box || len < BOX_OVERHEAD || len - BOX_OVERHEAD > BOX_MAX_PLAIN || box[0] != BOX_VERSION)
                return -EBADMSG;
        n = len - BOX_OVERHEAD;
        nonce = box + 1;
        ct = nonce + BOX_NONCE_SIZE;

        /* One byte more, so that an empty value still gets a buffer. */
        plain = malloc(n + 1);
        if (!plain)
                return -ENOMEM;

        c = EVP_CIPHER_CTX_new();
        if (!c) {
                free(plain);
                return -ENOMEM;
        }
        if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->seal_key, nonce) != 1 ||
            EVP_DecryptUpdate(c, NULL, &l, (const unsigned char *) context, (int) strlen(context)) != 1 ||
            (n > 0 && EVP_DecryptUpdate(c, plain, &l, ct, (int) n) != 1) ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, BOX_TAG_SIZE, (void *) (ct + n)) != 1 ||
            EVP_DecryptFinal_ex(c, plain + n, &l) != 1) {
                /* Whatever was decrypted before the tag check failed is not
                 * to be trusted or kept. */
                secret_free(plain, n + 1);
                return -EBADMSG;
        }

        *ret = plain;
        *ret_len = n;
        return 0;
}

int secret_key_digest(const SecretKey *k, const char *context, const void *data, size_t n,
                      uint8_t ret[static SECRET_DIGEST_SIZE]) {
        _cleanup_free_ uint8_t *msg = NULL;
        size_t cl = strlen(context);
        unsigned len = 0;
        int r = 0;

        if (n > INT_MAX - cl - 1)
                return -EINVAL;
        /* context NUL data: a context can't run into the data. */
        msg = malloc(cl + 1 + n);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, context, cl + 1);
        if (n > 0)
                memcpy(msg + cl + 1, data, n);
        if (!HMAC(EVP_sha256(), k->digest_key, SECRET_KEY_SIZE, msg, cl + 1 + n, ret, &len) ||
            len != SECRET_DIGEST_SIZE)
                r = -EIO;
        explicit_bzero(msg, cl + 1 + n);
        return r;
}
