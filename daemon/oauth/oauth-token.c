/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-token.h"

#include <strings.h>

#include "jwt.h"
#include "json-text.h"
#include "oauth-claims.h"
#include "oauth-scope.h"
#include "store-oidc.h"
#include "time-util.h"
#include "token.h"

int oauth_mint_tokens(OAuthContext *ctx, OAuthTokenSpec *t, char **ret_access, char **ret_id_token) {
        _cleanup_free_ char *a = NULL, *i = NULL;
        const Config *cfg = ctx->manager->config;
        int64_t now = now_realtime_usec() / (int64_t) USEC_PER_SEC;
        char sub[64];
        SigningKey *key;
        KeySet *ks;
        int r;

        r = oauth_cache_keys(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, &ks);
        if (r < 0)
                return r;
        key = key_set_active(ks, t->app->signing_alg);
        if (!key)
                return -ENOKEY;

        r = token_random_id(16, t->jti, sizeof(t->jti));
        if (r < 0)
                return r;
        if (t->user) {
                r = oauth_subject_cached(ctx, t->user, sub);
                if (r < 0)
                        return r;
        } else
                snprintf(sub, sizeof(sub), "%s", t->app->client_id);

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
                json_text_str(&j, "client_id", t->app->client_id);
                json_text_str(&j, "scope", t->scope);
                json_text_int(&j, "iat", now);
                json_text_int(&j, "exp", now + cfg->oidc_access_token_lifetime);
                json_text_str(&j, "jti", t->jti);
                if (t->user) {
                        json_text_int(&j, "auth_time", t->auth_time_usec / (int64_t) USEC_PER_SEC);
                        if (t->sid)
                                json_text_str(&j, "sid", t->sid);
                }
                text = json_text_end(&j);
                if (!text)
                        return -ENOMEM;
                r = jwt_sign_text(key, "at+jwt", text, &a);
                if (r < 0)
                        return r;
        }

        if (t->user && oauth_scope_has(t->scope, "openid") && ret_id_token) {
                _cleanup_free_ char *text = NULL;
                JsonText j;

                json_text_begin(&j);
                oauth_user_claims(&j, t->user, sub, t->scope);
                json_text_str(&j, "iss", ctx->issuer);
                json_text_str(&j, "aud", t->app->client_id);
                json_text_str(&j, "azp", t->app->client_id);
                json_text_int(&j, "iat", now);
                json_text_int(&j, "exp", now + cfg->oidc_id_token_lifetime);
                json_text_int(&j, "auth_time", t->auth_time_usec / (int64_t) USEC_PER_SEC);
                json_text_words(&j, "amr", t->amr);
                if (t->sid)
                        json_text_str(&j, "sid", t->sid);
                if (t->nonce)
                        json_text_str(&j, "nonce", t->nonce);
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

int oauth_token_response(OAuthContext *ctx, const char *access, const char *id_token, const char *refresh,
                         const char *scope, char **ret) {
        JsonText j;

        json_text_begin(&j);
        json_text_str(&j, "access_token", access);
        json_text_str(&j, "token_type", "Bearer");
        json_text_int(&j, "expires_in", ctx->manager->config->oidc_access_token_lifetime);
        json_text_str(&j, "scope", scope);
        if (id_token)
                json_text_str(&j, "id_token", id_token);
        if (refresh)
                json_text_str(&j, "refresh_token", refresh);
        *ret = json_text_end(&j);
        return *ret ? 0 : -ENOMEM;
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

int oauth_verify_jwt(OAuthContext *ctx, const char *token, json_t **ret_header, json_t **ret_claims) {
        KeySet *ks;
        int r;

        r = oauth_cache_keys(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, &ks);
        if (r < 0)
                return r;
        return jwt_verify(token, lookup_key, &(KeyLookup) { .keys = ks }, ret_header, ret_claims);
}

/* What a token's bytes and the tenant's keys decide once and for all: the
 * signature, and that the header says at+jwt. */
static int verify_signature(KeySet *ks, const char *token, json_t **ret_claims) {
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

int oauth_verify_access_token(OAuthContext *ctx, const char *token, json_t **ret_claims) {
        json_auto_t *claims = NULL;
        uint8_t digest[32];
        int64_t now = now_realtime_usec();
        json_t *exp;
        KeySet *ks;
        int r;

        if (!token || strlen(token) > JWT_MAX_LEN)
                return -EKEYREJECTED;
        r = oauth_cache_keys(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, &ks);
        if (r < 0)
                return r;

        /* The signature is checked once per token and key set. Everything
         * that can change, from the clock to revocation, is checked below,
         * every time. */
        sha256(token, strlen(token), digest);
        claims = oauth_cache_verified_find(ctx->cache, ks, digest);
        if (!claims) {
                r = verify_signature(ks, token, &claims);
                if (r < 0)
                        return r;
                oauth_cache_verified_add(ctx->cache, ks, digest, claims);
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
