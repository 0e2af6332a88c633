/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-client.h"

#include <curl/curl.h>

#include "macro.h"
#include "time-util.h"
#include "upstream-cache.h"
#include "upstream-discovery.h"
#include "upstream-fetch.h"
#include "upstream-github.h"
#include "upstream-identity.h"
#include "upstream-idtoken.h"
#include "upstream-preset.h"
#include "upstream-token.h"

struct UpstreamClient {
        UpstreamLimits limits;
        char *ca_file;
        UpstreamCache cache;
        bool curl_initialized;
};

int upstream_client_new(const UpstreamLimits *limits, UpstreamClient **ret) {
        _cleanup_(upstream_client_freep) UpstreamClient *c = NULL;
        int r;

        c = calloc(1, sizeof(UpstreamClient));
        if (!c)
                return -ENOMEM;
        upstream_limits_normalize(limits, &c->limits);
        if (limits && limits->ca_file) {
                c->ca_file = strdup(limits->ca_file);
                if (!c->ca_file)
                        return -ENOMEM;
        }
        c->limits.ca_file = c->ca_file;
        r = upstream_cache_init(&c->cache);
        if (r < 0) {
                free(TAKE_PTR(c)->ca_file);
                return r;
        }
        /* Reference-counted by libcurl: the mail sender's and ours. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        c->curl_initialized = true;
        *ret = TAKE_PTR(c);
        return 0;
}

UpstreamClient *upstream_client_free(UpstreamClient *c) {
        if (!c)
                return NULL;
        upstream_cache_done(&c->cache);
        if (c->curl_initialized)
                curl_global_cleanup();
        free(c->ca_file);
        free(c);
        return NULL;
}

static const char *issuer_of(const UpstreamProvider *p, const UpstreamPreset *preset) {
        return !isempty(p->issuer) ? p->issuer : preset->issuer;
}

void upstream_client_forget(UpstreamClient *c, const UpstreamProvider *p) {
        const UpstreamPreset *preset = upstream_preset_find(p->kind);
        _cleanup_free_ char *url = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL;
        const char *jwks;

        if (!c || !preset)
                return;
        if (!isempty(p->jwks_uri))
                upstream_cache_forget(&c->cache, p->jwks_uri);
        if (preset->jwks_uri)
                upstream_cache_forget(&c->cache, preset->jwks_uri);
        if (!issuer_of(p, preset) || upstream_discovery_url(issuer_of(p, preset), &url) < 0)
                return;
        doc = upstream_cache_peek(&c->cache, url);
        jwks = json_string_value(json_object_get(doc, "jwks_uri"));
        if (jwks)
                upstream_cache_forget(&c->cache, jwks);
        upstream_cache_forget(&c->cache, url);
}

static int find_preset(const UpstreamProvider *p, const UpstreamPreset **ret, TesseraError *e) {
        const UpstreamPreset *preset = upstream_preset_find(p->kind);

        if (!preset)
                return tessera_error_set(e, -EINVAL, "the provider %s is of an unknown kind %s", strna(p->name), strna(p->kind));
        *ret = preset;
        return 0;
}

/* The scopes to ask for, space-separated; OpenID kinds always ask for
 * "openid", without which there is no ID token. */
static int scope_string(const UpstreamProvider *p, const UpstreamPreset *preset, char **ret) {
        _cleanup_free_ char *s = NULL;
        bool openid = false;

        if (p->scopes && p->scopes[0]) {
                size_t n = 1;
                STRV_FOREACH(i, p->scopes)
                        n += strlen(*i) + 1;
                s = calloc(1, n);
                if (!s)
                        return -ENOMEM;
                STRV_FOREACH(i, p->scopes) {
                        if (s[0])
                                strcat(s, " ");
                        strcat(s, *i);
                        if (streq(*i, "openid"))
                                openid = true;
                }
        } else {
                s = strdup(preset->scopes);
                if (!s)
                        return -ENOMEM;
                openid = true;        /* the OpenID presets all ask for it */
        }
        if (preset->protocol == UPSTREAM_PROTOCOL_OIDC && !openid) {
                char *t;
                if (asprintf(&t, "openid %s", s) < 0)
                        return -ENOMEM;
                free(s);
                s = t;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static int append_query(char **url, const char *name, const char *value) {
        _cleanup_free_ char *escaped = NULL;
        char *n;

        if (!value)
                return 0;
        escaped = upstream_url_escape(value);
        if (!escaped)
                return -ENOMEM;
        if (asprintf(&n, "%s%c%s=%s", *url, strchr(*url, '?') ? '&' : '?', name, escaped) < 0)
                return -ENOMEM;
        free(*url);
        *url = n;
        return 0;
}

int upstream_client_authorize_url(UpstreamClient *c, const UpstreamProvider *p, const char *redirect_uri,
                                  const char *state, const char *nonce, const char *code_challenge, char **ret_url,
                                  TesseraError *e) {
        _cleanup_(upstream_endpoints_done) UpstreamEndpoints ep = {};
        _cleanup_free_ char *scope = NULL, *url = NULL;
        const UpstreamPreset *preset = NULL;
        bool oidc;
        int r;

        r = find_preset(p, &preset, e);
        if (r < 0)
                return r;
        oidc = preset->protocol == UPSTREAM_PROTOCOL_OIDC;
        r = upstream_discovery_resolve(&c->cache, &c->limits, p, preset, &ep, e);
        if (r < 0)
                return r;
        if (!upstream_url_allowed(ep.authorization))
                return tessera_error_set(e, -EINVAL, "the authorization endpoint of %s is not an https URL",
                                         p->name);
        r = scope_string(p, preset, &scope);
        if (r < 0)
                return r;
        url = strdup(ep.authorization);
        if (!url)
                return -ENOMEM;
        if ((r = append_query(&url, "response_type", "code")) < 0 ||
            (r = append_query(&url, "client_id", p->client_id)) < 0 ||
            (r = append_query(&url, "redirect_uri", redirect_uri)) < 0 ||
            (r = append_query(&url, "scope", scope)) < 0 || (r = append_query(&url, "state", state)) < 0 ||
            (r = append_query(&url, "nonce", oidc ? nonce : NULL)) < 0 ||
            (r = append_query(&url, "code_challenge", code_challenge)) < 0 ||
            (r = append_query(&url, "code_challenge_method", code_challenge ? "S256" : NULL)) < 0)
                return r;
        *ret_url = TAKE_PTR(url);
        return 0;
}

/* The ID token verified with the provider's keys; an unknown kid fetches
 * the key set again (spaced by the cache) and tries once more. */
static int verify_id_token(UpstreamClient *c, const UpstreamEndpoints *ep, const UpstreamTokenExpect *x,
                           const char *id_token, json_t **ret_claims, TesseraError *e) {
        _cleanup_(json_decrefp) json_t *jwks = NULL;
        TesseraError first = {};
        bool fetched = false;
        int r;

        r = upstream_cache_get(&c->cache, &c->limits, "the provider's key set", ep->jwks, UPSTREAM_CACHE_USE, &jwks,
                               NULL, e);
        if (r < 0)
                return r;
        if (!json_is_array(json_object_get(jwks, "keys"))) {
                /* Not kept: the next sign-in fetches it again. */
                upstream_cache_forget(&c->cache, ep->jwks);
                return tessera_error_set(e, -EBADMSG, "the provider's key set (%.120s) holds no keys", ep->jwks);
        }
        r = upstream_idtoken_verify(id_token, jwks, x, ret_claims, &first);
        if (r != -ENOKEY) {
                if (r < 0)
                        return tessera_error_set(e, r, "%s", first.message);
                return 0;
        }
        /* A key the cached set lacks (rotated): once more with a new copy. */
        json_decref(TAKE_PTR(jwks));
        r = upstream_cache_get(&c->cache, &c->limits, "the provider's key set", ep->jwks, UPSTREAM_CACHE_REFRESH,
                               &jwks, &fetched, e);
        if (r < 0)
                return r;
        if (!fetched)
                return tessera_error_set(e, first.code == -ENOKEY ? -EKEYREJECTED : first.code, "%s", first.message);
        first = (TesseraError) {};
        r = upstream_idtoken_verify(id_token, jwks, x, ret_claims, &first);
        if (r < 0)
                return tessera_error_set(e, r == -ENOKEY ? -EKEYREJECTED : r, "%s", first.message);
        return 0;
}

static int complete_oidc(UpstreamClient *c, const UpstreamProvider *p, const UpstreamPreset *preset,
                         const UpstreamEndpoints *ep, json_t *tokens, const char *nonce, UpstreamIdentity *ret,
                         TesseraError *e) {
        _cleanup_(upstream_identity_done) UpstreamIdentity id = {};
        _cleanup_(json_decrefp) json_t *claims = NULL, *userinfo = NULL;
        const char *id_token = json_string_value(json_object_get(tokens, "id_token"));
        const char *access_token = json_string_value(json_object_get(tokens, "access_token"));
        UpstreamTokenExpect x = {
                .issuer = ep->issuer,
                .issuer_per_tid = ep->issuer_per_tid,
                .allowed_tid = isempty(p->allowed_tid) ? NULL : p->allowed_tid,
                .client_id = p->client_id,
                .nonce = nonce,
                .now_sec = now_realtime_usec() / (int64_t) USEC_PER_SEC,
        };
        int r;

        if (!id_token)
                return tessera_error_set(e, -EBADMSG, "the provider answered without an ID token");
        r = verify_id_token(c, ep, &x, id_token, &claims, e);
        if (r < 0)
                return r;
        r = upstream_identity_from_claims(preset, claims, &id, e);
        if (r < 0)
                return r;
        id.issuer = strdup(json_string_value(json_object_get(claims, "iss")));
        if (!id.issuer)
                return -ENOMEM;
        if (json_is_string(json_object_get(claims, "tid"))) {
                id.tid = strdup(json_string_value(json_object_get(claims, "tid")));
                if (!id.tid)
                        return -ENOMEM;
        }
        if (preset->use_userinfo && ep->userinfo && access_token) {
                r = upstream_get_json(&c->limits, "the provider's userinfo endpoint", ep->userinfo, access_token,
                                      NULL, JSON_OBJECT, &userinfo, e);
                if (r < 0)
                        return r;
                r = upstream_identity_merge(preset, userinfo, &id, e);
                if (r < 0)
                        return r;
        }
        *ret = id;
        id = (UpstreamIdentity) {};
        return 0;
}

int upstream_client_complete(UpstreamClient *c, const UpstreamProvider *p, const char *redirect_uri,
                             const char *code, const char *code_verifier, const char *nonce, UpstreamIdentity *ret,
                             TesseraError *e) {
        _cleanup_(upstream_endpoints_done) UpstreamEndpoints ep = {};
        _cleanup_(json_decrefp) json_t *tokens = NULL;
        const UpstreamPreset *preset = NULL;
        int r;

        if (isempty(code))
                return tessera_error_set(e, -EACCES, "the provider sent no authorization code");
        r = find_preset(p, &preset, e);
        if (r < 0)
                return r;
        r = upstream_discovery_resolve(&c->cache, &c->limits, p, preset, &ep, e);
        if (r < 0)
                return r;
        r = upstream_token_exchange(&c->limits, p, &ep, redirect_uri, code, code_verifier, &tokens, e);
        if (r < 0)
                return r;
        if (preset->protocol == UPSTREAM_PROTOCOL_GITHUB)
                return upstream_github_identity(&c->limits, preset, &ep,
                                                json_string_value(json_object_get(tokens, "access_token")), ret, e);
        return complete_oidc(c, p, preset, &ep, tokens, nonce, ret, e);
}
