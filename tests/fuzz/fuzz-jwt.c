/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/jwt.c and the key material of daemon/signing-key.c, with two
 * fixed keys (fuzz-keys.h). The first byte of the input picks what the
 * rest is:
 *
 *   0  a compact JWS as a client presents it (bearer token, id_token_hint,
 *      client assertion): verified and decoded;
 *   1  "header-json\npayload-json": signed with the key the header names
 *      (so the fuzzer gets past the signature into the header and claims
 *      checks), then verified; and the payload alone through jwt_sign_text(),
 *      whose tokens must always verify;
 *   2  a private key in DER as the store hands it back after unsealing:
 *      imported for either algorithm, its JWK, kid and DER round trip.
 *
 * There is no JWK import: the JWKS is written from our keys, never read. */
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "fuzz.h"
#include "fuzz-keys.h"
#include "jwt.h"
#include "secret-box.h"

static SigningKey *es_key, *rs_key;

static void load_keys(void) {
        if (es_key)
                return;
        if (signing_key_from_private_der(JWT_ALG_ES256, NULL, fuzz_es256_der, sizeof(fuzz_es256_der), &es_key) < 0 ||
            signing_key_from_private_der(JWT_ALG_RS256, NULL, fuzz_rs256_der, sizeof(fuzz_rs256_der), &rs_key) < 0)
                __builtin_trap();
}

/* The tenant's key set as http-oidc-common.c asks it: by kid only; the
 * algorithm is jwt_verify()'s to check. */
static int lookup(const char *kid, JwtAlg alg, void *userdata, SigningKey **ret) {
        if (streq(kid, es_key->kid))
                *ret = signing_key_ref(es_key);
        else if (streq(kid, rs_key->kid))
                *ret = signing_key_ref(rs_key);
        else
                return -ENOKEY;
        return 0;
}

/* Verifies token; what verifies decodes to the same header and claims
 * without the key, and names the key's algorithm. Returns jwt_verify()'s
 * result. */
static int verify(const char *token) {
        _cleanup_(json_decrefp) json_t *h = NULL, *c = NULL, *uh = NULL, *uc = NULL;
        int r;

        r = jwt_verify(token, lookup, NULL, &h, &c);
        if (r < 0) {
                if (h || c)
                        __builtin_trap();
                /* jwt.h's contract, plus what OpenSSL may fail with. */
                if (r != -EBADMSG && r != -ENOKEY && r != -EKEYREJECTED && r != -ENOMEM && r != -EIO)
                        __builtin_trap();
                return r;
        }
        if (!json_is_object(h) || !json_is_object(c))
                __builtin_trap();
        if (jwt_decode_unverified(token, &uh, &uc) < 0 || !json_equal(h, uh) || !json_equal(c, uc))
                __builtin_trap();
        {
                const char *alg = json_string_value(json_object_get(h, "alg"));
                const char *kid = json_string_value(json_object_get(h, "kid"));
                SigningKey *k = kid && streq(kid, es_key->kid) ? es_key : rs_key;

                if (!alg || !kid || !streq(kid, k->kid) || jwt_alg_from_string(alg) != k->alg ||
                    json_object_get(h, "crit"))
                        __builtin_trap();
        }
        return r;
}

static void raw_token(const char *s) {
        _cleanup_(json_decrefp) json_t *h = NULL, *c = NULL;

        if (jwt_decode_unverified(s, &h, &c) >= 0 && (!json_is_object(h) || !json_is_object(c)))
                __builtin_trap();
        (void) verify(s);
}

static void sign_and_verify(const char *s) {
        _cleanup_free_ char *header = NULL, *token = NULL, *ours = NULL;
        const char *nl = strchr(s, '\n'), *payload = nl ? nl + 1 : "{}";
        size_t hn = nl ? (size_t) (nl - s) : strlen(s), pn = strlen(payload), n;
        SigningKey *k;
        uint8_t sig[512];
        size_t sig_n;
        char *o;

        /* The header's own text, signed as it is by the key it asks for
         * (RS256 when it says so, else ES256): a signature that checks out,
         * over whatever header the fuzzer wrote. */
        header = strndup(s, hn);
        if (!header)
                return;
        k = strstr(header, "RS256") ? rs_key : es_key;
        n = base64url_encoded_len(hn) + 1 + base64url_encoded_len(pn);
        token = malloc(n + 1 + base64url_encoded_len(sizeof(sig)) + 1);
        if (!token)
                return;
        o = token + base64url_encode_to(header, hn, token);
        *o++ = '.';
        o += base64url_encode_to(payload, pn, o);
        if (signing_key_sign(k, token, (size_t) (o - token), sig, sizeof(sig), &sig_n) < 0)
                __builtin_trap();
        *o++ = '.';
        base64url_encode_to(sig, sig_n, o);
        (void) verify(token);

        /* Our own signer: every token it makes verifies, with the claims
         * given, unless they are no JSON object or too long to accept. */
        if (jwt_sign_text(es_key, "JWT", payload, &ours) >= 0) {
                _cleanup_(json_decrefp) json_t *want = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
                int r = verify(ours);

                if (json_is_object(want) && strlen(ours) <= JWT_MAX_LEN) {
                        _cleanup_(json_decrefp) json_t *h = NULL, *c = NULL;
                        if (r < 0 || jwt_verify(ours, lookup, NULL, &h, &c) < 0 || !json_equal(c, want))
                                __builtin_trap();
                } else if (r >= 0)
                        __builtin_trap();
        }
}

static void import_key(JwtAlg alg, const uint8_t *der, size_t n) {
        _cleanup_(signing_key_unrefp) SigningKey *k = NULL, *again = NULL;
        _cleanup_(json_decrefp) json_t *jwk = NULL;
        uint8_t *out = NULL;
        size_t out_n;

        if (signing_key_from_private_der(alg, NULL, der, n, &k) < 0)
                return;
        if (k->alg != alg || strlen(k->kid) != 43)
                __builtin_trap();
        /* The JWK we would publish names the key by the same kid. */
        if (signing_key_public_jwk(k, &jwk) < 0 || !streq(json_string_value(json_object_get(jwk, "kid")), k->kid) ||
            !streq(json_string_value(json_object_get(jwk, "alg")), jwt_alg_to_string(alg)))
                __builtin_trap();
        /* Sealed and read back, it is the same key. */
        if (signing_key_private_der(k, &out, &out_n) < 0)
                __builtin_trap();
        if (signing_key_from_private_der(alg, k->kid, out, out_n, &again) < 0)
                __builtin_trap();
        secret_free(out, out_n);
        /* An imported P-256 key signs what it verifies. (RSA keys of any
         * size import too; signing with a huge one would only be slow.) */
        if (alg == JWT_ALG_ES256) {
                uint8_t sig[64];
                size_t sig_n;

                if (signing_key_sign(k, "x", 1, sig, sizeof(sig), &sig_n) < 0 ||
                    signing_key_verify(again, "x", 1, sig, sig_n) != 1)
                        __builtin_trap();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;

        load_keys();
        if (size < 1 || size > 4 * JWT_MAX_LEN)
                return 0;
        switch (data[0] % 3) {
        case 0:
        case 1:
                /* Text: up to the first NUL, as a C string reaches us. */
                s = strndup((const char *) data + 1, size - 1);
                if (!s)
                        return 0;
                if (data[0] % 3 == 0)
                        raw_token(s);
                else
                        sign_and_verify(s);
                break;
        case 2:
                import_key(JWT_ALG_ES256, data + 1, size - 1);
                import_key(JWT_ALG_RS256, data + 1, size - 1);
                break;
        }
        return 0;
}
