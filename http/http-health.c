/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http-handlers.h"

void http_handle_healthz(HttpRequest *req) {
        /* Alive: this thread answered. */
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
        http_reply_no_store(req);
}

void http_handle_readyz(HttpRequest *req) {
        Store *s = http_store(req);
        int r = s ? store_ping(s) : -EIO;

        if (r < 0) {
                http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "store_unavailable", NULL,
                                 "The store does not answer: %s.", strerror(-r));
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:s}", "status", "ready", "store", "ok"));
        http_reply_no_store(req);
}
