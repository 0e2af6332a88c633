/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "base64url.h"

static const char *const alg_names[_UPSTREAM_ALG_MAX] = {
        [UPSTREAM_ALG_RS256] = "RS256",
        [UPSTREAM_ALG_RS384] = "RS384",
        [UPSTREAM_ALG_RS512] = "RS512",
        [UPSTREAM_ALG_PS256] = "PS256",
        [UPSTREAM_ALG_ES256] = "ES256",
        [UPSTREAM_ALG_ES384] = "ES384",
};

const char *upstream_alg_to_string(UpstreamAlg a) {
        return a >= 0 && a < _UPSTREAM_ALG_MAX ? alg_names[a] : NULL;
}

UpstreamAlg upstream_alg_from_string(const char *s) {
        for (int i = 0; s && i < _UPSTREAM_ALG_MAX; i++)
                if (streq(s, alg_names[i]))
                        return i;
        return _UPSTREAM_ALG_INVALID;
}

static bool alg_is_rsa(UpstreamAlg a) {
        return a == UPSTREAM_ALG_RS256 || a == UPSTREAM_ALG_RS384 || a == UPSTREAM_ALG_RS512 ||
               a == UPSTREAM_ALG_PS256;
}

static const char *alg_curve(UpstreamAlg a) {
        return a == UPSTREAM_ALG_ES256 ? "P-256" : a == UPSTREAM_ALG_ES384 ? "P-384" : NULL;
}

static const EVP_MD *alg_md(UpstreamAlg a) {
        switch (a) {
        case UPSTREAM_ALG_RS256:
        case UPSTREAM_ALG_PS256:
        case UPSTREAM_ALG_ES256:
                return EVP_sha256();
        case UPSTREAM_ALG_RS384:
        case UPSTREAM_ALG_ES384:
                return EVP_sha384();
        case UPSTREAM_ALG_RS512:
                return EVP_sha512();
        default:
                return NULL;
        }
}

DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM *, OSSL_PARAM_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free);

/* A base64url member of a JWK, decoded; max bounds what a key can hold. */
static int member_bytes(json_t *jwk, const char *name, size_t max, uint8_t **ret, size_t *ret_n) {
        const char *s = json_string_value(json_object_get(jwk, name));
        uint8_t *b;
        size_t n;

        if (!s || strlen(s) > base64url_encoded_len(max))
                return -EBADMSG;
        if (base64url_decode(s, strlen(s), &b, &n) < 0 || n == 0) 
                return -EBADMSG;
        *ret = b;
        *ret_n = n;
        return 0;
}

static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **ret) {
        _cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        EVP_PKEY *pkey = NULL;

        params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
        if (!params || !ctx)
                return -ENOMEM;
        if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
                return -EBADMSG;
        *ret = pkey;
        return 0;
}

static int rsa_from_jwk(json_t *jwk, EVP_PKEY **ret) {
        _cleanup_free_ uint8_t *n = NULL, *e = NULL;
        _cleanup_(BN_freep) BIGNUM *bn = NULL, *be = NULL;
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
        EVP_PKEY *pkey;
        size_t nn, en;
        int r;

        /* 16384 bits is more than anyone signs with, and bounds the work. */
        if ((r = member_bytes(jwk, "n", 2048, &n, &nn)) < 0 || (r = member_bytes(jwk, "e", 8, &e, &en)) < 0)
                return r;
        bn = BN_bin2bn(n, (int) nn, NULL);
        be = BN_bin2bn(e, (int) en, NULL);
        if (!bn || !be)
                return -ENOMEM;
        if (BN_num_bits(bn) < UPSTREAM_RSA_MIN_BITS || !BN_is_odd(be) || BN_is_one(be))
                return -EBADMSG;
        bld = OSSL_PARAM_BLD_new();
        if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1)
                return -ENOMEM;
        r = pkey_from_params("RSA", bld, &pkey);
        if (r < 0)
                return r;
        *ret = pkey;
        return 0;
}

static int ec_from_jwk(json_t *jwk, EVP_PKEY **ret) {
        _cleanup_free_ uint8_t *x = NULL, *y = NULL;
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        uint8_t point[1 + 2 * 48];
        size_t size, xn, yn;
        EVP_PKEY *pkey;
        int r;

        if (crv && streq(crv, "P-256"))
                size = 32;
        else if (crv && streq(crv, "P-384"))
                size = 48;
        else
                return -EOPNOTSUPP;
        if ((r = member_bytes(jwk, "x", size, &x, &xn)) < 0 || (r = member_bytes(jwk, "y", size, &y, &yn)) < 0)
                return r;
        /* RFC 7518 6.2.1.2: the full length of the coordinate. */
        if (xn != size || yn != size)
                return -EBADMSG;
        point[0] = 0x04;              /* uncompressed */
        memcpy(point + 1, x, size);
        memcpy(point + 1 + size, y, size);
        bld = OSSL_PARAM_BLD_new();
        if (!bld ||
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, size == 32 ? "P-256" : "P-384", 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size) != 1)
                return -ENOMEM;
        /* EVP_PKEY_fromdata() checks that the point is on the curve. */
        r = pkey_from_params("EC", bld, &pkey);
        if (r < 0)
                return r;
        *ret = pkey;
        return 0;
}

int upstream_jwk_to_pkey(json_t *jwk, EVP_PKEY **ret) {
        const char *kty = json_string_value(json_object_get(jwk, "kty"));

        if (!json_is_object(jwk) || !kty)
                return -EBADMSG;
        if (streq(kty, "RSA"))
                return rsa_from_jwk(jwk, ret);
        if (streq(kty, "EC"))
                return ec_from_jwk(jwk, ret);
        return -EOPNOTSUPP;
}

/* Whether jwk may verify alg: its kty and curve, and its "alg" and "use"
 * where it names them. */
static bool jwk_fits(json_t *jwk, UpstreamAlg alg) {
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *a = json_string_value(json_object_get(jwk, "alg"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        const char *crv = json_string_value(json_object_get(jwk, "crv"));

        if (!kty || (a && !streq(a, upstream_alg_to_string(alg))) || (use && !streq(use, "sig")))
                return false;
        if (alg_is_rsa(alg))
                return streq(kty, "RSA");
        return streq(kty, "EC") && crv && streq(crv, alg_curve(alg));
}

int upstream_jwks_find(json_t *jwks, const char *kid, UpstreamAlg alg, EVP_PKEY **ret) {
        json_t *keys = json_object_get(jwks, "keys"), *jwk, *found = NULL;
        size_t i, candidates = 0;

        if (!json_is_array(keys))
                return -EBADMSG;
        json_array_foreach(keys, i, jwk) {
                const char *k = json_string_value(json_object_get(jwk, "kid"));

                if (kid) {
                        if (k && streq(k, kid)) {
                                /* Providers may publish one kid for two
                                 * algorithms: the first that fits wins. */
                                if (jwk_fits(jwk, alg)) {
                                        found = jwk;
                                        break;
                                }
                                candidates++;
                        }
                } else if (jwk_fits(jwk, alg)) {
                        found = jwk;
                        candidates++;
                }
        }
        if (kid && !found)
                return candidates > 0 ? -EKEYREJECTED : -ENOKEY;
        if (!kid && candidates != 1)
                return -ENOKEY;
        return upstream_jwk_to_pkey(found, ret) < 0 ? -EKEYREJECTED : 0;
}

/* JWS's r||s back to the DER OpenSSL verifies. */
static int ecdsa_raw_to_der(const uint8_t *sig, size_t sig_n, size_t size, uint8_t **ret, size_t *ret_n) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = NULL;
        BIGNUM *br, *bs;
        uint8_t *der = NULL;
        int len;

        if (sig_n != 2 * size)
                return 0;
        es = ECDSA_SIG_new();
        br = BN_bin2bn(sig, (int) size, NULL);
        bs = BN_bin2bn(sig + size, (int) size, NULL);
        if (!es || !br || !bs || ECDSA_SIG_set0(es, br, bs) != 1) {
                BN_free(br);
                BN_free(bs);
                return -ENOMEM;
        }
        len = i2d_ECDSA_SIG(es, &der);
        if (len <= 0)
                return -ENOMEM;
        *ret = der;
        *ret_n = (size_t) len;
        return 1;
}

int upstream_jws_verify(EVP_PKEY *k, UpstreamAlg alg, const void *data, size_t n, const uint8_t *sig,
                        size_t sig_n) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
        EVP_PKEY_CTX *pctx = NULL;
        uint8_t *der = NULL;
        size_t der_n = 0;
        int r;

        if (!alg_md(alg))
                return -EINVAL;
        /* The key's type must be the algorithm's: an EC key never checks
         * an RSA signature, whatever the header says. */
        if (alg_is_rsa(alg) ? EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA : EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
                return 0;
        if (!alg_is_rsa(alg)) {
                if (EVP_PKEY_get_bits(k) != (alg == UPSTREAM_ALG_ES256 ? 256 : 384))
                        return 0;
                r = ecdsa_raw_to_der(sig, sig_n, alg == UPSTREAM_ALG_ES256 ? 32 : 48, &der, &der_n);
                if (r <= 0)
                        return r;
        }
        md = EVP_MD_CTX_new();
        if (!md) {
                OPENSSL_free(der);
                return -ENOMEM;
        }
        if (EVP_DigestVerifyInit(md, &pctx, alg_md(alg), NULL, k) != 1)
                r = -EIO;
        else if (alg_is_rsa(alg) &&
                 (EVP_PKEY_CTX_set_rsa_padding(pctx, alg == UPSTREAM_ALG_PS256 ? RSA_PKCS1_PSS_PADDING
                                                                               : RSA_PKCS1_PADDING) != 1 ||
                  (alg == UPSTREAM_ALG_PS256 &&
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)))
                r = -EIO;
        else
                r = EVP_DigestVerify(md, der ?: sig, der ? der_n : sig_n, data, n) == 1;
        OPENSSL_free(der);
        return r;
}
