/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an upstream identity provider sends tessera (daemon/upstream): ID
 * tokens, key sets and claims. The first byte of the input picks what the
 * rest is:
 *
 *   0  a compact JWS as a provider's token endpoint returns it, verified
 *      against a key set of the two fixed keys (fuzz-keys.h);
 *   1  "header-json\npayload-json": signed with the fixed key the header
 *      asks for (so the fuzzer gets past the signature into the claims),
 *      then verified: whatever verifies meets every expectation (issuer,
 *      audience and azp, times, nonce, subject);
 *   2  a JWK Set: every key read, and looked up for every algorithm;
 *   3  claims (an ID token's, userinfo, GitHub's /user) mapped through
 *      every preset. */
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "fuzz.h"
#include "fuzz-keys.h"
#include "signing-key.h"
#include "upstream-identity.h"
#include "upstream-idtoken.h"
#include "upstream-jwks.h"
#include "upstream-preset.h"

#define ISSUER "https://idp.example"
#define CLIENT "tessera"
#define NONCE "nonce-1"
#define NOW 1800000000

static SigningKey *es_key, *rs_key;
static json_t *jwks;

static void load_keys(void) {
        json_t *a, *b;

        if (jwks)
                return;
        if (signing_key_from_private_der(JWT_ALG_ES256, NULL, fuzz_es256_der, sizeof(fuzz_es256_der), &es_key) < 0 ||
            signing_key_from_private_der(JWT_ALG_RS256, NULL, fuzz_rs256_der, sizeof(fuzz_rs256_der), &rs_key) < 0 ||
            signing_key_public_jwk(es_key, &a) < 0 || signing_key_public_jwk(rs_key, &b) < 0)
                __builtin_trap();
        jwks = json_pack("{s:[o, o]}", "keys", a, b);
        if (!jwks)
                __builtin_trap();
}

static const UpstreamTokenExpect expect = {
        .issuer = ISSUER,
        .client_id = CLIENT,
        .nonce = NONCE,
        .now_sec = NOW,
};

static bool audience_ok(json_t *claims) {
        json_t *aud = json_object_get(claims, "aud"), *v;
        const char *azp = json_string_value(json_object_get(claims, "azp"));
        bool ours = false;
        size_t i;

        if (json_is_string(aud))
                ours = streq(json_string_value(aud), CLIENT);
        json_array_foreach(aud, i, v)
                if (json_is_string(v) && streq(json_string_value(v), CLIENT))
                        ours = true;
        if (json_is_array(aud) && json_array_size(aud) > 1 && !azp)
                return false;
        return ours && (!json_object_get(claims, "azp") || (azp && streq(azp, CLIENT)));
}

static void verify(const char *token) {
        _cleanup_(json_decrefp) json_t *claims = NULL;
        TesseraError e = {};
        int r;

        r = upstream_idtoken_verify(token, jwks, &expect, &claims, &e);
        if (r < 0) {
                if (claims || e.code != r)
                        __builtin_trap();
                /* upstream-idtoken.h's contract, plus what OpenSSL may fail with. */
                if (r != -EBADMSG && r != -ENOKEY && r != -EKEYREJECTED && r != -EPROTO && r != -ESTALE &&
                    r != -ENOMEM && r != -EIO)
                        __builtin_trap();
                return;
        }
        /* Whatever verifies is what the flow expects. */
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        const char *nonce = json_string_value(json_object_get(claims, "nonce"));
        const char *sub = json_string_value(json_object_get(claims, "sub"));
        json_t *exp = json_object_get(claims, "exp");
        if (!iss || !streq(iss, ISSUER) || !nonce || !streq(nonce, NONCE) || isempty(sub) || !audience_ok(claims) ||
            !json_is_number(exp) || json_number_value(exp) + UPSTREAM_ID_TOKEN_SKEW_SEC < NOW)
                __builtin_trap();
}

static void sign_and_verify(const char *s) {
        _cleanup_free_ char *header = NULL, *token = NULL;
        const char *nl = strchr(s, '\n'), *payload = nl ? nl + 1 : "{}";
        size_t hn = nl ? (size_t) (nl - s) : strlen(s), pn = strlen(payload);
        SigningKey *k;
        uint8_t sig[512];
        size_t sig_n;
        char *o;

        header = strndup(s, hn);
        if (!header)
                return;
        k = strstr(header, "RS256") ? rs_key : es_key;
        token = malloc(base64url_encoded_len(hn) + 1 + base64url_encoded_len(pn) + 1 +
                       base64url_encoded_len(sizeof(sig)) + 1);
        if (!token)
                return;
        o = token + base64url_encode_to(header, hn, token);
        *o++ = '.';
        o += base64url_encode_to(payload, pn, o);
        if (signing_key_sign(k, token, (size_t) (o - token), sig, sizeof(sig), &sig_n) < 0)
                __builtin_trap();
        *o++ = '.';
        base64url_encode_to(sig, sig_n, o);
        verify(token);
}

static void key_set(const char *s) {
        _cleanup_(json_decrefp) json_t *set = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
        json_t *keys = json_object_get(set, "keys"), *jwk;
        size_t i;

        json_array_foreach(keys, i, jwk) {
                EVP_PKEY *k = NULL;
                if (upstream_jwk_to_pkey(jwk, &k) >= 0) {
                        if (!k)
                                __builtin_trap();
                        EVP_PKEY_free(k);
                } else if (k)
                        __builtin_trap();
        }
        for (UpstreamAlg a = 0; a < _UPSTREAM_ALG_MAX; a++) {
                json_t *first = json_array_get(keys, 0);
                const char *kid = json_string_value(json_object_get(first, "kid"));
                EVP_PKEY *k = NULL;
                int r;

                r = upstream_jwks_find(set, kid, a, &k);
                if (r >= 0) {
                        /* A key found verifies nothing it did not sign. */
                        uint8_t sig[96] = {};
                        if (!k || upstream_jws_verify(k, a, "x", 1, sig, sizeof(sig)) == 1)
                                __builtin_trap();
                        EVP_PKEY_free(k);
                }
                (void) upstream_jwks_find(set, NULL, a, &k);
                EVP_PKEY_free(TAKE_PTR(k));
        }
}

static void claims(const char *s) {
        _cleanup_(json_decrefp) json_t *c = json_loads(s, JSON_REJECT_DUPLICATES, NULL);

        if (!json_is_object(c))
                return;
        for (const UpstreamPreset *p = upstream_preset_table(); p->kind; p++) {
                _cleanup_(upstream_identity_done) UpstreamIdentity id = {};
                TesseraError e = {};

                if (upstream_identity_from_claims(p, c, &id, &e) < 0) {
                        if (id.subject)
                                __builtin_trap();
                        continue;
                }
                if (isempty(id.subject) || strlen(id.subject) > UPSTREAM_SUBJECT_MAX || (id.email && !strchr(id.email, '@')))
                        __builtin_trap();
                /* Merging the same claims again changes nothing. */
                e = (TesseraError) {};
                if (upstream_identity_merge(p, c, &id, &e) < 0)
                        __builtin_trap();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;

        load_keys();
        if (size < 1 || size > 2 * UPSTREAM_ID_TOKEN_MAX)
                return 0;
        /* Text: up to the first NUL, as a C string reaches us. */
        s = strndup((const char *) data + 1, size - 1);
        if (!s)
                return 0;
        switch (data[0] % 4) {
        case 0:
                verify(s);
                break;
        case 1:
                sign_and_verify(s);
                break;
        case 2:
                key_set(s);
                break;
        case 3:
                claims(s);
                break;
        }
        return 0;
}
