/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's upstream identity providers, /api/v1/tenants/{tenant}/
 * providers[/{provider}]: register one ("Sign in with Google"), list them,
 * show, change and delete one; and the identities linked to users:
 * .../me/identities[/{identity}] for the signed-in user, .../users/{user}/
 * identities[/{identity}] for administrators. The door checked the route's
 * action; the core (upstream-provider.h, upstream-link.h) checks again,
 * validates, audits. The client secret goes in and never comes out:
 * has_client_secret says whether one is set. */

#include "http-handlers.h"
#include "upstream-link.h"
#include "upstream-provider.h"

/* The one callback URL of a tenant, as the provider's console must have it
 * (the sign-in flow serves it). */
static json_t *callback_url_json(HttpRequest *req) {
        _cleanup_free_ char *url = NULL;

        if (asprintf(&url, "%s/t/%s/upstream/callback", strempty(req->server->url), req->target.tenant->slug) < 0)
                return NULL;
        return json_string(url);
}

static json_t *optional(const char *s) {
        return s ? json_string(s) : json_null();
}

static json_t *provider_json(HttpRequest *req, const UpstreamProvider *p) {
        return json_pack("{s:s, s:s, s:s, s:o, s:s, s:b, s:o, s:o, s:s, s:s, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, "
                         "s:o, s:o?, s:o, s:o}",
                         "name", p->name,
                         "kind", p->kind,
                         "display_name", p->display_name,
                         "icon_url", optional(p->icon_url),
                         "client_id", p->client_id,
                         "has_client_secret", p->client_secret != NULL,
                         "scopes", api_strv_json(p->scopes),
                         "allowed_domains", api_strv_json(p->allowed_domains),
                         "signup", upstream_signup_mode_to_string(p->signup),
                         "role", user_role_to_string(p->role),
                         "link_by_email", p->link_by_email,
                         "enabled", p->enabled,
                         "issuer", optional(p->issuer),
                         "authorization_endpoint", optional(p->authorization_endpoint),
                         "token_endpoint", optional(p->token_endpoint),
                         "userinfo_endpoint", optional(p->userinfo_endpoint),
                         "jwks_uri", optional(p->jwks_uri),
                         "api_url", optional(p->api_url),
                         "allowed_tid", optional(p->allowed_tid),
                         "callback_url", callback_url_json(req),
                         "created_at", http_json_time((int64_t) p->created_usec),
                         "updated_at", http_json_time((int64_t) p->changed_usec));
}

static void reply_provider(HttpRequest *req, unsigned status, const UpstreamProvider *p) {
        json_t *j = provider_json(req, p);

        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, status, j);
        http_reply_no_store(req);
}

/* The optional texts: given as a string, or null to clear (as ""). */
typedef struct ProviderBody {
        char *name, *kind, *display_name, *icon_url, *client_id, *client_secret, *signup, *role;
        char *issuer, *authorization_endpoint, *token_endpoint, *userinfo_endpoint, *jwks_uri, *api_url;
        char *allowed_tid;
        char **scopes, **allowed_domains;
        bool link_by_email, enabled;
        bool has_link_by_email, has_enabled, has_scopes, has_allowed_domains;
        bool has_display_name, has_icon_url, has_client_secret, has_issuer, has_authorization_endpoint;
        bool has_token_endpoint, has_userinfo_endpoint, has_jwks_uri, has_api_url, has_allowed_tid;
} ProviderBody;

#define URL_FIELD(member, json_name) \
        JSON_FIELD_STRING(ProviderBody, member, json_name, .nullable = true, .max_len = UPSTREAM_PROVIDER_URL_MAX, \
                          .present = JSON_PRESENT(ProviderBody, has_##member))

static const JsonField provider_fields[] = {
        JSON_FIELD_STRING(ProviderBody, name, "name", .max_len = UPSTREAM_PROVIDER_NAME_MAX),
        JSON_FIELD_STRING(ProviderBody, kind, "kind", .max_len = 32),
        JSON_FIELD_STRING(ProviderBody, display_name, "display_name", .nullable = true,
                          .max_len = UPSTREAM_PROVIDER_DISPLAY_NAME_MAX,
                          .present = JSON_PRESENT(ProviderBody, has_display_name)),
        JSON_FIELD_STRING(ProviderBody, icon_url, "icon_url", .nullable = true, .max_len = UPSTREAM_PROVIDER_ICON_MAX,
                          .present = JSON_PRESENT(ProviderBody, has_icon_url)),
        JSON_FIELD_STRING(ProviderBody, client_id, "client_id", .max_len = UPSTREAM_PROVIDER_CLIENT_ID_MAX),
        JSON_FIELD_STRING(ProviderBody, client_secret, "client_secret", .nullable = true, .secret = true,
                          .max_len = UPSTREAM_PROVIDER_CLIENT_SECRET_MAX,
                          .present = JSON_PRESENT(ProviderBody, has_client_secret)),
        JSON_FIELD_STRINGS(ProviderBody, scopes, "scopes", .nullable = true, .max_len = UPSTREAM_PROVIDER_LIST_MAX,
                           .item_max_len = 128, .present = JSON_PRESENT(ProviderBody, has_scopes)),
        JSON_FIELD_STRINGS(ProviderBody, allowed_domains, "allowed_domains", .nullable = true,
                           .max_len = UPSTREAM_PROVIDER_LIST_MAX, .item_max_len = 253,
                           .present = JSON_PRESENT(ProviderBody, has_allowed_domains)),
        JSON_FIELD_STRING(ProviderBody, signup, "signup", .max_len = 32),
        JSON_FIELD_STRING(ProviderBody, role, "role", .max_len = 32),
        JSON_FIELD_BOOLEAN(ProviderBody, link_by_email, "link_by_email",
                           .present = JSON_PRESENT(ProviderBody, has_link_by_email)),
        JSON_FIELD_BOOLEAN(ProviderBody, enabled, "enabled", .present = JSON_PRESENT(ProviderBody, has_enabled)),
        URL_FIELD(issuer, "issuer"),
        URL_FIELD(authorization_endpoint, "authorization_endpoint"),
        URL_FIELD(token_endpoint, "token_endpoint"),
        URL_FIELD(userinfo_endpoint, "userinfo_endpoint"),
        URL_FIELD(jwks_uri, "jwks_uri"),
        URL_FIELD(api_url, "api_url"),
        JSON_FIELD_STRING(ProviderBody, allowed_tid, "allowed_tid", .nullable = true, .max_len = 1200,
                          .present = JSON_PRESENT(ProviderBody, has_allowed_tid)),
        {}
};
static const JsonSchema provider_schema = { provider_fields, sizeof(ProviderBody) };

static void provider_body_done(ProviderBody *b) {
        json_schema_done(&provider_schema, b);
}

static char *empty_list[] = { NULL };

/* A text given: as it is; null: "" (clear); not given: NULL (leave). */
static const char *given(const char *s, bool present) {
        return present ? strempty(s) : NULL;
}

static void spec_of(const ProviderBody *b, UpstreamProviderSpec *ret) {
        int signup = b->signup ? upstream_signup_mode_from_string(b->signup) : -1;
        int role = b->role ? user_role_from_string(b->role) : -1;

        *ret = (UpstreamProviderSpec) {
                .name = b->name,
                .kind = b->kind,
                .display_name = given(b->display_name, b->has_display_name),
                .icon_url = given(b->icon_url, b->has_icon_url),
                .client_id = b->client_id,
                .client_secret = given(b->client_secret, b->has_client_secret),
                /* null or [] go back to the default (the kind's scopes,
                 * any domain) */
                .scopes = b->has_scopes ? (b->scopes ?: empty_list) : NULL,
                .allowed_domains = b->has_allowed_domains ? (b->allowed_domains ?: empty_list) : NULL,
                /* An unknown mode or role goes to the core as one, to be
                 * refused (and audited) there with the field named. */
                .signup = b->signup && signup < 0 ? _UPSTREAM_SIGNUP_MAX : signup,
                .role = b->role && role < 0 ? _USER_ROLE_MAX : role,
                .link_by_email = b->has_link_by_email ? b->link_by_email : -1,
                .enabled = b->has_enabled ? b->enabled : -1,
                .issuer = given(b->issuer, b->has_issuer),
                .authorization_endpoint = given(b->authorization_endpoint, b->has_authorization_endpoint),
                .token_endpoint = given(b->token_endpoint, b->has_token_endpoint),
                .userinfo_endpoint = given(b->userinfo_endpoint, b->has_userinfo_endpoint),
                .jwks_uri = given(b->jwks_uri, b->has_jwks_uri),
                .api_url = given(b->api_url, b->has_api_url),
                .allowed_tid = given(b->allowed_tid, b->has_allowed_tid),
        };
}

/* The core names the field at fault first ("issuer: ..."): details.field. */
static void reply_failure(HttpRequest *req, int r, const TesseraError *e) {
        const char *m = tessera_error_message(e);
        size_t n = strspn(m, "abcdefghijklmnopqrstuvwxyz_");
        char field[64];

        if ((r == -EINVAL || r == -EEXIST) && n > 0 && n < sizeof(field) && m[n] == ':') {
                snprintf(field, sizeof(field), "%.*s", (int) n, m);
                http_reply_error(req, r == -EINVAL ? MHD_HTTP_UNPROCESSABLE_CONTENT : MHD_HTTP_CONFLICT,
                                 r == -EINVAL ? "invalid" : "name_taken", json_pack("{s:s}", "field", field), "%s",
                                 m);
        } else if (r == -E2BIG)
                http_reply_error(req, MHD_HTTP_CONFLICT, "too_many_providers", NULL, "%s", m);
        else
                http_reply_errno(req, r, e);
}

void api_handle_provider_create(HttpRequest *req) {
        _cleanup_(provider_body_done) ProviderBody b = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        UpstreamProviderSpec spec;
        const Principal *a;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &provider_schema, &b) < 0)
                return;
        if (!b.name || !b.kind || !b.client_id) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "missing_field",
                                 json_pack("{s:s}", "field", !b.name ? "name" : !b.kind ? "kind" : "client_id"),
                                 "A provider needs a name, a kind and a client_id.");
                return;
        }
        spec_of(&b, &spec);
        r = http_request_principal(req, &a);
        if (r >= 0)
                r = upstream_provider_create(req->manager, http_store(req), a, req->target.tenant, &spec, &p, &e);
        if (r < 0) {
                reply_failure(req, r, &e);
                return;
        }
        reply_provider(req, MHD_HTTP_CREATED, p);
}

void api_handle_providers_list(HttpRequest *req) {
        UpstreamProvider **list = NULL;
        const Principal *a;
        TesseraError e = {};
        json_t *items;
        size_t n = 0;
        int r;

        r = http_request_principal(req, &a);
        if (r >= 0)
                r = upstream_provider_list(req->manager, http_store(req), a, req->target.tenant, &list, &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, provider_json(req, list[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        upstream_provider_array_free(list, n);
        if (!items) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        /* A tenant has a few providers, never more than a page. */
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
        http_reply_no_store(req);
}

void api_handle_provider_get(HttpRequest *req) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        const Principal *a;
        TesseraError e = {};
        int r;

        r = http_request_principal(req, &a);
        if (r >= 0)
                r = upstream_provider_read(req->manager, http_store(req), a, req->target.tenant,
                                           http_capture(req, "provider"), &p, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        reply_provider(req, MHD_HTTP_OK, p);
}

void api_handle_provider_update(HttpRequest *req) {
        _cleanup_(provider_body_done) ProviderBody b = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        UpstreamProviderSpec spec;
        const Principal *a;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &provider_schema, &b) < 0)
                return;
        spec_of(&b, &spec);
        r = http_request_principal(req, &a);
        if (r >= 0)
                r = upstream_provider_update(req->manager, http_store(req), a, req->target.tenant,
                                             http_capture(req, "provider"), &spec, &p, &e);
        if (r < 0) {
                reply_failure(req, r, &e);
                return;
        }
        reply_provider(req, MHD_HTTP_OK, p);
}

void api_handle_provider_delete(HttpRequest *req) {
        const Principal *a;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &a);
        if (r >= 0)
                r = upstream_provider_delete(req->manager, http_store(req), a, req->target.tenant,
                                             http_capture(req, "provider"), &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}

static json_t *identity_json(const UpstreamLink *l) {
        char id[32];

        upstream_link_id_format(l->id, id);
        return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}",
                         "id", id,
                         "provider", l->provider_name,
                         "subject", l->subject,
                         "email", optional(l->email),
                         "username", optional(l->username),
                         "created_at", http_json_time((int64_t) l->created_usec),
                         "last_used_at", http_json_time((int64_t) l->last_used_usec));
}

/* Both doors: the user is the principal's own (me) or {user}. */
void api_handle_identities_list(HttpRequest *req) {
        UpstreamLink *list = NULL;
        const Principal *a;
        TesseraError e = {};
        json_t *items;
        size_t n = 0;
        int r;

        r = http_request_principal(req, &a);
        if (r >= 0)
                r = upstream_link_list(req->manager, http_store(req), a, req->target.tenant, req->target.user->id,
                                       &list, &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, identity_json(&list[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        upstream_link_array_free(list, n);
        if (!items) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
        http_reply_no_store(req);
}

void api_handle_identity_remove(HttpRequest *req) {
        const Principal *a;
        TesseraError e = {};
        int64_t id;
        int r;

        if (upstream_link_id_parse(http_capture(req, "identity"), &id) < 0) {
                http_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", NULL, "No such linked identity.");
                return;
        }
        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &a);
        if (r >= 0)
                r = upstream_link_remove(req->manager, http_store(req), a, req->target.tenant, req->target.user->id,
                                         id, &e);
        if (r == -EPERM)
                http_reply_error(req, MHD_HTTP_CONFLICT, "last_way_in", NULL, "%s", tessera_error_message(&e));
        else if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}
