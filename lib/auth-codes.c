/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "auth-codes.h"

#include <errno.h>
#include <string.h>

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool in_alphabet(char c) {
        if (c >= 'A' && c <= 'Z')
                c = (char) (c - 'A' + 'a');
        return c != '\0' && strchr(BACKUP_CODE_ALPHABET, c) != NULL;
}

bool totp_code_wellformed(const char *code) {
        size_t n = 0;

        for (; code && code[n]; n++)
                if (!is_digit(code[n]))
                        return false;
        return n == TOTP_CODE_DIGITS;
}

/* True when s (BACKUP_CODE_LEN bytes) is a backup code as printed. */
static bool looks_like_backup_code(const char *s) {
        for (size_t i = 0; i < BACKUP_CODE_LEN; i++)
                if (i == BACKUP_CODE_CHARS / 2 ? s[i] != '-' : !in_alphabet(s[i]))
                        return false;
        return true;
}

int auth_code_split(char *answer, char *code, size_t size) {
        size_t n = strlen(answer), k = 0;

        while (k < n && k <= TOTP_CODE_DIGITS && is_digit(answer[n - 1 - k]))
                k++;
        /* Exactly six trailing digits: a password ending in a digit gives
         * seven, and then the code is the last six of them. */
        if (k >= TOTP_CODE_DIGITS)
                k = TOTP_CODE_DIGITS;
        else if (n >= BACKUP_CODE_LEN && looks_like_backup_code(answer + n - BACKUP_CODE_LEN))
                k = BACKUP_CODE_LEN;
        else
                return 0;

        if (size <= k)
                return -ENOBUFS;
        memcpy(code, answer + n - k, k + 1);
        explicit_bzero(answer + n - k, k);
        return 1;
}

int backup_code_normalize(const char *in, char out[static BACKUP_CODE_CHARS + 1]) {
        size_t n = 0;

        for (const char *p = in; p && *p; p++) {
                char c = *p;

                if (c == '-' || c == ' ')
                        continue;
                if (n >= BACKUP_CODE_CHARS || !in_alphabet(c)) {
                        explicit_bzero(out, BACKUP_CODE_CHARS + 1);
                        return -EINVAL;
                }
                out[n++] = c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
        }
        out[n] = '\0';
        if (n != BACKUP_CODE_CHARS) {
                explicit_bzero(out, BACKUP_CODE_CHARS + 1);
                return -EINVAL;
        }
        return 0;
}
