/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Invitations to a tenant, shared by every face (the JSON API, D-Bus and
 * tesseractl): an administrator invites an e-mail address with a role
 * (owners only invite owners); a single-use token goes out by mail (the
 * "invitation" template), stored as its digest only, valid for [auth]
 * invitation_lifetime (7 days by default); the pending ones are listed,
 * mailed again (a new token: the old link stops working) or revoked.
 *
 * Accepting creates the account: the name and password the invited person
 * chooses (the tenant's password policy), the invited role, and the
 * address counted as verified, since the mail proved it. A user belongs
 * to one tenant, so an account a signed-in person already has is never
 * linked: a member of this tenant is one already (-EEXIST), and a user of
 * another tenant can't be made one (-EXDEV).
 *
 * Refusals of a token: -EKEYREJECTED unknown, of another tenant or
 * revoked (one answer for all: nothing tells a guess from another
 * tenant's token); -EALREADY accepted already; -ETIME expired. A refused
 * token counts as a failed attempt of the caller's address, in the limiter
 * every door shares (-ETOOMANYREFS once over it). */

#include "change.h"
#include "manager.h"
#include "store-invitation.h"

/* "inv_12" and back (-EINVAL for anything else). */
int invitation_id_format(int64_t id, char buf[static 32]);
int invitation_id_parse(const char *s, int64_t *ret);

/* Invites email to t with role, mailing a link to base_url (the HTTP
 * server's public URL). -EEXIST when the address is a member's or has a
 * pending invitation, -EOPNOTSUPP when mail is not set up, -EACCES for a
 * non-owner inviting an owner. */
int invitation_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *email,
                      UserRole role, const char *base_url, Invitation *ret, TesseraError *e);
/* Pending invitations of t by id, after after_id (0: the first). *ret is
 * free()d by the caller. */
int invitation_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t after_id,
                    unsigned limit, Invitation **ret, size_t *ret_n, TesseraError *e);
/* Mails a pending invitation again with a new token and a new expiry. */
int invitation_resend(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t id,
                      const char *base_url, Invitation *ret, TesseraError *e);
int invitation_revoke(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t id, TesseraError *e);

/* The invitation a token is for, if it can still be accepted (see the
 * refusals above), without using it: for the accept page. */
int invitation_check(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *token,
                     Invitation *ret, TesseraError *e);

typedef struct InvitationAcceptSpec {
        const char *token;
        const char *name;             /* the user name chosen */
        const char *password;
        const char *real_name;        /* may be NULL */
} InvitationAcceptSpec;

/* Accepts with a new account (on a thread that may wait: the password is
 * hashed on the worker pool). *ret_user is the new user; *ret_field names
 * the request's field at fault for -EINVAL and -EEXIST ("name",
 * "password"). Audited as invitation.accept. */
int invitation_accept(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                      const InvitationAcceptSpec *spec, UserRecord **ret_user, const char **ret_field,
                      TesseraError *e);
/* An accept by somebody signed in already (a is their user): checks the
 * token as above, then refuses, since no account is linked: -EEXIST for a
 * member of t, -EXDEV for a user of another tenant. Audited. */
int invitation_accept_signed_in(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *token,
                                TesseraError *e);
