/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The authentication core, shared by every channel that checks a password
 * or a second factor: the PAM socket (main loop), the HTTP sign-in (its own
 * threads and Store), D-Bus self-service. It decides; the channels only
 * carry requests and replies. Lockout, TOTP replay protection and the audit
 * trail live here, in the store, so that an attacker gains nothing by
 * switching door.
 *
 * A password check has three steps, so that the slow hash runs where the
 * channel wants it and never on a thread that serves lookups:
 *
 *   1. auth_attempt_new()      no I/O: takes the user record (NULL for an
 *                              unknown user) and the secrets;
 *   2. auth_attempt_verify()   the hash, on a worker thread
 *                              (a WorkerFunc: worker_pool_submit() from the
 *                              main loop, worker_pool_run() from an HTTP
 *                              thread); touches no Store and no Manager state;
 *   3. auth_attempt_finish()   one transaction on the caller's Store: checks
 *                              the account state, the second factor, counts
 *                              the failure or resets the counters, writes
 *                              the audit event. Any thread, with its own Store.
 *
 * An unknown user or one without a password is checked against a dummy hash
 * of the configured method and cost, so the answer takes as long as for a
 * real user. Credentials of a disabled, expired or locked account are not
 * evaluated at all (the hash still runs): the answer never tells whether a
 * password was right while the account can't be used.
 *
 * From an HTTP thread, for example:
 *
 *     _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
 *     AuthContext ctx = { .service = "web" };
 *     AuthResult res;
 *     r = auth_attempt_new(m, user_or_NULL, "alice@acme", password, code,
 *                          AUTH_TOTP_REQUIRED, true, &at);
 *     r = worker_pool_run(m->workers, auth_attempt_verify, at);
 *     r = auth_attempt_finish(m, store, &principal, &ctx, at, &res);
 *     if (res.outcome == AUTH_NEED_SECOND_FACTOR)  ... ask for the code, then
 *         auth_second_factor(m, store, &principal, &ctx, res.user_id, code, &res);
 *     if (res.rehash) { worker_pool_run(m->workers, auth_attempt_rehash, at);
 *                       auth_attempt_store_rehash(m, store, &principal, at); }
 */

#include "change.h"
#include "manager.h"

/* What a channel demands of users who have TOTP. */
typedef enum AuthTotpPolicy {
        AUTH_TOTP_REQUIRED,       /* enrolled users must give a valid code (or backup code) */
        AUTH_TOTP_OPTIONAL,       /* a code is checked when given; none: the password alone */
        AUTH_TOTP_NEVER,          /* the password alone (a code given is ignored) */
        _AUTH_TOTP_POLICY_MAX,
} AuthTotpPolicy;

/* Where an attempt came from, for the audit trail (all optional, borrowed).
 * The remote host is the Principal's remote. */
typedef struct AuthContext {
        const char *action;       /* audit action; NULL: "auth.login" */
        const char *service;      /* PAM service (sshd, sudo, login) or "web" */
        const char *tty;
        const char *remote_user;
        uint32_t pid;             /* the process asking, when known */
        /* The door for the sign-in counters (metrics-core.h), when it is
         * not the Principal's channel: "oidc" for the OpenID provider's
         * sign-in pages, whose principal is the HTTP face's. */
        const char *channel;
        /* A federated sign-in's upstream provider (its name), for the
         * audit trail. */
        const char *provider;
} AuthContext;

typedef enum AuthOutcome {
        AUTH_SUCCESS,
        AUTH_NEED_SECOND_FACTOR,  /* password right, code still to come (only with allow_partial) */
        AUTH_FAILED,              /* wrong password or code; which one is only in the audit trail */
        AUTH_USER_UNKNOWN,
        AUTH_LOCKED,              /* locked for a while after failures: see locked_until_usec */
        AUTH_ACCOUNT_LOCKED,      /* locked by an administrator */
        AUTH_ACCOUNT_DISABLED,
        AUTH_ACCOUNT_EXPIRED,
        /* Password right, but the tenant's mfa_required asks a second
         * factor of this user, who has none enrolled yet: no sign-in until
         * they enrol (the JSON API's .../auth/mfa/enrol does that with the
         * MFA token of this step). Not a failure: nothing is counted. */
        AUTH_MFA_ENROLMENT_REQUIRED,
        _AUTH_OUTCOME_MAX,
} AuthOutcome;

typedef struct AuthResult {
        AuthOutcome outcome;
        /* What the person asking is told (auth_result_message()): the
         * outcome, but for an unknown user, and for an account that can't
         * be used (disabled, expired, locked by an administrator), what a
         * real account would be told after as many failures: AUTH_FAILED,
         * or AUTH_LOCKED (with locked_until_usec) once the name failed as
         * often as locks an account. So no answer to a login tells who
         * exists; outcome and the audit trail have the truth. (Second
         * factors and account checks come after the password: there it
         * is the outcome.) */
        AuthOutcome apparent;
        int64_t user_id;          /* 0 when unknown */
        /* AUTH_LOCKED: until when. AUTH_FAILED: set when this failure locked the account. */
        int64_t locked_until_usec;
        const char *factor;       /* static: "password", "password+totp", "password+backup-code", ... */
        unsigned backup_codes_left; /* after a backup code was used */
        bool rehash;              /* the password hash is of an older policy: rehash it now */
} AuthResult;

typedef struct AuthAttempt AuthAttempt;

/* Resolves a login name as this host shows it ("alice" in the default
 * tenant, "alice@globex" in another of [host] tenants) to a user. -ENOENT
 * for anything that isn't one of ours: an invalid name, a tenant the host
 * doesn't show, no such user. */
int auth_find_user(Manager *m, Store *s, const char *login, UserRecord **ret);

/* Step 1. u may be NULL (unknown user); target names the user asked about
 * in the audit trail ("alice@acme", or what was typed). code may be NULL or
 * empty. allow_partial: the channel asks for the code in a second step, so
 * a right password without a code gives AUTH_NEED_SECOND_FACTOR instead of
 * a failure. password NULL: none could be had (a failed conversation, an
 * over-long answer): the attempt runs and fails like a wrong one. The
 * attempt copies what it needs and wipes it when freed. */
int auth_attempt_new(Manager *m, const UserRecord *u, const char *target, const char *password, const char *code,
                     AuthTotpPolicy policy, bool allow_partial, AuthAttempt **ret);
/* Step 2: the slow part, on a worker thread. */
void auth_attempt_verify(void *attempt);
/* Step 3: the decision. Returns 0 with the outcome in *ret, or a negative
 * errno when the store failed (nothing was decided; fail closed). */
int auth_attempt_finish(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, AuthAttempt *at,
                        AuthResult *ret);
AuthAttempt *auth_attempt_free(AuthAttempt *at);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuthAttempt *, auth_attempt_free);

/* After AUTH_SUCCESS with rehash set: hash the password again under the
 * current policy (slow, a WorkerFunc), then store it unless the password
 * changed meanwhile. */
void auth_attempt_rehash(void *attempt);
int auth_attempt_store_rehash(Manager *m, Store *s, const Principal *a, AuthAttempt *at);

/* The password step of a sign-in form, for a thread that may wait (the
 * HTTP threads): steps 1 to 3 above with the hash on a worker, TOTP
 * required of enrolled users but asked for in a second step
 * (AUTH_NEED_SECOND_FACTOR), and the rehash after a success. 0 with the
 * outcome in *ret, or a negative errno when nothing was decided (fail
 * closed). */
int auth_password_step(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, const UserRecord *u,
                       const char *target, const char *password, AuthResult *ret);

/* The second step of a two-step sign-in: checks a TOTP or backup code of
 * the user, with the same lockout and audit as a login. */
int auth_second_factor(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, int64_t user_id,
                       const char *code, AuthResult *ret);

/* The decision of a sign-in through an upstream identity provider
 * (upstream-signin.h), for a user the provider's identity was linked to:
 * no password, but the rest of a password sign-in's decision. The account
 * must be usable (disabled, expired, locked: refused); a user with TOTP
 * gives a code in a second step (AUTH_NEED_SECOND_FACTOR, then
 * auth_second_factor()); a user whom the tenant's mfa_required asks a
 * second factor of and who has none gets AUTH_MFA_ENROLMENT_REQUIRED.
 * Success forgets earlier failures, as a password sign-in does. Audited
 * under ctx->action ("auth.federated" by default) with factor "fed" and
 * the provider. */
int auth_federated_step(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, int64_t user_id,
                        AuthResult *ret);

/* May the account be used now (PAM account phase, a session check)?
 * AUTH_SUCCESS or the account's state; audited. */
int auth_account_check(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, const UserRecord *u,
                       AuthResult *ret);

/* Whether the tenant's mfa_required (tenant-settings.h, its own value or
 * the site's) asks a second factor of u, by u's role: 1, 0, or < 0 when
 * the tenant could not be read. */
int auth_mfa_required_for(Manager *m, Store *s, const UserRecord *u);

/* Whether the user has a confirmed TOTP enrollment: 1, 0, or < 0. */
int auth_user_has_totp(Store *s, int64_t user_id);

/* Forgets the failures and lock level of a user (an administrator's
 * unlock). Call inside the caller's transaction. */
int auth_reset_failures(Store *s, int64_t user_id);

/* A sentence for the person at the prompt ("The account is locked after
 * too many failed attempts; try again in 5 minutes."), or "" when there is
 * nothing to say beyond success or failure. Follows r->apparent: the same
 * for an unknown name as for a real account. */
void auth_result_message(const AuthResult *r, int64_t now_usec, char *buf, size_t size);
/* The same about the outcome, for the account's holder, known to be them
 * (a password change from their own session, D-Bus self-service): "The
 * account is disabled; ask an administrator." */
void auth_result_holder_message(const AuthResult *r, int64_t now_usec, char *buf, size_t size);

/* A check that did not succeed, as an error for the faces that report
 * errors (D-Bus self-service), with the sentence of auth_result_message():
 * -EKEYREJECTED with failed_message for wrong credentials, -ENOLCK for an
 * account locked (after failures or by an administrator), -EKEYREVOKED
 * for a disabled one, -EKEYEXPIRED for an expired one, -ENOENT for a user
 * gone meanwhile. Returns 0 (and leaves e alone) for AUTH_SUCCESS. */
int auth_result_error(const AuthResult *r, const char *failed_message, TesseraError *e);

const char *auth_totp_policy_to_string(AuthTotpPolicy p);

/* The context string that binds a user's sealed TOTP seed and backup code
 * digests to that user (secret-box.h). buf needs 32 bytes. */
const char *auth_totp_context(int64_t user_id, char buf[static 32]);
const char *auth_backup_code_context(int64_t user_id, char buf[static 32]);
