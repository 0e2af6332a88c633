/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Secrets at rest: data the daemon must read back (TOTP seeds now, private
 * signing keys later) is sealed with AES-256-GCM under a key that lives
 * outside the database, so that a copy of the database alone reveals none of
 * it. Low-entropy secrets that only need comparing (backup codes) are kept
 * as keyed digests (HMAC-SHA-256) for the same reason: without the key, a
 * stolen digest can't be searched offline.
 *
 * The key: 32 random bytes, read from $CREDENTIALS_DIRECTORY/tessera.key
 * when systemd passes it as a credential (LoadCredential= or
 * SetCredentialEncrypted=), else from a file (default: secret.key in the
 * state directory), created 0600 on first start. A file that others may
 * read or that has the wrong size is refused: better not to start than to
 * run with a key that may be known.
 *
 * Every function is safe to call from any thread with a shared SecretKey. */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define SECRET_KEY_SIZE 32
#define SECRET_DIGEST_SIZE 32
/* The name of the systemd credential, and of the file in the state directory. */
#define SECRET_KEY_CREDENTIAL "tessera.key"
#define SECRET_KEY_FILE "secret.key"

typedef struct SecretKey SecretKey;

/* Loads the key from the credential if there is one, else from path,
 * creating the file when it doesn't exist. Logs what went wrong. */
int secret_key_load(const char *path, SecretKey **ret);
/* A key from raw bytes (tests, tools). */
int secret_key_from_bytes(const uint8_t raw[static SECRET_KEY_SIZE], SecretKey **ret);
SecretKey *secret_key_free(SecretKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(SecretKey *, secret_key_free);

/* Seals plain (n bytes) into a newly allocated box bound to context (say
 * "totp:42"): a box only opens with the same context, so a sealed value
 * copied to another row or another purpose is useless. */
int secret_box_seal(const SecretKey *k, const char *context, const void *plain, size_t n, uint8_t **ret,
                    size_t *ret_len);
/* Opens a box; the plain text is returned in memory the caller wipes and
 * frees. -EBADMSG when the box was not sealed with this key and context or
 * was altered. */
int secret_box_open(const SecretKey *k, const char *context, const uint8_t *box, size_t len, uint8_t **ret,
                    size_t *ret_len);

/* HMAC-SHA-256 of data under a key derived from k, bound to context. */
int secret_key_digest(const SecretKey *k, const char *context, const void *data, size_t n,
                      uint8_t ret[static SECRET_DIGEST_SIZE]);

/* Frees memory that held a secret of n bytes, wiping it first. */
static inline void secret_free(void *p, size_t n) {
        if (p)
                explicit_bzero(p, n);
        free(p);
}
