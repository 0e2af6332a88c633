/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Scopes: space-separated lists of the scopes we know (application.h's
 * oidc_known_scopes), as requested and as granted. */

#include <stdbool.h>

#include "oidc-records.h"

/* True when the space-separated scope holds item. */
bool oauth_scope_has(const char *scope, const char *item);

/* Checks a requested scope against what the application may have and
 * returns it normalized: each known scope once, in a fixed order. -EPERM
 * for a scope we don't know or the application may not ask for (refused,
 * not dropped: a client that asks for more than exists has a bug worth
 * seeing), -EINVAL for too many. */
int oauth_scope_normalize(const ApplicationRecord *app, const char *requested, char **ret);

/* True when every item of scope is in granted: a narrower (or the same)
 * scope. False on allocation failure: fail closed. */
bool oauth_scope_covers(const char *granted, const char *scope);
