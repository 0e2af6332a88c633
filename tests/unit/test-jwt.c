/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/jwt.c and signing-key.c: JWS signing and strict verification. */

#include <openssl/sha.h>

#include "base64url.h"
#include "jwt.h"
#include "test-util.h"

static SigningKey *keys[_JWT_ALG_MAX];

static void setup(void) {
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++)
                ck_assert_int_eq(signing_key_generate(a, &keys[a]), 0);
}

static void teardown(void) {
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++)
                keys[a] = signing_key_unref(keys[a]);
}

static int lookup(const char *kid, JwtAlg alg, void *userdata, SigningKey **ret) {
        SigningKey **set = userdata;

        for (size_t i = 0; set[i]; i++)
                if (streq(set[i]->kid, kid)) {
                        *ret = signing_key_ref(set[i]);
                        return 0;
                }
        return -ENOKEY;
}

static char *sign(JwtAlg alg, const char *typ) {
        json_auto_t *claims = json_pack("{s:s, s:s, s:i}", "iss", "https://idp.example/t/acme", "sub", "alice",
                                        "exp", 2000000000);
        char *token = NULL;

        ck_assert_int_eq(jwt_sign(keys[alg], typ, claims, &token), 0);
        return token;
}

/* Replaces the header of token with header_json, keeping payload and signature. */
static char *with_header(const char *token, const char *header_json) {
        _cleanup_free_ char *h = NULL;
        char *out;

        ck_assert_int_eq(base64url_encode(header_json, strlen(header_json), &h), 0);
        ck_assert_int_ge(asprintf(&out, "%s%s", h, strchr(token, '.')), 0);
        return out;
}

START_TEST(test_round_trip) {
        SigningKey *set[] = { keys[JWT_ALG_RS256], keys[JWT_ALG_ES256], NULL };

        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++) {
                _cleanup_free_ char *token = sign(a, "at+jwt");
                json_auto_t *header = NULL, *claims = NULL;

                ck_assert_int_eq(jwt_verify(token, lookup, set, &header, &claims), 0);
                ck_assert_str_eq(json_string_value(json_object_get(header, "alg")), jwt_alg_to_string(a));
                ck_assert_str_eq(json_string_value(json_object_get(header, "kid")), keys[a]->kid);
                ck_assert_str_eq(json_string_value(json_object_get(header, "typ")), "at+jwt");
                ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "alice");
                /* ES256 signatures are the raw 64-byte r||s of JWS, not DER. */
                if (a == JWT_ALG_ES256)
                        ck_assert_uint_eq(strlen(strrchr(token, '.') + 1), base64url_encoded_len(64));
        }
}
END_TEST

START_TEST(test_refusals) {
        SigningKey *set[] = { keys[JWT_ALG_RS256], keys[JWT_ALG_ES256], NULL };
        SigningKey *other = NULL;
        _cleanup_free_ char *es = sign(JWT_ALG_ES256, "JWT"), *rs = sign(JWT_ALG_RS256, "JWT"), *none = NULL,
                            *tampered = NULL, *hs = NULL, *swapped = NULL, *crit = NULL, *jku = NULL, *nokid = NULL;
        char header[256];

        /* alg "none", with and without a signature. */
        snprintf(header, sizeof(header), "{\"alg\":\"none\",\"kid\":\"%s\"}", keys[JWT_ALG_ES256]->kid);
        none = with_header(es, header);
        ck_assert_int_eq(jwt_verify(none, lookup, set, NULL, NULL), -EKEYREJECTED);
        *(strrchr(none, '.') + 1) = '\0';
        ck_assert_int_eq(jwt_verify(none, lookup, set, NULL, NULL), -EKEYREJECTED);

        /* HS256 keyed with a public key: the classic confusion. */
        snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", keys[JWT_ALG_RS256]->kid);
        hs = with_header(rs, header);
        ck_assert_int_eq(jwt_verify(hs, lookup, set, NULL, NULL), -EKEYREJECTED);

        /* The header says RS256 but the kid is the EC key. */
        snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", keys[JWT_ALG_ES256]->kid);
        swapped = with_header(es, header);
        ck_assert_int_eq(jwt_verify(swapped, lookup, set, NULL, NULL), -EKEYREJECTED);

        snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"x\"]}", keys[JWT_ALG_ES256]->kid);
        crit = with_header(es, header);
        ck_assert_int_eq(jwt_verify(crit, lookup, set, NULL, NULL), -EKEYREJECTED);
        snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"jku\":\"https://evil/\"}",
                 keys[JWT_ALG_ES256]->kid);
        jku = with_header(es, header);
        ck_assert_int_eq(jwt_verify(jku, lookup, set, NULL, NULL), -EKEYREJECTED);
        nokid = with_header(es, "{\"alg\":\"ES256\"}");
        ck_assert_int_eq(jwt_verify(nokid, lookup, set, NULL, NULL), -EBADMSG);

        /* A changed payload breaks the signature. */
        tampered = strdup(es);
        {
                char *p = strchr(tampered, '.') + 5;
                *p = *p == 'A' ? 'B' : 'A';
        }
        ck_assert_int_lt(jwt_verify(tampered, lookup, set, NULL, NULL), 0);

        /* Signed by a key that is not in the set, under a kid that is. */
        ck_assert_int_eq(signing_key_generate(JWT_ALG_ES256, &other), 0);
        memcpy(other->kid, keys[JWT_ALG_ES256]->kid, sizeof(other->kid));
        {
                json_auto_t *claims = json_pack("{s:s}", "sub", "mallory");
                _cleanup_free_ char *forged = NULL;
                ck_assert_int_eq(jwt_sign(other, "JWT", claims, &forged), 0);
                ck_assert_int_eq(jwt_verify(forged, lookup, set, NULL, NULL), -EKEYREJECTED);
        }
        signing_key_unref(other);

        /* Unknown kid, malformed shapes, oversized. */
        {
                SigningKey *only_rs[] = { keys[JWT_ALG_RS256], NULL };
                ck_assert_int_eq(jwt_verify(es, lookup, only_rs, NULL, NULL), -ENOKEY);
        }
        ck_assert_int_eq(jwt_verify("a.b", lookup, set, NULL, NULL), -EBADMSG);
        ck_assert_int_eq(jwt_verify("a.b.c.d", lookup, set, NULL, NULL), -EBADMSG);
        ck_assert_int_eq(jwt_verify("!!.??.**", lookup, set, NULL, NULL), -EBADMSG);
        {
                char *big = malloc(JWT_MAX_LEN + 10);
                memset(big, 'a', JWT_MAX_LEN + 9);
                big[JWT_MAX_LEN + 9] = '\0';
                big[10] = big[20] = '.';
                ck_assert_int_eq(jwt_verify(big, lookup, set, NULL, NULL), -EBADMSG);
                free(big);
        }
}
END_TEST

START_TEST(test_duplicate_claims_refused) {
        SigningKey *set[] = { keys[JWT_ALG_ES256], NULL };
        const char *payload = "{\"sub\":\"alice\",\"sub\":\"admin\"}";
        _cleanup_free_ char *h = NULL, *p = NULL, *input = NULL, *token = NULL, *s = NULL;
        char header[200];
        uint8_t sig[128];
        size_t n;

        snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", keys[JWT_ALG_ES256]->kid);
        ck_assert_int_eq(base64url_encode(header, strlen(header), &h), 0);
        ck_assert_int_eq(base64url_encode(payload, strlen(payload), &p), 0);
        ck_assert_int_ge(asprintf(&input, "%s.%s", h, p), 0);
        ck_assert_int_eq(signing_key_sign(keys[JWT_ALG_ES256], input, strlen(input), sig, sizeof(sig), &n), 0);
        ck_assert_int_eq(base64url_encode(sig, n, &s), 0);
        ck_assert_int_ge(asprintf(&token, "%s.%s", input, s), 0);
        ck_assert_int_eq(jwt_verify(token, lookup, set, NULL, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_kid_is_thumbprint) {
        /* RFC 7638 3.1: the example RSA key's thumbprint. */
        static const char n[] =
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        _unused_ _cleanup_free_ uint8_t *raw = NULL;
        json_auto_t *jwk = json_pack("{s:s, s:s, s:s}", "e", "AQAB", "kty", "RSA", "n", n);
        _cleanup_free_ char *text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
        uint8_t d[SHA256_DIGEST_LENGTH];
        char kid[64];

        SHA256((const uint8_t *) text, strlen(text), d);
        base64url_encode_to(d, sizeof(d), kid);
        ck_assert_str_eq(kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

        /* And our keys' kids are computed the same way from their JWK. */
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++) {
                json_auto_t *pub = NULL;
                ck_assert_int_eq(signing_key_public_jwk(keys[a], &pub), 0);
                ck_assert_str_eq(json_string_value(json_object_get(pub, "kid")), keys[a]->kid);
                ck_assert_ptr_null(json_object_get(pub, "d"));
        }
}
END_TEST

START_TEST(test_private_der_round_trip) {
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++) {
                _cleanup_free_ uint8_t *der = NULL;
                SigningKey *k = NULL;
                size_t n = 0;

                ck_assert_int_eq(signing_key_private_der(keys[a], &der, &n), 0);
                ck_assert_int_eq(signing_key_from_private_der(a, keys[a]->kid, der, n, &k), 0);
                ck_assert_str_eq(k->kid, keys[a]->kid);
                signing_key_unref(k);
                /* The wrong kid, a truncated key, or a key of the other
                 * algorithm is refused (tampering is the seal's to catch). */
                ck_assert_int_eq(signing_key_from_private_der(a, "nope", der, n, &k), -EBADMSG);
                ck_assert_int_lt(signing_key_from_private_der(a, keys[a]->kid, der, n / 2, &k), 0);
                ck_assert_int_lt(signing_key_from_private_der(!a, keys[a]->kid, der, n, &k), 0);
        }
        ck_assert_int_eq(jwt_alg_from_string("none"), _JWT_ALG_INVALID);
        ck_assert_int_eq(jwt_alg_from_string("HS256"), _JWT_ALG_INVALID);
        ck_assert_int_eq(jwt_alg_from_string(NULL), _JWT_ALG_INVALID);
}
END_TEST

int main(void) {
        Suite *s = suite_create("jwt");
        TCase *tc = tcase_create("jwt");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_duplicate_claims_refused);
        tcase_add_test(tc, test_kid_is_thumbprint);
        tcase_add_test(tc, test_private_der_round_trip);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
