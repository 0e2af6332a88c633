/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* High-entropy secrets we hand out (client secrets, refresh tokens,
 * authorization codes, session cookies): random, base64url, shown once and
 * stored only as digests. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_DIGEST_SIZE 32
/* 32 random bytes: 256 bits, 43 characters. */
#define TOKEN_RANDOM_BYTES 32
/* Longest token we accept from a client before even hashing it. */
#define TOKEN_MAX_LEN 4096

/* A new random token of n bytes, base64url. */
int token_random(size_t n, char **ret);
/* n random bytes as lower-case hex (for ids that appear in logs). */
int token_random_hex(size_t n, char *out, size_t out_size);
/* The same for identifiers that must be unique but are no secret, drawn
 * on every request (request ids, the jti of access tokens): from random
 * bytes the thread draws 512 at a time, one syscall for dozens of ids.
 * n is at most 64. */
int token_random_id(size_t n, char *out, size_t out_size);

/* SHA-256, for every digest the daemon takes (32 bytes out). */
void sha256(const void *data, size_t n, uint8_t out[static 32]);

/* SHA-256 of the token text: what the store keeps. */
void token_digest(const char *token, uint8_t out[TOKEN_DIGEST_SIZE]);

/* A token of our alphabet and bounded length, before any lookup. */
bool token_is_plausible(const char *s);
