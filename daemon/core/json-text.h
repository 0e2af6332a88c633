/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A flat JSON object written straight to text, for the hot paths: the
 * token endpoint and userinfo answer thousands of times a second, and
 * building a jansson tree only to serialize it at once cost more than the
 * rest of the request's JSON work. Keys are ours (constants); values are
 * escaped. A value that is not valid UTF-8 (or an allocation failure)
 * makes json_text_end() return NULL. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct JsonText {
        char *buf;
        size_t len, cap;
        unsigned n;
        bool failed;
} JsonText;

void json_text_begin(JsonText *j);
void json_text_str(JsonText *j, const char *key, const char *value);
void json_text_int(JsonText *j, const char *key, int64_t value);
void json_text_bool(JsonText *j, const char *key, bool value);
/* A space-separated list ("pwd otp") as an array of strings. */
void json_text_words(JsonText *j, const char *key, const char *words);
/* The text (the caller frees it), or NULL. */
char *json_text_end(JsonText *j);
