/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Compact JWS (RFC 7515) for JWTs (RFC 7519): signing with our keys, and
 * strict verification that refuses "none", unknown algorithms, an algorithm
 * that doesn't match the key, critical headers and oversized input. What
 * the claims must say (iss, aud, exp) is the caller's to check. */

#include <jansson.h>

#include "signing-key.h"

#define JWT_MAX_LEN 8192

/* header {"alg","kid","typ"} . claims . signature */
int jwt_sign(SigningKey *k, const char *typ, json_t *claims, char **ret);
/* The same with the claims already serialized (compact JSON text). */
int jwt_sign_text(SigningKey *k, const char *typ, const char *payload, char **ret);

/* Finds the key for kid; returns a new reference or -ENOKEY. */
typedef int (*JwtKeyLookup)(const char *kid, JwtAlg alg, void *userdata, SigningKey **ret);

/* Verifies token: -EBADMSG for anything malformed, -ENOKEY for an unknown
 * kid, -EKEYREJECTED for a bad signature or a refused algorithm. On success
 * returns the header and claims. */
int jwt_verify(const char *token, JwtKeyLookup lookup, void *userdata, json_t **ret_header, json_t **ret_claims);

/* Decodes without verifying, for tests and for reading id_token_hint's
 * audience before its key is known. */
int jwt_decode_unverified(const char *token, json_t **ret_header, json_t **ret_claims);
