/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's invitations: POST/GET /api/v1/tenants/{tenant}/invitations
 * (invite an address with a role; the pending ones, by id with a cursor),
 * POST .../invitations/{invitation}/resend and DELETE
 * .../invitations/{invitation} (revoke). The core (invitation.h) mails the
 * token and keeps its digest only; no answer carries the token. Accepting
 * is an account flow: http-api-auth.c and the page in
 * http-account-pages.c. */

#include <inttypes.h>

#include "http-handlers.h"
#include "http-list.h"
#include "invitation.h"
#include "names.h"

static json_t *api_invitation_json(const Invitation *i) {
        char id[32];

        invitation_id_format(i->id, id);
        return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
                         "id", id,
                         "email", i->email,
                         "role", user_role_to_string(i->role),
                         "invited_by", i->invited_by,
                         "created_at", http_json_time(i->created_usec),
                         "sent_at", http_json_time(i->sent_usec),
                         "expires_at", http_json_time(i->expires_usec));
}

typedef struct InviteBody {
        char *email, *role;
} InviteBody;

static const JsonField invite_fields[] = {
        JSON_FIELD_STRING(InviteBody, email, "email", .required = true, .max_len = EMAIL_MAX_LEN),
        JSON_FIELD_STRING(InviteBody, role, "role", .max_len = 32),
        {}
};
static const JsonSchema invite_schema = { invite_fields, sizeof(InviteBody) };

static void invite_body_done(InviteBody *b) {
        json_schema_done(&invite_schema, b);
}

/* The core's refusals, with the field at fault where there is one. */
static void reply_failure(HttpRequest *req, int r, const TesseraError *e, const char *field) {
        if (r == -EINVAL && field) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", json_pack("{s:s}", "field", field),
                                 "%s", tessera_error_message(e));
                return;
        }
        if (r == -EEXIST) {
                http_reply_error(req, MHD_HTTP_CONFLICT, "already_invited", json_pack("{s:s}", "field", "email"), "%s",
                                 tessera_error_message(e));
                return;
        }
        if (r == -EOPNOTSUPP) {
                http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "mail_unavailable", NULL, "%s",
                                 tessera_error_message(e));
                return;
        }
        http_reply_errno(req, r, e);
}

void api_handle_invitation_create(HttpRequest *req) {
        _cleanup_(invite_body_done) InviteBody b = {};
        const Principal *p;
        TesseraError e = {};
        Invitation inv;
        UserRole role = USER_ROLE_MEMBER;
        int r;

        if (http_json_body(req, &invite_schema, &b) < 0)
                return;
        if (b.role) {
                role = user_role_from_string(b.role);
                if (role < 0) {
                        http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                                         json_pack("{s:s}", "field", "role"),
                                         "'%.32s' is no role; use member, admin or owner.", b.role);
                        return;
                }
        }
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = invitation_create(req->manager, http_store(req), p, req->target.tenant, b.email, role,
                                      req->server->url, &inv, &e);
        if (r < 0) {
                reply_failure(req, r, &e, "email");
                return;
        }
        http_reply_json(req, MHD_HTTP_CREATED, api_invitation_json(&inv));
        http_reply_no_store(req);
}

void api_handle_invitations_list(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams q = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        _cleanup_free_ Invitation *list = NULL;
        const TenantRecord *t = req->target.tenant;
        const Principal *p;
        TesseraError e = {};
        char scope[64];
        size_t n = 0;
        json_t *items, *j;
        int r;

        if (http_list_query(req, NULL, &q) < 0)
                return;
        snprintf(scope, sizeof(scope), "invitations:%" PRIi64, t->id);
        if (http_list_page(req, &q, scope, &page) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = invitation_list(req->manager, http_store(req), p, t, page.has_cursor ? page.after.id : 0,
                                    page.limit, &list, &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, api_invitation_json(&list[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        j = http_list_json(req, scope, items, &page, n > 0 ? &(Cursor) { .id = list[n - 1].id } : NULL);
        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, j);
        http_reply_no_store(req);
}

/* {invitation}: "inv_12"; replies 404 for anything else. */
static int invitation_id(HttpRequest *req, int64_t *ret) {
        const char *s = http_capture(req, "invitation");

        if (invitation_id_parse(s, ret) < 0) {
                http_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", NULL, "No such invitation.");
                return -ENOENT;
        }
        return 0;
}

void api_handle_invitation_resend(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        Invitation inv;
        int64_t id;
        int r;

        if (invitation_id(req, &id) < 0 || api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = invitation_resend(req->manager, http_store(req), p, req->target.tenant, id, req->server->url,
                                      &inv, &e);
        if (r < 0) {
                reply_failure(req, r, &e, NULL);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, api_invitation_json(&inv));
        http_reply_no_store(req);
}

void api_handle_invitation_revoke(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        int64_t id;
        int r;

        if (invitation_id(req, &id) < 0 || api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = invitation_revoke(req->manager, http_store(req), p, req->target.tenant, id, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}
