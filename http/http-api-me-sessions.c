/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The signed-in user's sessions: /api/v1/tenants/{tenant}/me/sessions,
 * one list of the web (SSO), app (refresh family) and host (PAM) sessions,
 * and revoking one, revoking all others, extending one. The core decides
 * (account-sessions.h); the session of the request's own access token is
 * "current", and the one kept by revoke-others. */

#include "account-sessions.h"
#include "http-handlers.h"

static json_t *session_json(const AccountSession *a) {
        json_t *j = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}",
                              "id", a->id,
                              "kind", account_session_kind_to_string(a->kind),
                              "current", a->current,
                              "started_at", http_json_time(a->started_usec),
                              "expires_at", http_json_time(a->expires_usec),
                              "extendable_until", http_json_time(a->limit_usec));

        if (!j)
                return NULL;
        if (a->kind != ACCOUNT_SESSION_HOST)
                json_object_set_new(j, "amr", json_string(a->amr));
        if (a->kind == ACCOUNT_SESSION_APP) {
                json_object_set_new(j, "application",
                                    json_pack("{s:s, s:s}", "name", a->application, "client_id", a->client_id));
                json_object_set_new(j, "parent", a->parent[0] ? json_string(a->parent) : json_null());
                json_object_set_new(j, "last_used_at", http_json_time(a->last_used_usec));
        }
        if (a->kind == ACCOUNT_SESSION_HOST) {
                json_object_set_new(j, "service", a->service ? json_string(a->service) : json_null());
                json_object_set_new(j, "tty", a->tty ? json_string(a->tty) : json_null());
                json_object_set_new(j, "remote_host", a->remote_host ? json_string(a->remote_host) : json_null());
        }
        return j;
}

void api_handle_me_sessions(HttpRequest *req) {
        AccountSession *list = NULL;
        const Principal *p;
        TesseraError e = {};
        json_t *items;
        size_t n = 0;
        int r;

        r = http_request_principal(req, &p);
        if (r >= 0)
                r = account_sessions_list(req->manager, http_store(req), p, req->target.user, api_me_sid(req), &list,
                                          &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, session_json(&list[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        account_session_array_free(list, n);
        if (!items) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        /* Every session of one user fits one page (ACCOUNT_SESSIONS_MAX
         * of each kind): no cursor. */
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
        http_reply_no_store(req);
}

void api_handle_me_sessions_revoke_others(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        unsigned n = 0;
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = account_sessions_revoke_others(req->manager, http_store(req), p, req->target.user,
                                                   api_me_sid(req), &n, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, json_pack("{s:I}", "revoked", (json_int_t) n));
}

void api_handle_me_session_revoke(HttpRequest *req) {
        const char *id = http_capture(req, "session");
        const Principal *p;
        TesseraError e = {};
        int r;

        r = http_request_principal(req, &p);
        if (r >= 0)
                r = account_session_revoke(req->manager, http_store(req), p, req->target.user, id, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s}", "revoked", id));
}

void api_handle_me_session_extend(HttpRequest *req) {
        const char *id = http_capture(req, "session");
        AccountSession a = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = account_session_extend(req->manager, http_store(req), p, req->target.user, id, api_me_sid(req),
                                           &a, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, session_json(&a));
        account_session_done(&a);
}
