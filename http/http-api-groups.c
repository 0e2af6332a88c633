/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's groups: /api/v1/tenants/{tenant}/groups (list, create),
 * .../groups/{group} (show, update, delete) and its members (list, add,
 * remove), a group addressed by name or by id (grp_<n>). As for users, the
 * door looked the group up and asked the policy; the handlers call the
 * core's group operations (group.h), as D-Bus does. Lists leave out the
 * user-private groups (one per user, named as the user): they are the
 * users' own, not something an administrator arranges. */

#include <inttypes.h>

#include "group.h"
#include "http-handlers.h"
#include "http-list.h"
#include "names.h"

static json_t *group_json(const GroupRecord *g) {
        char id[32];

        snprintf(id, sizeof(id), "grp_%" PRIi64, g->id);
        return json_pack("{s:s, s:s, s:s, s:I, s:s, s:b, s:o, s:o}",
                         "id", id,
                         "name", g->name,
                         "tenant", g->tenant,
                         "gid", (json_int_t) g->gid,
                         "description", strempty(g->description),
                         "user_private", g->private_user_id > 0,
                         "created_at", http_json_time(g->created_usec),
                         "updated_at", http_json_time(g->changed_usec));
}

static void reply_group(HttpRequest *req, unsigned status, const GroupRecord *g) {
        http_reply_json(req, status, group_json(g));
        http_reply_no_store(req);
}

void api_handle_groups_list(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams params = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        _cleanup_free_ char *scope = NULL;
        GroupRecord **groups = NULL;
        size_t n = 0;
        Cursor last = {};
        json_t *items;
        int r;

        if (http_list_query(req, NULL, &params) < 0)
                return;
        if (asprintf(&scope, "groups:%" PRIi64, req->target.tenant->id) < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        if (http_list_page(req, &params, scope, &page) < 0)
                return;
        r = store_group_page(http_store(req), req->target.tenant->id, page.after.text, page.limit, &groups, &n);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, group_json(groups[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                last = (Cursor) { .text = groups[n - 1]->name, .id = groups[n - 1]->id };
        http_reply_json(req, MHD_HTTP_OK, http_list_json(req, scope, items, &page, n > 0 ? &last : NULL));
        http_reply_no_store(req);
        group_record_array_free(groups, n);
}

typedef struct GroupBody {
        char *name;
        char *description;
        int64_t gid;
} GroupBody;

static const JsonField create_fields[] = {
        JSON_FIELD_STRING(GroupBody, name, "name", .required = true, .max_len = NAME_MAX_LEN),
        JSON_FIELD_STRING(GroupBody, description, "description", .max_len = DISPLAY_NAME_MAX_LEN),
        JSON_FIELD_INTEGER(GroupBody, gid, "gid", .min = 1, .max = UINT32_MAX - 1),
        {}
};
static const JsonSchema create_schema = { create_fields, sizeof(GroupBody) };

static const JsonField update_fields[] = {
        JSON_FIELD_STRING(GroupBody, description, "description", .required = true, .max_len = DISPLAY_NAME_MAX_LEN),
        {}
};
static const JsonSchema update_schema = { update_fields, sizeof(GroupBody) };

void api_handle_group_create(HttpRequest *req) {
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        GroupBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &create_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = group_create(req->manager, http_store(req), p, req->target.tenant, b.name, (uint32_t) b.gid,
                                 b.description, &g, &e);
        if (r == -EEXIST && strstr(tessera_error_message(&e), "GID"))
                http_reply_error(req, MHD_HTTP_CONFLICT, "conflict", json_pack("{s:s}", "field", "gid"), "%s",
                                 tessera_error_message(&e));
        else if (r == -EEXIST)
                http_reply_error(req, MHD_HTTP_CONFLICT, "name_taken", json_pack("{s:s}", "field", "name"), "%s",
                                 tessera_error_message(&e));
        else if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_group(req, MHD_HTTP_CREATED, g);
        json_schema_done(&create_schema, &b);
}

void api_handle_group_get(HttpRequest *req) {
        reply_group(req, MHD_HTTP_OK, req->target.group);
}

void api_handle_group_update(HttpRequest *req) {
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        GroupBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &update_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = group_update(req->manager, http_store(req), p, req->target.group, b.description, &e);
        if (r >= 0)
                r = store_group_get_by_id(http_store(req), req->target.group->id, &g);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_group(req, MHD_HTTP_OK, g);
        json_schema_done(&update_schema, &b);
}

void api_handle_group_delete(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = group_delete(req->manager, http_store(req), p, req->target.group, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}

static json_t *member_json(HttpRequest *req, const UserRecord *u) {
        char id[32];

        snprintf(id, sizeof(id), "usr_%" PRIi64, u->id);
        return json_pack("{s:s, s:s, s:s}", "id", id, "name", u->name, "real_name", strempty(u->real_name));
}

void api_handle_group_members(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams params = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        _cleanup_free_ char *scope = NULL;
        UserRecord **users = NULL;
        size_t n = 0;
        Cursor last = {};
        json_t *items;
        int r;

        if (http_list_query(req, NULL, &params) < 0)
                return;
        if (asprintf(&scope, "group-members:%" PRIi64, req->target.group->id) < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        if (http_list_page(req, &params, scope, &page) < 0)
                return;
        r = store_group_member_page(http_store(req), req->target.group->id, page.after.text, page.limit, &users, &n);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, member_json(req, users[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                last = (Cursor) { .text = users[n - 1]->name, .id = users[n - 1]->id };
        http_reply_json(req, MHD_HTTP_OK, http_list_json(req, scope, items, &page, n > 0 ? &last : NULL));
        http_reply_no_store(req);
        user_record_array_free(users, n);
}

typedef struct MemberBody {
        char *user;
} MemberBody;

static const JsonField member_fields[] = {
        JSON_FIELD_STRING(MemberBody, user, "user", .required = true, .max_len = 64),
        {}
};
static const JsonSchema member_schema = { member_fields, sizeof(MemberBody) };

void api_handle_group_member_add(HttpRequest *req) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        MemberBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &member_schema, &b) < 0)
                return;
        /* By name or id, as in a path; one of another tenant is no user here. */
        r = http_user_lookup(req, http_store(req), req->target.tenant, b.user, &u, &e);
        if (r == -ENOENT || r == -EINVAL) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", json_pack("{s:s}", "field", "user"),
                                 "%s", tessera_error_message(&e));
                goto finish;
        }
        if (r >= 0)
                r = http_request_principal(req, &p);
        if (r >= 0)
                r = group_add_member(req->manager, http_store(req), p, req->target.group, u->name, NULL, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_CREATED, member_json(req, u));
finish:
        json_schema_done(&member_schema, &b);
}

void api_handle_group_member_remove(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = group_remove_member(req->manager, http_store(req), p, req->target.group, req->target.user->name,
                                        NULL, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}
