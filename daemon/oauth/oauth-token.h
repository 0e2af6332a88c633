/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The tokens the provider signs, and how it checks them: access tokens
 * (JWTs of RFC 9068, typ at+jwt, for the tenant's API: aud is the
 * issuer) and ID tokens (OpenID Connect Core 2, for the client: aud is its
 * client id), signed with the application's algorithm from the tenant's
 * key set. */

#include <jansson.h>

#include "oauth-context.h"

/* What a token is minted for. */
typedef struct OAuthTokenSpec {
        const ApplicationRecord *app;
        const UserRecord *user;   /* NULL for client_credentials: the client is the subject */
        const char *scope;
        const char *sid;          /* the SSO session, for user tokens */
        const char *nonce;
        int64_t auth_time_usec;
        const char *amr;          /* "pwd" or "pwd otp" */
        char jti[33];             /* set by oauth_mint_tokens() */
} OAuthTokenSpec;

/* Signs the access token and, when the scope has openid, there is a user
 * and ret_id_token is not NULL, the ID token. -ENOKEY when the tenant has
 * no active key for the application's algorithm. */
int oauth_mint_tokens(OAuthContext *ctx, OAuthTokenSpec *t, char **ret_access, char **ret_id_token);

/* The token response (RFC 6749 5.1) as JSON text: access_token,
 * token_type, expires_in, scope, and id_token and refresh_token when not
 * NULL. */
int oauth_token_response(OAuthContext *ctx, const char *access, const char *id_token, const char *refresh,
                         const char *scope, char **ret);

/* Verifies the signature of a JWT of this tenant (any of its published
 * keys), nothing more. */
int oauth_verify_jwt(OAuthContext *ctx, const char *token, json_t **ret_header, json_t **ret_claims);

/* Verifies an access token of this tenant: the signature by one of its
 * keys, typ at+jwt (an ID token is no access token), iss and aud this
 * issuer, exp, and that neither the token (its jti) nor its SSO session
 * was revoked. -EKEYREJECTED for anything wrong, -ETIME when expired. The
 * claims are shared with the cache of verified tokens: read them, never
 * change them. */
int oauth_verify_access_token(OAuthContext *ctx, const char *token, json_t **ret_claims);
