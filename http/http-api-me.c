/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The signed-in user's own account: /api/v1/tenants/{tenant}/me, its
 * profile (read, update) and password. The door made the target the
 * principal's own user (req->target.user) and checked the route's me.*
 * action; the core operations check again and audit. */

#include <inttypes.h>

#include "account-password.h"
#include "auth-totp.h"
#include "http-handlers.h"
#include "user.h"

const char *api_me_sid(HttpRequest *req) {
        return req->auth ? json_string_value(json_object_get(req->auth->claims, "sid")) : NULL;
}

/* The routes that take no parameters take no body, or an empty object:
 * anything in it is a field they do not know. */
static const JsonField no_fields[] = { {} };
static const JsonSchema no_schema = { no_fields, 0 };

int api_me_no_body(HttpRequest *req) {
        char dummy;

        if (req->body_size == 0)
                return 0;
        return http_json_body(req, &no_schema, &dummy);
}

/* The record's version for If-Match: it changes with every write. */
static void etag_of(const UserRecord *u, char buf[static 40]) {
        snprintf(buf, 40, "\"%" PRIi64 "\"", u->changed_usec);
}

static void reply_profile(HttpRequest *req, unsigned status, const UserRecord *u) {
        json_t *j = api_user_json(u, true);
        TotpStatus st = {};
        char etag[40];

        if (j && auth_totp_status(http_store(req), u->id, &st) >= 0)
                json_object_set_new(j, "totp_enabled", json_boolean(st.enabled));
        if (!j || !json_object_get(j, "totp_enabled")) {
                json_decref(j);
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, status, j);
        http_reply_no_store(req);
        etag_of(u, etag);
        http_reply_header(req, MHD_HTTP_HEADER_ETAG, etag);
}

void api_handle_me_get(HttpRequest *req) {
        reply_profile(req, MHD_HTTP_OK, req->target.user);
}

typedef struct ProfileBody {
        char *real_name;
        char *email;
} ProfileBody;

static const JsonField profile_fields[] = {
        JSON_FIELD_STRING(ProfileBody, real_name, "real_name", .max_len = 256),
        JSON_FIELD_STRING(ProfileBody, email, "email", .max_len = 254),
        {}
};
static const JsonSchema profile_schema = { profile_fields, sizeof(ProfileBody) };

void api_handle_me_update(HttpRequest *req) {
        _cleanup_(user_record_unrefp) UserRecord *updated = NULL;
        const UserRecord *u = req->target.user;
        ProfileBody b = {};
        const char *if_match = http_header(req, MHD_HTTP_HEADER_IF_MATCH);
        const Principal *p;
        TesseraError e = {};
        char etag[40];
        int r;

        if (http_json_body(req, &profile_schema, &b) < 0)
                return;
        if (!b.real_name && !b.email) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "missing_field", NULL,
                                 "Give real_name or email (or both) to change.");
                goto finish;
        }
        /* A client that read the profile may ask that it has not changed
         * since ("*" matches any). */
        etag_of(u, etag);
        if (if_match && !streq(if_match, "*") && !strstr(if_match, etag)) {
                http_reply_errno(req, -ESTALE, NULL);
                goto finish;
        }
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = user_update_profile(req->manager, http_store(req), p, u, b.real_name, b.email, &updated, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_profile(req, MHD_HTTP_OK, updated);
finish:
        json_schema_done(&profile_schema, &b);
}

typedef struct PasswordBody {
        char *current_password;
        char *new_password;
        bool keep_other_sessions;
} PasswordBody;

static const JsonField password_fields[] = {
        /* Left out only for an account's first password (account-password.h). */
        JSON_FIELD_STRING(PasswordBody, current_password, "current_password", .secret = true, .max_len = 1024),
        JSON_FIELD_STRING(PasswordBody, new_password, "new_password", .required = true, .secret = true,
                          .max_len = 1024),
        JSON_FIELD_BOOLEAN(PasswordBody, keep_other_sessions, "keep_other_sessions"),
        {}
};
static const JsonSchema password_schema = { password_fields, sizeof(PasswordBody) };

void api_handle_me_password(HttpRequest *req) {
        PasswordBody b = {};
        const Principal *p;
        TesseraError e = {};
        unsigned ended = 0;
        int r;

        if (http_json_body(req, &password_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = account_password_change(req->manager, http_store(req), p, req->target.user, b.current_password,
                                            b.new_password, b.keep_other_sessions, api_me_sid(req), &ended, &e);
        if (r == -EKEYREJECTED)
                /* Not 401: the access token is fine, the password given is
                 * not; a client must not take it for a sign-out. */
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "invalid_current_password", NULL, "%s",
                                 e.message[0] ? e.message : "The current password is not correct.");
        else if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, json_pack("{s:b, s:I}", "changed", true, "sessions_ended",
                                                            (json_int_t) ended));
        http_reply_no_store(req);
        json_schema_done(&password_schema, &b);
}
