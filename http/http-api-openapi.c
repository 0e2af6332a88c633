/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* GET /api/v1/openapi.json: the OpenAPI 3.1 document of the JSON API,
 * http/openapi.json as built into this daemon (tools/embed-json.py). The
 * unit test test-http-openapi checks that it documents exactly the routes
 * of the table; the HTTP tests check their answers against it. */

#include <stdlib.h>
#include <string.h>

#include "http-handlers.h"
#include "http-openapi.h"

void api_handle_openapi(HttpRequest *req) {
        char *text = malloc(http_openapi_json_len);

        if (text)
                memcpy(text, http_openapi_json, http_openapi_json_len);
        http_reply_text(req, MHD_HTTP_OK, "application/json", text, http_openapi_json_len);
        /* It changes only with the daemon. */
        http_reply_header(req, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=300");
}
