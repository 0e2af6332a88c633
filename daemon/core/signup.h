/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sign-up: a new tenant and its owner, in one transaction, for somebody
 * tessera does not know yet (POST /api/v1/signup, the page /signup). Open
 * only where the host says so ([auth] open_signup; off by default). The owner's
 * password goes through the password policy every door applies
 * (password-policy.h, the site's: the tenant is new) and is hashed on the worker pool.
 *
 * The tenant's slug is made from the organization's name unless one is
 * given; the owner's user name from the e-mail address's local part unless
 * one is given. An e-mail address that is already an owner's, or a slug
 * that is taken, is a conflict (-EEXIST). */

#include "change.h"
#include "manager.h"
#include "names.h"

typedef struct SignupSpec {
        const char *email;
        const char *password;
        const char *real_name;            /* the person's name */
        const char *organization_name;    /* the tenant's display name */
        const char *organization_slug;    /* NULL: from organization_name */
        const char *user_name;            /* NULL: from the e-mail address */
        /* Where the verification mail's link points ({public_url}); NULL:
         * no mail. Mailed in the sign-up's transaction where mail is set
         * up; where it is not, the owner verifies later on request. */
        const char *verify_base_url;
} SignupSpec;

/* Why a sign-up was refused, beyond e: the request's field at fault
 * ("email", "organization_slug"), or NULL. */
typedef struct SignupRefusal {
        const char *field;
} SignupRefusal;

/* The slug a name gives: lower-case letters and digits, every other run of
 * characters one '-', at most TENANT_SLUG_MAX_LEN; into buf (at least
 * TENANT_SLUG_MAX_LEN + 1 bytes). False when nothing usable is left. */
bool signup_slug_from_name(const char *name, char *buf, size_t size);
/* The user name an e-mail address gives ("Jane.Doe+x@example.com":
 * "jane_doe_x"); "owner" when its local part gives nothing valid. buf: at
 * least NAME_MAX_LEN + 1 bytes. */
void signup_user_name_from_email(const char *email, char *buf, size_t size);

/* The first name free in the tenant (no user and no group has it) of
 * base, base2, base3, ... (cut so that the number fits), into name.
 * -EEXIST when a thousand are taken. For every door that makes a user
 * name up (end-user sign-up, accounts made on a federated sign-in). */
int signup_free_name(Store *s, int64_t tenant_id, const char *base, char name[static NAME_MAX_LEN + 1]);

/* Runs a sign-up on the calling thread (not the main loop), with its own
 * Store: checks, hashes, creates; audited as account.signup (refusals
 * too). On success *ret_tenant and *ret_user are the new records. Errors:
 * -EACCES sign-up closed, -EINVAL a field not valid or the password
 * policy, -EEXIST a conflict, -EBUSY the workers are full; others ours. */
int signup_run(Manager *m, Store *s, const Principal *a, const SignupSpec *spec, TenantRecord **ret_tenant,
               UserRecord **ret_user, SignupRefusal *ret_refusal, TesseraError *e);

/* The limit on sign-ups per client address (p->remote; [limits]
 * signup_burst and signup_rate): every attempt counts, refused or not, as
 * each may create accounts. -ETOOMANYREFS with *ret_wait seconds when over
 * it (the first refusal of a run audited as action, denied), else 0 with
 * the attempt counted. For both kinds of sign-up, every door. */
int signup_limit_take(Manager *m, Store *s, const Principal *p, const char *action, unsigned *ret_wait);

/* End-user sign-up: a member account in an existing tenant, for somebody
 * the tenant does not know yet (POST /api/v1/tenants/{t}/auth/signup, the
 * page /t/{t}/signup), open only where the tenant's open_signup setting
 * is on (its own or the site's: tenant-settings.h). The tenant's password
 * policy applies; the password is hashed on the worker pool; the
 * verification mail commits with the account. Without user_name the name
 * comes from the e-mail address, with a number added while it is taken. */
typedef struct SignupMemberSpec {
        const char *email;
        const char *password;
        const char *real_name;
        const char *user_name;            /* NULL: from the e-mail address */
        const char *verify_base_url;      /* as SignupSpec's */
} SignupMemberSpec;

/* Runs it on the calling thread (not the main loop): policy
 * (POLICY_AUTH_SIGNUP_MEMBER), checks, hash, create; audited as
 * account.signup-member (refusals too). Errors as signup_run()'s: -EACCES
 * refused or sign-up closed, -EINVAL a field or the password policy,
 * -EEXIST the e-mail address ("email") or the user name ("user_name")
 * taken, -EBUSY the workers are full. */
int signup_member_run(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const SignupMemberSpec *spec,
                      UserRecord **ret_user, SignupRefusal *ret_refusal, TesseraError *e);
