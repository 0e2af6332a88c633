/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who holds an access token presented to the tenant's JSON API as
 * Authorization: Bearer. The same checks as every other use of an access
 * token (oauth-token.h), and then the holder, looked up again every time
 * so that a revocation counts at once: a user, for a token issued through
 * an SSO session (the session must still be open, its user able to sign
 * in, and the token's subject that user's, not a later user of the same
 * name); a client, for a client-credentials token (still a confidential
 * application of the tenant with that grant). */

#include <jansson.h>

#include "oauth-context.h"

typedef struct OAuthBearer {
        json_t *claims;           /* as signed; shared with the cache, never changed */
        UserRecord *user;         /* the user's token, or NULL */
        ApplicationRecord *app;   /* a client's token, or NULL */
} OAuthBearer;

/* -EKEYREJECTED for a token that is not (or no longer) valid here, -ETIME
 * when it expired; -EKEYREVOKED, -EKEYEXPIRED, -ENOLCK when its user is
 * disabled, expired or locked now (a valid token of an account that can't
 * be used: refused too, and said so); other errors are ours (the store). */
int oauth_bearer_verify(OAuthContext *ctx, const char *token, OAuthBearer *ret);
void oauth_bearer_done(OAuthBearer *b);
