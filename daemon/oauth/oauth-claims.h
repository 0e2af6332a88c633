/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the provider says about a user: the subject (sub) and the claims
 * each scope releases, in ID tokens and at userinfo alike. */

#include "json-text.h"
#include "oauth-context.h"

/* The stable subject of a user: never reused, even when a user of the
 * same name is created again (a keyed digest of the row and its birth
 * time), 22 characters. */
int oauth_subject(const Manager *m, const UserRecord *u, char out[static 64]);
/* The same, from the context's cache when it can. */
int oauth_subject_cached(OAuthContext *ctx, const UserRecord *u, char out[static 64]);

/* The claims of a user for scope: sub always; preferred_username, name and
 * updated_at with profile; email and email_verified with email. */
void oauth_user_claims(JsonText *j, const UserRecord *u, const char *sub, const char *scope);
