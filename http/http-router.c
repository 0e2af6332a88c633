/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The one route table of the HTTP face. 404 and 405 come from here, before
 * any handler runs. */

#include "http-internal.h"
#include "http-handlers.h"
#include "names.h"

const HttpRoute http_routes[] = {
        { "GET", "/healthz", http_handle_healthz },
        { "GET", "/readyz", http_handle_readyz },
        { "GET", "/metrics", http_handle_metrics },

        { "GET", "/t/{tenant}/.well-known/openid-configuration", oidc_handle_discovery },
        { "GET", "/t/{tenant}/jwks", oidc_handle_jwks },
        { "GET", "/t/{tenant}/authorize", oidc_handle_authorize },
        { "POST", "/t/{tenant}/authorize", oidc_handle_authorize },
        { "POST", "/t/{tenant}/login", oidc_handle_login },
        { "POST", "/t/{tenant}/login/totp", oidc_handle_login_totp },
        { "POST", "/t/{tenant}/consent", oidc_handle_consent },
        { "POST", "/t/{tenant}/token", oidc_handle_token },
        { "GET", "/t/{tenant}/userinfo", oidc_handle_userinfo },
        { "POST", "/t/{tenant}/userinfo", oidc_handle_userinfo },
        { "POST", "/t/{tenant}/revoke", oidc_handle_revoke },
        { "POST", "/t/{tenant}/introspect", oidc_handle_introspect },
        { "GET", "/t/{tenant}/logout", oidc_handle_logout },
        { "POST", "/t/{tenant}/logout", oidc_handle_logout },
        {},
};

bool http_method_valid(const char *method) {
        size_t n = 0;

        /* tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "."
         * / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
        for (; method && method[n]; n++) {
                char c = method[n];

                if (n >= 32 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                 strchr("!#$%&'*+-.^_`|~", c)))
                        return false;
        }
        return n > 0;
}

/* Matches path against pattern; {tenant} takes one valid slug (checked
 * last, once the rest matched: the table is walked for every request). */
static bool match(const char *pattern, const char *path, char tenant[static 64]) {
        const char *p = pattern, *q = path, *slug = NULL;
        size_t slug_len = 0;

        while (*p && *q) {
                if (strneq(p, "{tenant}", 8)) {
                        slug = q;
                        slug_len = strcspn(q, "/");
                        if (slug_len == 0 || slug_len >= 64)
                                return false;
                        p += 8;
                        q += slug_len;
                        continue;
                }
                if (*p != *q)
                        return false;
                p++;
                q++;
        }
        if (*p != '\0' || *q != '\0')
                return false;
        if (slug) {
                char s[64];

                memcpy(s, slug, slug_len);
                s[slug_len] = '\0';
                if (!valid_tenant_slug(s))
                        return false;
                memcpy(tenant, s, slug_len + 1);
        }
        return true;
}

int http_route_find(HttpRequest *req, const char *method, const char *path, char *allow, size_t allow_size) {
        bool path_matched = false;
        char tenant[64] = "";

        allow[0] = '\0';
        for (const HttpRoute *r = http_routes; r->method; r++) {
                if (!match(r->pattern, path, tenant))
                        continue;
                if (streq(r->method, method)) {
                        req->route = r;
                        snprintf(req->tenant_slug, sizeof(req->tenant_slug), "%s", tenant);
                        return 0;
                }
                if (!strstr(allow, r->method)) {
                        size_t n = strlen(allow);
                        snprintf(allow + n, allow_size - n, "%s%s", n > 0 ? ", " : "", r->method);
                }
                path_matched = true;
        }
        return path_matched ? -EOPNOTSUPP : -ENOENT;
}
