/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The forms of second-factor codes, as a person types them: what the
 * daemon checks and what the PAM module splits off a password in its
 * one-prompt mode. libc only. */

#include <stdbool.h>
#include <stddef.h>

/* TOTP codes: six digits (RFC 6238 with the authenticator apps' defaults). */
#define TOTP_CODE_DIGITS 6

/* Backup codes: two groups of five characters from an alphabet without the
 * look-alikes 0/o, 1/l/i, as in "7hk2m-x9qpa". Given without the dash,
 * with spaces or in upper case, they are still recognized. */
#define BACKUP_CODE_ALPHABET "23456789abcdefghjkmnpqrstuvwxyz"
#define BACKUP_CODE_CHARS 10
#define BACKUP_CODE_LEN 11                /* with the dash */

/* True for exactly TOTP_CODE_DIGITS ASCII digits. */
bool totp_code_wellformed(const char *code);

/* Strips what a person may add to a backup code (dash, spaces, upper case)
 * into out. -EINVAL when it can't be one. */
int backup_code_normalize(const char *in, char out[static BACKUP_CODE_CHARS + 1]);

/* Splits a code off the end of an answer that holds "password" + code, in
 * place. A trailing run of TOTP_CODE_DIGITS digits is a TOTP code (of more
 * digits, the last six); else a trailing backup code with its dash. The
 * code is copied to code (size bytes) and wiped off the answer; returns 1.
 * Returns 0 and leaves both alone when the answer ends in neither. */
int auth_code_split(char *answer, char *code, size_t size);
