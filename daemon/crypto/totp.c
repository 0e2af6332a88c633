/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "totp.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "macro.h"

/* oath_init() sets up liboath's crypto backend once per process. */
static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_result;

static void oath_init_once(void) {
        oath_init_result = oath_init();
}

static int ensure_oath(void) {
        pthread_once(&oath_once, oath_init_once);
        return oath_init_result == OATH_OK ? 0 : -EIO;
}

int totp_secret_generate(uint8_t ret[static TOTP_SECRET_SIZE]) {
        if (getrandom(ret, TOTP_SECRET_SIZE, 0) != TOTP_SECRET_SIZE)
                return -EIO;
        return 0;
}

int totp_secret_to_base32(const uint8_t *secret, size_t n, char **ret) {
        char *out = NULL;
        size_t len = 0;
        int r;

        r = ensure_oath();
        if (r < 0)
                return r;
        if (oath_base32_encode((const char *) secret, n, &out, &len) != OATH_OK || !out)
                return -ENOMEM;
        /* Padding confuses some apps; the length says it all. */
        while (len > 0 && out[len - 1] == '=')
                out[--len] = '\0';
        *ret = out;
        return 0;
}

/* Appends s percent-encoded (RFC 3986: all but the unreserved characters). */
static void put_encoded(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p))
                        fputc(*p, f);
                else
                        fprintf(f, "%%%02X", *p);
}

int totp_uri(const char *issuer, const char *account, const char *secret_base32, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        /* The label names issuer and account; the issuer parameter repeats
         * the issuer for apps that read only that (Google's key URI format). */
        fputs("otpauth://totp/", f);
        put_encoded(f, issuer);
        fputc(':', f);
        put_encoded(f, account);
        fprintf(f, "?secret=%s&issuer=", secret_base32);
        put_encoded(f, issuer);
        fprintf(f, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_PERIOD_SEC);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int64_t totp_step_at(int64_t unix_usec) {
        return unix_usec / (INT64_C(1000000) * TOTP_PERIOD_SEC);
}

int totp_code_at(const uint8_t *secret, size_t n, int64_t step, char ret[static TOTP_DIGITS + 1]) {
        int r;

        r = ensure_oath();
        if (r < 0)
                return r;
        if (step < 0)
                return -EINVAL;
        /* liboath takes a time and divides it by the period itself. */
        if (oath_totp_generate2((const char *) secret, n, (time_t) (step * TOTP_PERIOD_SEC), TOTP_PERIOD_SEC,
                                OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, 0, ret) != OATH_OK)
                return -EIO;
        return 0;
}

int totp_verify(const uint8_t *secret, size_t n, const char *code, int64_t now_step, unsigned window,
                int64_t last_step, int64_t *ret_step) {
        bool replay = false;
        int64_t found = -1;

        if (!totp_code_wellformed(code))
                return -EINVAL;

        /* Every step of the window is computed and compared, whatever
         * matched first, so that the time taken says nothing. */
        for (int64_t step = now_step - (int64_t) window; step <= now_step + (int64_t) window; step++) {
                char expected[TOTP_DIGITS + 1];
                bool match;
                int r;

                r = totp_code_at(secret, n, step, expected);
                if (r < 0)
                        return r;
                match = memeq_consttime(expected, code, TOTP_DIGITS);
                explicit_bzero(expected, sizeof(expected));
                if (!match)
                        continue;
                if (step <= last_step)
                        replay = true;
                else if (found < 0)
                        found = step;
        }

        if (found >= 0) {
                *ret_step = found;
                return 0;
        }
        return replay ? -ESTALE : -EKEYREJECTED;
}

int backup_code_generate(char ret[static BACKUP_CODE_LEN + 1]) {
        const size_t alphabet = sizeof(BACKUP_CODE_ALPHABET) - 1;
        size_t i = 0;

        while (i < BACKUP_CODE_LEN) {
                uint8_t raw[16];

                if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
                        return -EIO;
                for (size_t j = 0; j < sizeof(raw) && i < BACKUP_CODE_LEN; j++) {
                        /* Rejection sampling keeps every character equally likely. */
                        if (raw[j] >= 256 - 256 % alphabet)
                                continue;
                        if (i == BACKUP_CODE_CHARS / 2)
                                ret[i++] = '-';
                        ret[i++] = BACKUP_CODE_ALPHABET[raw[j] % alphabet];
                }
                explicit_bzero(raw, sizeof(raw));
        }
        ret[BACKUP_CODE_LEN] = '\0';
        return 0;
}
