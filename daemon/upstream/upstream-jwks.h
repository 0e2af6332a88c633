/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Upstream providers' signing keys: a JWK Set (RFC 7517) read into
 * OpenSSL keys, and JWS signatures (RFC 7518) checked with them. Only
 * the asymmetric algorithms providers sign ID tokens with; "none" and
 * HMAC are not algorithms here at all, so nothing can be verified with a
 * public key used as an HMAC secret. */

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef enum UpstreamAlg {
        UPSTREAM_ALG_RS256,
        UPSTREAM_ALG_RS384,
        UPSTREAM_ALG_RS512,
        UPSTREAM_ALG_PS256,
        UPSTREAM_ALG_ES256,
        UPSTREAM_ALG_ES384,
        _UPSTREAM_ALG_MAX,
        _UPSTREAM_ALG_INVALID = -EINVAL,
} UpstreamAlg;

const char *upstream_alg_to_string(UpstreamAlg a);
UpstreamAlg upstream_alg_from_string(const char *s);

/* The smallest RSA key accepted (RFC 7518 3.3). */
#define UPSTREAM_RSA_MIN_BITS 2048

/* One JWK's public key: RSA (n, e) or EC (crv P-256/P-384, x, y).
 * -EBADMSG for a malformed or too weak key, -EOPNOTSUPP another kty. */
int upstream_jwk_to_pkey(json_t *jwk, EVP_PKEY **ret);

/* The key of jwks for a token's kid and alg. Without a kid, the only
 * signing key of the set that fits alg. -ENOKEY: none with that kid (or
 * no single candidate); -EKEYREJECTED: the key for kid does not fit alg
 * (its kty, curve, "alg" or "use"); -EBADMSG: not a key set. */
int upstream_jwks_find(json_t *jwks, const char *kid, UpstreamAlg alg, EVP_PKEY **ret);

/* 1 when sig is alg's signature of data with k, 0 when not, <0 error. */
int upstream_jws_verify(EVP_PKEY *k, UpstreamAlg alg, const void *data, size_t n, const uint8_t *sig,
                        size_t sig_n);

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);
