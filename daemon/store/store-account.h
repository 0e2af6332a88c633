/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the JSON API's sign-in keeps between its two steps: MFA challenges,
 * each named by the digest of a random token, bound to one tenant and one
 * user, short-lived and spent at most once. Lookups name the tenant they
 * are made for and find nothing of another (-ENOENT). */

#include <stdint.h>

#include "store.h"
#include "token.h"

typedef struct MfaChallenge {
        int64_t tenant_id;
        int64_t user_id;
        int64_t created_usec;
        int64_t expires_usec;
        int64_t used_usec;        /* 0: not spent */
        char amr[16];             /* the first step's: "pwd", or "fed" (an upstream provider) */
} MfaChallenge;

/* Stores a challenge, and forgets the ones that expired before now. */
int store_mfa_challenge_create(Store *s, const uint8_t digest[TOKEN_DIGEST_SIZE], const MfaChallenge *c,
                               int64_t now_usec);
int store_mfa_challenge_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], MfaChallenge *ret);
/* Spends the challenge: 1 when this call did, 0 when it was spent already,
 * has expired or is not the tenant's. */
int store_mfa_challenge_claim(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], int64_t now_usec);

/* Whether the owner of some tenant has this e-mail address (1, 0): the
 * address is taken for a sign-up. */
int store_owner_email_exists(Store *s, const char *email);
