/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-scope.h"

#include <stdlib.h>
#include <string.h>

#include "application.h"

bool oauth_scope_has(const char *scope, const char *item) {
        size_t n = strlen(item);

        for (const char *p = scope; p && *p;) {
                size_t len = strcspn(p, " ");
                if (len == n && strneq(p, item, n))
                        return true;
                p += len;
                while (*p == ' ')
                        p++;
        }
        return false;
}

int oauth_scope_normalize(const ApplicationRecord *app, const char *requested, char **ret) {
        _cleanup_(strv_freep) char **items = NULL;
        char buf[1024] = "";
        int r;

        r = strv_split_spaces(requested, APPLICATION_MAX_SCOPES, &items);
        if (r < 0)
                return -EINVAL;
        STRV_FOREACH(i, items) {
                bool known = false;
                for (size_t k = 0; oidc_known_scopes[k]; k++)
                        known = known || streq(oidc_known_scopes[k], *i);
                if (!known || !application_allows_scope(app, *i))
                        return -EPERM;
        }
        for (size_t k = 0; oidc_known_scopes[k]; k++)
                if (strv_contains(items, oidc_known_scopes[k])) {
                        /* Each known scope once at most: all of them fit. */
                        if (strlen(buf) + 1 + strlen(oidc_known_scopes[k]) >= sizeof(buf))
                                return -E2BIG;
                        if (buf[0])
                                strcat(buf, " ");
                        strcat(buf, oidc_known_scopes[k]);
                }
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

bool oauth_scope_covers(const char *granted, const char *scope) {
        _cleanup_(strv_freep) char **l = NULL;

        if (strv_split_spaces(scope, APPLICATION_MAX_SCOPES, &l) < 0)
                return false;
        STRV_FOREACH(i, l)
                if (!oauth_scope_has(granted, *i))
                        return false;
        return true;
}
