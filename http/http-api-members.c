/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's members: GET /api/v1/tenants/{tenant}/members (by name,
 * a cursor per page), PATCH .../members/{user} {"role"} and DELETE
 * .../members/{user}. The core's member operations (member.h) decide:
 * owners give roles, admins remove members, an owner goes by an owner
 * only, and the last owner stays (409 last_owner). */

#include <stdlib.h>

#include "http-handlers.h"
#include "http-list.h"
#include "member.h"
#include "time-util.h"

/* A member as this list shows it: the user's name and role; the e-mail
 * address only for whom user.read-private allows, as everywhere. */
static json_t *member_json(const UserRecord *u, bool private) {
        char id[32];
        json_t *j;

        snprintf(id, sizeof(id), "usr_%" PRIi64, u->id);
        j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}",
                      "id", id,
                      "name", u->name,
                      "real_name", strempty(u->real_name),
                      "role", user_role_to_string(u->role),
                      "state", user_state_to_string(user_record_state(u, now_realtime_usec())),
                      "created_at", http_json_time(u->created_usec));
        if (j && private)
                json_object_set_new(j, "email", u->email ? json_string(u->email) : json_null());
        return j;
}

static int scope_of(const TenantRecord *t, char buf[static 64]) {
        snprintf(buf, 64, "members:%" PRIi64, t->id);
        return 0;
}

void api_handle_members_list(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams q = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        const TenantRecord *t = req->target.tenant;
        PolicyTarget pt = policy_target_tenant(t->id);
        UserRecord **users = NULL;
        size_t n = 0;
        const Principal *p;
        TesseraError e = {};
        char scope[64];
        bool private;
        json_t *items, *j;
        int r;

        if (http_list_query(req, NULL, &q) < 0)
                return;
        scope_of(t, scope);
        if (http_list_page(req, &q, scope, &page) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = member_list(req->manager, http_store(req), p, t, page.has_cursor ? page.after.text : NULL,
                                page.limit, &users, &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        private = policy_check(p, POLICY_USER_READ_PRIVATE, &pt) == 0;
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, member_json(users[i], private)) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        j = http_list_json(req, scope, items, &page,
                           n > 0 ? &(Cursor) { .text = users[n - 1]->name, .id = users[n - 1]->id } : NULL);
        user_record_array_free(users, n);
        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, j);
        http_reply_no_store(req);
}

typedef struct RoleBody {
        char *role;
} RoleBody;

static const JsonField role_fields[] = {
        JSON_FIELD_STRING(RoleBody, role, "role", .required = true, .max_len = 32),
        {}
};
static const JsonSchema role_schema = { role_fields, sizeof(RoleBody) };

static void role_body_done(RoleBody *b) {
        json_schema_done(&role_schema, b);
}

void api_handle_member_update(HttpRequest *req) {
        _cleanup_(role_body_done) RoleBody b = {};
        _cleanup_(user_record_unrefp) UserRecord *updated = NULL;
        PolicyTarget pt = policy_target_tenant(req->target.tenant->id);
        const Principal *p;
        TesseraError e = {};
        UserRole role;
        int r;

        if (http_json_body(req, &role_schema, &b) < 0)
                return;
        role = user_role_from_string(b.role);
        if (role < 0) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", json_pack("{s:s}", "field", "role"),
                                 "'%.32s' is no role; use member, admin or owner.", b.role);
                return;
        }
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = member_set_role(req->manager, http_store(req), p, req->target.user, role, &updated, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, member_json(updated, policy_check(p, POLICY_USER_READ_PRIVATE, &pt) == 0));
        http_reply_no_store(req);
}

void api_handle_member_remove(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = member_remove(req->manager, http_store(req), p, req->target.user, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}
