/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Invitations to a tenant (invitation.h): part of the narrow store
 * interface of store.h, in a header of its own. Same conventions: 0 or a
 * negative errno, -ENOENT when a record does not exist (or is another
 * tenant's: every lookup names the tenant), out-parameters written only on
 * success. Only the digest of a mailed token is stored. */

#include <stdint.h>

#include "records.h"
#include "store.h"
#include "token.h"

typedef struct Invitation {
        int64_t id;
        int64_t tenant_id;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        char email[256];
        UserRole role;
        char invited_by[128];         /* who asked, for the list ("olga", "root") */
        int64_t created_usec;
        int64_t sent_usec;            /* the last mail's time */
        int64_t expires_usec;
        int64_t accepted_usec;        /* 0: not accepted */
        int64_t user_id;              /* the account it made, once accepted */
        int64_t revoked_usec;         /* 0: not revoked */
} Invitation;

static inline bool invitation_pending(const Invitation *i) {
        return i->accepted_usec == 0 && i->revoked_usec == 0;
}

/* -EEXIST when the address has a pending invitation to the tenant. Sets
 * i->id. */
int store_invitation_add(Store *s, Invitation *i);
int store_invitation_get(Store *s, int64_t tenant_id, int64_t id, Invitation *ret);
int store_invitation_get_by_digest(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE],
                                   Invitation *ret);
/* The pending invitation of an address to the tenant. */
int store_invitation_get_pending_email(Store *s, int64_t tenant_id, const char *email, Invitation *ret);
/* Pending invitations of the tenant by id, after after_id (0: from the
 * start), at most limit; *ret (free()) holds *ret_n. */
int store_invitation_list_pending(Store *s, int64_t tenant_id, int64_t after_id, unsigned limit, Invitation **ret,
                                  size_t *ret_n);
/* A new token and expiry for a pending invitation (a resend): -ENOENT
 * when it is no longer pending. */
int store_invitation_renew(Store *s, int64_t tenant_id, int64_t id, const uint8_t digest[TOKEN_DIGEST_SIZE],
                           int64_t sent_usec, int64_t expires_usec);
/* Ends a pending invitation: accepted by user_id (> 0), or revoked (0).
 * 1 when this call ended it, 0 when it was not pending any more. */
int store_invitation_finish(Store *s, int64_t tenant_id, int64_t id, int64_t user_id, int64_t now_usec);
