/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "base64url.h"

#include <errno.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64url_encode_to(const void *data, size_t n, char *out) {
        const uint8_t *p = data;
        char *o = out;
        size_t i;

        for (i = 0; i + 3 <= n; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];
                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
                *o++ = alphabet[v >> 6 & 63];
                *o++ = alphabet[v & 63];
        }
        if (n - i == 1) {
                uint32_t v = (uint32_t) p[i] << 16;
                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
        } else if (n - i == 2) {
                uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8;
                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
                *o++ = alphabet[v >> 6 & 63];
        }
        *o = '\0';
        return (size_t) (o - out);
}

int base64url_encode(const void *data, size_t n, char **ret) {
        char *s = malloc(base64url_encoded_len(n) + 1);

        if (!s)
                return -ENOMEM;
        base64url_encode_to(data, n, s);
        *ret = s;
        return 0;
}

static int decode_char(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

int base64url_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_n) {
        uint8_t *out, *o;
        uint32_t acc = 0;
        int bits = 0;

        /* One leftover character would carry fewer than 8 bits. */
        if (n % 4 == 1)
                return -EINVAL;
        out = o = malloc(n / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                int v = decode_char(s[i]);
                if (v < 0) {
                        free(out);
                        return -EINVAL;
                }
                acc = acc << 6 | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        *o++ = (uint8_t) (acc >> bits);
                }
        }
        /* The unused low bits of the last character must be zero. */
        if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
                free(out);
                return -EINVAL;
        }
        *o = 0;
        *ret_n = (size_t) (o - out);
        *ret = out;
        return 0;
}
