/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Authorization codes (RFC 6749 4.1, RFC 9700 2.1.1): issued at the end of
 * an authorization request, stored only as a digest, redeemed once, by
 * the client they were issued to, at the same redirect URI, with the PKCE
 * verifier (S256) when the request had a challenge. A code presented a
 * second time is a replay: what the first redemption issued (its access
 * token, its refresh family) is revoked and its SSO session ends. */

#include "oauth-authorize.h"
#include "oauth-commit.h"
#include "oauth-context.h"

/* Issues a code for a checked request, the user of session; durable (and
 * audited as oauth.authorize by the client) when this returns. */
int oauth_code_issue(OAuthContext *ctx, const Principal *caller, const ApplicationRecord *app,
                     const OAuthAuthzRequest *a, const SsoSession *session, const UserRecord *u, char **ret_code);

/* The authorization_code grant: checks what needs no write and prepares
 * the tokens; the commit's write claims the code (one redemption wins) and
 * stores the refresh token, or revokes what a replayed code issued.
 * Refusals: unauthorized_client, invalid_request, invalid_grant. */
int oauth_grant_authorization_code(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                                   const char *code, const char *redirect_uri, const char *verifier,
                                   OAuthCommit **ret, OAuthError *e);
