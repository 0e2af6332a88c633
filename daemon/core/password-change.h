/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Setting a password, the one way every door does it (D-Bus SetPassword
 * and CreateUser, PAM chauthtok, the HTTP account pages): the rules and
 * the order of the steps live here, the doors only carry requests and
 * replies.
 *
 *   1. at once, on the caller's thread: the policy (POLICY_USER_SET_PASSWORD;
 *      without the current password only for whoever administers the
 *      user), the password policy of the user's tenant (password-policy.h:
 *      libpwquality, the new password differing from the current one); a
 *      refusal is audited and returned, nothing queued;
 *   2. the current password, when given, through the authentication core
 *      (auth_attempt_new() → worker → auth_attempt_finish()): a wrong one
 *      counts towards the lockout every door shares, a locked or disabled
 *      account is refused, and the check is audited as auth.chauthtok;
 *   3. the new password hashed on a worker;
 *   4. the commit (user_set_password_hash()), on the record as stored
 *      then: refused if another password was set since the current one
 *      was checked.
 *
 * Creating a user with a password is the same with user_create_check()
 * first and user_create() last.
 *
 * Two drivers run the steps: password_change_start() from the main loop,
 * with done called back on the main loop (D-Bus, PAM), and
 * password_change_run() from any other thread with a Store of its own,
 * returning when all is done (HTTP). */

#include "auth.h"
#include "user.h"

typedef struct PasswordChangeOutcome {
        /* 0, or a negative errno with the error for the person asking:
         * -EACCES refused, -EINVAL the password policy, -EKEYREJECTED a
         * wrong current password (or one replaced meanwhile), -ENOLCK,
         * -EKEYREVOKED, -EKEYEXPIRED the account can't be used, -EBUSY
         * too much work queued, -ENOENT the user went meanwhile. */
        int result;
        TesseraError error;
        /* Set when the current password was checked: the core's answer
         * (a door that speaks in AuthOutcomes, as PAM does, replies with it). */
        bool checked;
        AuthResult check;
        /* On success: the user as stored now (borrowed; a caller of
         * password_change_run() owns it, see password_change_outcome_done()). */
        UserRecord *user;
} PasswordChangeOutcome;

/* On the main loop, once, when a started operation is over. o and what
 * it points to are valid until done returns. */
typedef void (*PasswordChangeDone)(const PasswordChangeOutcome *o, void *userdata);

/* Whether p must give the current password to change u's: true unless p
 * administers u (policy_administers()). For a door whose method takes a
 * current password that administrators may leave out (D-Bus SetPassword). */
bool password_change_needs_current(const Principal *p, const UserRecord *u);

/* Starts changing u's password to new_password on behalf of p. current is
 * the current password the person gave, or NULL when an administrator
 * sets it. ctx describes the request for the audit of the check (NULL:
 * action auth.chauthtok); p, ctx and the strings are copied. Returns 0
 * when the operation is under way (done follows, on the main loop), or a
 * negative errno with e set when it was refused or could not start (done
 * is not called). */
int password_change_start(Manager *m, const Principal *p, const UserRecord *u, const char *current,
                          const char *new_password, const AuthContext *ctx, PasswordChangeDone done,
                          void *userdata, TesseraError *e);

/* Starts creating user name in tenant t with the attributes of spec and a
 * password (spec->password_hash must be NULL): checked at once as
 * user_create() would, then the password hashed, then the user created.
 * done gets the new user in o->user. Returns as password_change_start(). */
int password_change_create_user(Manager *m, const Principal *p, const TenantRecord *t, const char *name,
                                const UserSpec *spec, const char *password, PasswordChangeDone done,
                                void *userdata, TesseraError *e);

/* The same change, on the calling thread (not the main loop's), with its
 * own Store s: waits for the workers. Returns ret->result; ret is always
 * filled in, and freed with password_change_outcome_done(). */
int password_change_run(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *current,
                        const char *new_password, const AuthContext *ctx, PasswordChangeOutcome *ret);
void password_change_outcome_done(PasswordChangeOutcome *o);
/* A user without a password sets a first one for themself: an account
 * made by an upstream sign-in ("Sign in with Google"), whose upstream
 * password never reaches tessera, gets the password the host's logins
 * (PAM) ask for. There is no current password to prove: the door vouches
 * for a sign-in moments ago (account-password.h). The same steps as
 * password_change_run() otherwise; -EEXIST once the account has a password
 * (then the current one is asked for), and -EKEYREJECTED when one was set
 * meanwhile. On the calling thread (not the main loop's). */
int password_change_first_run(Manager *m, Store *s, const Principal *p, const UserRecord *u,
                              const char *new_password, const AuthContext *ctx, PasswordChangeOutcome *ret);
/* Creating a user with a password on the calling thread (not the main
 * loop's), with its own Store s: checked as user_create() would, the
 * password policy of t applied (-EINVAL), the password hashed on a
 * worker (the thread waits), then the user created. ret gets the user;
 * ret_field, on failure, "password" when the password policy refused it
 * (else it is left alone). */
int password_change_create_user_run(Manager *m, Store *s, const Principal *p, const TenantRecord *t,
                                    const char *name, const UserSpec *spec, const char *password, UserRecord **ret,
                                    const char **ret_field, TesseraError *e);
