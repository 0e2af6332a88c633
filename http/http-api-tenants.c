/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's tenants: /api/v1/tenants/{tenant}. The tenant was looked
 * up, and the request authorized (tenant.read), before the handler runs. */

#include "http-handlers.h"

static json_t *tenant_json(const TenantRecord *t) {
        return json_pack("{s:s, s:s, s:{s:I, s:I}, s:o, s:o}",
                         "slug", t->slug,
                         "display_name", strempty(t->display_name),
                         "unix_ids", "first", (json_int_t) t->id_min, "last", (json_int_t) t->id_max,
                         "created_at", http_json_time(t->created_usec),
                         "updated_at", http_json_time(t->changed_usec));
}

void api_handle_tenant_get(HttpRequest *req) {
        http_reply_json(req, MHD_HTTP_OK, tenant_json(req->target.tenant));
        http_reply_no_store(req);
}
