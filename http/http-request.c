/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdlib.h>

#include "http-internal.h"
#include "names.h"
#include "oidc-records.h"
#include "store-oidc.h"

HttpRequest *http_request_alloc(const char *path, size_t n) {
        /* The path, its NUL, and as much again for the captures. */
        HttpRequest *req = calloc(1, sizeof(HttpRequest) + 2 * (n + 1));

        if (!req)
                return NULL;
        memcpy(req->raw_path, path, n);
        req->raw_path_len = n;
        return req;
}

void http_params_done(HttpParams *p) {
        for (size_t i = 0; i < p->n; i++) {
                erase_and_free(p->items[i].key);
                erase_and_free(p->items[i].value);
        }
        p->n = 0;
}

const char *http_params_get(const HttpParams *p, const char *key) {
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->items[i].key, key))
                        return p->items[i].value;
        return NULL;
}

/* Takes key and value. */
static int params_add(HttpParams *p, char *key, char *value) {
        if (http_params_get(p, key))
                p->duplicate = true;
        if (p->n >= HTTP_MAX_PARAMS || strlen(value) > HTTP_PARAM_MAX_LEN || strlen(key) > 256) {
                p->too_many = true;
                erase_and_free(key);
                erase_and_free(value);
                return -E2BIG;
        }
        p->items[p->n++] = (HttpParam) { .key = key, .value = value };
        return 0;
}

const char *http_header(HttpRequest *req, const char *name) {
        return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *http_cookie(HttpRequest *req, const char *name) {
        return MHD_lookup_connection_value(req->connection, MHD_COOKIE_KIND, name);
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                const char *value, size_t value_size) {
        HttpParams *p = cls;
        char *k, *v;

        /* MHD decodes the escapes but checks nothing: hold the query to
         * what http_url_decode() holds a form to, no NUL and only UTF-8,
         * before a value goes into a page, a JSON reply or a token. */
        if (strlen(key) != key_size || !utf8_is_valid(key) ||
            (value && (strlen(value) != value_size || !utf8_is_valid(value)))) {
                p->malformed = true;
                return MHD_NO;
        }
        k = strdup(key);
        v = strdup(value ?: "");
        if (!k || !v) {
                free(k);
                free(v);
                p->too_many = true;
                return MHD_NO;
        }
        (void) params_add(p, k, v);
        return MHD_YES;
}

int http_query_params(HttpRequest *req, HttpParams *ret) {
        *ret = (HttpParams) {};
        MHD_get_connection_values_n(req->connection, MHD_GET_ARGUMENT_KIND, add_query, ret);
        if (ret->too_many)
                return -E2BIG;
        if (ret->malformed)
                return -EINVAL;
        return ret->duplicate ? -ENOTUNIQ : 0;
}

static int unhex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int http_url_decode(const char *s, size_t n, char **ret) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '+')
                        *o++ = ' ';
                else if (s[i] == '%') {
                        int a, b;
                        if (i + 2 >= n) {
                                free(out);
                                return -EINVAL;
                        }
                        a = unhex(s[i + 1]);
                        b = unhex(s[i + 2]);
                        if (a < 0 || b < 0 || (a == 0 && b == 0)) {
                                free(out);
                                return -EINVAL;
                        }
                        *o++ = (char) (a << 4 | b);
                        i += 2;
                } else
                        *o++ = s[i];
        }
        *o = '\0';
        if (!utf8_is_valid(out)) {
                erase_and_free(out);
                return -EINVAL;
        }
        *ret = out;
        return 0;
}

int http_parse_urlencoded(const char *s, size_t n, HttpParams *ret) {
        size_t i = 0;
        int r;

        *ret = (HttpParams) {};
        while (i < n) {
                size_t end = i, eq;
                char *k = NULL, *v = NULL;

                while (end < n && s[end] != '&')
                        end++;
                if (end == i) {
                        i++;
                        continue;
                }
                for (eq = i; eq < end && s[eq] != '='; eq++)
                        ;
                r = http_url_decode(s + i, eq - i, &k);
                if (r >= 0)
                        r = http_url_decode(s + MIN(eq + 1, end), eq < end ? end - eq - 1 : 0, &v);
                if (r < 0 || isempty(k)) {
                        erase_and_free(k);
                        erase_and_free(v);
                        http_params_done(ret);
                        return -EINVAL;
                }
                r = params_add(ret, k, v);
                if (r < 0) {
                        http_params_done(ret);
                        return r;
                }
                i = end + 1;
        }
        return ret->duplicate ? -ENOTUNIQ : 0;
}

static bool content_type_is(const char *ct, const char *type) {
        size_t n = strlen(type);
        return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int json_params(HttpRequest *req, const char *const *allowed, HttpParams *ret) {
        json_error_t err;
        const char *key;
        json_t *j, *v;

        *ret = (HttpParams) {};
        j = json_loadb(req->body ?: "", req->body_size, JSON_REJECT_DUPLICATES, &err);
        if (!j) {
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                       "Malformed JSON at line %d, column %d: %s.", err.line, err.column, err.text);
                return -EINVAL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request", "The JSON body must be an object.");
                return -EINVAL;
        }
        json_object_foreach(j, key, v) {
                bool known = false;
                char *k, *s;

                for (size_t i = 0; allowed && allowed[i]; i++)
                        known = known || streq(allowed[i], key);
                if (!known || !json_is_string(v)) {
                        http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                               known ? "Field '%.64s' must be a string."
                                                     : "Unknown field '%.64s' in the JSON body.", key);
                        json_decref(j);
                        http_params_done(ret);
                        return -EINVAL;
                }
                k = strdup(key);
                s = strdup(json_string_value(v));
                if (!k || !s || params_add(ret, k, s) < 0) {
                        if (!k || !s) {
                                free(k);
                                erase_and_free(s);
                        }
                        json_decref(j);
                        http_params_done(ret);
                        http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request", "Too many or too long fields.");
                        return -E2BIG;
                }
        }
        json_decref(j);
        return 0;
}

int http_body_params(HttpRequest *req, const char *const *json_allowed, HttpParams *ret) {
        const char *ct = http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
        int r;

        if (json_allowed && content_type_is(ct, "application/json"))
                return json_params(req, json_allowed, ret);
        if (!content_type_is(ct, "application/x-www-form-urlencoded")) {
                http_reply_oauth_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "invalid_request",
                                       "Send the parameters as application/x-www-form-urlencoded%s.",
                                       json_allowed ? " (or a JSON object)" : "");
                *ret = (HttpParams) {};
                return -EINVAL;
        }
        r = http_parse_urlencoded(req->body ?: "", req->body_size, ret);
        if (r == -ENOTUNIQ)
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                       "A parameter was given more than once.");
        else if (r == -E2BIG)
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request", "Too many or too long parameters.");
        else if (r < 0)
                http_reply_oauth_error(req, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                       "Malformed form data (bad percent-encoding or not UTF-8).");
        if (r < 0)
                http_params_done(ret);
        return r;
}

char *http_url_encode(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        char *out = malloc(strlen(s) * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
                        *o++ = (char) *p;
                else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        *o = '\0';
        return out;
}

int http_params_encode(const HttpParams *p, char **ret) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++) {
                _cleanup_free_ char *k = http_url_encode(p->items[i].key), *v = http_url_encode(p->items[i].value);
                if (!k || !v) {
                        fclose(f);
                        free(out);
                        return -ENOMEM;
                }
                fprintf(f, "%s%s=%s", i > 0 ? "&" : "", k, v);
        }
        if (fclose(f) != 0) {
                free(out);
                return -ENOMEM;
        }
        *ret = out;
        return 0;
}

int http_tenant_lookup(HttpRequest *req, const char *slug, TenantRecord **ret) {
        /* Without a store (http_store() logged why) the cache may still
         * know the tenant (oauth_cache_tenant()). */
        return oauth_cache_tenant(&req->thread->oauth, req->manager, http_store(req), slug, ret);
}

int http_tenant(HttpRequest *req, TenantRecord **ret) {
        int r = http_tenant_lookup(req, req->tenant_slug, ret);

        if (r == -ENOENT) {
                http_reply_error(req, MHD_HTTP_NOT_FOUND, "unknown_tenant", NULL, "There is no tenant '%s'.",
                                 req->tenant_slug);
                return r;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return r;
        }
        return 0;
}
