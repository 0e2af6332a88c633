/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-idtoken.h"

#include <strings.h>

#include "base64url.h"
#include "macro.h"
#include "upstream-jwks.h"

#define KID_MAX 256
#define TID_MAX 64

typedef struct Parts {
        const char *header, *payload, *signature;
        size_t header_n, payload_n, signature_n;
} Parts;

static int split(const char *token, Parts *p) {
        const char *d1, *d2;
        size_t n;

        if (!token)
                return -EBADMSG;
        n = strnlen(token, UPSTREAM_ID_TOKEN_MAX + 1);
        if (n > UPSTREAM_ID_TOKEN_MAX)
                return -EBADMSG;
        d1 = strchr(token, '.');
        if (!d1)
                return -EBADMSG;
        d2 = strchr(d1 + 1, '.');
        if (!d2 || strchr(d2 + 1, '.'))
                return -EBADMSG;
        *p = (Parts) {
                .header = token,
                .header_n = (size_t) (d1 - token),
                .payload = d1 + 1,
                .payload_n = (size_t) (d2 - d1 - 1),
                .signature = d2 + 1,
                .signature_n = strlen(d2 + 1),
        };
        return 0;
}

static int decode_object(const char *s, size_t n, json_t **ret) {
        _cleanup_free_ uint8_t *raw = NULL;
        size_t len;
        json_t *j;

        if (base64url_decode(s, n, &raw, &len) < 0)
                return -EBADMSG;
        /* Two values of one claim would let two readers see two tokens. */
        j = json_loadb((const char *) raw, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

int upstream_idtoken_kid(const char *token, char **ret_kid) {
        _cleanup_(json_decrefp) json_t *h = NULL;
        const char *kid;
        Parts p;
        int r;

        r = split(token, &p);
        if (r < 0)
                return r;
        r = decode_object(p.header, p.header_n, &h);
        if (r < 0)
                return r;
        kid = json_string_value(json_object_get(h, "kid"));
        if (!kid) {
                *ret_kid = NULL;
                return 0;
        }
        *ret_kid = strdup(kid);
        return *ret_kid ? 0 : -ENOMEM;
}

/* Entra tenant ids are GUIDs; anything else could not be a path segment
 * of the issuer they are put into. */
static bool tid_valid(const char *tid) {
        size_t n = strlen(tid);

        if (n == 0 || n > TID_MAX)
                return false;
        for (const char *c = tid; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '-'))
                        return false;
        return true;
}

static bool tid_allowed(const char *allowed, const char *tid) {
        size_t n = strlen(tid);

        for (const char *p = allowed; *p;) {
                size_t len;

                p += strspn(p, " ,");
                len = strcspn(p, " ,");
                if (len == n && strncasecmp(p, tid, n) == 0)
                        return true;
                p += len;
        }
        return false;
}

static char *fill_template(const char *template, const char *tid) {
        const char *at = strstr(template, "{tenantid}");
        char *s;

        if (!at)
                return strdup(template);
        if (asprintf(&s, "%.*s%s%s", (int) (at - template), template, tid, at + strlen("{tenantid}")) < 0)
                return NULL;
        return s;
}

static int check_issuer(json_t *claims, const UpstreamTokenExpect *x, TesseraError *e) {
        _cleanup_free_ char *expected = NULL;
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        const char *tid = json_string_value(json_object_get(claims, "tid"));
        bool templated = x->issuer_per_tid && strstr(x->issuer, "{tenantid}");

        if (!iss)
                return tessera_error_set(e, -EPROTO, "the ID token names no issuer (iss)");
        if ((templated || x->allowed_tid) && (!tid || !tid_valid(tid)))
                return tessera_error_set(e, -EPROTO, "the ID token names no valid Entra tenant (tid)");
        if (templated) {
                expected = fill_template(x->issuer, tid);
                if (!expected)
                        return -ENOMEM;
        }
        if (!streq(iss, expected ?: x->issuer))
                return tessera_error_set(e, -EPROTO, "the ID token's issuer is %.80s, not %.80s", iss,
                                         expected ?: x->issuer);
        if (x->allowed_tid && !tid_allowed(x->allowed_tid, tid))
                return tessera_error_set(e, -EPROTO, "the Entra tenant %s is not one this provider accepts", tid);
        return 0;
}

static int check_audience(json_t *claims, const UpstreamTokenExpect *x, TesseraError *e) {
        json_t *aud = json_object_get(claims, "aud"), *v;
        const char *azp = json_string_value(json_object_get(claims, "azp"));
        bool ours = false;
        size_t i, n = 0;

        if (json_is_string(aud)) {
                ours = streq(json_string_value(aud), x->client_id);
                n = 1;
        } else if (json_is_array(aud)) {
                json_array_foreach(aud, i, v) {
                        if (!json_is_string(v))
                                return tessera_error_set(e, -EPROTO, "the ID token's audience is malformed");
                        if (streq(json_string_value(v), x->client_id))
                                ours = true;
                }
                n = json_array_size(aud);
        }
        if (!ours)
                return tessera_error_set(e, -EPROTO, "the ID token is meant for another client (aud)");
        /* Core 3.1.3.7 (4, 5): with several audiences the token must say
         * who it was issued to, and that must be us. */
        if (json_object_get(claims, "azp") && !azp)
                return tessera_error_set(e, -EPROTO, "the ID token's authorized party (azp) is malformed");
        if (n > 1 && !azp)
                return tessera_error_set(e, -EPROTO,
                                         "the ID token has several audiences and names no authorized party (azp)");
        if (azp && !streq(azp, x->client_id))
                return tessera_error_set(e, -EPROTO, "the ID token was issued to another client (azp)");
        return 0;
}

static int check_times(json_t *claims, const UpstreamTokenExpect *x, TesseraError *e) {
        json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
        json_t *nbf = json_object_get(claims, "nbf");

        if (!json_is_number(exp) || !json_is_number(iat))
                return tessera_error_set(e, -EBADMSG, "the ID token lacks exp or iat");
        if (json_number_value(exp) + UPSTREAM_ID_TOKEN_SKEW_SEC < (double) x->now_sec)
                return tessera_error_set(e, -ESTALE, "the ID token has expired");
        if (json_number_value(iat) > (double) (x->now_sec + UPSTREAM_ID_TOKEN_SKEW_SEC))
                return tessera_error_set(e, -ESTALE, "the ID token was issued in the future (iat)");
        if (nbf && (!json_is_number(nbf) || json_number_value(nbf) > (double) (x->now_sec + UPSTREAM_ID_TOKEN_SKEW_SEC)))
                return tessera_error_set(e, -ESTALE, "the ID token is not valid yet (nbf)");
        return 0;
}

static int check_nonce(json_t *claims, const UpstreamTokenExpect *x, TesseraError *e) {
        const char *nonce = json_string_value(json_object_get(claims, "nonce"));

        if (!x->nonce)
                return 0;
        if (!nonce)
                return tessera_error_set(e, -EPROTO, "the ID token carries no nonce");
        if (strlen(nonce) != strlen(x->nonce) || !memeq_consttime(nonce, x->nonce, strlen(nonce)))
                return tessera_error_set(e, -EPROTO, "the ID token's nonce is not this sign-in's");
        return 0;
}

int upstream_idtoken_verify(const char *token, json_t *jwks, const UpstreamTokenExpect *x, json_t **ret_claims,
                            TesseraError *e) {
        _cleanup_(json_decrefp) json_t *h = NULL, *claims = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        const char *alg_s, *kid, *sub;
        size_t sig_n;
        UpstreamAlg alg;
        Parts p;
        int r;

        r = split(token, &p);
        if (r < 0)
                return tessera_error_set(e, r, "the ID token is not a signed JWT");
        r = decode_object(p.header, p.header_n, &h);
        if (r < 0)
                return tessera_error_set(e, r, "the ID token's header is malformed");

        alg_s = json_string_value(json_object_get(h, "alg"));
        if (!alg_s)
                return tessera_error_set(e, -EBADMSG, "the ID token's header names no algorithm");
        alg = upstream_alg_from_string(alg_s);
        if (alg < 0) {
                if (strcasecmp(alg_s, "none") == 0)
                        return tessera_error_set(e, -EKEYREJECTED, "the ID token is not signed (alg none)");
                if (strncmp(alg_s, "HS", 2) == 0)
                        return tessera_error_set(e, -EKEYREJECTED,
                                                 "the ID token is signed with a shared secret (%.16s), "
                                                 "not the provider's key", alg_s);
                return tessera_error_set(e, -EKEYREJECTED, "the ID token's algorithm %.16s is not accepted", alg_s);
        }
        /* We understand no critical extension, so none can be obeyed. */
        if (json_object_get(h, "crit"))
                return tessera_error_set(e, -EKEYREJECTED, "the ID token names critical header extensions");
        if (json_object_get(h, "kid") && !json_is_string(json_object_get(h, "kid")))
                return tessera_error_set(e, -EBADMSG, "the ID token's kid is malformed");
        kid = json_string_value(json_object_get(h, "kid"));
        if (kid && strlen(kid) > KID_MAX)
                return tessera_error_set(e, -EBADMSG, "the ID token's kid is too long");

        /* Only the provider's key set, never keys or URLs the token itself
         * names (jwk, jku, x5u, x5c). */
        r = upstream_jwks_find(jwks, kid, alg, &key);
        if (r == -ENOKEY)
                return tessera_error_set(e, -ENOKEY, "the ID token is signed with a key (kid %.64s) the provider "
                                         "does not publish", strna(kid));
        if (r == -EBADMSG)
                return tessera_error_set(e, -EBADMSG, "the provider's key set is malformed");
        if (r < 0)
                return tessera_error_set(e, -EKEYREJECTED, "the provider's key %.64s does not fit the ID token's "
                                         "algorithm %s", strna(kid), alg_s);

        if (base64url_decode(p.signature, p.signature_n, &sig, &sig_n) < 0 || sig_n == 0)
                return tessera_error_set(e, -EKEYREJECTED, "the ID token's signature is malformed");
        r = upstream_jws_verify(key, alg, token, p.header_n + 1 + p.payload_n, sig, sig_n);
        if (r < 0)
                return tessera_error_set(e, r, "the ID token's signature could not be checked");
        if (r == 0)
                return tessera_error_set(e, -EKEYREJECTED, "the ID token's signature does not verify with the "
                                         "provider's key");

        r = decode_object(p.payload, p.payload_n, &claims);
        if (r < 0)
                return tessera_error_set(e, r, "the ID token's claims are malformed");

        if ((r = check_issuer(claims, x, e)) < 0 || (r = check_audience(claims, x, e)) < 0 ||
            (r = check_times(claims, x, e)) < 0 || (r = check_nonce(claims, x, e)) < 0)
                return r;
        sub = json_string_value(json_object_get(claims, "sub"));
        if (isempty(sub) || strlen(sub) > 255)
                return tessera_error_set(e, -EBADMSG, "the ID token names no subject (sub)");

        *ret_claims = TAKE_PTR(claims);
        return 0;
}
