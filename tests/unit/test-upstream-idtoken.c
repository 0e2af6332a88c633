/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/upstream: an upstream provider's ID token verified (signature
 * with each accepted algorithm, every refusal), its claims mapped through
 * the presets, and the URL rules of outbound requests. Keys are generated
 * afresh for each run with OpenSSL, tokens made here. */

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "base64url.h"
#include "test-util.h"
#include "upstream-discovery.h"
#include "upstream-fetch.h"
#include "upstream-identity.h"
#include "upstream-idtoken.h"
#include "upstream-jwks.h"
#include "upstream-preset.h"

#define ISSUER "https://op.example"
#define CLIENT "client-1"
#define NONCE "n-0S6_WzA2Mj"
#define NOW 1800000000

static EVP_PKEY *rsa, *rsa_other, *rsa_small, *ec256, *ec384;
static json_t *jwks;

static char *b64_bn(const EVP_PKEY *k, const char *param, size_t pad) {
        BIGNUM *bn = NULL;
        uint8_t buf[1024];
        int n;
        char *s;

        ck_assert_int_eq(EVP_PKEY_get_bn_param(k, param, &bn), 1);
        n = MAX(BN_num_bytes(bn), (int) pad);
        ck_assert_int_eq(BN_bn2binpad(bn, buf, n), n);
        BN_free(bn);
        ck_assert_int_eq(base64url_encode(buf, (size_t) n, &s), 0);
        return s;
}

static json_t *jwk_of(const EVP_PKEY *k, const char *kid, const char *alg) {
        json_t *j;

        if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
                _cleanup_free_ char *n = b64_bn(k, OSSL_PKEY_PARAM_RSA_N, 0), *e = b64_bn(k, OSSL_PKEY_PARAM_RSA_E, 0);
                j = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", kid, "n", n, "e", e);
        } else {
                size_t size = EVP_PKEY_get_bits(k) == 256 ? 32 : 48;
                _cleanup_free_ char *x = b64_bn(k, OSSL_PKEY_PARAM_EC_PUB_X, size),
                                    *y = b64_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y, size);
                j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", kid, "crv",
                              size == 32 ? "P-256" : "P-384", "x", x, "y", y);
        }
        ck_assert_ptr_nonnull(j);
        if (alg)
                json_object_set_new(j, "alg", json_string(alg));
        json_object_set_new(j, "use", json_string("sig"));
        return j;
}

static void setup(void) {
        rsa = EVP_RSA_gen(2048);
        rsa_other = EVP_RSA_gen(2048);
        rsa_small = EVP_RSA_gen(1024);
        ec256 = EVP_EC_gen("P-256");
        ec384 = EVP_EC_gen("P-384");
        ck_assert(rsa && rsa_other && rsa_small && ec256 && ec384);
        jwks = json_pack("{s:[o, o, o, o, o]}", "keys",
                         jwk_of(rsa, "rsa-1", NULL),
                         jwk_of(ec256, "ec-256", "ES256"),
                         jwk_of(ec384, "ec-384", "ES384"),
                         jwk_of(rsa_small, "rsa-small", NULL),
                         jwk_of(rsa_other, "rsa-enc", NULL));
        ck_assert_ptr_nonnull(jwks);
        /* A key for encryption only: never for a signature. */
        json_object_set_new(json_array_get(json_object_get(jwks, "keys"), 4), "use", json_string("enc"));
}

static void teardown(void) {
        EVP_PKEY_free(rsa);
        EVP_PKEY_free(rsa_other);
        EVP_PKEY_free(rsa_small);
        EVP_PKEY_free(ec256);
        EVP_PKEY_free(ec384);
        json_decref(jwks);
}

static json_t *claims_base(void) {
        json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:s}", "iss", ISSUER, "sub", "248289761001",
                              "aud", CLIENT, "nonce", NONCE, "iat", (json_int_t) NOW, "exp",
                              (json_int_t) NOW + 600, "email", "ada@example.org", "email_verified", 1, "name",
                              "Ada Lovelace");
        ck_assert_ptr_nonnull(c);
        return c;
}

static const EVP_MD *md_of(const char *alg) {
        const char *bits = alg + 2;
        return streq(bits, "384") ? EVP_sha384() : streq(bits, "512") ? EVP_sha512() : EVP_sha256();
}

/* header_json . claims, signed with k as alg says (NULL k: no signature). */
static char *make_token_raw(const char *header_json, const char *payload_json, EVP_PKEY *k, const char *alg) {
        _cleanup_free_ char *h = NULL, *p = NULL, *input = NULL, *s = NULL;
        uint8_t sig[1024], der[256];
        size_t sig_n = sizeof(sig), der_n = sizeof(der);
        char *token;

        ck_assert_int_eq(base64url_encode(header_json, strlen(header_json), &h), 0);
        ck_assert_int_eq(base64url_encode(payload_json, strlen(payload_json), &p), 0);
        ck_assert_int_ge(asprintf(&input, "%s.%s", h, p), 0);

        if (!k) {
                sig_n = 0;
        } else if (alg[0] == 'H') {
                /* HMAC keyed with whatever the forger chose. */
                unsigned len = 0;
                ck_assert_ptr_nonnull(HMAC(EVP_sha256(), "client-secret", 13, (uint8_t *) input, strlen(input), sig,
                                           &len));
                sig_n = len;
        } else {
                EVP_MD_CTX *md = EVP_MD_CTX_new();
                EVP_PKEY_CTX *pctx = NULL;

                ck_assert_int_eq(EVP_DigestSignInit(md, &pctx, md_of(alg), NULL, k), 1);
                if (alg[0] == 'P') {
                        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
                        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
                }
                if (alg[0] == 'E') {
                        const uint8_t *q = der;
                        size_t size = EVP_PKEY_get_bits(k) == 256 ? 32 : 48;
                        ECDSA_SIG *es;

                        ck_assert_int_eq(EVP_DigestSign(md, der, &der_n, (uint8_t *) input, strlen(input)), 1);
                        es = d2i_ECDSA_SIG(NULL, &q, (long) der_n);
                        ck_assert_ptr_nonnull(es);
                        ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int) size), (int) size);
                        ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + size, (int) size), (int) size);
                        ECDSA_SIG_free(es);
                        sig_n = 2 * size;
                } else
                        ck_assert_int_eq(EVP_DigestSign(md, sig, &sig_n, (uint8_t *) input, strlen(input)), 1);
                EVP_MD_CTX_free(md);
        }
        ck_assert_int_eq(base64url_encode(sig, sig_n, &s), 0);
        ck_assert_int_ge(asprintf(&token, "%s.%s", input, s), 0);
        return token;
}

static char *make_token(const char *alg, const char *kid, json_t *claims, EVP_PKEY *k) {
        _cleanup_free_ char *header = NULL, *payload = json_dumps(claims, JSON_COMPACT);

        if (kid)
                ck_assert_int_ge(asprintf(&header, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid), 0);
        else
                ck_assert_int_ge(asprintf(&header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg), 0);
        return make_token_raw(header, payload, k, alg);
}

static UpstreamTokenExpect expect(void) {
        return (UpstreamTokenExpect) { .issuer = ISSUER, .client_id = CLIENT, .nonce = NONCE, .now_sec = NOW };
}

/* Verifies and returns the errno; on a refusal, the message must name why. */
static int verify(const char *token, const UpstreamTokenExpect *x, const char *why) {
        TesseraError e = {};
        json_t *claims = NULL;
        int r = upstream_idtoken_verify(token, jwks, x, &claims, &e);

        if (r == 0) {
                ck_assert_ptr_nonnull(claims);
                ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "248289761001");
                json_decref(claims);
        } else {
                ck_assert_ptr_null(claims);
                ck_assert_int_eq(e.code, r);
                if (why && !strstr(e.message, why))
                        ck_abort_msg("message \"%s\" does not say \"%s\"", e.message, why);
        }
        return r;
}

START_TEST(test_every_algorithm_verifies) {
        static const struct {
                const char *alg, *kid;
                EVP_PKEY **key;
        } cases[] = {
                { "RS256", "rsa-1", &rsa }, { "RS384", "rsa-1", &rsa }, { "RS512", "rsa-1", &rsa },
                { "PS256", "rsa-1", &rsa }, { "ES256", "ec-256", &ec256 }, { "ES384", "ec-384", &ec384 },
        };
        json_auto_t *c = claims_base();
        UpstreamTokenExpect x = expect();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *t = make_token(cases[i].alg, cases[i].kid, c, *cases[i].key);
                ck_assert_int_eq(verify(t, &x, NULL), 0);
        }
}
END_TEST

START_TEST(test_signature_refusals) {
        json_auto_t *c = claims_base();
        UpstreamTokenExpect x = expect();
        _cleanup_free_ char *none = make_token("none", "rsa-1", c, NULL);
        _cleanup_free_ char *none_upper = make_token("NONE", "rsa-1", c, NULL);
        _cleanup_free_ char *hs = make_token("HS256", "rsa-1", c, rsa);
        _cleanup_free_ char *unknown_alg = make_token("EdDSA", "rsa-1", c, NULL);
        _cleanup_free_ char *foreign = make_token("RS256", "rsa-1", c, rsa_other);
        _cleanup_free_ char *unknown_kid = make_token("RS256", "rotated-away", c, rsa);
        _cleanup_free_ char *alg_mismatch = make_token("ES256", "rsa-1", c, ec256);
        _cleanup_free_ char *curve_mismatch = make_token("ES384", "ec-256", c, ec256);
        _cleanup_free_ char *small = make_token("RS256", "rsa-small", c, rsa_small);
        _cleanup_free_ char *enc_key = make_token("RS256", "rsa-enc", c, rsa_other);
        _cleanup_free_ char *crit = make_token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"exp\"]}",
                                                    "{}", rsa, "RS256");
        _cleanup_free_ char *good = make_token("RS256", "rsa-1", c, rsa);
        _cleanup_free_ char *tampered = strdup(good), *stripped = NULL, *truncated_ec = NULL;
        char *dot;

        ck_assert_int_eq(verify(none, &x, "not signed"), -EKEYREJECTED);
        ck_assert_int_eq(verify(none_upper, &x, "not signed"), -EKEYREJECTED);
        ck_assert_int_eq(verify(hs, &x, "shared secret"), -EKEYREJECTED);
        ck_assert_int_eq(verify(unknown_alg, &x, "not accepted"), -EKEYREJECTED);
        ck_assert_int_eq(verify(foreign, &x, "does not verify"), -EKEYREJECTED);
        ck_assert_int_eq(verify(unknown_kid, &x, "does not publish"), -ENOKEY);
        ck_assert_int_eq(verify(alg_mismatch, &x, "does not fit"), -EKEYREJECTED);
        ck_assert_int_eq(verify(curve_mismatch, &x, "does not fit"), -EKEYREJECTED);
        ck_assert_int_eq(verify(small, &x, "does not fit"), -EKEYREJECTED);
        ck_assert_int_eq(verify(enc_key, &x, "does not fit"), -EKEYREJECTED);
        ck_assert_int_eq(verify(crit, &x, "critical"), -EKEYREJECTED);

        /* The payload changed after signing: one claim, sub, rewritten. */
        json_object_set_new(c, "sub", json_string("someone-else"));
        {
                _cleanup_free_ char *payload = json_dumps(c, JSON_COMPACT), *p64 = NULL;
                char *d1 = strchr(tampered, '.'), *d2 = strchr(d1 + 1, '.');
                _cleanup_free_ char *forged = NULL;

                ck_assert_int_eq(base64url_encode(payload, strlen(payload), &p64), 0);
                ck_assert_int_ge(asprintf(&forged, "%.*s.%s%s", (int) (d1 - tampered), tampered, p64, d2), 0);
                ck_assert_int_eq(verify(forged, &x, "does not verify"), -EKEYREJECTED);
        }

        /* The signature removed. */
        stripped = strdup(good);
        dot = strrchr(stripped, '.');
        dot[1] = '\0';
        ck_assert_int_eq(verify(stripped, &x, "signature"), -EKEYREJECTED);

        /* An ES256 signature one byte short. */
        json_object_set_new(c, "sub", json_string("248289761001"));
        truncated_ec = make_token("ES256", "ec-256", c, ec256);
        truncated_ec[strlen(truncated_ec) - 2] = '\0';
        ck_assert_int_lt(verify(truncated_ec, &x, NULL), 0);
}
END_TEST

START_TEST(test_kid_absent) {
        json_auto_t *c = claims_base(), *one = NULL, *saved = jwks;
        UpstreamTokenExpect x = expect();
        _cleanup_free_ char *t = make_token("RS256", NULL, c, rsa);

        /* Several RSA keys: which one is meant is not ours to guess. */
        ck_assert_int_eq(verify(t, &x, "does not publish"), -ENOKEY);
        /* One key that fits: that one. */
        one = json_pack("{s:[o]}", "keys", jwk_of(rsa, "only", "RS256"));
        jwks = one;
        ck_assert_int_eq(verify(t, &x, NULL), 0);
        jwks = saved;
}
END_TEST

START_TEST(test_claim_refusals) {
        UpstreamTokenExpect x = expect();
        struct {
                const char *name;
                json_t *value;            /* NULL: the claim removed */
                int expected;
                const char *why;
        } cases[] = {
                { "iss", json_string("https://evil.example"), -EPROTO, "issuer" },
                { "iss", NULL, -EPROTO, "no issuer" },
                { "aud", json_string("another-client"), -EPROTO, "another client" },
                { "aud", json_pack("[s, s]", "another-client", "third"), -EPROTO, "another client" },
                { "aud", json_pack("[s, s]", CLIENT, "another-client"), -EPROTO, "azp" },
                { "aud", NULL, -EPROTO, "another client" },
                { "azp", json_string("another-client"), -EPROTO, "azp" },
                { "azp", json_integer(7), -EPROTO, "azp" },
                { "exp", json_integer(NOW - UPSTREAM_ID_TOKEN_SKEW_SEC - 1), -ESTALE, "expired" },
                { "exp", NULL, -EBADMSG, "exp" },
                { "exp", json_string("tomorrow"), -EBADMSG, "exp" },
                { "iat", json_integer(NOW + UPSTREAM_ID_TOKEN_SKEW_SEC + 60), -ESTALE, "future" },
                { "nbf", json_integer(NOW + 3600), -ESTALE, "not valid yet" },
                { "nonce", NULL, -EPROTO, "no nonce" },
                { "nonce", json_string("n-replayed"), -EPROTO, "nonce" },
                { "nonce", json_string(NONCE "x"), -EPROTO, "nonce" },
                { "sub", NULL, -EBADMSG, "subject" },
                { "sub", json_string(""), -EBADMSG, "subject" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_auto_t *c = claims_base();
                _cleanup_free_ char *t = NULL;

                if (cases[i].value)
                        json_object_set_new(c, cases[i].name, cases[i].value);
                else
                        json_object_del(c, cases[i].name);
                t = make_token("RS256", "rsa-1", c, rsa);
                if (verify(t, &x, cases[i].why) != cases[i].expected)
                        ck_abort_msg("case %zu (%s) not refused with %d", i, cases[i].name, cases[i].expected);
        }
}
END_TEST

START_TEST(test_claims_accepted) {
        UpstreamTokenExpect x = expect();
        json_auto_t *c = claims_base();
        _cleanup_free_ char *skewed = NULL, *multi = NULL, *no_nonce_asked = NULL;

        /* Expired less than the skew ago: clocks differ. */
        json_object_set_new(c, "exp", json_integer(NOW - UPSTREAM_ID_TOKEN_SKEW_SEC + 10));
        skewed = make_token("RS256", "rsa-1", c, rsa);
        ck_assert_int_eq(verify(skewed, &x, NULL), 0);

        /* Several audiences with azp naming us. */
        json_object_set_new(c, "exp", json_integer(NOW + 600));
        json_object_set_new(c, "aud", json_pack("[s, s]", "another-client", CLIENT));
        json_object_set_new(c, "azp", json_string(CLIENT));
        multi = make_token("ES256", "ec-256", c, ec256);
        ck_assert_int_eq(verify(multi, &x, NULL), 0);

        /* A flow that sent no nonce does not ask for one. */
        x.nonce = NULL;
        json_object_del(c, "nonce");
        no_nonce_asked = make_token("RS256", "rsa-1", c, rsa);
        ck_assert_int_eq(verify(no_nonce_asked, &x, NULL), 0);
}
END_TEST

START_TEST(test_malformed) {
        UpstreamTokenExpect x = expect();
        _cleanup_free_ char *dup = make_token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
                                                  "{\"sub\":\"a\",\"sub\":\"b\"}", rsa, "RS256");
        _cleanup_free_ char *dup_header = make_token_raw("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"rsa-1\"}",
                                                         "{}", rsa, "RS256");
        _cleanup_free_ char *array_payload = make_token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "[1]", rsa,
                                                            "RS256");
        _cleanup_free_ char *kid_number = make_token_raw("{\"alg\":\"RS256\",\"kid\":7}", "{}", rsa, "RS256");
        _cleanup_free_ char *huge = malloc(UPSTREAM_ID_TOKEN_MAX + 16);

        ck_assert_int_eq(verify("", &x, NULL), -EBADMSG);
        ck_assert_int_eq(verify("a.b", &x, NULL), -EBADMSG);
        ck_assert_int_eq(verify("a.b.c.d", &x, NULL), -EBADMSG);
        ck_assert_int_eq(verify("!!!.e30.", &x, NULL), -EBADMSG);
        ck_assert_int_eq(verify(dup, &x, "claims"), -EBADMSG);
        ck_assert_int_eq(verify(dup_header, &x, "header"), -EBADMSG);
        ck_assert_int_eq(verify(array_payload, &x, "claims"), -EBADMSG);
        ck_assert_int_eq(verify(kid_number, &x, "kid"), -EBADMSG);
        memset(huge, 'a', UPSTREAM_ID_TOKEN_MAX + 8);
        huge[10] = '.';
        huge[20] = '.';
        huge[UPSTREAM_ID_TOKEN_MAX + 8] = '\0';
        ck_assert_int_eq(verify(huge, &x, NULL), -EBADMSG);
}
END_TEST

#define TID "9188040d-6c67-4c5b-b112-36a304b66dad"
#define OTHER_TID "72f988bf-86f1-41af-91ab-2d7cd011db47"

START_TEST(test_microsoft_issuer_per_tenant) {
        UpstreamTokenExpect x = expect();
        json_auto_t *c = claims_base();
        _cleanup_free_ char *good = NULL, *mismatch = NULL, *no_tid = NULL, *bad_tid = NULL;

        x.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0";
        x.issuer_per_tid = true;

        json_object_set_new(c, "tid", json_string(TID));
        json_object_set_new(c, "iss", json_string("https://login.microsoftonline.com/" TID "/v2.0"));
        good = make_token("RS256", "rsa-1", c, rsa);
        ck_assert_int_eq(verify(good, &x, NULL), 0);

        /* The issuer names another tenant than tid. */
        json_object_set_new(c, "iss", json_string("https://login.microsoftonline.com/" OTHER_TID "/v2.0"));
        mismatch = make_token("RS256", "rsa-1", c, rsa);
        ck_assert_int_eq(verify(mismatch, &x, "issuer"), -EPROTO);

        /* The template itself as the issuer, no tid. */
        json_object_set_new(c, "iss", json_string(x.issuer));
        json_object_del(c, "tid");
        no_tid = make_token("RS256", "rsa-1", c, rsa);
        ck_assert_int_eq(verify(no_tid, &x, "tid"), -EPROTO);

        /* A tid that would change the issuer's path. */
        json_object_set_new(c, "tid", json_string("../evil"));
        json_object_set_new(c, "iss", json_string("https://login.microsoftonline.com/../evil/v2.0"));
        bad_tid = make_token("RS256", "rsa-1", c, rsa);
        ck_assert_int_eq(verify(bad_tid, &x, "tid"), -EPROTO);

        /* Tenants allowed: the good token passes only when its tid is one. */
        x.allowed_tid = OTHER_TID ", " TID;
        ck_assert_int_eq(verify(good, &x, NULL), 0);
        x.allowed_tid = OTHER_TID;
        ck_assert_int_eq(verify(good, &x, "not one this provider accepts"), -EPROTO);

        /* Without the per-tenant rule, the braces are just text. */
        x.allowed_tid = NULL;
        x.issuer_per_tid = false;
        ck_assert_int_eq(verify(good, &x, "issuer"), -EPROTO);
}
END_TEST

START_TEST(test_identity_mapping) {
        const UpstreamPreset *google = upstream_preset_find("google"), *microsoft = upstream_preset_find("microsoft"),
                             *github = upstream_preset_find("github");
        json_auto_t *g = claims_base(), *ms = claims_base(), *gh = NULL, *other = NULL;
        UpstreamIdentity id = {};
        TesseraError e = {};

        ck_assert_ptr_nonnull(google);
        ck_assert_int_eq(upstream_identity_from_claims(google, g, &id, &e), 0);
        ck_assert_str_eq(id.subject, "248289761001");
        ck_assert_str_eq(id.email, "ada@example.org");
        ck_assert(id.email_verified);
        ck_assert_str_eq(id.name, "Ada Lovelace");
        upstream_identity_done(&id);

        /* "true" as a string counts; "yes" does not. */
        json_object_set_new(g, "email_verified", json_string("true"));
        ck_assert_int_eq(upstream_identity_from_claims(google, g, &id, &e), 0);
        ck_assert(id.email_verified);
        upstream_identity_done(&id);
        json_object_set_new(g, "email_verified", json_string("yes"));
        ck_assert_int_eq(upstream_identity_from_claims(google, g, &id, &e), 0);
        ck_assert(!id.email_verified);
        upstream_identity_done(&id);

        /* Entra: email_verified is not Microsoft's word; xms_edov is. */
        ck_assert_int_eq(upstream_identity_from_claims(microsoft, ms, &id, &e), 0);
        ck_assert(!id.email_verified);
        upstream_identity_done(&id);
        json_object_set_new(ms, "xms_edov", json_true());
        ck_assert_int_eq(upstream_identity_from_claims(microsoft, ms, &id, &e), 0);
        ck_assert(id.email_verified);
        ck_assert_str_eq(id.username ? id.username : "", "");
        upstream_identity_done(&id);

        /* GitHub's numeric id is the subject; login the user name. */
        gh = json_pack("{s:I, s:s, s:s}", "id", (json_int_t) 583231, "login", "octocat", "name", "The Octocat");
        ck_assert_int_eq(upstream_identity_from_claims(github, gh, &id, &e), 0);
        ck_assert_str_eq(id.subject, "583231");
        ck_assert_str_eq(id.username, "octocat");
        ck_assert_ptr_null(id.email);

        /* More claims of another subject are refused; of the same, merged. */
        other = json_pack("{s:I, s:s}", "id", (json_int_t) 1, "login", "mallory");
        ck_assert_int_eq(upstream_identity_merge(github, other, &id, &e), -EPROTO);
        upstream_identity_done(&id);

        /* No subject: refused, nothing filled. */
        json_object_del(g, "sub");
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_identity_from_claims(google, g, &id, &e), -EBADMSG);
        ck_assert_ptr_null(id.subject);
}
END_TEST

START_TEST(test_urls) {
        _cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL;

        ck_assert(upstream_url_allowed("https://accounts.google.com/o/oauth2/v2/auth"));
        ck_assert(upstream_url_allowed("http://127.0.0.1:8080/token"));
        ck_assert(upstream_url_allowed("http://127.1.2.3/token"));
        ck_assert(upstream_url_allowed("http://localhost:9/x"));
        ck_assert(upstream_url_allowed("http://[::1]:9/x"));
        ck_assert(!upstream_url_allowed("http://accounts.google.com/token"));
        ck_assert(!upstream_url_allowed("http://10.0.0.1/token"));
        ck_assert(!upstream_url_allowed("http://127.0.0.1.evil.example/token"));
        ck_assert(!upstream_url_allowed("ftp://127.0.0.1/token"));
        ck_assert(!upstream_url_allowed("file:///etc/passwd"));
        ck_assert(!upstream_url_allowed("https://user:pw@idp.example/token"));
        ck_assert(!upstream_url_allowed("https://idp.example/to ken"));
        ck_assert(!upstream_url_allowed(""));
        ck_assert(!upstream_url_allowed(NULL));

        ck_assert_int_eq(upstream_discovery_url("https://accounts.google.com", &d1), 0);
        ck_assert_str_eq(d1, "https://accounts.google.com/.well-known/openid-configuration");
        ck_assert_int_eq(upstream_discovery_url("https://gitlab.example/", &d2), 0);
        ck_assert_str_eq(d2, "https://gitlab.example/.well-known/openid-configuration");
        ck_assert_int_eq(upstream_discovery_url("https://login.microsoftonline.com/{tenantid}/v2.0", &d3), 0);
        ck_assert_str_eq(d3, "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration");
}
END_TEST

START_TEST(test_presets_are_data) {
        /* Every preset names what the client needs for its protocol. */
        for (const UpstreamPreset *p = upstream_preset_table(); p->kind; p++) {
                ck_assert_ptr_nonnull(p->display_name);
                ck_assert_ptr_nonnull(p->scopes);
                ck_assert_ptr_nonnull(p->claim_subject);
                if (p->protocol == UPSTREAM_PROTOCOL_GITHUB)
                        ck_assert(p->authorization_endpoint && p->token_endpoint && p->api_url);
                else
                        ck_assert(p->issuer_required || p->issuer);
                const char *urls[] = { p->authorization_endpoint, p->token_endpoint, p->jwks_uri, p->api_url };
                for (size_t i = 0; i < ELEMENTSOF(urls); i++)
                        if (urls[i])
                                ck_assert(upstream_url_allowed(urls[i]));
        }
        ck_assert_ptr_null(upstream_preset_find("myspace"));
        ck_assert_ptr_null(upstream_preset_find(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("upstream-idtoken");
        TCase *tc = tcase_create("idtoken");

        /* Keys made once: RSA generation is slow, and no test changes them. */
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_every_algorithm_verifies);
        tcase_add_test(tc, test_signature_refusals);
        tcase_add_test(tc, test_kid_absent);
        tcase_add_test(tc, test_claim_refusals);
        tcase_add_test(tc, test_claims_accepted);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_microsoft_issuer_per_tenant);
        tcase_add_test(tc, test_identity_mapping);
        tcase_add_test(tc, test_urls);
        tcase_add_test(tc, test_presets_are_data);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
