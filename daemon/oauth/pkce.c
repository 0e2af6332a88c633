/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pkce.h"

#include <errno.h>
#include <openssl/sha.h>
#include <string.h>

#include "base64url.h"
#include "macro.h"
#include "token.h"

static bool valid_chars(const char *s, size_t min, size_t max) {
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++) {
                char c = s[n];
                if (n >= max)
                        return false;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~'))
                        return false;
        }
        return n >= min;
}

bool pkce_valid_verifier(const char *s) {
        return valid_chars(s, 43, 128);
}

bool pkce_valid_challenge(const char *s) {
        return valid_chars(s, 43, 43) && !strpbrk(s, ".~");
}

int pkce_s256(const char *verifier, char out[static 44]) {
        uint8_t d[SHA256_DIGEST_LENGTH];

        if (!pkce_valid_verifier(verifier))
                return -EINVAL;
        sha256(verifier, strlen(verifier), d);
        base64url_encode_to(d, sizeof(d), out);
        return 0;
}

bool pkce_verify(const char *challenge, const char *verifier) {
        char computed[44];

        if (!pkce_valid_challenge(challenge) || pkce_s256(verifier, computed) < 0)
                return false;
        return memeq_consttime(computed, challenge, 43);
}
