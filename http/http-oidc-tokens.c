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
        HttpThread *t = req->thread;
        size_t slot;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(t->subjects); i++)
                if (t->subjects[i].user_id == u->id && t->subjects[i].created_usec == u->created_usec) {
                        memcpy(out, t->subjects[i].sub, sizeof(t->subjects[i].sub));
                        return 0;
                }
        r = oidc_subject(req->manager, u, out);
        if (r < 0)
                return r;
        slot = t->next_subject++ % ELEMENTSOF(t->subjects);
        t->subjects[slot].user_id = u->id;
        t->subjects[slot].created_usec = u->created_usec;
        snprintf(t->subjects[slot].sub, sizeof(t->subjects[slot].sub), "%s", out);
        return 0;
}

json_t *oidc_user_claims(const UserRecord *u, const char *sub, const char *scope) {
        json_t *j;

        j = json_pack("{s:s}", "sub", sub);
        if (!j)
                return NULL;
        if (oidc_scope_has(scope, "profile")) {
                json_object_set_new(j, "preferred_username", json_string(u->name));
                json_object_set_new(j, "name", json_string(isempty(u->real_name) ? u->name : u->real_name));
                json_object_set_new(j, "updated_at", json_integer(u->changed_usec / (int64_t) USEC_PER_SEC));
        }
        if (oidc_scope_has(scope, "email") && u->email) {
                json_object_set_new(j, "email", json_string(u->email));
                json_object_set_new(j, "email_verified", json_boolean(u->email_verified));
        }
        return j;
}

static json_t *amr_array(const char *amr) {
        json_t *a = json_array();
        _cleanup_(strv_freep) char **l = NULL;

        if (!a || strv_split_spaces(amr, 4, &l) < 0)
                return a;
        STRV_FOREACH(i, l)
                json_array_append_new(a, json_string(*i));
        return a;
}

int oidc_sign_tokens(OidcContext *ctx, OidcGrant *g, char **ret_access, char **ret_id_token) {
        json_auto_t *id = NULL;
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

        r = token_random_hex(16, g->jti, sizeof(g->jti));
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
                JsonText j = {};

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
                id = oidc_user_claims(g->user, sub, g->scope);
                if (!id)
                        return -ENOMEM;
                json_object_set_new(id, "iss", json_string(ctx->issuer));
                json_object_set_new(id, "aud", json_string(g->app->client_id));
                json_object_set_new(id, "azp", json_string(g->app->client_id));
                json_object_set_new(id, "iat", json_integer(now));
                json_object_set_new(id, "exp", json_integer(now + cfg->oidc_id_token_lifetime));
                json_object_set_new(id, "auth_time", json_integer(g->auth_time_usec / (int64_t) USEC_PER_SEC));
                json_object_set_new(id, "amr", amr_array(g->amr));
                if (g->sid)
                        json_object_set_new(id, "sid", json_string(g->sid));
                if (g->nonce)
                        json_object_set_new(id, "nonce", json_string(g->nonce));
                r = jwt_sign(key, "JWT", id, &i);
                if (r < 0)
                        return r;
        }

        *ret_access = TAKE_PTR(a);
        if (ret_id_token)
                *ret_id_token = TAKE_PTR(i);
        return 0;
}

static void json_text_put(JsonText *j, const char *s, size_t n) {
        if (j->failed)
                return;
        if (j->len + n + 1 > j->cap) {
                size_t cap = MAX(j->cap * 2, j->len + n + 256);
                char *b = realloc(j->buf, cap);
                if (!b) {
                        j->failed = true;
                        return;
                }
                j->buf = b;
                j->cap = cap;
        }
        memcpy(j->buf + j->len, s, n);
        j->len += n;
        j->buf[j->len] = '\0';
}

void json_text_begin(JsonText *j) {
        *j = (JsonText) {};
        json_text_put(j, "{", 1);
}

static void json_text_key(JsonText *j, const char *key) {
        if (j->n++ > 0)
                json_text_put(j, ",", 1);
        json_text_put(j, "\"", 1);
        json_text_put(j, key, strlen(key));
        json_text_put(j, "\":", 2);
}

void json_text_str(JsonText *j, const char *key, const char *value) {
        const char *run = value;

        json_text_key(j, key);
        json_text_put(j, "\"", 1);
        for (const char *p = value;; p++) {
                unsigned char c = (unsigned char) *p;
                char esc[8];

                if (c != 0 && c != '"' && c != '\\' && c >= 0x20)
                        continue;
                json_text_put(j, run, (size_t) (p - run));
                if (c == 0)
                        break;
                snprintf(esc, sizeof(esc), c < 0x20 ? "\\u%04x" : "\\%c", c);
                json_text_put(j, esc, strlen(esc));
                run = p + 1;
        }
        json_text_put(j, "\"", 1);
}

void json_text_int(JsonText *j, const char *key, int64_t value) {
        char num[24];

        json_text_key(j, key);
        snprintf(num, sizeof(num), "%" PRIi64, value);
        json_text_put(j, num, strlen(num));
}

char *json_text_end(JsonText *j) {
        json_text_put(j, "}", 1);
        if (j->failed) {
                free(j->buf);
                return NULL;
        }
        return j->buf;
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

int oidc_verify_access_token(OidcContext *ctx, const char *token, json_t **ret_claims) {
        json_auto_t *header = NULL, *claims = NULL;
        HttpThread *t = ctx->req->thread;
        uint8_t digest[SHA256_DIGEST_LENGTH];
        int64_t now = store_now_usec();
        VerifiedToken *hit = NULL;
        json_int_t exp;
        KeySet *ks;
        int r;

        if (!token || strlen(token) > JWT_MAX_LEN)
                return -EKEYREJECTED;
        r = http_keys(ctx->req, ctx->tenant->id, &ks);
        if (r < 0)
                return r;

        SHA256((const uint8_t *) token, strlen(token), digest);
        for (size_t i = 0; i < ELEMENTSOF(t->verified); i++)
                if (t->verified[i].generation == ks->generation && t->verified[i].expires_usec > now &&
                    memeq_consttime(t->verified[i].digest, digest, sizeof(digest))) {
                        hit = &t->verified[i];
                        break;
                }

        if (hit)
                r = jwt_decode_unverified(token, &header, &claims);
        else
                r = jwt_verify(token, lookup_key, &(KeyLookup) { .keys = ks }, &header, &claims);
        if (r < 0)
                return -EKEYREJECTED;

        if (!json_is_string(json_object_get(header, "typ")) ||
            strcasecmp(json_string_value(json_object_get(header, "typ")), "at+jwt") != 0)
                return -EKEYREJECTED;
        if (!json_is_string(json_object_get(claims, "iss")) ||
            !streq(json_string_value(json_object_get(claims, "iss")), ctx->issuer) ||
            !aud_has(json_object_get(claims, "aud"), ctx->issuer))
                return -EKEYREJECTED;
        exp = json_integer_value(json_object_get(claims, "exp"));
        if (!json_is_integer(json_object_get(claims, "exp")) || exp <= now / (int64_t) USEC_PER_SEC)
                return -ETIME;
        if (!json_is_string(json_object_get(claims, "jti")) || !json_is_string(json_object_get(claims, "sub")))
                return -EKEYREJECTED;

        if (!hit) {
                VerifiedToken *v = &t->verified[t->next_verified++ % ELEMENTSOF(t->verified)];
                memcpy(v->digest, digest, sizeof(digest));
                v->expires_usec = (int64_t) exp * (int64_t) USEC_PER_SEC;
                v->generation = ks->generation;
        }

        r = store_token_revoked(ctx->store, json_string_value(json_object_get(claims, "jti")),
                                json_string_value(json_object_get(claims, "sid")));
        if (r < 0)
                return r;
        if (r > 0)
                return -EKEYREJECTED;

        if (ret_claims)
                *ret_claims = TAKE_PTR(claims);
        return 0;
}
