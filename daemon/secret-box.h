/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Secrets at rest: data the daemon must read back (private signing keys,
 * TOTP seeds) is sealed with AES-256-GCM under a key that lives outside the
 * database, so that a copy of tessera.db alone reveals none of it; secrets
 * that only need comparing are kept as keyed digests (HMAC-SHA-256).
 *
 * The key: 32 random bytes in a file (default: secret.key in the state
 * directory), created 0600 on first start; a file others may read or of the
 * wrong size is refused. Every function is safe to call from any thread
 * with a shared SecretKey. (The same interface as the authentication core's;
 * one of the two goes when both branches meet.) */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define SECRET_KEY_SIZE 32
#define SECRET_DIGEST_SIZE 32
#define SECRET_KEY_FILE "secret.key"

typedef struct SecretKey SecretKey;

int secret_key_load(const char *path, SecretKey **ret);
int secret_key_from_bytes(const uint8_t raw[static SECRET_KEY_SIZE], SecretKey **ret);
SecretKey *secret_key_free(SecretKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(SecretKey *, secret_key_free);

/* Seals plain into a new box bound to context: it opens only with the same
 * context. */
int secret_box_seal(const SecretKey *k, const char *context, const void *plain, size_t n, uint8_t **ret,
                    size_t *ret_len);
/* -EBADMSG when the box was not sealed with this key and context or was
 * altered. The caller wipes and frees the result. */
int secret_box_open(const SecretKey *k, const char *context, const uint8_t *box, size_t len, uint8_t **ret,
                    size_t *ret_len);

/* HMAC-SHA-256 of data under a key derived from k, bound to context. */
int secret_key_digest(const SecretKey *k, const char *context, const void *data, size_t n,
                      uint8_t ret[static SECRET_DIGEST_SIZE]);

static inline void secret_free(void *p, size_t n) {
        if (p)
                explicit_bzero(p, n);
        free(p);
}
