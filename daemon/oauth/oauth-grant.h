/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The token endpoint's grants (RFC 6749 4.1.3, 4.4, 6): which one a
 * request asks for, and the client_credentials grant; the others are
 * oauth-code.h's and oauth-refresh.h's. Every outcome but an internal
 * error is audited as oauth.token (or oauth.refresh...) by the client. */

#include "oauth-commit.h"
#include "oauth-context.h"

typedef struct OAuthTokenRequest {
        const char *grant_type;
        const char *code, *redirect_uri, *code_verifier;  /* authorization_code */
        const char *refresh_token;                        /* refresh_token */
        const char *scope;                                /* client_credentials, refresh_token */
} OAuthTokenRequest;

/* Answers a token request of an authenticated client (client, from
 * oauth_client_principal()): either the token response now (*ret_response;
 * its audit event is in ctx->audit), or a commit whose write decides
 * (*ret_commit: a code's redemption, a refresh token's rotation). */
int oauth_token_request(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                        const OAuthTokenRequest *rq, char **ret_response, OAuthCommit **ret_commit, OAuthError *e);

/* client_credentials: an access token for the client itself, with the
 * scopes it asked for (no openid, no offline_access: there is no user). */
int oauth_grant_client_credentials(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                                   const char *scope, char **ret_response, OAuthError *e);

/* Refuses a token request with error (400 on HTTP), auditing it as
 * oauth.token by the client. */
int oauth_grant_refuse(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app, OAuthError *e,
                       const char *error, const char *description);
