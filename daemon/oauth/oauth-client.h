/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Client authentication (RFC 6749 2.3): a confidential client by its
 * secret (however the face received it: client_secret_basic or
 * client_secret_post), a public client by its id alone. Failures count
 * against the caller's address and the client id (oauth-limit.h); over
 * the limit the client is refused before it is looked up or its secret
 * hashed. Every refusal is audited under the caller's action. */

#include <stdbool.h>

#include "oauth-context.h"

typedef struct OAuthClientCredentials {
        const char *client_id;    /* NULL when none was sent */
        const char *secret;       /* NULL when none was sent */
        bool malformed;           /* credentials were sent in a form that could not be read */
} OAuthClientCredentials;

/* The application of this tenant that c authenticates. Refusals:
 * rate_limited (-EBUSY, with retry_after), invalid_client (-EINVAL for
 * malformed credentials, -EACCES otherwise). */
int oauth_client_authenticate(OAuthContext *ctx, const Principal *caller, const OAuthClientCredentials *c,
                              const char *action, ApplicationRecord **ret, OAuthError *e);

/* The principal of an authenticated client, acting through caller's door
 * (its channel and remote; strings borrowed from both). */
Principal oauth_client_principal(const Principal *caller, const ApplicationRecord *app);
