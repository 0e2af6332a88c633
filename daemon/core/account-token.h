/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The single-use tokens that account flows mail to a user (e-mail
 * verification: email-verification.h; password reset: password-reset.h):
 * what they share. A token is 256 random bits, shown once in the link of
 * the mail and stored only as its SHA-256 digest, with its purpose, tenant,
 * user and the address it went to; it expires ([auth]
 * reset_token_lifetime, verify_token_lifetime) and is claimed once, in the
 * transaction of the change it proves.
 *
 * The link opens a page of the tenant's issuer:
 * {base_url}/t/{tenant}/{verify-email|reset-password}?token=...; the page
 * posts the token back (a GET never uses it: mail scanners follow links). */

#include "change.h"
#include "manager.h"
#include "store-account-token.h"

/* Issues a token of purpose for u (who has an e-mail address) and queues
 * its mail, inside the caller's transaction on s: both commit together or
 * neither does. base_url is the public URL of the HTTP server, without a
 * trailing slash. -EOPNOTSUPP when mail is not set up, -EINVAL when u has
 * no address. Nothing is audited: that is the caller's change's business. */
int account_token_issue(Manager *m, Store *s, AccountTokenPurpose purpose, const TenantRecord *t,
                        const UserRecord *u, const char *base_url, TesseraError *e);

/* Looks a token up for its use, without claiming it: the live token of
 * this tenant and purpose, with *ret filled in. -EKEYREJECTED for a token
 * that is malformed, unknown, of another tenant or purpose, or used;
 * -ETIME for one that expired; each with a sentence in e. */
int account_token_check(Store *s, const TenantRecord *t, AccountTokenPurpose purpose, const char *token,
                        AccountToken *ret, TesseraError *e);

/* Whether a request for a mail about account (the address or name asked
 * about; NULL: none) may go on: 0, counting it, or -ETOOMANYREFS with the
 * seconds to wait in *ret_wait, and *ret_first set for the first refusal
 * of a run (worth an audit event). Each request counts, whatever the
 * answer: every one may send a mail. */
int account_mail_limit(Manager *m, const Principal *p, const TenantRecord *t, const char *account,
                       unsigned *ret_wait, bool *ret_first);

/* Whether a use of a mailed token by p's address may go on: 0, or
 * -ETOOMANYREFS with *ret_wait, after too many wrong tokens (they count
 * as failed authentications, in the limiter every door shares). */
int account_token_limit(Manager *m, const Principal *p, unsigned *ret_wait);
/* Counts a wrong token against p's address. */
void account_token_failed(Manager *m, const Principal *p);

/* The first steps of using a mailed token, the same for every purpose: the
 * policy's action for p, the limit on wrong tokens (-ETOOMANYREFS with
 * *ret_wait), the live token of this tenant and purpose, and its user, who
 * must still be of the tenant and, when stale is given, not stale(u, row)
 * (-EKEYREJECTED with stale_message then). A token refused counts as a
 * failed attempt of p's address and is audited as audit_action. Fills
 * *ret_row and *ret_user (the caller's reference) on success. */
int account_token_redeem(Manager *m, Store *s, const Principal *p, const TenantRecord *t, PolicyAction action,
                         AccountTokenPurpose purpose, const char *token, const char *audit_action,
                         bool (*stale)(const UserRecord *u, const AccountToken *row), const char *stale_message,
                         AccountToken *ret_row, UserRecord **ret_user, unsigned *ret_wait, TesseraError *e);
