/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The answers of the JSON API's sign-in (http-api-auth.c), for the other
 * doors that end in the same session (http-api-upstream.c). */

#include "api-session.h"
#include "auth.h"
#include "http-oidc.h"

/* {"status":"signed_in","user","tenant","session"} with status. */
void api_auth_reply_signed_in(OidcContext *ctx, unsigned status, const UserRecord *u, const ApiSession *s);
/* A decision about a known account that did not sign in: its state
 * (account_locked, account_disabled, ...), as after a second step. */
void api_auth_reply_failed(OidcContext *ctx, const AuthResult *res);
