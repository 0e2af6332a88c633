/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The UserInfo endpoint's rule (OpenID Connect Core 5.3): a user's access
 * token with the openid scope gets the claims its scope releases, as long
 * as the token, its SSO session and its user are good now. */

#include "oauth-context.h"

/* The claims (JSON text) for the bearer token. Refusals (RFC 6750 3.1,
 * audited as oauth.userinfo): invalid_token (expired, not valid here, or
 * its user can no longer sign in), insufficient_scope (no user, or no
 * openid). */
int oauth_userinfo(OAuthContext *ctx, const Principal *caller, const char *token, char **ret, OAuthError *e);
