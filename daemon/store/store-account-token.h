/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Single-use tokens mailed for account flows (account-token.h): part of
 * the narrow store interface of store.h, kept in a header of its own.
 * Same conventions: 0 or a negative errno, -ENOENT when a record does not
 * exist, out-parameters written only on success.
 *
 * Only a token's digest is stored. Every lookup names the tenant and the
 * purpose it is made for and finds nothing of another (-ENOENT): a reset
 * token of one tenant is never taken in another, nor as a verification. */

#include <stdint.h>

#include "store.h"
#include "token.h"

typedef enum AccountTokenPurpose {
        ACCOUNT_TOKEN_VERIFY_EMAIL,
        ACCOUNT_TOKEN_RESET_PASSWORD,
        _ACCOUNT_TOKEN_PURPOSE_MAX,
        _ACCOUNT_TOKEN_PURPOSE_INVALID = -EINVAL,
} AccountTokenPurpose;

typedef struct AccountToken {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        AccountTokenPurpose purpose;
        int64_t tenant_id;
        int64_t user_id;
        char email[256];              /* the address the token was mailed to */
        int64_t created_usec;
        int64_t expires_usec;
        int64_t used_usec;            /* 0: not used */
} AccountToken;

int store_account_token_add(Store *s, const AccountToken *t);
/* The token of this tenant and purpose with that digest, used or not. */
int store_account_token_get(Store *s, int64_t tenant_id, AccountTokenPurpose purpose,
                            const uint8_t digest[TOKEN_DIGEST_SIZE], AccountToken *ret);
/* Claims the token for its one use: 1 when this call got it, 0 when it was
 * used already or has expired (or is not of this tenant and purpose). */
int store_account_token_claim(Store *s, int64_t tenant_id, AccountTokenPurpose purpose,
                              const uint8_t digest[TOKEN_DIGEST_SIZE], int64_t now_usec);
/* Marks every unused token of the user for purpose used: the ones mailed
 * before are void once one of them served. */
int store_account_token_void_user(Store *s, int64_t user_id, AccountTokenPurpose purpose, int64_t now_usec);
/* Forgets tokens that expired before the given time. */
int store_account_token_purge(Store *s, int64_t expired_before_usec);

const char *account_token_purpose_to_string(AccountTokenPurpose p);
AccountTokenPurpose account_token_purpose_from_string(const char *s);
