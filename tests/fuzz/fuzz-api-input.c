/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What clients of the JSON API send beside bodies: list cursors and limits
 * (core/cursor.c), API key texts (X-API-Key, a bearer token of a key's
 * shape: oauth/api-key.c) and platform token shapes (core/operator.c).
 * Every answer must be one of the documented ones; a position always
 * reads back as it was written, and only in its own scope. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api-key.h"
#include "cursor.h"
#include "fuzz.h"
#include "operator.h"

static SecretKey *key;

static void check_cursor(const char *s) {
        _cleanup_free_ char *again = NULL;
        Cursor c = {}, d = {};
        int r;

        r = cursor_decode(key, "fuzz:1", s, &c);
        if (r == -EBADMSG)
                return;
        if (r < 0)
                __builtin_trap();
        /* What decodes is a position: made again, it reads back the same. */
        if (cursor_encode(key, "fuzz:1", &c, &again) < 0 || cursor_decode(key, "fuzz:1", again, &d) < 0 ||
            c.number != d.number || c.id != d.id || (!c.text != !d.text) || (c.text && !streq(c.text, d.text)))
                __builtin_trap();
        cursor_done(&c);
        cursor_done(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char env[API_KEY_ENV_MAX + 1], key_id[API_KEY_ID_LEN + 1];
        _cleanup_free_ char *s = malloc(size + 1), *made = NULL;
        ApiKeyKind kind;
        unsigned limit = 0;
        int r;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (!key) {
                uint8_t raw[SECRET_KEY_SIZE];

                memset(raw, 0x5a, sizeof(raw));
                if (secret_key_from_bytes(raw, &key) < 0)
                        __builtin_trap();
        }

        check_cursor(s);
        /* A position the fuzzer chose (its text the input) always round-trips. */
        if (size <= CURSOR_TEXT_MAX && !memchr(data, 0, size) && size > 0) {
                Cursor c = { .number = (int64_t) size * 7919, .text = s, .id = (int64_t) size }, back = {};

                if (cursor_encode(key, "fuzz:2", &c, &made) < 0 || cursor_decode(key, "fuzz:2", made, &back) < 0 ||
                    !streq(back.text, s) || back.id != c.id || back.number != c.number ||
                    cursor_decode(key, "fuzz:3", made, &back) != -EBADMSG)
                        __builtin_trap();
                cursor_done(&back);
        }

        r = cursor_limit_parse(s, &limit);
        if (r == 0 ? limit < 1 || limit > CURSOR_LIMIT_MAX : r != -ERANGE)
                __builtin_trap();

        r = api_key_parse(s, &kind, env, key_id);
        if (r >= 0) {
                if (!api_key_text_plausible(s) || strlen(env) > API_KEY_ENV_MAX || strlen(key_id) != API_KEY_ID_LEN)
                        __builtin_trap();
        } else if (r != -EINVAL)
                __builtin_trap();

        (void) operator_token_like(s);
        return 0;
}
