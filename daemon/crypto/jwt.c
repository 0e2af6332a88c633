/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "jwt.h"

#include <stdlib.h>

#include "base64url.h"


int jwt_sign_text(SigningKey *k, const char *typ, const char *payload, char **ret) {
        _cleanup_free_ char *out = NULL;
        char header[160];
        uint8_t sig[512];
        size_t hn, pn, sn, n;
        char *o;
        int r;

        hn = (size_t) snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"}",
                               jwt_alg_to_string(k->alg), k->kid, typ);
        if (hn >= sizeof(header))
                return -EINVAL;
        pn = strlen(payload);

        out = malloc(base64url_encoded_len(hn) + base64url_encoded_len(pn) + base64url_encoded_len(sizeof(sig)) + 3);
        if (!out)
                return -ENOMEM;
        o = out + base64url_encode_to(header, hn, out);
        *o++ = '.';
        o += base64url_encode_to(payload, pn, o);
        n = (size_t) (o - out);

        r = signing_key_sign(k, out, n, sig, sizeof(sig), &sn);
        if (r < 0)
                return r;
        *o++ = '.';
        base64url_encode_to(sig, sn, o);

        *ret = TAKE_PTR(out);
        return 0;
}

int jwt_sign(SigningKey *k, const char *typ, json_t *claims, char **ret) {
        _cleanup_free_ char *payload = json_dumps(claims, JSON_COMPACT);

        if (!payload)
                return -ENOMEM;
        return jwt_sign_text(k, typ, payload, ret);
}

static int decode_json_part(const char *s, size_t n, json_t **ret) {
        _cleanup_free_ uint8_t *raw = NULL;
        json_t *j;
        size_t len;
        int r;

        r = base64url_decode(s, n, &raw, &len);
        if (r < 0)
                return -EBADMSG;
        /* Duplicate keys would let two readers see two different tokens. */
        j = json_loadb((const char *) raw, len, JSON_REJECT_DUPLICATES, NULL);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

static int split(const char *token, const char **dot1, const char **dot2) {
        size_t n;

        if (!token)
                return -EBADMSG;
        n = strnlen(token, JWT_MAX_LEN + 1);
        if (n > JWT_MAX_LEN)
                return -EBADMSG;
        *dot1 = strchr(token, '.');
        if (!*dot1)
                return -EBADMSG;
        *dot2 = strchr(*dot1 + 1, '.');
        if (!*dot2 || strchr(*dot2 + 1, '.'))
                return -EBADMSG;
        return 0;
}

int jwt_decode_unverified(const char *token, json_t **ret_header, json_t **ret_claims) {
        _cleanup_(json_decrefp) json_t *h = NULL, *c = NULL;
        const char *d1, *d2;
        int r;

        r = split(token, &d1, &d2);
        if (r < 0)
                return r;
        r = decode_json_part(token, (size_t) (d1 - token), &h);
        if (r < 0)
                return r;
        r = decode_json_part(d1 + 1, (size_t) (d2 - d1 - 1), &c);
        if (r < 0)
                return r;
        if (ret_header)
                *ret_header = TAKE_PTR(h);
        if (ret_claims)
                *ret_claims = TAKE_PTR(c);
        return 0;
}

int jwt_verify(const char *token, JwtKeyLookup lookup, void *userdata, json_t **ret_header, json_t **ret_claims) {
        _cleanup_(json_decrefp) json_t *h = NULL, *c = NULL;
        _cleanup_(signing_key_unrefp) SigningKey *k = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        const char *d1, *d2, *alg_s, *kid;
        size_t sig_n;
        JwtAlg alg;
        int r;

        r = split(token, &d1, &d2);
        if (r < 0)
                return r;
        r = decode_json_part(token, (size_t) (d1 - token), &h);
        if (r < 0)
                return r;

        alg_s = json_string_value(json_object_get(h, "alg"));
        kid = json_string_value(json_object_get(h, "kid"));
        /* "none" and every algorithm we don't sign with are refused here,
         * before any key is looked at. */
        alg = jwt_alg_from_string(alg_s);
        if (alg < 0)
                return -EKEYREJECTED;
        if (!kid || strlen(kid) >= SIGNING_KID_MAX)
                return -EBADMSG;
        /* We set no critical extensions, so none can be understood. */
        if (json_object_get(h, "crit") || json_object_get(h, "jku") || json_object_get(h, "jwk") ||
            json_object_get(h, "x5u") || json_object_get(h, "x5c"))
                return -EKEYREJECTED;

        r = base64url_decode(d2 + 1, strlen(d2 + 1), &sig, &sig_n);
        if (r < 0)
                return -EBADMSG;

        r = lookup(kid, alg, userdata, &k);
        if (r < 0)
                return r;
        if (k->alg != alg)
                return -EKEYREJECTED;

        r = signing_key_verify(k, token, (size_t) (d2 - token), sig, sig_n);
        if (r < 0)
                return r;
        if (r == 0)
                return -EKEYREJECTED;

        r = decode_json_part(d1 + 1, (size_t) (d2 - d1 - 1), &c);
        if (r < 0)
                return r;
        if (ret_header)
                *ret_header = TAKE_PTR(h);
        if (ret_claims)
                *ret_claims = TAKE_PTR(c);
        return 0;
}
