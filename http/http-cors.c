/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* CORS preflights of the routes a publishable key may call from a
 * browser (end-user sign-in, its MFA step and refresh; sign-up when it
 * comes): a page of another origin asks, without credentials, whether it
 * may POST here with X-API-Key. The answer allows exactly the origins the
 * tenant's applications list (allowed_origins); the request that follows
 * is checked again against its own key's application (http-principal.c),
 * and its answer carries Access-Control-Allow-Origin then (http-server.c).
 * Routes no publishable key may use have no preflight route: 405. */

#include "http-handlers.h"
#include "store-oidc.h"

/* How long a browser may keep the answer, in seconds. */
#define PREFLIGHT_MAX_AGE "600"

void api_handle_cors_preflight(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        const char *origin = http_header(req, "Origin"), *method = http_header(req, "Access-Control-Request-Method");
        ApplicationRecord **apps = NULL;
        Store *s = http_store(req);
        bool allowed = false;
        size_t n = 0;
        int r;

        if (!origin || !method) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
                                 "A CORS preflight sends Origin and Access-Control-Request-Method.");
                return;
        }
        if (!streq(method, "POST")) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
                                 "Only POST is served to other origins here.");
                return;
        }
        if (http_tenant(req, &t) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        r = store_application_list(s, t->id, &apps, &n);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        for (size_t i = 0; i < n && !allowed; i++)
                allowed = application_allows_origin(apps[i], origin);
        application_record_array_free(apps, n);
        if (!allowed) {
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "origin_not_allowed", NULL,
                                 "No application of this tenant lists this origin in its allowed_origins.");
                http_reply_header(req, "Vary", "Origin");
                return;
        }
        http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain; charset=utf-8", strdup(""), 0);
        http_reply_header(req, "Access-Control-Allow-Origin", origin);
        http_reply_header(req, "Access-Control-Allow-Methods", "POST");
        http_reply_header(req, "Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key");
        http_reply_header(req, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
        http_reply_header(req, "Vary", "Origin");
}
