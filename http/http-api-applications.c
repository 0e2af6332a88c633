/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's applications (OAuth clients): /api/v1/tenants/{tenant}/
 * applications[/{app}[/rotate-secret]], the D-Bus operations over REST.
 * The door checked the route's action against the tenant; the core
 * operations (application.h) check again against the application itself,
 * validate, and audit. An application is addressed by its name. */

#include <inttypes.h>

#include "application.h"
#include "http-handlers.h"
#include "http-list.h"
#include "store-oidc.h"

json_t *api_strv_json(char **l) {
        json_t *a = json_array();

        STRV_FOREACH(s, l)
                if (!a || json_array_append_new(a, json_string(*s)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *application_json(const ApplicationRecord *a) {
        return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o}",
                         "name", a->name,
                         "tenant", a->tenant,
                         "client_id", a->client_id,
                         "public_client", a->public_client,
                         "has_secret", a->has_secret,
                         "first_party", a->first_party,
                         "pkce_optional", a->pkce_optional,
                         "redirect_uris", api_strv_json(a->redirect_uris),
                         "post_logout_redirect_uris", api_strv_json(a->post_logout_redirect_uris),
                         "grants", api_strv_json(a->grants),
                         "scopes", api_strv_json(a->scopes),
                         "allowed_origins", api_strv_json(a->allowed_origins),
                         "signing_alg", jwt_alg_to_string(a->signing_alg),
                         "secret_changed_at", http_json_time(a->has_secret ? a->secret_changed_usec : 0),
                         "created_at", http_json_time(a->created_usec),
                         "updated_at", http_json_time(a->changed_usec));
}

/* The record's version for If-Match: it changes with every write. */
static void etag_of(const ApplicationRecord *a, char buf[static 40]) {
        snprintf(buf, 40, "\"%" PRIi64 "\"", a->changed_usec);
}

static void reply_application(HttpRequest *req, unsigned status, const ApplicationRecord *a, const char *secret) {
        json_t *j = application_json(a);
        char etag[40];

        if (j && secret && json_object_set_new(j, "client_secret", json_string(secret)) < 0) {
                json_decref(j);
                j = NULL;
        }
        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, status, j);
        http_reply_no_store(req);
        etag_of(a, etag);
        http_reply_header(req, MHD_HTTP_HEADER_ETAG, etag);
}

/* The application {app} of the request's tenant; replies 404 (or 422 for
 * a name that can be none) itself. */
static int lookup(HttpRequest *req, ApplicationRecord **ret) {
        TesseraError e = {};
        int r;

        r = application_lookup(req->manager, http_store(req), req->tenant_slug, http_capture(req, "app"), ret, &e);
        if (r == -EINVAL)
                r = tessera_error_set(&e, -ENOENT, "No such application.");
        if (r < 0)
                http_reply_errno(req, r, &e);
        return r;
}

typedef struct ApplicationBody {
        char *name;
        char **redirect_uris, **post_logout_redirect_uris, **grants, **scopes, **allowed_origins;
        bool public_client, first_party, pkce_optional;
        bool has_public_client, has_first_party, has_pkce_optional;
        char *signing_alg;
} ApplicationBody;

#define URI_LIST(member, json_name)                                                                          \
        JSON_FIELD_STRINGS(ApplicationBody, member, json_name, .max_len = APPLICATION_MAX_REDIRECT_URIS,    \
                           .item_max_len = APPLICATION_URI_MAX_LEN)
#define COMMON_FIELDS                                                                                         \
        URI_LIST(redirect_uris, "redirect_uris"), URI_LIST(post_logout_redirect_uris, "post_logout_redirect_uris"), \
        JSON_FIELD_STRINGS(ApplicationBody, grants, "grants", .max_len = 8, .item_max_len = 64),           \
        JSON_FIELD_STRINGS(ApplicationBody, scopes, "scopes", .max_len = APPLICATION_MAX_SCOPES,           \
                           .item_max_len = 64),                                                              \
        JSON_FIELD_STRINGS(ApplicationBody, allowed_origins, "allowed_origins",                            \
                           .max_len = APPLICATION_MAX_ORIGINS, .item_max_len = 256),                        \
        JSON_FIELD_BOOLEAN(ApplicationBody, first_party, "first_party",                                      \
                           .present = JSON_PRESENT(ApplicationBody, has_first_party)),                       \
        JSON_FIELD_BOOLEAN(ApplicationBody, pkce_optional, "pkce_optional",                                  \
                           .present = JSON_PRESENT(ApplicationBody, has_pkce_optional)),                     \
        JSON_FIELD_STRING(ApplicationBody, signing_alg, "signing_alg", .max_len = 16)

static const JsonField create_fields[] = {
        JSON_FIELD_STRING(ApplicationBody, name, "name", .required = true, .max_len = 64),
        JSON_FIELD_BOOLEAN(ApplicationBody, public_client, "public_client",
                           .present = JSON_PRESENT(ApplicationBody, has_public_client)),
        COMMON_FIELDS,
        {}
};
static const JsonSchema create_schema = { create_fields, sizeof(ApplicationBody) };

/* Whether a client is public is chosen once: a new application instead. */
static const JsonField update_fields[] = { COMMON_FIELDS, {} };
static const JsonSchema update_schema = { update_fields, sizeof(ApplicationBody) };

/* The body as the core's spec (borrowing its lists); 0, or < 0 replied. */
static int body_spec(HttpRequest *req, const ApplicationBody *b, ApplicationSpec *ret) {
        ApplicationSpec spec = APPLICATION_SPEC_INIT;

        spec.redirect_uris = b->redirect_uris;
        spec.post_logout_redirect_uris = b->post_logout_redirect_uris;
        spec.grants = b->grants;
        spec.scopes = b->scopes;
        spec.allowed_origins = b->allowed_origins;
        if (b->has_public_client)
                spec.public_client = b->public_client;
        if (b->has_first_party)
                spec.first_party = b->first_party;
        if (b->has_pkce_optional)
                spec.pkce_optional = b->pkce_optional;
        if (b->signing_alg) {
                spec.signing_alg = jwt_alg_from_string(b->signing_alg);
                if (spec.signing_alg < 0) {
                        http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                                         json_pack("{s:s}", "field", "signing_alg"),
                                         "Unknown signing algorithm; use RS256 or ES256.");
                        return -EINVAL;
                }
        }
        *ret = spec;
        return 0;
}

void api_handle_applications_list(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams q = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        ApplicationRecord **apps = NULL;
        Cursor last = {};
        char scope[64];
        json_t *items;
        size_t n = 0;
        int r;

        if (http_list_query(req, NULL, &q) < 0)
                return;
        snprintf(scope, sizeof(scope), "applications:%" PRIi64, req->target.tenant->id);
        if (http_list_page(req, &q, scope, &page) < 0)
                return;
        r = store_application_page(http_store(req), req->target.tenant->id, page.after.text, page.limit, &apps, &n);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, application_json(apps[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                last = (Cursor) { .text = apps[n - 1]->name, .id = apps[n - 1]->id };
        items = http_list_json(req, scope, items, &page, n > 0 ? &last : NULL);
        application_record_array_free(apps, n);
        if (!items) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, items);
        http_reply_no_store(req);
}

void api_handle_application_create(HttpRequest *req) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(erase_and_freep) char *secret = NULL;
        ApplicationBody b = {};
        ApplicationSpec spec;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &create_schema, &b) < 0)
                return;
        if (body_spec(req, &b, &spec) < 0)
                goto finish;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = application_create(req->manager, http_store(req), p, req->target.tenant, b.name, &spec, &app,
                                       &secret, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_application(req, MHD_HTTP_CREATED, app, secret);
finish:
        json_schema_done(&create_schema, &b);
}

void api_handle_application_get(HttpRequest *req) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;

        if (lookup(req, &app) < 0)
                return;
        reply_application(req, MHD_HTTP_OK, app, NULL);
}

void api_handle_application_update(HttpRequest *req) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL, *updated = NULL;
        const char *if_match = http_header(req, MHD_HTTP_HEADER_IF_MATCH);
        ApplicationBody b = {};
        ApplicationSpec spec;
        const Principal *p;
        TesseraError e = {};
        char etag[40];
        int r;

        if (http_json_body(req, &update_schema, &b) < 0)
                return;
        if (body_spec(req, &b, &spec) < 0 || lookup(req, &app) < 0)
                goto finish;
        /* A client that read the application may ask that it has not
         * changed since ("*" matches any). */
        etag_of(app, etag);
        if (if_match && !streq(if_match, "*") && !strstr(if_match, etag)) {
                http_reply_errno(req, -ESTALE, NULL);
                goto finish;
        }
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = application_update(req->manager, http_store(req), p, app, &spec, &e);
        if (r >= 0)
                r = application_lookup(req->manager, http_store(req), req->tenant_slug, app->name, &updated, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_application(req, MHD_HTTP_OK, updated, NULL);
finish:
        json_schema_done(&update_schema, &b);
}

void api_handle_application_delete(HttpRequest *req) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0 || lookup(req, &app) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = application_delete(req->manager, http_store(req), p, app, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s}", "deleted", app->name));
}

void api_handle_application_rotate_secret(HttpRequest *req) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(erase_and_freep) char *secret = NULL;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0 || lookup(req, &app) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = application_rotate_secret(req->manager, http_store(req), p, app, &secret, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:s}", "client_id", app->client_id,
                                                            "client_secret", secret));
        http_reply_no_store(req);
}
