/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "token.h"

#include <errno.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>
#include <sys/random.h>

#include "base64url.h"

int token_random(size_t n, char **ret) {
        uint8_t buf[256];
        int r;

        if (n == 0 || n > sizeof(buf))
                return -EINVAL;
        if (getrandom(buf, n, 0) != (ssize_t) n)
                return -EIO;
        r = base64url_encode(buf, n, ret);
        explicit_bzero(buf, sizeof(buf));
        return r;
}

static void hex_encode(const uint8_t *buf, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";

        /* By hand: this runs for every request (its id) and every token
         * (its jti), and a printf per byte cost more than the syscall. */
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[buf[i] >> 4];
                out[2 * i + 1] = hex[buf[i] & 15];
        }
        out[2 * n] = '\0';
}

int token_random_hex(size_t n, char *out, size_t out_size) {
        uint8_t buf[64];

        if (n == 0 || n > sizeof(buf) || out_size < 2 * n + 1)
                return -EINVAL;
        if (getrandom(buf, n, 0) != (ssize_t) n)
                return -EIO;
        hex_encode(buf, n, out);
        explicit_bzero(buf, n);
        return 0;
}

/* Bytes from getrandom(), drawn in blocks and kept per thread. */
static __thread struct {
        uint8_t buf[512];
        size_t used;
} id_pool = { .used = sizeof(id_pool.buf) };
static pthread_once_t id_pool_once = PTHREAD_ONCE_INIT;

static void id_pool_forget(void) {
        /* In a child, the forking thread's copy must not be handed out
         * again: its parent does that. */
        id_pool.used = sizeof(id_pool.buf);
}

static void id_pool_setup(void) {
        (void) pthread_atfork(NULL, NULL, id_pool_forget);
}

int token_random_id(size_t n, char *out, size_t out_size) {
        if (n == 0 || n > 64 || out_size < 2 * n + 1)
                return -EINVAL;
        (void) pthread_once(&id_pool_once, id_pool_setup);
        if (sizeof(id_pool.buf) - id_pool.used < n) {
                if (getrandom(id_pool.buf, sizeof(id_pool.buf), 0) != (ssize_t) sizeof(id_pool.buf))
                        return -EIO;
                id_pool.used = 0;
        }
        hex_encode(id_pool.buf + id_pool.used, n, out);
        id_pool.used += n;
        return 0;
}

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void sha256(const void *data, size_t n, uint8_t out[static SHA256_DIGEST_LENGTH]) {
        /* OpenSSL 3.0's SHA256() looks the algorithm up on every call,
         * under locks that every thread shares; the token path digests
         * two or three times per request. Fetched once, it costs half. */
        (void) pthread_once(&sha256_once, sha256_fetch);
        if (!sha256_md || EVP_Digest(data, n, out, NULL, sha256_md, NULL) != 1)
                (void) SHA256(data, n, out);
}

void token_digest(const char *token, uint8_t out[TOKEN_DIGEST_SIZE]) {
        sha256(token, strlen(token), out);
}

bool token_is_plausible(const char *s) {
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++) {
                char c = s[n];
                if (n >= TOKEN_MAX_LEN)
                        return false;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~'))
                        return false;
        }
        return n > 0;
}
