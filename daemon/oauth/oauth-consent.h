/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Consent: the scopes a user allowed an application, remembered so that
 * the user is asked again only for more. First-party applications (the
 * tenant's own) never ask. */

#include <stdbool.h>

#include "oauth-context.h"

/* True when the user allowed the application every scope of scope. */
bool oauth_consent_covers(OAuthContext *ctx, const ApplicationRecord *app, int64_t user_id, const char *scope);

/* True when the user must be asked before a code is issued for scope:
 * never for a first-party application; else when the request asks for it
 * (prompt=consent) or the consent given does not cover scope. */
bool oauth_consent_needed(OAuthContext *ctx, const ApplicationRecord *app, int64_t user_id, const char *scope,
                          bool prompt_consent);

/* Records that the user allowed the application scope (it replaces what
 * was allowed before). */
int oauth_consent_grant(OAuthContext *ctx, const ApplicationRecord *app, int64_t user_id, const char *scope);
