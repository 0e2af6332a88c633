/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "cursor.h"

/* Layout before base64url: version, number and id (big-endian), the text's
 * length and bytes, then the first CURSOR_MAC_SIZE bytes of the keyed
 * digest over all of that and the scope. 128 bits of MAC are plenty for a
 * value an attacker can only try online. */
#define CURSOR_VERSION 1
#define CURSOR_MAC_SIZE 16
#define CURSOR_HEADER_SIZE (1 + 8 + 8 + 2)

static void put_u64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = v & 0xff;
}

static uint64_t get_u64(const uint8_t *p) {
        uint64_t v = 0;

        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

/* The digest binds the scope too: the same position in another list or
 * query gives another cursor. */
static int cursor_mac(const SecretKey *k, const char *scope, const uint8_t *data, size_t n,
                      uint8_t ret[static SECRET_DIGEST_SIZE]) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t scope_n = strlen(scope);

        buf = malloc(scope_n + 1 + n);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, scope, scope_n + 1);
        memcpy(buf + scope_n + 1, data, n);
        return secret_key_digest(k, "list-cursor", buf, scope_n + 1 + n, ret);
}

void cursor_done(Cursor *c) {
        free(c->text);
        *c = (Cursor) {};
}

int cursor_encode(const SecretKey *k, const char *scope, const Cursor *c, char **ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t mac[SECRET_DIGEST_SIZE];
        size_t text_n = c->text ? strlen(c->text) : 0, n;
        int r;

        if (text_n > CURSOR_TEXT_MAX)
                return -E2BIG;

        n = CURSOR_HEADER_SIZE + text_n;
        buf = malloc(n + CURSOR_MAC_SIZE);
        if (!buf)
                return -ENOMEM;
        buf[0] = CURSOR_VERSION;
        put_u64(buf + 1, (uint64_t) c->number);
        put_u64(buf + 9, (uint64_t) c->id);
        buf[17] = text_n >> 8;
        buf[18] = text_n & 0xff;
        memcpy(buf + CURSOR_HEADER_SIZE, c->text ?: "", text_n);

        r = cursor_mac(k, scope, buf, n, mac);
        if (r < 0)
                return r;
        memcpy(buf + n, mac, CURSOR_MAC_SIZE);
        return base64url_encode(buf, n + CURSOR_MAC_SIZE, ret);
}

int cursor_decode(const SecretKey *k, const char *scope, const char *s, Cursor *ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t mac[SECRET_DIGEST_SIZE];
        size_t n, s_n = strlen(s), text_n;
        char *text = NULL;
        int r;

        /* Longer than any cursor we make: don't even decode it. */
        if (s_n > base64url_encoded_len(CURSOR_HEADER_SIZE + CURSOR_TEXT_MAX + CURSOR_MAC_SIZE))
                return -EBADMSG;
        r = base64url_decode(s, s_n, &buf, &n);
        if (r < 0 || n < CURSOR_HEADER_SIZE + CURSOR_MAC_SIZE)
                return -EBADMSG;
        n -= CURSOR_MAC_SIZE;

        r = cursor_mac(k, scope, buf, n, mac);
        if (r < 0)
                return r;
        /* Constant time, although a cursor is no secret: it costs nothing. */
        if (!memeq_consttime(mac, buf + n, CURSOR_MAC_SIZE))
                return -EBADMSG;

        text_n = (size_t) buf[17] << 8 | buf[18];
        if (buf[0] != CURSOR_VERSION || text_n != n - CURSOR_HEADER_SIZE)
                return -EBADMSG;
        if (text_n > 0) {
                if (memchr(buf + CURSOR_HEADER_SIZE, 0, text_n))
                        return -EBADMSG;
                text = strndup((const char *) buf + CURSOR_HEADER_SIZE, text_n);
                if (!text)
                        return -ENOMEM;
        }

        *ret = (Cursor) {
                .number = (int64_t) get_u64(buf + 1),
                .id = (int64_t) get_u64(buf + 9),
                .text = text,
        };
        return 0;
}

int cursor_limit_parse(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s) {
                *ret = CURSOR_LIMIT_DEFAULT;
                return 0;
        }
        if (*s < '0' || *s > '9')
                return -ERANGE;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < 1 || v > CURSOR_LIMIT_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}
