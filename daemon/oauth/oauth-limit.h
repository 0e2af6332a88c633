/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The limits on failed authentications (limiter.h) as the OpenID
 * provider's doors apply them: client authentication at the token,
 * revocation and introspection endpoints, and the sign-in pages. Checked
 * before any hash or store work, a failure counted each time, and a run of
 * refusals audited once. The key of the address is the caller's remote. */

#include <stdbool.h>

#include "limiter.h"
#include "oauth-context.h"

typedef struct OAuthLimit {
        unsigned wait;            /* seconds until another try, for Retry-After */
        LimitKind kind;           /* the limit met */
        bool first;               /* the first refusal of a run: worth an audit event */
} OAuthLimit;

/* True when the caller's address, or client_id (NULL: none), failed too
 * often lately. */
bool oauth_limited(Manager *m, const Principal *caller, const char *client_id, OAuthLimit *ret);
/* Counts a failed authentication of the caller's address and, when not
 * NULL, of client_id. */
void oauth_limit_failed(Manager *m, const Principal *caller, const char *client_id);
/* The first refusal of a run goes into the audit trail (as action, by
 * actor, NULL when not known) and the log; the others are only counted by
 * the limiter. */
void oauth_limit_audit(OAuthContext *ctx, const Principal *caller, const OAuthLimit *l, const char *action,
                       const char *actor);
