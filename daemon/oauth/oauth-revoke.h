/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What revocation (RFC 7009) and introspection (RFC 7662) decide, for an
 * authenticated client. Neither tells anything about a token that is not
 * the client's own tenant's: an unknown, foreign or invalid token is
 * "revoked" without effect, and introspects as inactive. */

#include <jansson.h>

#include "oauth-commit.h"
#include "oauth-context.h"

/* Revokes token when it is one of the client's: a refresh token with its
 * whole family, an access token by its jti. The commit's write does it
 * (with the audit event); its response is the empty object. Refusal:
 * invalid_request (no token). */
int oauth_revoke(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app, const char *token,
                 OAuthCommit **ret, OAuthError *e);

/* The introspection response for token: {"active": false} unless it is a
 * live access token or refresh token of this tenant. Refusals:
 * invalid_client (a public client: introspection needs a confidential
 * one; audited), invalid_request (no token). */
int oauth_introspect(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app, const char *token,
                     json_t **ret, OAuthError *e);
