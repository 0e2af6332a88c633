/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signing-key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "base64url.h"
#include "token.h"

static const char *const alg_names[_JWT_ALG_MAX] = {
        [JWT_ALG_RS256] = "RS256",
        [JWT_ALG_ES256] = "ES256",
};

const char *jwt_alg_to_string(JwtAlg a) {
        return a >= 0 && a < _JWT_ALG_MAX ? alg_names[a] : NULL;
}

JwtAlg jwt_alg_from_string(const char *s) {
        for (int i = 0; s && i < _JWT_ALG_MAX; i++)
                if (streq(s, alg_names[i]))
                        return i;
        return _JWT_ALG_INVALID;
}

SigningKey *signing_key_ref(SigningKey *k) {
        if (k)
                __atomic_add_fetch(&k->n_ref, 1, __ATOMIC_RELAXED);
        return k;
}

SigningKey *signing_key_unref(SigningKey *k) {
        if (!k || __atomic_sub_fetch(&k->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;
        EVP_PKEY_CTX_free(k->sign_ctx);
        EVP_PKEY_CTX_free(k->verify_ctx);
        EVP_PKEY_free(k->pkey);
        free(k);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free);

static int bn_param_b64(const EVP_PKEY *pkey, const char *name, size_t pad, char **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        int n;

        if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
                return -EIO;
        n = BN_num_bytes(bn);
        if ((size_t) n < pad)
                n = (int) pad;
        buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        if (BN_bn2binpad(bn, buf, n) != n)
                return -EIO;
        return base64url_encode(buf, n, ret);
}

/* The members of the JWK that RFC 7638 hashes, plus kty. */
static int public_members(const EVP_PKEY *pkey, JwtAlg alg, json_t **ret) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        json_t *j;
        int r;

        if (alg == JWT_ALG_RS256) {
                if ((r = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0, &a)) < 0 ||
                    (r = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0, &b)) < 0)
                        return r;
                j = json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
        } else {
                if ((r = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32, &a)) < 0 ||
                    (r = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32, &b)) < 0)
                        return r;
                j = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", a, "y", b);
        }
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

static int compute_kid(const EVP_PKEY *pkey, JwtAlg alg, char kid[SIGNING_KID_MAX]) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *text = NULL;
        uint8_t d[SHA256_DIGEST_LENGTH];
        int r;

        r = public_members(pkey, alg, &j);
        if (r < 0)
                return r;
        /* RFC 7638: required members only, sorted, no whitespace. */
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        sha256(text, strlen(text), d);
        base64url_encode_to(d, sizeof(d), kid);
        return 0;
}

static int key_new(JwtAlg alg, EVP_PKEY *pkey, SigningKey **ret) {
        SigningKey *k = calloc(1, sizeof(SigningKey));
        int r;

        if (!k)
                return -ENOMEM;
        k->n_ref = 1;
        k->alg = alg;
        r = compute_kid(pkey, alg, k->kid);
        if (r < 0) {
                free(k);
                return r;
        }
        k->pkey = pkey;
        *ret = k;
        return 0;
}

int signing_key_generate(JwtAlg alg, SigningKey **ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        int r;

        if (alg == JWT_ALG_RS256)
                pkey = EVP_RSA_gen(2048);
        else if (alg == JWT_ALG_ES256)
                pkey = EVP_EC_gen("P-256");
        else
                return -EINVAL;
        if (!pkey)
                return -EIO;
        r = key_new(alg, pkey, ret);
        if (r >= 0)
                TAKE_PTR(pkey);
        return r;
}

int signing_key_public_jwk(const SigningKey *k, json_t **ret) {
        json_t *j;
        int r;

        r = public_members(k->pkey, k->alg, &j);
        if (r < 0)
                return r;
        if (json_object_set_new(j, "kid", json_string(k->kid)) < 0 ||
            json_object_set_new(j, "use", json_string("sig")) < 0 ||
            json_object_set_new(j, "alg", json_string(jwt_alg_to_string(k->alg))) < 0) {
                json_decref(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

int signing_key_private_der(const SigningKey *k, uint8_t **ret, size_t *ret_n) {
        uint8_t *der = NULL;
        int n;

        n = i2d_PrivateKey(k->pkey, &der);
        if (n <= 0)
                return -EIO;
        /* Copy into our allocator so the caller frees it as usual. */
        *ret = malloc(n);
        if (!*ret) {
                OPENSSL_clear_free(der, n);
                return -ENOMEM;
        }
        memcpy(*ret, der, n);
        OPENSSL_clear_free(der, n);
        *ret_n = (size_t) n;
        return 0;
}

int signing_key_from_private_der(JwtAlg alg, const char *kid, const uint8_t *der, size_t n, SigningKey **ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(signing_key_unrefp) SigningKey *k = NULL;
        const uint8_t *p = der;
        uint8_t sig[512];
        size_t sig_n;
        int r;

        pkey = d2i_PrivateKey(alg == JWT_ALG_RS256 ? EVP_PKEY_RSA : EVP_PKEY_EC, NULL, &p, (long) n);
        if (!pkey)
                return -EBADMSG;
        r = key_new(alg, pkey, &k);
        if (r < 0)
                return r;
        TAKE_PTR(pkey);
        if (kid && !streq(kid, k->kid))
                return -EBADMSG;
        /* The DER carries both halves and d2i_PrivateKey() does not check
         * that they belong together; the kid and the published JWK come
         * from the public half. A key whose private half differs would sign
         * tokens that nobody can verify: sign once and check it here. */
        r = signing_key_sign(k, "tessera", 7, sig, sizeof(sig), &sig_n);
        if (r < 0 || signing_key_verify(k, "tessera", 7, sig, sig_n) != 1)
                return -EBADMSG;
        *ret = TAKE_PTR(k);
        return 0;
}

/* A context set up for RSASSA-PKCS1-v1_5 with SHA-256, or ECDSA. */
static int prepare_ctx(SigningKey *k, bool sign, EVP_PKEY_CTX **ctx) {
        EVP_PKEY_CTX *c;

        if (*ctx)
                return 0;
        c = EVP_PKEY_CTX_new(k->pkey, NULL);
        if (!c)
                return -ENOMEM;
        if ((sign ? EVP_PKEY_sign_init(c) : EVP_PKEY_verify_init(c)) != 1 ||
            (k->alg == JWT_ALG_RS256 && (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
                                         EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1))) {
                EVP_PKEY_CTX_free(c);
                return -EIO;
        }
        *ctx = c;
        return 0;
}

int signing_key_sign(SigningKey *k, const void *data, size_t n, uint8_t *sig, size_t sig_size, size_t *ret_n) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = NULL;
        uint8_t digest[SHA256_DIGEST_LENGTH], der[128];
        const uint8_t *p = der;
        size_t len;
        int r;

        r = prepare_ctx(k, true, &k->sign_ctx);
        if (r < 0)
                return r;
        sha256(data, n, digest);

        if (k->alg == JWT_ALG_RS256) {
                len = sig_size;
                if (EVP_PKEY_sign(k->sign_ctx, sig, &len, digest, sizeof(digest)) != 1)
                        return -EIO;
                *ret_n = len;
                return 0;
        }

        /* ECDSA gives DER; JWS wants r and s as two 32-byte numbers. */
        len = sizeof(der);
        if (sig_size < 64 || EVP_PKEY_sign(k->sign_ctx, der, &len, digest, sizeof(digest)) != 1)
                return -EIO;
        es = d2i_ECDSA_SIG(NULL, &p, (long) len);
        if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) != 32 ||
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) != 32)
                return -EIO;
        *ret_n = 64;
        return 0;
}

int signing_key_verify(SigningKey *k, const void *data, size_t n, const uint8_t *sig, size_t sig_n) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = NULL;
        uint8_t digest[SHA256_DIGEST_LENGTH], *der = NULL;
        BIGNUM *br, *bs;
        int len, r;

        r = prepare_ctx(k, false, &k->verify_ctx);
        if (r < 0)
                return r;
        sha256(data, n, digest);

        if (k->alg == JWT_ALG_RS256)
                return EVP_PKEY_verify(k->verify_ctx, sig, sig_n, digest, sizeof(digest)) == 1;

        /* Raw r||s back to DER for OpenSSL. */
        if (sig_n != 64)
                return 0;
        es = ECDSA_SIG_new();
        br = BN_bin2bn(sig, 32, NULL);
        bs = BN_bin2bn(sig + 32, 32, NULL);
        if (!es || !br || !bs || ECDSA_SIG_set0(es, br, bs) != 1) {
                BN_free(br);
                BN_free(bs);
                return -ENOMEM;
        }
        len = i2d_ECDSA_SIG(es, &der);
        if (len <= 0)
                return -EIO;
        r = EVP_PKEY_verify(k->verify_ctx, der, (size_t) len, digest, sizeof(digest));
        OPENSSL_free(der);
        return r == 1;
}
