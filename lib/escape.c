/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "escape.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

#define ELLIPSIS "..."

/* The code point of the valid UTF-8 character of n bytes at p. */
static unsigned decode(const unsigned char *p, size_t n) {
        unsigned cp = n == 2 ? p[0] & 0x1f : n == 3 ? p[0] & 0x0f : p[0] & 0x07;

        for (size_t i = 1; i < n; i++)
                cp = (cp << 6) | (p[i] & 0x3f);
        return cp;
}

/* Printable in a terminal and in a log viewer without changing what the
 * text around it looks like. */
static bool harmless(unsigned cp) {
        return !((cp >= 0x80 && cp <= 0x9f) ||          /* C1: CSI (0x9b) starts a terminal sequence */
                 cp == 0x061c ||                         /* ARABIC LETTER MARK */
                 cp == 0x200e || cp == 0x200f ||         /* LRM, RLM */
                 cp == 0x2028 || cp == 0x2029 ||         /* line and paragraph separators */
                 (cp >= 0x202a && cp <= 0x202e) ||       /* bidirectional embeddings and overrides */
                 (cp >= 0x2066 && cp <= 0x2069));        /* bidirectional isolates */
}

/* The escape of the character at p into out (8 bytes); returns how many
 * input bytes it stands for. */
static size_t escape_one(const unsigned char *p, bool controls_only, char out[static 8]) {
        size_t n;

        switch (*p) {
        case '\\':
                strcpy(out, controls_only ? "\\" : "\\\\");
                return 1;
        case '\n':
                strcpy(out, "\\n");
                return 1;
        case '\r':
                strcpy(out, "\\r");
                return 1;
        case '\t':
                strcpy(out, "\\t");
                return 1;
        }
        if (*p < 0x20 || *p == 0x7f) {
                snprintf(out, 8, "\\x%02x", *p);
                return 1;
        }
        n = utf8_char_valid((const char *) p);
        if (n == 0) {
                /* One byte at a time: the next one may start a valid character. */
                snprintf(out, 8, "\\x%02x", *p);
                return 1;
        }
        if (n > 1 && !controls_only && !harmless(decode(p, n))) {
                snprintf(out, 8, "\\u%04x", decode(p, n));
                return n;
        }
        memcpy(out, p, n);
        out[n] = '\0';
        return n;
}

static char *escape(const char *s, bool controls_only, char *buf, size_t size) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len = 0, cut = 0;

        if (size < 8) {
                if (size > 0)
                        buf[0] = '\0';
                return buf;
        }
        if (!s) {
                snprintf(buf, size, "(null)");
                return buf;
        }
        while (*p) {
                char one[8];
                size_t used = escape_one(p, controls_only, one), n = strlen(one);

                if (len + n >= size) {
                        /* Out of room: back to the last whole piece after
                         * which the mark of the cut still fits. */
                        memcpy(buf + cut, ELLIPSIS, strlen(ELLIPSIS));
                        len = cut + strlen(ELLIPSIS);
                        break;
                }
                memcpy(buf + len, one, n);
                len += n;
                p += used;
                if (len + strlen(ELLIPSIS) < size)
                        cut = len;
        }
        buf[len] = '\0';
        return buf;
}

char *escape_text(const char *s, char *buf, size_t size) {
        return escape(s, false, buf, size);
}

char *escape_controls(const char *s, char *buf, size_t size) {
        return escape(s, true, buf, size);
}
