/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Single sign-on sessions: a browser's sign-in at a tenant's provider,
 * named by a random cookie (stored only as its digest), shared by every
 * application the user then opens, and the anchor of every token issued
 * from it: ending the session ends its refresh tokens, and its access
 * tokens (which carry its sid) are refused from then on. */

#include "oauth-context.h"

/* Starts a session for u, who just signed in with amr ("pwd" or "pwd
 * otp"); audited as oidc.session-start. *ret_cookie is the cookie value
 * (the caller wipes it), *ret the session. */
int sso_session_start(OAuthContext *ctx, const Principal *caller, const UserRecord *u, const char *amr,
                      char **ret_cookie, SsoSession *ret);

/* The live session (not ended, not expired) of this tenant a cookie value
 * names; -ENOENT when none. */
int sso_session_find(OAuthContext *ctx, const char *cookie, SsoSession *ret);

/* The user of a session of this tenant when both may be used now: -ENOENT
 * for a session that ended or is another tenant's, -EPERM for a user who
 * can't sign in (disabled, locked, expired). */
int sso_session_user(OAuthContext *ctx, const SsoSession *s, UserRecord **ret);

/* Ends the session and its refresh tokens (RP-initiated logout); audited
 * as oidc.logout. */
int sso_session_end(OAuthContext *ctx, const Principal *caller, const SsoSession *s);
