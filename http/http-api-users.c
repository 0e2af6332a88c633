/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's users: /api/v1/tenants/{tenant}/users/{user}, a user
 * addressed by name. The user was looked up, and the request authorized
 * (user.read), before the handler runs. */

#include "http-handlers.h"
#include "time-util.h"

/* A user as the API shows it. The e-mail address is personal data: only for
 * those the policy lets read it (user.read-private), as on D-Bus. */
json_t *api_user_json(const UserRecord *u, bool private) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o}",
                              "name", u->name,
                              "tenant", u->tenant,
                              "real_name", strempty(u->real_name),
                              "uid", (json_int_t) u->uid,
                              "gid", (json_int_t) u->gid,
                              "home", strempty(u->home),
                              "shell", strempty(u->shell),
                              "role", user_role_to_string(u->role),
                              "state", user_state_to_string(user_record_state(u, now_realtime_usec())),
                              "has_password", !isempty(u->password_hash),
                              "expires_at", http_json_time(u->expires_usec),
                              "created_at", http_json_time(u->created_usec),
                              "updated_at", http_json_time(u->changed_usec));

        if (j && private) {
                json_object_set_new(j, "email", u->email ? json_string(u->email) : json_null());
                json_object_set_new(j, "email_verified", json_boolean(u->email_verified));
        }
        return j;
}

void api_handle_user_get(HttpRequest *req) {
        const UserRecord *u = req->target.user;
        PolicyTarget t = policy_target_user(u);
        const Principal *p;

        int r;

        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, api_user_json(u, policy_check(p, POLICY_USER_READ_PRIVATE, &t) == 0));
        http_reply_no_store(req);
}
