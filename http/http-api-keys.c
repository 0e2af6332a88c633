/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's API keys: /api/v1/tenants/{tenant}/api-keys[/{key}
 * [/rotate]]: make a secret (tsk_) or publishable (tpk_) key, list them,
 * show one, revoke one, rotate one with an overlap. The key's text is in
 * the answer of create and rotate only; the store has its digest. The
 * door checked the route's action against the tenant; the core
 * (api-key.h) checks again and audits. */

#include <inttypes.h>

#include "api-key.h"
#include "http-handlers.h"
#include "http-list.h"
#include "time-util.h"

static json_t *key_json(const ApiKeyRecord *k) {
        char id[API_KEY_ID_LEN + 5], prefix[64], replaced_by[API_KEY_ID_LEN + 5];
        int64_t now = now_realtime_usec();
        _cleanup_(strv_freep) char **scopes = NULL;

        if (strv_split_spaces(k->scopes, API_KEY_MAX_SCOPES * 2, &scopes) < 0)
                return NULL;
        snprintf(prefix, sizeof(prefix), "%s_%s_%s", k->kind == API_KEY_SECRET ? "tsk" : "tpk", k->env, k->key_id);
        snprintf(replaced_by, sizeof(replaced_by), "key_%s", k->replaced_by);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
                         "id", api_key_public_id(k, id),
                         "type", api_key_kind_to_string(k->kind),
                         "env", k->env,
                         "name", strempty(k->name),
                         "prefix", prefix,
                         "scopes", api_strv_json(scopes),
                         "application", k->application ? json_string(k->application) : json_null(),
                         "tenant", k->tenant,
                         "state", api_key_state(k, now),
                         "created_at", http_json_time(k->created_usec),
                         "expires_at", http_json_time(k->expires_usec),
                         "revoked_at", http_json_time(k->revoked_usec),
                         "last_used_at", http_json_time(k->last_used_usec),
                         "replaced_by", k->replaced_by[0] ? json_string(replaced_by) : json_null());
}

/* The key and, once, its text. */
static void reply_key(HttpRequest *req, unsigned status, const ApiKeyRecord *k, const char *text) {
        json_t *j = key_json(k);

        if (j && text && json_object_set_new(j, "key", json_string(text)) < 0) {
                json_decref(j);
                j = NULL;
        }
        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, status, j);
        http_reply_no_store(req);
}

/* The key {key} of the request's tenant; replies 404 itself. */
static int lookup(HttpRequest *req, ApiKeyRecord **ret) {
        TesseraError e = {};
        int r;

        r = api_key_lookup(http_store(req), req->target.tenant, http_capture(req, "key"), ret, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        return r;
}

void api_handle_api_keys_list(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams q = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        ApiKeyRecord **keys = NULL;
        Cursor last = {};
        char scope[64];
        json_t *items;
        size_t n = 0;
        int r;

        if (http_list_query(req, NULL, &q) < 0)
                return;
        snprintf(scope, sizeof(scope), "api-keys:%" PRIi64, req->target.tenant->id);
        if (http_list_page(req, &q, scope, &page) < 0)
                return;
        r = store_api_key_page(http_store(req), req->target.tenant->id, page.has_cursor ? page.after.id : 0,
                               page.limit, &keys, &n);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, key_json(keys[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                last = (Cursor) { .id = keys[n - 1]->id };
        items = http_list_json(req, scope, items, &page, n > 0 ? &last : NULL);
        api_key_record_array_free(keys, n);
        if (!items) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, items);
        http_reply_no_store(req);
}

typedef struct CreateBody {
        char *type, *env, *name, *application;
        char **scopes;
        int64_t expires_in;
} CreateBody;

static const JsonField create_fields[] = {
        JSON_FIELD_STRING(CreateBody, type, "type", .max_len = 16),
        JSON_FIELD_STRING(CreateBody, env, "env", .max_len = API_KEY_ENV_MAX),
        JSON_FIELD_STRING(CreateBody, name, "name", .max_len = API_KEY_NAME_MAX),
        JSON_FIELD_STRINGS(CreateBody, scopes, "scopes", .max_len = API_KEY_MAX_SCOPES, .item_max_len = 64),
        JSON_FIELD_STRING(CreateBody, application, "application", .max_len = 64),
        JSON_FIELD_INTEGER(CreateBody, expires_in, "expires_in", .min = 60, .max = API_KEY_LIFETIME_MAX_SEC),
        {}
};
static const JsonSchema create_schema = { create_fields, sizeof(CreateBody) };

/* A key's refusal at creation or rotation: an unknown scope, environment
 * or application is the request's fault (422 with the field). */
static void reply_key_error(HttpRequest *req, int r, const TesseraError *e) {
        if (r == -EINVAL || r == -ERANGE || r == -E2BIG)
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, r == -ERANGE ? "out_of_range" : "invalid", NULL,
                                 "%s", tessera_error_message(e));
        else
                http_reply_errno(req, r, e);
}

void api_handle_api_key_create(HttpRequest *req) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL;
        _cleanup_(erase_and_freep) char *text = NULL;
        CreateBody b = {};
        ApiKeySpec spec;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &create_schema, &b) < 0)
                return;
        spec = (ApiKeySpec) {
                .kind = b.type ? api_key_kind_from_string(b.type) : API_KEY_SECRET,
                .env = b.env,
                .name = b.name,
                .scopes = b.scopes,
                .application = b.application,
                .lifetime_sec = b.expires_in,
        };
        if (spec.kind < 0) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", json_pack("{s:s}", "field", "type"),
                                 "A key's type is secret or publishable.");
                goto finish;
        }
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = api_key_create(req->manager, http_store(req), p, req->target.tenant, &spec, &k, &text, &e);
        if (r < 0)
                reply_key_error(req, r, &e);
        else
                reply_key(req, MHD_HTTP_CREATED, k, text);
finish:
        json_schema_done(&create_schema, &b);
}

void api_handle_api_key_get(HttpRequest *req) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL;

        if (lookup(req, &k) < 0)
                return;
        reply_key(req, MHD_HTTP_OK, k, NULL);
}

void api_handle_api_key_revoke(HttpRequest *req) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL, *revoked = NULL;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0 || lookup(req, &k) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = api_key_revoke(req->manager, http_store(req), p, k, &e);
        if (r >= 0)
                r = store_api_key_get_by_key_id(http_store(req), k->key_id, &revoked);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_key(req, MHD_HTTP_OK, revoked, NULL);
}

typedef struct RotateBody {
        int64_t overlap_seconds;
} RotateBody;

static const JsonField rotate_fields[] = {
        JSON_FIELD_INTEGER(RotateBody, overlap_seconds, "overlap_seconds", .min = 0, .max = API_KEY_OVERLAP_MAX_SEC),
        {}
};
static const JsonSchema rotate_schema = { rotate_fields, sizeof(RotateBody) };

void api_handle_api_key_rotate(HttpRequest *req) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL, *n = NULL;
        _cleanup_(erase_and_freep) char *text = NULL;
        RotateBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (req->body_size > 0 && http_json_body(req, &rotate_schema, &b) < 0)
                return;
        if (lookup(req, &k) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = api_key_rotate(req->manager, http_store(req), p, k, b.overlap_seconds, &n, &text, &e);
        if (r < 0)
                reply_key_error(req, r, &e);
        else
                reply_key(req, MHD_HTTP_CREATED, n, text);
}
