/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Enrollment of TOTP, shared by every face (D-Bus and tesseractl now, the
 * web account page later): begin (a new seed, pending until a first code
 * proves the user's app has it), confirm (and get backup codes), disable,
 * new backup codes. Users do this for themselves; administrators may do it
 * for anyone, which is how a lost phone is reset. Users who already have
 * TOTP prove it with a current code (or backup code) before they disable it
 * or ask for new backup codes: a session left open is not enough. Codes
 * checked here count towards the lockout like a login. Every function
 * validates, authorizes, changes and audits in one transaction, as the
 * other core operations do. */

#include "change.h"
#include "manager.h"

typedef struct TotpStatus {
        bool enabled;             /* confirmed: logins ask for a code */
        bool pending;             /* begun, not confirmed yet */
        unsigned backup_codes_left;
} TotpStatus;

int auth_totp_status(Store *s, int64_t user_id, TotpStatus *ret);

/* Returns the seed in base32 and its otpauth:// URI, to show once. */
int auth_totp_begin(Manager *m, Store *s, const Principal *a, const UserRecord *u, char **ret_secret, char **ret_uri,
                    TesseraError *e);
/* Confirms with a code from the app; returns BACKUP_CODE_COUNT backup
 * codes (a NULL-terminated list), shown this once. */
int auth_totp_confirm(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code,
                      char ***ret_backup_codes, TesseraError *e);
/* code: needed from the user themselves, ignored for administrators. */
int auth_totp_disable(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code,
                      TesseraError *e);
int auth_totp_new_backup_codes(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code,
                               char ***ret_backup_codes, TesseraError *e);
