/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-discovery.h"

#include "macro.h"
#include "upstream-fetch.h"

void upstream_endpoints_done(UpstreamEndpoints *ep) {
        if (!ep)
                return;
        free(ep->issuer);
        free(ep->authorization);
        free(ep->token);
        free(ep->userinfo);
        free(ep->jwks);
        free(ep->api);
        *ep = (UpstreamEndpoints) {};
}

int upstream_discovery_url(const char *issuer, char **ret) {
        const char *at = strstr(issuer, "{tenantid}");
        size_t n = strlen(issuer);
        char *s;
        int k;

        /* Entra publishes the multi-tenant metadata under "common". */
        if (at)
                k = asprintf(&s, "%.*scommon%s/.well-known/openid-configuration", (int) (at - issuer), issuer,
                             at + strlen("{tenantid}"));
        else
                k = asprintf(&s, "%.*s/.well-known/openid-configuration",
                             (int) (n > 0 && issuer[n - 1] == '/' ? n - 1 : n), issuer);
        if (k < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int dup_first(char **ret, const char *a, const char *b) {
        const char *v = !isempty(a) ? a : !isempty(b) ? b : NULL;

        if (!v) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

/* A member of the discovery document, when the endpoint is still unknown. */
static int take_endpoint(json_t *doc, const char *member, char **field, bool required, const char *issuer,
                         TesseraError *e) {
        json_t *v = json_object_get(doc, member);
        const char *s = json_string_value(v);

        if (*field)
                return 0;
        if (!v && !required)
                return 0;
        if (!s || !upstream_url_allowed(s))
                return tessera_error_set(e, -EBADMSG, "the discovery document of %.120s gives no usable %s "
                                         "(https, or http on loopback)", issuer, member);
        *field = strdup(s);
        return *field ? 0 : -ENOMEM;
}

static bool methods_lack_basic(json_t *doc) {
        json_t *methods = json_object_get(doc, "token_endpoint_auth_methods_supported"), *m;
        bool basic = false, post = false;
        size_t i;

        /* Absent: client_secret_basic, the default (Discovery 3). */
        if (!json_is_array(methods))
                return false;
        json_array_foreach(methods, i, m) {
                const char *s = json_string_value(m);
                if (s && streq(s, "client_secret_basic"))
                        basic = true;
                if (s && streq(s, "client_secret_post"))
                        post = true;
        }
        return !basic && post;
}

int upstream_discovery_resolve(UpstreamCache *cache, const UpstreamLimits *limits, const UpstreamProvider *p,
                               const UpstreamPreset *preset, UpstreamEndpoints *ret, TesseraError *e) {
        _cleanup_(upstream_endpoints_done) UpstreamEndpoints ep = {};
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_free_ char *url = NULL;
        const char *issuer_doc;
        int r;

        if ((r = dup_first(&ep.authorization, p->authorization_endpoint, preset->authorization_endpoint)) < 0 ||
            (r = dup_first(&ep.token, p->token_endpoint, preset->token_endpoint)) < 0 ||
            (r = dup_first(&ep.userinfo, p->userinfo_endpoint, preset->userinfo_endpoint)) < 0 ||
            (r = dup_first(&ep.jwks, p->jwks_uri, preset->jwks_uri)) < 0 ||
            (r = dup_first(&ep.api, p->api_url, preset->api_url)) < 0 ||
            (r = dup_first(&ep.issuer, p->issuer, preset->issuer)) < 0)
                return r;
        ep.issuer_per_tid = preset->issuer_per_tid;

        if (preset->protocol == UPSTREAM_PROTOCOL_GITHUB) {
                if (!ep.authorization || !ep.token || !ep.api)
                        return tessera_error_set(e, -EINVAL, "the provider %s lacks an endpoint", p->name);
                /* GitHub reads client_id and client_secret from the body. */
                ep.secret_in_body = true;
                *ret = ep;
                ep = (UpstreamEndpoints) {};
                return 0;
        }

        if (!ep.issuer)
                return tessera_error_set(e, -EINVAL, "the provider %s has no issuer", p->name);
        if (ep.authorization && ep.token && ep.jwks && (ep.userinfo || !preset->use_userinfo)) {
                /* Everything known: no discovery needed; a discovery
                 * document fetched before still says how to authenticate. */
                r = upstream_discovery_url(ep.issuer, &url);
                if (r < 0)
                        return r;
                doc = upstream_cache_peek(cache, url);
                ep.secret_in_body = doc && methods_lack_basic(doc);
                *ret = ep;
                ep = (UpstreamEndpoints) {};
                return 0;
        }

        r = upstream_discovery_url(ep.issuer, &url);
        if (r < 0)
                return r;
        r = upstream_cache_get(cache, limits, "the provider's discovery document", url, UPSTREAM_CACHE_USE, &doc,
                               NULL, e);
        if (r < 0)
                return r;
        issuer_doc = json_string_value(json_object_get(doc, "issuer"));
        if (!issuer_doc || !streq(issuer_doc, ep.issuer)) {
                /* Not this issuer's metadata (or a document that changed):
                 * fetch it again next time rather than keep it. */
                upstream_cache_forget(cache, url);
                return tessera_error_set(e, -EBADMSG, "the discovery document at %.120s is for issuer %.80s, not %.80s",
                                         url, strna(issuer_doc), ep.issuer);
        }
        if ((r = take_endpoint(doc, "authorization_endpoint", &ep.authorization, true, ep.issuer, e)) < 0 ||
            (r = take_endpoint(doc, "token_endpoint", &ep.token, true, ep.issuer, e)) < 0 ||
            (r = take_endpoint(doc, "jwks_uri", &ep.jwks, true, ep.issuer, e)) < 0 ||
            (r = take_endpoint(doc, "userinfo_endpoint", &ep.userinfo, preset->use_userinfo, ep.issuer, e)) < 0) {
                upstream_cache_forget(cache, url);
                return r;
        }
        ep.secret_in_body = methods_lack_basic(doc);
        *ret = ep;
        ep = (UpstreamEndpoints) {};
        return 0;
}
