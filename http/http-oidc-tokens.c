/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/sha.h>
#include <stdlib.h>

#include "base64url.h"
#include "http-oidc.h"
#include "jwt.h"
#include "time-util.h"

int oidc_subject(const Manager *m, const UserRecord *u, char out[static 64]) {
        uint8_t d[SECRET_DIGEST_SIZE];
        char in[96];
        int r;

        /* Keyed on what is unique forever: the row and its birth time. */
        snprintf(in, sizeof(in), "%" PRIi64 ":%" PRIi64 ":%" PRIi64, u->tenant_id, u->id, u->created_usec);
        r = secret_key_digest(m->secret_key, "oidc-subject", in, strlen(in), d);
        if (r < 0)
                return r;
        base64url_encode_to(d, 16, out);
        return 0;
}

int oidc_subject_of(HttpRequest *req, const UserRecord *u, char out[static 64]) {
        OAuthCache *c = &req->thread->oauth;
        int r;

        if (oauth_cache_subject_find(c, u, out))
                return 0;
        r = oidc_subject(req->manager, u, out);
        if (r < 0)
                return r;
        oauth_cache_subject_add(c, u, out);
        return 0;
}

void oidc_user_claims(JsonText *j, const UserRecord *u, const char *sub, const char *scope) {
        json_text_str(j, "sub", sub);
        if (oidc_scope_has(scope, "profile")) {
                json_text_str(j, "preferred_username", u->name);
                json_text_str(j, "name", isempty(u->real_name) ? u->name : u->real_name);
                json_text_int(j, "updated_at", u->changed_usec / (int64_t) USEC_PER_SEC);
        }
        if (oidc_scope_has(scope, "email") && u->email) {
                json_text_str(j, "email", u->email);
                json_text_bool(j, "email_verified", u->email_verified);
        }
}

int oidc_sign_tokens(OidcContext *ctx, OidcGrant *g, char **ret_access, char **ret_id_token) {
        _cleanup_free_ char *a = NULL, *i = NULL;
        const Config *cfg = ctx->manager->config;
        int64_t now = store_now_usec() / (int64_t) USEC_PER_SEC;
        char sub[64];
        SigningKey *key;
        KeySet *ks;
        int r;

        r = http_keys(ctx->req, ctx->tenant->id, &ks);
        if (r < 0)
                return r;
        key = key_set_active(ks, g->app->signing_alg);
        if (!key)
                return -ENOKEY;

        r = token_random_id(16, g->jti, sizeof(g->jti));
        if (r < 0)
                return r;
        if (g->user) {
                r = oidc_subject_of(ctx->req, g->user, sub);
                if (r < 0)
                        return r;
        } else
                snprintf(sub, sizeof(sub), "%s", g->app->client_id);

        /* RFC 9068: the resource this token is for is the tenant's API, named
         * by its issuer. Written out directly: this is the hot path, and
         * every value is ours (escaped all the same). */
        {
                _cleanup_free_ char *text = NULL;
                JsonText j;

                json_text_begin(&j);
                json_text_str(&j, "iss", ctx->issuer);
                json_text_str(&j, "sub", sub);
                json_text_str(&j, "aud", ctx->issuer);
                json_text_str(&j, "client_id", g->app->client_id);
                json_text_str(&j, "scope", g->scope);
                json_text_int(&j, "iat", now);
                json_text_int(&j, "exp", now + cfg->oidc_access_token_lifetime);
                json_text_str(&j, "jti", g->jti);
                if (g->user) {
                        json_text_int(&j, "auth_time", g->auth_time_usec / (int64_t) USEC_PER_SEC);
                        if (g->sid)
                                json_text_str(&j, "sid", g->sid);
                }
                text = json_text_end(&j);
                if (!text)
                        return -ENOMEM;
                r = jwt_sign_text(key, "at+jwt", text, &a);
                if (r < 0)
                        return r;
        }

        if (g->user && oidc_scope_has(g->scope, "openid") && ret_id_token) {
                _cleanup_free_ char *text = NULL;
                JsonText j;

                json_text_begin(&j);
                oidc_user_claims(&j, g->user, sub, g->scope);
                json_text_str(&j, "iss", ctx->issuer);
                json_text_str(&j, "aud", g->app->client_id);
                json_text_str(&j, "azp", g->app->client_id);
                json_text_int(&j, "iat", now);
                json_text_int(&j, "exp", now + cfg->oidc_id_token_lifetime);
                json_text_int(&j, "auth_time", g->auth_time_usec / (int64_t) USEC_PER_SEC);
                json_text_words(&j, "amr", g->amr);
                if (g->sid)
                        json_text_str(&j, "sid", g->sid);
                if (g->nonce)
                        json_text_str(&j, "nonce", g->nonce);
                text = json_text_end(&j);
                if (!text)
                        return -ENOMEM;
                r = jwt_sign_text(key, "JWT", text, &i);
                if (r < 0)
                        return r;
        }

        *ret_access = TAKE_PTR(a);
        if (ret_id_token)
                *ret_id_token = TAKE_PTR(i);
        return 0;
}

json_t *oidc_token_response(OidcContext *ctx, const char *access, const char *id_token, const char *refresh,
                            const char *scope) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "access_token", access, "token_type", "Bearer", "expires_in",
                              (json_int_t) ctx->manager->config->oidc_access_token_lifetime, "scope", scope);

        if (j && id_token)
                json_object_set_new(j, "id_token", json_string(id_token));
        if (j && refresh)
                json_object_set_new(j, "refresh_token", json_string(refresh));
        return j;
}

typedef struct KeyLookup {
        KeySet *keys;
} KeyLookup;

static int lookup_key(const char *kid, JwtAlg alg, void *userdata, SigningKey **ret) {
        KeyLookup *l = userdata;
        SigningKey *k = key_set_find(l->keys, kid);

        if (!k)
                return -ENOKEY;
        *ret = signing_key_ref(k);
        return 0;
}

static bool aud_has(json_t *aud, const char *value) {
        size_t i;
        json_t *v;

        if (json_is_string(aud))
                return streq(json_string_value(aud), value);
        json_array_foreach(aud, i, v)
                if (json_is_string(v) && streq(json_string_value(v), value))
                        return true;
        return false;
}

int oidc_verify_jwt(OidcContext *ctx, const char *token, json_t **ret_header, json_t **ret_claims) {
        KeySet *ks;
        int r;

        r = http_keys(ctx->req, ctx->tenant->id, &ks);
        if (r < 0)
                return r;
        return jwt_verify(token, lookup_key, &(KeyLookup) { .keys = ks }, ret_header, ret_claims);
}

/* What a token's bytes and the tenant's keys decide once and for all: the
 * signature, and that the header says at+jwt. */
static int verify_signature(OidcContext *ctx, KeySet *ks, const char *token, json_t **ret_claims) {
        json_auto_t *header = NULL, *claims = NULL;
        const char *typ;
        int r;

        r = jwt_verify(token, lookup_key, &(KeyLookup) { .keys = ks }, &header, &claims);
        if (r < 0)
                return -EKEYREJECTED;
        typ = json_string_value(json_object_get(header, "typ"));
        if (!typ || strcasecmp(typ, "at+jwt") != 0)
                return -EKEYREJECTED;
        *ret_claims = TAKE_PTR(claims);
        return 0;
}

int oidc_verify_access_token(OidcContext *ctx, const char *token, json_t **ret_claims) {
        json_auto_t *claims = NULL;
        OAuthCache *c = &ctx->req->thread->oauth;
        uint8_t digest[SHA256_DIGEST_LENGTH];
        int64_t now = store_now_usec();
        json_t *exp;
        KeySet *ks;
        int r;

        if (!token || strlen(token) > JWT_MAX_LEN)
                return -EKEYREJECTED;
        r = http_keys(ctx->req, ctx->tenant->id, &ks);
        if (r < 0)
                return r;

        /* A client calls userinfo with one token many times, and an ECDSA
         * verification (and the JSON parsing) costs more than the rest of
         * the request: the signature is checked once per token and key set.
         * Everything that can change, from the clock to revocation, is
         * checked below, every time. */
        sha256(token, strlen(token), digest);
        claims = oauth_cache_verified_find(c, ks, digest);
        if (!claims) {
                r = verify_signature(ctx, ks, token, &claims);
                if (r < 0)
                        return r;
                oauth_cache_verified_add(c, ks, digest, claims);
        }

        if (!json_is_string(json_object_get(claims, "iss")) ||
            !streq(json_string_value(json_object_get(claims, "iss")), ctx->issuer) ||
            !aud_has(json_object_get(claims, "aud"), ctx->issuer))
                return -EKEYREJECTED;
        exp = json_object_get(claims, "exp");
        if (!json_is_integer(exp) || json_integer_value(exp) <= now / (int64_t) USEC_PER_SEC)
                return -ETIME;
        if (!json_is_string(json_object_get(claims, "jti")) || !json_is_string(json_object_get(claims, "sub")))
                return -EKEYREJECTED;

        r = store_token_revoked(ctx->store, ctx->tenant->id, json_string_value(json_object_get(claims, "jti")),
                                json_string_value(json_object_get(claims, "sid")));
        if (r < 0)
                return r;
        if (r > 0)
                return -EKEYREJECTED;

        if (ret_claims)
                *ret_claims = TAKE_PTR(claims);
        return 0;
}
