/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* User operations shared by every face: validation, authorization, the
 * change and its audit event in one transaction. Password hashing is not
 * done here: callers hash on the worker pool and pass the result. */

#include "change.h"
#include "manager.h"

/* Attributes given on create or update; NULL, -1 or 0 (as noted) mean "not
 * given". */
typedef struct UserSpec {
        const char *real_name;
        const char *email;            /* "" clears it */
        const char *home;
        const char *shell;
        int role;                     /* UserRole, or -1 */
        int email_verified;           /* 0/1, or -1 */
        int64_t expires_usec;         /* 0 never, or -1 */
        uint32_t uid;                 /* on create only; 0 allocates */
        const char *password_hash;    /* on create only */
} UserSpec;

#define USER_SPEC_INIT { .role = -1, .email_verified = -1, .expires_usec = -1 }

int user_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                const UserSpec *spec, UserRecord **ret, TesseraError *e);
int user_update(Manager *m, Store *s, const Principal *a, const UserRecord *u, const UserSpec *changes,
                TesseraError *e);
/* Admins set any password; a user sets their own once self_verified says
 * the current one was given and checked. */
int user_set_password_hash(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *hash,
                           bool self_verified, TesseraError *e);
/* Lock until the given time (LOCKED_INDEFINITELY: until unlocked), or 0 to unlock. */
int user_set_locked_until(Manager *m, Store *s, const Principal *a, const UserRecord *u, int64_t until,
                          TesseraError *e);
int user_set_disabled(Manager *m, Store *s, const Principal *a, const UserRecord *u, bool disabled,
                      TesseraError *e);
int user_delete(Manager *m, Store *s, const Principal *a, const UserRecord *u, TesseraError *e);

/* Finds tenant + user by name; errors say which of the two is missing. */
int user_lookup(Manager *m, Store *s, const char *tenant, const char *name, UserRecord **ret, TesseraError *e);

/* Checks the attributes of spec one by one, for create and update alike. */
int user_spec_validate(const UserSpec *spec, TesseraError *e);

/* "alice@acme", for logs and audit targets. */
char *user_qualified_name(const UserRecord *u);
