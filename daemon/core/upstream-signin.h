/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* From somebody an upstream provider vouched for (a verified
 * UpstreamIdentity, upstream-client.h) to a tessera user, for every door
 * of the sign-in (the hosted pages, the JSON API):
 *
 *   1. the identity is linked already, by (provider, subject): that user;
 *   2. else an account of the tenant holds the identity's e-mail address:
 *      linked at once when the provider says the address is verified and
 *      the provider links by e-mail (link_by_email); otherwise the person
 *      proves the account first (UPSTREAM_SIGNIN_PROVE: password, and the
 *      code when TOTP is enrolled), then upstream_signin_link_proven();
 *   3. else nobody: by the provider's signup mode, a new account just in
 *      time (a name from the upstream user name or address made unique, a
 *      uid and user-private group like any user's, no password, the
 *      provider's role, or a pending invitation's for the address), an
 *      account for a pending invitation of the (verified) address only, or
 *      a refusal.
 *
 * A provider with allowed e-mail domains lets only identities with a
 * verified address of those domains in, on every path.
 *
 * The user found then goes through the decision of a password sign-in
 * (auth_federated_step(): the account's state, TOTP, the tenant's
 * mfa_required), audited as auth.federated with the provider. A refusal
 * is audited too, and makes no account and no link: an account, its link
 * and an accepted invitation commit in one transaction. */

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "upstream-client.h"
#include "upstream-provider.h"

typedef enum UpstreamSigninStep {
        UPSTREAM_SIGNIN_DECIDED,      /* result holds the decision about user_id */
        UPSTREAM_SIGNIN_PROVE,        /* user_id holds the address: the person proves the account first */
} UpstreamSigninStep;

typedef struct UpstreamSignin {
        UpstreamSigninStep step;
        int64_t user_id;
        bool created;                 /* an account made now */
        bool linked;                  /* a link made now */
        AuthResult result;            /* DECIDED: success, a second factor to come, or the account's state */
} UpstreamSignin;

/* Why a federated sign-in was refused: a stable code for the faces
 * ("no_account", "invitation_required", "domain_not_allowed",
 * "email_unverified", "identity_linked"), beside e's message. */
typedef struct UpstreamRefusal {
        const char *code;
} UpstreamRefusal;

/* The steps above. Errors: -EACCES the provider lets this identity in
 * nowhere (refusal->code says why), -EEXIST the identity was linked by
 * somebody else meanwhile, others ours (nothing made). */
int upstream_signin_resolve(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                            const UpstreamProvider *p, const UpstreamIdentity *id, UpstreamSignin *ret,
                            UpstreamRefusal *refusal, TesseraError *e);

/* After the person proved the account user_id (the password step and the
 * code succeeded): links the identity to it, audited as user.link. */
int upstream_signin_link_proven(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                                const UpstreamProvider *p, const UpstreamIdentity *id, int64_t user_id,
                                TesseraError *e);

/* Records a federated sign-in that failed before any account was looked
 * at (the provider down, a forged token, a replayed state): auth.federated
 * with the provider, the reason and the error. provider may be NULL (a
 * state nobody knows). */
void upstream_signin_audit_failure(Store *s, const Principal *a, const TenantRecord *t, const char *provider,
                                   int error, const char *code, const char *reason);
