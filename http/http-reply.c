/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>

#include "escape.h"
#include "http-internal.h"
#include "names.h"

/* No page of ours runs script or may be framed; styles are inline. */
#define HTML_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"

static void set_response(HttpRequest *req, unsigned status, char *body, size_t n, const char *content_type) {
        struct MHD_Response *r;

        if (req->response) {
                /* A second reply replaces the first (an error after a partial one). */
                MHD_destroy_response(req->response);
                req->response = NULL;
        }
        r = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return;
        }
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        (void) MHD_add_response_header(r, "X-Request-Id", req->id);
        (void) MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        (void) MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        req->response = r;
        req->status = status;
}

void http_reply_header(HttpRequest *req, const char *name, const char *value) {
        if (req->response)
                (void) MHD_add_response_header(req->response, name, value);
}

void http_reply_no_store(HttpRequest *req) {
        http_reply_header(req, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        http_reply_header(req, MHD_HTTP_HEADER_PRAGMA, "no-cache");
}

void http_reply_json_text(HttpRequest *req, unsigned status, char *text) {
        set_response(req, status, text, strlen(text), "application/json");
}

void http_reply_json(HttpRequest *req, unsigned status, json_t *body) {
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

        json_decref(body);
        if (!text) {
                /* Out of memory: a fixed reply that needs none. */
                text = strdup("{\"error\":\"Out of memory.\",\"code\":\"internal_error\",\"details\":{}}");
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                if (!text)
                        return;
        }
        set_response(req, status, text, strlen(text), "application/json");
}

static void reply_error_envelope(HttpRequest *req, unsigned status, const char *error, const char *code,
                                 const char *description, json_t *details) {
        char safe[ESCAPE_LOG_SIZE];
        json_t *body;

        /* A message that quotes the request can quote bytes that are not
         * UTF-8 (or cut a character in two): JSON cannot carry them, and
         * the reply would turn into a 500. Escaped, they can. */
        if (description && !utf8_is_valid(description))
                description = escape_text(description, safe, sizeof(safe));
        else if (!description && !utf8_is_valid(error))
                error = escape_text(error, safe, sizeof(safe));
        if (!details)
                details = json_object();
        if (details)
                json_object_set_new(details, "request_id", json_string(req->id));
        if (description)
                body = json_pack("{s:s, s:s, s:s, s:o*}", "error", error, "error_description", description, "code",
                                 code, "details", details);
        else
                body = json_pack("{s:s, s:s, s:o*}", "error", error, "code", code, "details", details);
        http_reply_json(req, status, body);
        http_reply_no_store(req);
}

void http_reply_error(HttpRequest *req, unsigned status, const char *code, json_t *details, const char *format, ...) {
        char message[512];
        va_list ap;

        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        reply_error_envelope(req, status, message, code, NULL, details);
}

void http_reply_oauth_error(HttpRequest *req, unsigned status, const char *oauth_error, const char *format, ...) {
        char message[512];
        va_list ap;

        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        reply_error_envelope(req, status, oauth_error, oauth_error, message, NULL);
}

void http_reply_html(HttpRequest *req, unsigned status, char *html) {
        if (!html) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        set_response(req, status, html, strlen(html), "text/html; charset=utf-8");
        http_reply_header(req, "Content-Security-Policy", HTML_CSP);
        http_reply_header(req, "X-Frame-Options", "DENY");
        http_reply_no_store(req);
}

void http_reply_text(HttpRequest *req, unsigned status, const char *content_type, char *text, size_t n) {
        if (!text) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        set_response(req, status, text, n, content_type);
}

void http_reply_redirect(HttpRequest *req, const char *url) {
        char *empty = strdup("");

        if (!empty) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        /* 303 after a form post, so the browser follows with GET. */
        set_response(req, streq(req->method, "POST") ? MHD_HTTP_SEE_OTHER : MHD_HTTP_FOUND, empty, 0,
                     "text/plain; charset=utf-8");
        http_reply_header(req, MHD_HTTP_HEADER_LOCATION, url);
        http_reply_no_store(req);
}
