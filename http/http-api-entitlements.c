/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A tenant's entitlements and usage over the JSON API (entitlement.h):
 * GET/PUT /api/v1/tenants/{tenant}/entitlements (limits and features; PUT
 * replaces them), GET .../usage (the counters) and POST
 * .../usage/{counter}/increment {by, idempotency_key}. The door checked
 * the route's action; the core checks again, enforces and audits. */

#include <inttypes.h>
#include <stdlib.h>

#include "entitlement.h"
#include "http-handlers.h"

static json_t *entitlements_json(const Entitlements *x) {
        json_t *features = json_array();

        for (size_t i = 0; features && x->features && x->features[i]; i++)
                if (json_array_append_new(features, json_string(x->features[i])) < 0) {
                        json_decref(features);
                        return NULL;
                }
        if (!features)
                return NULL;
        return json_pack("{s:o, s:o, s:o, s:o}",
                         "max_users", x->max_users >= 0 ? json_integer(x->max_users) : json_null(),
                         "max_applications", x->max_applications >= 0 ? json_integer(x->max_applications) : json_null(),
                         "features", features,
                         "updated_at", http_json_time(x->changed_usec));
}

/* The version for If-Match: it changes with every write. */
static void etag_of(const Entitlements *x, char buf[static 40]) {
        snprintf(buf, 40, "\"%" PRIi64 "\"", x->changed_usec);
}

static void reply_entitlements(HttpRequest *req, const Entitlements *x) {
        json_t *j = entitlements_json(x);
        char etag[40];

        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, j);
        http_reply_no_store(req);
        etag_of(x, etag);
        http_reply_header(req, MHD_HTTP_HEADER_ETAG, etag);
}

void api_handle_entitlements_get(HttpRequest *req) {
        _cleanup_(entitlements_done) Entitlements x = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        r = http_request_principal(req, &p);
        if (r >= 0)
                r = entitlements_get(req->manager, http_store(req), p, req->target.tenant, &x, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_entitlements(req, &x);
}

typedef struct EntitlementsBody {
        int64_t max_users;
        int64_t max_applications;
        char **features;
} EntitlementsBody;

/* A limit absent or null is none: the defaults (-1) stay, since null
 * leaves a nullable field as it was. */
static const JsonField entitlements_fields[] = {
        JSON_FIELD_INTEGER(EntitlementsBody, max_users, "max_users", .nullable = true, .min = 0,
                           .max = INT64_C(1000000000)),
        JSON_FIELD_INTEGER(EntitlementsBody, max_applications, "max_applications", .nullable = true, .min = 0,
                           .max = INT64_C(1000000)),
        JSON_FIELD_STRINGS(EntitlementsBody, features, "features", .max_len = ENTITLEMENT_FEATURES_MAX,
                           .item_max_len = ENTITLEMENT_FEATURE_MAX_LEN),
        {}
};
static const JsonSchema entitlements_schema = { entitlements_fields, sizeof(EntitlementsBody) };

void api_handle_entitlements_put(HttpRequest *req) {
        _cleanup_(entitlements_done) Entitlements stored = {};
        EntitlementsBody b = { .max_users = -1, .max_applications = -1 };
        const char *if_match = http_header(req, MHD_HTTP_HEADER_IF_MATCH);
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &entitlements_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0 && if_match && !streq(if_match, "*")) {
                /* A client that read them may ask that they have not
                 * changed since (a stale one: 412, nothing written). */
                _cleanup_(entitlements_done) Entitlements current = {};
                char etag[40];

                r = entitlements_get(req->manager, http_store(req), p, req->target.tenant, &current, &e);
                if (r >= 0) {
                        etag_of(&current, etag);
                        if (!strstr(if_match, etag))
                                r = tessera_error_set(&e, -ESTALE, "The entitlements changed since they were read "
                                                                   "(If-Match); read them again.");
                }
        }
        if (r >= 0) {
                Entitlements spec = { .max_users = b.max_users, .max_applications = b.max_applications,
                                      .features = b.features };

                r = entitlements_set(req->manager, http_store(req), p, req->target.tenant, &spec, &stored, &e);
        }
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_entitlements(req, &stored);
        json_schema_done(&entitlements_schema, &b);
}

void api_handle_usage_list(HttpRequest *req) {
        UsageCounter *list = NULL;
        const Principal *p;
        TesseraError e = {};
        json_t *items;
        size_t n = 0;
        int r;

        r = http_request_principal(req, &p);
        if (r >= 0)
                r = usage_list(req->manager, http_store(req), p, req->target.tenant, &list, &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, json_pack("{s:s, s:I, s:o}", "counter", list[i].name, "value",
                                                           (json_int_t) list[i].value, "updated_at",
                                                           http_json_time(list[i].changed_usec))) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        usage_counter_array_free(list, n);
        if (!items) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        /* A tenant's counters are few (names its programs chose): one page. */
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
        http_reply_no_store(req);
}

typedef struct IncrementBody {
        int64_t by;
        char *idempotency_key;
} IncrementBody;

static const JsonField increment_fields[] = {
        JSON_FIELD_INTEGER(IncrementBody, by, "by", .min = 1, .max = USAGE_AMOUNT_MAX),
        JSON_FIELD_STRING(IncrementBody, idempotency_key, "idempotency_key", .max_len = USAGE_KEY_MAX_LEN),
        {}
};
static const JsonSchema increment_schema = { increment_fields, sizeof(IncrementBody) };

void api_handle_usage_increment(HttpRequest *req) {
        const char *counter = http_capture(req, "counter");
        IncrementBody b = { .by = 1 };
        const Principal *p;
        TesseraError e = {};
        bool replayed = false;
        int64_t value = 0;
        int r;

        if (req->body_size > 0 && http_json_body(req, &increment_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = usage_increment(req->manager, http_store(req), p, req->target.tenant, counter, b.by,
                                    b.idempotency_key, &value, &replayed, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:I, s:b}", "counter", counter, "value",
                                                            (json_int_t) value, "replayed", replayed));
        json_schema_done(&increment_schema, &b);
}
