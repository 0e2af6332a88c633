/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Password reset by mail ("forgot my password"), for a tenant's users:
 *
 *   request  the person gives an e-mail address. The answer is the same,
 *            and takes the same time, whether or not an account has it:
 *            on the request path only the address's form and the rate
 *            limits are checked (per client address and per address asked
 *            about, the same for accounts that do not exist); the rest
 *            (finding the account, issuing the token, queueing the mail,
 *            the audit event auth.forgot) is handed to the batch writer
 *            and the request answered without waiting for it; the
 *            writer starts on it only [auth] forgot_delay ms later, when
 *            the answer has reached the asker, so that its work can't
 *            slow the answer down where the asker could time it. A request
 *            lost in a crash before that commit is asked again by its
 *            person; a mail once queued is sent whatever happens.
 *   confirm  the token from the mail and a new password: the token is
 *            checked (tenant, purpose, unused, unexpired), the password
 *            policy applied (a refusal does not use the token up), the new
 *            password hashed on a worker, and in one transaction the token
 *            claimed, the password set, every SSO session and refresh
 *            token family of the user ended (their access tokens are
 *            refused from then on), the other reset tokens voided, the
 *            failure count forgotten, and auth.reset-password audited.
 *
 * Disabled and expired accounts get no mail; a locked one does (the reset
 * is how its holder gets back in, and forgets the failures). */

#include "account-token.h"
#include "batch-writer.h"

/* The answer of "forgot" for everybody. */
#define PASSWORD_RESET_REQUESTED "If an account exists, a reset email has been sent."

/* Takes a reset request for the account of tenant t with the address
 * email (as typed): 0 (whether or not such an account exists) with the
 * work in *ret_write, -EINVAL for what is no e-mail address, -EOPNOTSUPP
 * when mail is not set up, -ETOOMANYREFS with *ret_wait seconds when the
 * limits say wait. The caller queues *ret_write on the batch writer
 * (batch_writer_queue()), best after its answer went out so that the
 * work competes with nothing the asker can time; or, when it can't,
 * calls its done with the error, which frees it. s, the caller's own
 * Store, records the first refusal of a run by the limits. */
int password_reset_request(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const char *email,
                           const char *base_url, unsigned *ret_wait, BatchWrite **ret_write, TesseraError *e);

/* The work of a request, on the store s inside the caller's transaction
 * (what the batch writer runs; tests call it directly). */
int password_reset_request_write(Manager *m, Store *s, const Principal *p, const TenantRecord *t,
                                 const char *email, const char *base_url, TesseraError *e);

/* An administrator (or a key with tessera:users:write) has a reset mail
 * sent to user u of tenant t (POLICY_USER_SEND_RESET): the same token and
 * mail as "forgot", issued at once and audited as user.send-reset. Unlike
 * "forgot", the answer says what happened: -EINVAL when u has no address,
 * -EKEYREVOKED disabled, -EKEYEXPIRED expired (such accounts get no
 * mail), -EOPNOTSUPP when mail is not set up. */
int password_reset_send(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const UserRecord *u,
                        const char *base_url, TesseraError *e);

/* Sets the password of the token's user to new_password, on the calling
 * thread (not the main loop) with its own Store s. 0, or: -EKEYREJECTED
 * a token that can't be used (unknown, used, another tenant's), -ETIME
 * expired, -EINVAL the password policy refused the password (the token
 * stays usable), -ETOOMANYREFS (*ret_wait) too many wrong tokens from
 * this address; store and worker errors otherwise. ret (may be NULL): the
 * user as stored now. */
int password_reset_confirm(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const char *token,
                           const char *new_password, unsigned *ret_wait, UserRecord **ret, TesseraError *e);
