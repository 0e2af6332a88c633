/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The policy for new passwords: one check for every door that sets one
 * (password-change.h carries D-Bus SetPassword and CreateUser, PAM
 * chauthtok, the HTTP account pages to it). The tenant's settings
 * (tenant-settings.h) are applied with libpwquality, the library behind
 * pam_pwquality, and its dictionary check with cracklib's.
 *
 * In order, each refusal with one line that says what to change:
 *   - UTF-8, at most 512 bytes (72 with bcrypt, which ignores the rest);
 *   - at least min_length characters (code points, not bytes);
 *   - not the user's name, e-mail address or its local part, nor the
 *     current password;
 *   - libpwquality: character classes, repeats, palindromes, the user's
 *     name in some form, a rotated or case-changed current password, and
 *     cracklib's dictionary and rules;
 *   - the e-mail's local part, and the parts of name and local part
 *     (alice.liddell: alice, liddell), in some form.
 *
 * libpwquality starts from its built-in defaults, never from the host's
 * /etc/security/pwquality.conf: that file is the policy of the host's own
 * accounts, and a tenant is not the host. Its gecos check is off (it would
 * read the host's passwd database, not the tenant's user).
 *
 * The dictionary check fails closed: when cracklib's dictionary can't be
 * read (Debian: cracklib-runtime is not installed), a tenant that asks for
 * the check gets no new password at all, with a message that says why
 * (-EOPNOTSUPP), and tesserad says so at start (password_policy_probe()). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "records.h"

/* Long enough for any passphrase; bounded so nobody hashes megabytes. */
#define PASSWORD_MAX_BYTES 512
/* bcrypt reads this much of a password and ignores the rest. */
#define PASSWORD_MAX_BYTES_BCRYPT 72

typedef struct PasswordPolicy {
        uint32_t min_length;          /* characters */
        size_t max_bytes;
        bool dictionary_check;
        const char *dictionary;       /* cracklib's (path without .pwd); NULL: its default */
        uint32_t min_classes;         /* 0..4 of digits, upper case, lower case, others */
        uint32_t max_repeat;          /* the same character in a row; 0: any */
        bool user_check;              /* not the user's name or e-mail in some form */
} PasswordPolicy;

/* The policy of tenant t as it applies (its settings, the site's for the
 * rest, the hash method's limit); t NULL: the site's. Points into c. */
void password_policy_of_tenant(const Config *c, const TenantRecord *t, PasswordPolicy *ret);

/* Checks password for the user named user with e-mail address email (may
 * be NULL), who gave current as their current password (NULL when an
 * administrator sets it). 0 when it may be set; -EINVAL with the reason
 * in e; -EOPNOTSUPP when the dictionary can't be read; -ENOMEM. Safe to
 * call from any thread. */
int password_policy_check(const PasswordPolicy *p, const char *user, const char *email, const char *password,
                          const char *current, TesseraError *e);

/* Whether cracklib's dictionary (NULL: its default) answers: 0, or
 * -EOPNOTSUPP with cracklib's reason in reason ("error loading
 * dictionary"). For the start-up report. */
int password_policy_probe(const char *dictionary, char *reason, size_t size);
