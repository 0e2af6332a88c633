/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): what the
 * request may ask for. The browser goes back to an application only at a
 * post-logout URI it registered; without an id_token_hint of the very
 * session being ended the user confirms first, so that a link on another
 * site cannot sign anybody out. Ending the session is sso_session_end(). */

#include <stdbool.h>

#include "oauth-context.h"

/* Checks a logout request's parameters (each NULL when not given): the
 * hint is an ID token of ours (expired is fine: it only names the
 * session), client_id and the hint name the same application, and the
 * post-logout URI is registered for it. *ret_sid is the session the hint
 * names (NULL when none). Refusal: invalid_request (not audited: nothing
 * happens). */
int oauth_logout_check(OAuthContext *ctx, const char *id_token_hint, const char *client_id,
                       const char *post_logout_uri, char **ret_sid, OAuthError *e);

/* Whether the user must confirm before session ends: unless the hint
 * named that very session. */
bool oauth_logout_needs_confirmation(const char *hint_sid, const SsoSession *session);
