/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Key material of the JWT signing keys: generation, the public JWK, the
 * private key in a form that can be sealed into the store. Which keys a
 * tenant has and when they rotate is signing-keys.c's business. */

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>

#include "macro.h"

typedef enum JwtAlg {
        JWT_ALG_RS256,
        JWT_ALG_ES256,
        _JWT_ALG_MAX,
        _JWT_ALG_INVALID = -EINVAL,
} JwtAlg;

const char *jwt_alg_to_string(JwtAlg a);
JwtAlg jwt_alg_from_string(const char *s);

/* kid: the RFC 7638 thumbprint of the public key, base64url (43 bytes). */
#define SIGNING_KID_MAX 64

typedef struct SigningKey {
        unsigned n_ref;
        char kid[SIGNING_KID_MAX];
        JwtAlg alg;
        EVP_PKEY *pkey;           /* private key when loaded for signing */
        /* Prepared once: a SigningKey is used by one thread at a time (each
         * HTTP thread loads its own), so these need no lock. */
        EVP_PKEY_CTX *sign_ctx;
        EVP_PKEY_CTX *verify_ctx;
        int64_t created_usec;
        int64_t retired_usec;     /* 0 while the key signs */
} SigningKey;

SigningKey *signing_key_ref(SigningKey *k);
SigningKey *signing_key_unref(SigningKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(SigningKey *, signing_key_unref);

/* A new key: RSA 2048 for RS256, P-256 for ES256. RSA generation takes a
 * noticeable fraction of a second. */
int signing_key_generate(JwtAlg alg, SigningKey **ret);

/* The public JWK: kty, kid, use, alg and n/e or crv/x/y. */
int signing_key_public_jwk(const SigningKey *k, json_t **ret);

/* The private key as DER (PKCS#8), for sealing. The caller wipes it. */
int signing_key_private_der(const SigningKey *k, uint8_t **ret, size_t *ret_n);
/* Loads a private key from PKCS#8 DER and checks it fits alg and kid. */
int signing_key_from_private_der(JwtAlg alg, const char *kid, const uint8_t *der, size_t n, SigningKey **ret);

/* Signs data: RSASSA-PKCS1-v1_5 SHA-256, or ECDSA P-256 SHA-256 as the raw
 * 64-byte r||s that JWS uses. *ret_n is the signature length. */
int signing_key_sign(SigningKey *k, const void *data, size_t n, uint8_t *sig, size_t sig_size, size_t *ret_n);
/* 1 when sig is a valid signature of data, 0 when not. */
int signing_key_verify(SigningKey *k, const void *data, size_t n, const uint8_t *sig, size_t sig_n);
