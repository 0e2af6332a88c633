/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sign-in sessions of the JSON API (/api/v1/tenants/{tenant}/auth/...),
 * through the same core as the OpenID provider: a sign-in starts one SSO
 * session, issues an access token (a JWT of the tenant's issuer, for the
 * tessera API: aud is the issuer, as for every access token the JSON API
 * takes) and a refresh token of a new family. Refresh is the provider's
 * refresh grant (rotation, reuse detection: oauth-refresh.h); sign-out ends
 * the session with its refresh tokens, and puts the access token's jti on
 * the deny-list until it expires.
 *
 * The tokens are issued to the tenant's first-party API application, made
 * on first use. Its name, API_APPLICATION_NAME, is no valid name for an
 * application an administrator creates, so that it can't be taken,
 * changed or deleted by name.
 *
 * A user with TOTP gets, after the right password, a short-lived
 * single-use MFA token instead (stored as its digest); one call with a
 * code and that token ends the sign-in. An MFA token is opaque: it is no
 * access token, and no bearer credential anywhere. */

#include <jansson.h>

#include "oauth-commit.h"
#include "oauth-context.h"

#define API_APPLICATION_NAME "tessera.api"
#define API_SCOPE "openid profile email offline_access"
/* How long the second step of a sign-in may take. */
#define API_MFA_TOKEN_LIFETIME_SEC 300

typedef struct ApiSession {
        char *access_token;       /* wiped when done */
        char *refresh_token;      /* wiped when done */
        char sid[64];
        int64_t access_expires_usec;
        int64_t refresh_expires_usec;   /* at the latest (idle use ends it sooner) */
        int64_t session_expires_usec;
} ApiSession;

void api_session_done(ApiSession *s);

/* The tenant's first-party API application, made when there is none yet
 * (audited as application.create). */
int api_application(OAuthContext *ctx, const Principal *caller, ApplicationRecord **ret);

/* Starts a session for u, who just proved amr ("pwd", "pwd otp"): the SSO
 * session, its refresh token and the audit event auth.signin in one
 * transaction. mfa_token, when not NULL, is the MFA token of the sign-in's
 * first step, spent in the same transaction: -ESTALE when it was spent
 * meanwhile (by a concurrent call) or expired. */
int api_session_start(OAuthContext *ctx, const Principal *caller, const UserRecord *u, const char *amr,
                      const char *mfa_token, ApiSession *ret);

/* Ends the session an access token (its verified claims) belongs to: the
 * SSO session and its refresh tokens are revoked, the token's jti is
 * denied until it expires; audited as auth.signout. */
int api_session_end(OAuthContext *ctx, const Principal *caller, json_t *claims);

/* The refresh grant for the API application (oauth-refresh.h): a commit
 * the face has the batch writer run. Refusals: invalid_request,
 * invalid_grant. */
int api_session_refresh(OAuthContext *ctx, const Principal *caller, const char *refresh_token, OAuthCommit **ret,
                        OAuthError *e);

/* The first step's token for u: *ret_token (the caller wipes it) and its
 * expiry. amr: how the first step went ("pwd"; "fed" after an upstream
 * provider's sign-in), which the session the code completes carries. */
int api_mfa_token_issue(OAuthContext *ctx, const UserRecord *u, const char *amr, char **ret_token,
                        int64_t *ret_expires_usec);
/* The user an MFA token of this tenant was issued for: -ENOENT for a token
 * that is not (or not any more: spent) one, -ETIME for an expired one.
 * ret_amr (may be NULL, 16 bytes) gets the first step's amr. */
int api_mfa_token_user(OAuthContext *ctx, const char *token, int64_t *ret_user_id, char *ret_amr);
