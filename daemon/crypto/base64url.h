/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Base64url without padding (RFC 4648 section 5), the alphabet of JWTs,
 * PKCE and our random tokens. */

#include <stddef.h>
#include <stdint.h>

/* Length of the encoding of n bytes, without the NUL. */
static inline size_t base64url_encoded_len(size_t n) {
        return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/* Encodes n bytes into out, which must hold base64url_encoded_len(n) + 1
 * bytes; NUL-terminates it and returns the length. */
size_t base64url_encode_to(const void *data, size_t n, char *out);
/* Same, into a new string. */
int base64url_encode(const void *data, size_t n, char **ret);

/* Decodes the first n characters of s. Refuses padding, characters outside
 * the alphabet and non-canonical trailing bits: one token, one encoding.
 * Returns a new buffer (NUL-terminated, for convenience) and its length. */
int base64url_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_n);
