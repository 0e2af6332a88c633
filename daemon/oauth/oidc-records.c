/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oidc-records.h"

#include <stdlib.h>
#include <strings.h>

ApplicationRecord *application_record_new(void) {
        ApplicationRecord *a = calloc(1, sizeof(ApplicationRecord));
        if (a)
                a->n_ref = 1;
        return a;
}

ApplicationRecord *application_record_ref(ApplicationRecord *a) {
        if (a)
                a->n_ref++;
        return a;
}

ApplicationRecord *application_record_unref(ApplicationRecord *a) {
        if (!a || --a->n_ref > 0)
                return NULL;
        free(a->tenant);
        free(a->name);
        free(a->client_id);
        strv_free(a->redirect_uris);
        strv_free(a->post_logout_redirect_uris);
        strv_free(a->allowed_origins);
        strv_free(a->grants);
        strv_free(a->scopes);
        explicit_bzero(a->secret_digest, sizeof(a->secret_digest));
        free(a);
        return NULL;
}

void application_record_array_free(ApplicationRecord **a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                application_record_unref(a[i]);
        free(a);
}

bool strv_contains(char * const *l, const char *s) {
        for (size_t i = 0; s && l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

bool application_has_grant(const ApplicationRecord *a, const char *grant) {
        return strv_contains(a->grants, grant);
}

bool application_allows_scope(const ApplicationRecord *a, const char *scope) {
        return strv_contains(a->scopes, scope);
}

bool application_has_redirect_uri(const ApplicationRecord *a, const char *uri) {
        /* Exact string match (RFC 9700 2.1): no prefix, no normalization. */
        return strv_contains(a->redirect_uris, uri);
}

bool application_has_post_logout_uri(const ApplicationRecord *a, const char *uri) {
        return strv_contains(a->post_logout_redirect_uris, uri);
}

bool application_allows_origin(const ApplicationRecord *a, const char *origin) {
        if (!origin)
                return false;
        STRV_FOREACH(o, a->allowed_origins)
                if (strcasecmp(*o, origin) == 0)
                        return true;
        return false;
}

void stored_signing_key_array_free(StoredSigningKey *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].kid);
                free(a[i].public_jwk);
                free(a[i].sealed);
        }
        free(a);
}

void authorization_code_done(AuthorizationCode *c) {
        free(c->redirect_uri);
        free(c->scope);
        free(c->nonce);
        free(c->code_challenge);
        free(c->issued_jti);
        free(c->issued_family);
        *c = (AuthorizationCode) {};
}

void refresh_token_done(RefreshToken *t) {
        free(t->scope);
        *t = (RefreshToken) {};
}

void refresh_family_array_free(RefreshFamily *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].application);
                free(a[i].client_id);
        }
        free(a);
}

int strv_split_spaces(const char *s, size_t max_items, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const char *p = s ? s : ""; *p;) {
                size_t len;
                char **nl;

                while (*p == ' ' || *p == '\n')
                        p++;
                if (!*p)
                        break;
                len = strcspn(p, " \n");
                if (n >= max_items)
                        return -E2BIG;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strndup(p, len);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
                p += len;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

char *strv_join_spaces(char * const *l) {
        size_t n = 1;
        char *s, *p;

        for (size_t i = 0; l && l[i]; i++)
                n += strlen(l[i]) + 1;
        s = p = malloc(n);
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0)
                        *p++ = ' ';
                p = stpcpy(p, l[i]);
        }
        return s;
}
