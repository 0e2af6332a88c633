/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Refresh tokens (RFC 6749 6, RFC 9700 4.14): each use rotates the token
 * (the old one is spent, a new one of the same family takes its place),
 * for the scope granted or a narrower one. A spent token used again is a
 * reuse: somebody else has it, so its whole family is revoked and its SSO
 * session ends, unless the deployment opted into a grace period for a
 * client's own concurrent refreshes ([oidc] refresh_reuse_grace). */

#include "oauth-commit.h"
#include "oauth-context.h"

/* The refresh_token grant: checks the token and the scope and prepares the
 * new tokens; the commit's write rotates (or detects the reuse).
 * Refusals: unauthorized_client, invalid_request, invalid_grant,
 * invalid_scope. */
int oauth_grant_refresh_token(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                              const char *token, const char *scope, OAuthCommit **ret, OAuthError *e);
