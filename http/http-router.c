/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The one route table of the HTTP face. 404 and 405 come from here, before
 * any handler runs. */

#include "http-internal.h"
#include "http-handlers.h"
#include "names.h"

const HttpRoute http_routes[] = {
        { "GET", "/healthz", http_handle_healthz },
        { "GET", "/readyz", http_handle_readyz },

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

/* Matches path against pattern; {tenant} takes one valid slug. */
static bool match(const char *pattern, const char *path, char tenant[static 64]) {
        const char *p = pattern, *q = path;

        while (*p && *q) {
                if (strneq(p, "{tenant}", 8)) {
                        size_t n = strcspn(q, "/");
                        char slug[64];

                        if (n == 0 || n >= sizeof(slug))
                                return false;
                        memcpy(slug, q, n);
                        slug[n] = '\0';
                        if (!valid_tenant_slug(slug))
                                return false;
                        memcpy(tenant, slug, n + 1);
                        p += 8;
                        q += n;
                        continue;
                }
                if (*p != *q)
                        return false;
                p++;
                q++;
        }
        return *p == '\0' && *q == '\0';
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
