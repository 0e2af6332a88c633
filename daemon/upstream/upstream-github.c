/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-github.h"

#include "macro.h"
#include "upstream-identity.h"
#include "upstream-token.h"

#define GITHUB_ACCEPT "application/vnd.github+json"

static int api_url(const char *base, const char *path, char **ret) {
        size_t n = strlen(base);

        /* "https://api.github.com" or "…/api/v3/" (Enterprise) alike. */
        if (asprintf(ret, "%.*s%s", (int) (n > 0 && base[n - 1] == '/' ? n - 1 : n), base, path) < 0)
                return -ENOMEM;
        return 0;
}

/* The primary address, with GitHub's word on whether it is verified. */
static int primary_email(const UpstreamPreset *preset, json_t *emails, UpstreamIdentity *id) {
        json_t *entry;
        size_t i;

        json_array_foreach(emails, i, entry) {
                _cleanup_free_ char *email = NULL;

                if (!json_is_object(entry) || !json_is_true(json_object_get(entry, "primary")))
                        continue;
                email = upstream_claim_string(entry, preset->claim_email, UPSTREAM_FIELD_MAX);
                if (!email || !strchr(email, '@'))
                        continue;
                free(id->email);
                id->email = TAKE_PTR(email);
                id->email_verified = upstream_claim_true(entry, preset->claim_email_verified);
                return 0;
        }
        return 0;
}

int upstream_github_identity(const UpstreamLimits *limits, const UpstreamPreset *preset,
                             const UpstreamEndpoints *ep, const char *access_token, UpstreamIdentity *ret,
                             TesseraError *e) {
        _cleanup_(upstream_identity_done) UpstreamIdentity id = {};
        _cleanup_(json_decrefp) json_t *user = NULL, *emails = NULL;
        _cleanup_free_ char *user_url = NULL, *emails_url = NULL;
        int r;

        if ((r = api_url(ep->api, "/user", &user_url)) < 0 || (r = api_url(ep->api, "/user/emails", &emails_url)) < 0)
                return r;
        r = upstream_get_json(limits, "GitHub's /user", user_url, access_token, GITHUB_ACCEPT, JSON_OBJECT, &user, e);
        if (r < 0)
                return r;
        r = upstream_identity_from_claims(preset, user, &id, e);
        if (r < 0)
                return r;
        /* The address /user shows is the public one, verified or not:
         * only /user/emails says. */
        free(id.email);
        id.email = NULL;
        id.email_verified = false;

        r = upstream_get_json(limits, "GitHub's /user/emails", emails_url, access_token, GITHUB_ACCEPT, JSON_ARRAY,
                              &emails, e);
        if (r < 0)
                return r;
        r = primary_email(preset, emails, &id);
        if (r < 0)
                return r;
        *ret = id;
        id = (UpstreamIdentity) {};
        return 0;
}
