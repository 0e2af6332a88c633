/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-token.h"

#include <openssl/evp.h>

#include "macro.h"
#include "upstream-fetch.h"

/* name=value, escaped, appended to *body with '&'. */
static int append_param(char **body, const char *name, const char *value) {
        _cleanup_free_ char *escaped = NULL;
        char *n;

        if (!value)
                return 0;
        escaped = upstream_url_escape(value);
        if (!escaped)
                return -ENOMEM;
        if (asprintf(&n, "%s%s%s=%s", strempty(*body), *body ? "&" : "", name, escaped) < 0)
                return -ENOMEM;
        erase_and_free(*body);
        *body = n;
        explicit_bzero(escaped, strlen(escaped));
        return 0;
}

/* RFC 6749 2.3.1: both halves form-encoded, then base64. */
static int basic_header(const char *id, const char *secret, char **ret) {
        _cleanup_free_ char *eid = upstream_url_escape(id);
        _cleanup_(erase_and_freep) char *esecret = upstream_url_escape(secret);
        _cleanup_(erase_and_freep) char *pair = NULL, *b64 = NULL;
        size_t n;

        if (!eid || !esecret || asprintf(&pair, "%s:%s", eid, esecret) < 0)
                return -ENOMEM;
        n = strlen(pair);
        b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (!b64)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) pair, (int) n);
        if (asprintf(ret, "Authorization: Basic %s", b64) < 0)
                return -ENOMEM;
        return 0;
}

/* An OAuth error answer (RFC 6749 5.2): "error" and its description. */
static int refusal(json_t *doc, const char *what, TesseraError *e) {
        const char *error = json_string_value(json_object_get(doc, "error"));
        const char *desc = json_string_value(json_object_get(doc, "error_description"));

        return tessera_error_set(e, -EACCES, "%s refused the sign-in: %.64s%s%.120s", what, error,
                                 desc ? ": " : "", strempty(desc));
}

int upstream_token_exchange(const UpstreamLimits *limits, const UpstreamProvider *p, const UpstreamEndpoints *ep,
                            const char *redirect_uri, const char *code, const char *code_verifier, json_t **ret,
                            TesseraError *e) {
        static const char what[] = "the provider's token endpoint";
        _cleanup_(upstream_response_done) UpstreamResponse resp = {};
        _cleanup_(erase_and_freep) char *body = NULL, *auth = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL;
        const char *headers[3] = { "Accept: application/json" };
        bool secret_in_body = ep->secret_in_body || !p->client_secret;
        int r;

        if ((r = append_param(&body, "grant_type", "authorization_code")) < 0 ||
            (r = append_param(&body, "code", code)) < 0 ||
            (r = append_param(&body, "redirect_uri", redirect_uri)) < 0 ||
            (r = append_param(&body, "client_id", p->client_id)) < 0 ||
            (r = append_param(&body, "code_verifier", code_verifier)) < 0)
                return r;
        if (secret_in_body) {
                r = append_param(&body, "client_secret", p->client_secret);
                if (r < 0)
                        return r;
        } else {
                r = basic_header(p->client_id, p->client_secret, &auth);
                if (r < 0)
                        return r;
                headers[1] = auth;
        }

        r = upstream_fetch(limits, what, ep->token, body, headers, &resp, e);
        if (r < 0)
                return r;
        doc = json_loadb(resp.body, resp.size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(doc)) {
                if (resp.status >= 500)
                        return tessera_error_set(e, -EHOSTUNREACH, "%s answered HTTP %ld", what, resp.status);
                return tessera_error_set(e, -EBADMSG, "%s did not answer JSON (HTTP %ld)", what, resp.status);
        }
        /* GitHub says no with a 200 and "error". */
        if (json_is_string(json_object_get(doc, "error")))
                return refusal(doc, "the provider", e);
        if (resp.status != 200)
                return tessera_error_set(e, resp.status >= 500 ? -EHOSTUNREACH : -EBADMSG, "%s answered HTTP %ld",
                                         what, resp.status);
        if (!json_is_string(json_object_get(doc, "access_token")))
                return tessera_error_set(e, -EBADMSG, "%s answered without an access token", what);
        *ret = TAKE_PTR(doc);
        return 0;
}

int upstream_get_json(const UpstreamLimits *limits, const char *what, const char *url, const char *access_token,
                      const char *accept, json_type type, json_t **ret, TesseraError *e) {
        _cleanup_(upstream_response_done) UpstreamResponse resp = {};
        _cleanup_(erase_and_freep) char *auth = NULL;
        _cleanup_free_ char *accept_header = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL;
        int r;

        if (asprintf(&auth, "Authorization: Bearer %s", access_token) < 0 ||
            asprintf(&accept_header, "Accept: %s", accept ?: "application/json") < 0)
                return -ENOMEM;
        r = upstream_fetch(limits, what, url, NULL, (const char *const[]) { accept_header, auth, NULL }, &resp, e);
        if (r < 0)
                return r;
        if (resp.status == 401 || resp.status == 403)
                return tessera_error_set(e, -EACCES, "%s refused the access token (HTTP %ld)", what, resp.status);
        if (resp.status != 200)
                return tessera_error_set(e, resp.status >= 500 ? -EHOSTUNREACH : -EBADMSG, "%s answered HTTP %ld",
                                         what, resp.status);
        doc = json_loadb(resp.body, resp.size, JSON_REJECT_DUPLICATES, NULL);
        if (!doc || json_typeof(doc) != type)
                return tessera_error_set(e, -EBADMSG, "%s did not answer the JSON expected", what);
        *ret = TAKE_PTR(doc);
        return 0;
}
