/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* E-mail verification for a tenant's users: a mailed single-use token
 * (account-token.h) proves that the user receives mail at the address the
 * token went to; the user's email_verified is set then, and follows into
 * ID tokens and userinfo (oauth-claims.c). A new address is unverified
 * again (user_update()); a token mailed to an older address proves
 * nothing any more. */

#include "account-token.h"

/* Issues a token and queues the verification mail for u inside the
 * caller's transaction on s, without authorization or audit of its own:
 * for a core operation that creates the user and mails at once (sign-up).
 * Returns as account_token_issue(). */
int email_verification_queue(Manager *m, Store *s, const TenantRecord *t, const UserRecord *u, const char *base_url,
                             TesseraError *e);

/* The user's own request (or an administrator's) for a new verification
 * mail, authorized (email.verify-request) and audited in its own
 * transaction on s. -EINVAL without an address, -EALREADY when the
 * address is verified already, -EOPNOTSUPP without mail, -ETOOMANYREFS
 * (*ret_wait) when the limits say wait. */
int email_verification_request(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const UserRecord *u,
                               const char *base_url, unsigned *ret_wait, TesseraError *e);

/* Uses a verification token: the user's address, if it is still the one
 * the token went to, becomes verified (audited as auth.verify-email).
 * -EKEYREJECTED a token that can't be used (unknown, used, another
 * tenant's, an address changed since), -ETIME expired, -ETOOMANYREFS
 * (*ret_wait) too many wrong tokens from this address. ret (may be NULL):
 * the user as stored now. */
int email_verification_confirm(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const char *token,
                               unsigned *ret_wait, UserRecord **ret, TesseraError *e);
