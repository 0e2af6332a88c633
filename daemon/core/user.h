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
/* user_create() in its three steps, for a door that commits many
 * creations in one transaction (the HTTP face's group commit: one fsync for
 * a batch of them): prepare (the policy, the name and attributes, the
 * record; no transaction), write (in the caller's transaction: the checks
 * against the store, the row, its audit event; a BatchWriteFunc), finish
 * after the commit or the failure (the failure's audit event, or the
 * change event). c borrows a, t, name and spec until it is done. */
typedef struct UserCreation {
        const Principal *principal;
        UserRecord record;            /* what is created; strings borrowed */
        char *target;                 /* NAME@TENANT */
        char *home;                   /* from home_template, when not given */
        UserRecord *created;
        TesseraError error;           /* the write's */
} UserCreation;

int user_create_prepare(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                        const UserSpec *spec, UserCreation *c, TesseraError *e);
int user_create_write(Store *s, void *userdata);
int user_create_finish(Manager *m, Store *s, UserCreation *c, int result, UserRecord **ret, TesseraError *e);
void user_creation_done(UserCreation *c);

/* What user_create() checks before it changes anything: the policy, the
 * name and the attributes (a refusal and an invalid request are audited).
 * For callers with slow work to do before the creation (hashing a
 * password: password-change.h), so that a request bound to fail fails at
 * once. */
int user_create_check(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                      const UserSpec *spec, TesseraError *e);
int user_update(Manager *m, Store *s, const Principal *a, const UserRecord *u, const UserSpec *changes,
                TesseraError *e);
/* The user's own profile, changed by themself (POLICY_ME_UPDATE): the
 * real name and the e-mail address (NULL: unchanged; "" clears either). A
 * new address is not verified until proven again. Audited as me.update.
 * ret (may be NULL) gets the record as stored now. */
int user_update_profile(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *real_name,
                        const char *email, UserRecord **ret, TesseraError *e);
/* Stores a new password hash (made on a worker). Administrators set any
 * password (verified_hash NULL); a user sets their own once their current
 * password was checked against verified_hash, the hash stored then: if
 * another password was set since, the change is refused with
 * -EKEYREJECTED. verified_hash "" is a user's first password, for an
 * account that had none (password_change_first_run()): refused the same
 * way when one was set since. The change applies to the record as stored
 * now; ret (may be NULL) gets it. Password changes go through password-change.h, which
 * checks, hashes and calls this. */
int user_set_password_hash(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *hash,
                           const char *verified_hash, UserRecord **ret, TesseraError *e);
/* Lock until the given time (LOCKED_INDEFINITELY: until unlocked), or 0 to unlock. */
int user_set_locked_until(Manager *m, Store *s, const Principal *a, const UserRecord *u, int64_t until,
                          TesseraError *e);
int user_set_disabled(Manager *m, Store *s, const Principal *a, const UserRecord *u, bool disabled,
                      TesseraError *e);
int user_delete(Manager *m, Store *s, const Principal *a, const UserRecord *u, TesseraError *e);
/* A rule a deletion must pass, checked inside its transaction on the
 * records as they are then (< 0 with e set refuses it). */
typedef int (*UserDeleteRule)(Store *s, const Principal *a, const UserRecord *u, TesseraError *e);
/* user_delete() under another action of the policy (member.remove), with
 * the caller's rule: the same deletion, events and audit. */
int user_delete_full(Manager *m, Store *s, const Principal *a, const UserRecord *u, PolicyAction action,
                     UserDeleteRule rule, TesseraError *e);

/* The tenant keeps an owner: refuses (-EOWNERDEAD) taking the owner's role
 * from u, as stored now in the caller's transaction, when u is the last
 * one. And the rule of every deletion: an owner goes only by whoever may
 * give roles (the tenant's owners, the host's administrators), and the last
 * one only as the tenant's last user. */
int user_keep_an_owner(Store *s, const UserRecord *u, const char *target, TesseraError *e);
int user_owner_removal_rule(Store *s, const Principal *a, const UserRecord *u, TesseraError *e);

/* Finds tenant + user by name; errors say which of the two is missing. */
int user_lookup(Manager *m, Store *s, const char *tenant, const char *name, UserRecord **ret, TesseraError *e);

/* Checks the attributes of spec one by one, for create and update alike. */
int user_spec_validate(const UserSpec *spec, TesseraError *e);

/* "alice@acme", for logs and audit targets. */
char *user_qualified_name(const UserRecord *u);
