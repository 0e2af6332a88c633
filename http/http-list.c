/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "http-list.h"
#include "manager.h"

void http_list_page_done(HttpListPage *p) {
        cursor_done(&p->after);
        p->has_cursor = false;
}

static bool known_parameter(const char *key, const char *const *filters) {
        if (streq(key, "limit") || streq(key, "cursor"))
                return true;
        for (size_t i = 0; filters && filters[i]; i++)
                if (streq(key, filters[i]))
                        return true;
        return false;
}

int http_list_query(HttpRequest *req, const char *const *filters, HttpParams *ret) {
        int r;

        r = http_query_params(req, ret);
        if (r < 0) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", NULL, "%s",
                                 r == -ENOTUNIQ ? "A query parameter was given twice."
                                 : r == -E2BIG  ? "The query string is too long or has too many parameters."
                                                : "The query string is not valid UTF-8 without NUL.");
                return r;
        }
        for (size_t i = 0; i < ret->n; i++)
                if (!known_parameter(ret->items[i].key, filters)) {
                        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "unknown_field",
                                         json_pack("{s:s}", "field", ret->items[i].key),
                                         "Unknown query parameter '%.64s'.", ret->items[i].key);
                        return -EINVAL;
                }
        return 0;
}

int http_list_page(HttpRequest *req, const HttpParams *q, const char *scope, HttpListPage *ret) {
        HttpListPage page = {};
        const char *c;
        int r;

        r = cursor_limit_parse(http_params_get(q, "limit"), &page.limit);
        if (r < 0) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_limit",
                                 json_pack("{s:s, s:i, s:i}", "field", "limit", "min", 1, "max", CURSOR_LIMIT_MAX),
                                 "limit must be a whole number from 1 to %u.", CURSOR_LIMIT_MAX);
                return r;
        }

        c = http_params_get(q, "cursor");
        if (c) {
                r = cursor_decode(req->manager->secret_key, scope, c, &page.after);
                if (r == -EBADMSG) {
                        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_cursor",
                                         json_pack("{s:s}", "field", "cursor"),
                                         "The cursor is not one this list gave out for this query.");
                        return r;
                }
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return r;
                }
                page.has_cursor = true;
        }

        *ret = page;
        return 0;
}

json_t *http_list_json(HttpRequest *req, const char *scope, json_t *items, const HttpListPage *page,
                       const Cursor *last) {
        _cleanup_free_ char *next = NULL;

        if (!items)
                return NULL;
        /* A full page may have a successor; a short one is the end. One more
         * empty page at the end is cheaper than counting. */
        if (last && json_array_size(items) >= page->limit &&
            cursor_encode(req->manager->secret_key, scope, last, &next) < 0) {
                json_decref(items);
                return NULL;
        }
        return json_pack("{s:o, s:o}", "items", items, "next_cursor", next ? json_string(next) : json_null());
}
