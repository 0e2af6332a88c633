/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The JSON API's paginated lists: `?limit=&cursor=` in, `{"items": [...],
 * "next_cursor": ...}` out (DESIGN.md, "HTTP API"); the position codec is
 * the core's (core/cursor.h). */

#include <jansson.h>
#include <stdbool.h>

#include "cursor.h"
#include "http-internal.h"

typedef struct HttpListPage {
        unsigned limit;
        bool has_cursor;            /* false: the first page */
        Cursor after;               /* the position to continue after */
} HttpListPage;

void http_list_page_done(HttpListPage *p);

/* The query string of a list: each parameter once, as UTF-8, and none but
 * limit, cursor and the list's filters (NULL-terminated; NULL: none). On
 * bad input it replies itself (400 bad_request; an unknown parameter 400
 * unknown_field with details.field) and returns < 0. */
int http_list_query(HttpRequest *req, const char *const *filters, HttpParams *ret);

/* Reads `limit` and `cursor` from q for the list named by scope (the list
 * and its filters, as core/cursor.h says). On bad input it replies itself
 * (400 invalid_limit, 400 invalid_cursor) and returns < 0. */
int http_list_page(HttpRequest *req, const HttpParams *q, const char *scope, HttpListPage *ret);

/* The answer {"items": items, "next_cursor": ...}: the cursor after last
 * when the page came back full (there may be more), else null. Takes items. */
json_t *http_list_json(HttpRequest *req, const char *scope, json_t *items, const HttpListPage *page,
                       const Cursor *last);
