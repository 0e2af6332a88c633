/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What HTTP clients send the OpenID provider: form bodies, base64url,
 * JWTs (decoded, and verified against a key they can't have), PKCE; and
 * the JSON text writer that echoes such values back. */
#include <string.h>

#include "base64url.h"
#include "fuzz.h"
#include "http-internal.h"
#include "jwt.h"
#include "names.h"
#include "pkce.h"
#include "token.h"

static SigningKey *key;

static int lookup(const char *kid, JwtAlg alg, void *userdata, SigningKey **ret) {
        *ret = signing_key_ref(key);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        HttpParams p;
        uint8_t *raw = NULL;
        size_t n;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (!key && signing_key_generate(JWT_ALG_ES256, &key) < 0)
                __builtin_trap();

        if (http_parse_urlencoded(s, size, &p) >= 0 || p.n > 0) {
                for (size_t i = 0; i < p.n; i++)
                        if (!p.items[i].key || !p.items[i].value)
                                __builtin_trap();
                http_params_done(&p);
        }
        if (base64url_decode(s, strlen(s), &raw, &n) >= 0) {
                char *again = NULL;
                /* One token, one encoding: what decodes encodes back the same. */
                if (base64url_encode(raw, n, &again) < 0 || strcmp(again, s) != 0)
                        __builtin_trap();
                free(again);
                free(raw);
        }
        {
                json_t *h = NULL, *c = NULL;
                if (jwt_decode_unverified(s, &h, &c) >= 0) {
                        json_decref(h);
                        json_decref(c);
                }
                /* No input may verify: only the key's owner can sign. */
                if (jwt_verify(s, lookup, NULL, NULL, NULL) >= 0)
                        __builtin_trap();
        }
        {
                /* Valid UTF-8 comes back from jansson exactly; anything
                 * else is refused, never written out as broken JSON. */
                JsonText j;
                char *text;
                json_t *back;

                json_text_begin(&j);
                json_text_str(&j, "v", s);
                text = json_text_end(&j);
                if (!text != !utf8_is_valid(s))
                        __builtin_trap();
                if (text) {
                        back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
                        if (!back || !json_is_string(json_object_get(back, "v")) ||
                            strcmp(json_string_value(json_object_get(back, "v")), s) != 0)
                                __builtin_trap();
                        json_decref(back);
                        free(text);
                }
        }
        (void) pkce_verify(s, s);
        (void) token_is_plausible(s);
        free(s);
        return 0;
}
