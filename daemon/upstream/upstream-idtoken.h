/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An upstream provider's ID token checked (OpenID Connect Core 3.1.3.7):
 * the signature with the provider's key set, then the claims. Pure: no
 * network, no clock of its own (the caller gives now), so that every
 * refusal can be shown by a unit test. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* Far more than any provider's token, far less than the answer limit. */
#define UPSTREAM_ID_TOKEN_MAX (64 * 1024)
/* Clock skew allowed for exp and iat. */
#define UPSTREAM_ID_TOKEN_SKEW_SEC 300

typedef struct UpstreamTokenExpect {
        /* The issuer, or with issuer_per_tid a template whose "{tenantid}"
         * is filled with the token's tid. */
        const char *issuer;
        bool issuer_per_tid;
        const char *allowed_tid;      /* comma-separated Entra tenant ids, NULL any */
        const char *client_id;
        const char *nonce;            /* NULL: the flow sent none */
        int64_t now_sec;              /* the wall clock */
} UpstreamTokenExpect;

/* The token's header and the kid it names (for the caller to fetch the
 * key set again when it is unknown). -EBADMSG malformed. */
int upstream_idtoken_kid(const char *token, char **ret_kid);

/* Verifies token against jwks and x; returns its claims. Errors:
 * -EBADMSG malformed, -ENOKEY a kid the set lacks (the caller may fetch
 * the set again and retry), -EKEYREJECTED a refused alg ("none", HMAC,
 * anything unknown) or a bad signature, -EPROTO a wrong iss, aud, azp,
 * nonce or tid, -ESTALE expired (or issued in the future). e says which. */
int upstream_idtoken_verify(const char *token, json_t *jwks, const UpstreamTokenExpect *x, json_t **ret_claims,
                            TesseraError *e);
