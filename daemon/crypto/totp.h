/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* TOTP (RFC 6238) with liboath, in the form every authenticator app knows:
 * HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch. And the
 * single-use backup codes that stand in for a lost phone. Pure functions:
 * storing seeds, remembering used steps and counting failures is auth.c's
 * business. Safe to call from any thread. */

#include <stddef.h>
#include <stdint.h>

#include "auth-codes.h"

#define TOTP_SECRET_SIZE 20               /* 160 bits, as RFC 4226 recommends */
#define TOTP_PERIOD_SEC 30
#define TOTP_DIGITS TOTP_CODE_DIGITS
#define BACKUP_CODE_COUNT 10

/* A fresh random seed. */
int totp_secret_generate(uint8_t ret[static TOTP_SECRET_SIZE]);
/* The seed in base32 without padding, as apps and oathtool --base32 take it. */
int totp_secret_to_base32(const uint8_t *secret, size_t n, char **ret);
/* otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30 */
int totp_uri(const char *issuer, const char *account, const char *secret_base32, char **ret);

/* The time step a moment (µs since the epoch) falls in. */
int64_t totp_step_at(int64_t unix_usec);
/* The code of a time step. */
int totp_code_at(const uint8_t *secret, size_t n, int64_t step, char ret[static TOTP_DIGITS + 1]);

/* Checks code against the steps now_step - window .. now_step + window.
 * Returns 0 and the matching step in *ret_step; -ESTALE when the code
 * matches only steps at or before last_step (used before: a replay);
 * -EKEYREJECTED when it matches none; -EINVAL when it isn't six digits.
 * Compares in constant time. */
int totp_verify(const uint8_t *secret, size_t n, const char *code, int64_t now_step, unsigned window,
                int64_t last_step, int64_t *ret_step);

/* A new backup code, as shown to the user: "xxxxx-xxxxx". */
int backup_code_generate(char ret[static BACKUP_CODE_LEN + 1]);
