/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-text.h"

#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "names.h"

static void json_text_put(JsonText *j, const char *s, size_t n) {
        if (j->failed)
                return;
        if (j->len + n + 1 > j->cap) {
                size_t cap = MAX(j->cap * 2, j->len + n + 256);
                char *b = realloc(j->buf, cap);
                if (!b) {
                        j->failed = true;
                        return;
                }
                j->buf = b;
                j->cap = cap;
        }
        memcpy(j->buf + j->len, s, n);
        j->len += n;
        j->buf[j->len] = '\0';
}

void json_text_begin(JsonText *j) {
        *j = (JsonText) {};
        json_text_put(j, "{", 1);
}

static void json_text_key(JsonText *j, const char *key) {
        if (j->n++ > 0)
                json_text_put(j, ",", 1);
        json_text_put(j, "\"", 1);
        json_text_put(j, key, strlen(key));
        json_text_put(j, "\":", 2);
}

static void json_text_string(JsonText *j, const char *value) {
        static const char hex[] = "0123456789abcdef";
        const char *run = value, *p = value;

        json_text_put(j, "\"", 1);
        for (;;) {
                unsigned char c = (unsigned char) *p;
                size_t n;

                /* Runs of plain ASCII go out as they are. */
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                        p++;
                        continue;
                }
                if (c >= 0x80) {
                        /* What jansson refuses, we refuse too: a reply that
                         * is not JSON would be worse than an error. */
                        n = utf8_char_valid(p);
                        if (n == 0) {
                                j->failed = true;
                                return;
                        }
                        p += n;
                        continue;
                }
                json_text_put(j, run, (size_t) (p - run));
                if (c == 0)
                        break;
                if (c < 0x20) {
                        char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                        json_text_put(j, esc, sizeof(esc));
                } else {
                        char esc[2] = { '\\', (char) c };
                        json_text_put(j, esc, sizeof(esc));
                }
                run = ++p;
        }
        json_text_put(j, "\"", 1);
}

void json_text_str(JsonText *j, const char *key, const char *value) {
        json_text_key(j, key);
        json_text_string(j, value);
}

void json_text_int(JsonText *j, const char *key, int64_t value) {
        char num[24], *p = num + sizeof(num);
        uint64_t v = value < 0 ? -(uint64_t) value : (uint64_t) value;

        json_text_key(j, key);
        do
                *--p = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        if (value < 0)
                *--p = '-';
        json_text_put(j, p, (size_t) (num + sizeof(num) - p));
}

void json_text_bool(JsonText *j, const char *key, bool value) {
        json_text_key(j, key);
        json_text_put(j, value ? "true" : "false", value ? 4 : 5);
}

void json_text_words(JsonText *j, const char *key, const char *words) {
        bool first = true;

        json_text_key(j, key);
        json_text_put(j, "[", 1);
        for (const char *p = words; p && *p;) {
                size_t n = strcspn(p, " ");

                if (n > 0) {
                        char word[64];

                        if (n >= sizeof(word)) {
                                j->failed = true;
                                return;
                        }
                        memcpy(word, p, n);
                        word[n] = '\0';
                        if (!first)
                                json_text_put(j, ",", 1);
                        json_text_string(j, word);
                        first = false;
                }
                p += n;
                while (*p == ' ')
                        p++;
        }
        json_text_put(j, "]", 1);
}

char *json_text_end(JsonText *j) {
        json_text_put(j, "}", 1);
        if (j->failed) {
                free(j->buf);
                *j = (JsonText) {};
                return NULL;
        }
        return TAKE_PTR(j->buf);
}
