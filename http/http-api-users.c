/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's users, the tenant administrator's view:
 * /api/v1/tenants/{tenant}/users (list and search, create) and
 * .../users/{user} (show, update, delete, disable, enable, unlock, a reset
 * mail, removing the second factor), a user addressed by name or by id
 * (usr_<n>). The door looked the user up and asked the policy for the
 * route's action before the handler runs; the handlers read the request,
 * call the core operation the D-Bus face calls too (user.h, user-search.h,
 * password-reset.h, auth-totp.h), which asks the policy again and audits,
 * and reply. */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth-totp.h"
#include "http-handlers.h"
#include "http-list.h"
#include "names.h"
#include "password-change.h"
#include "password-reset.h"
#include "time-util.h"
#include "user-search.h"
#include "user.h"

/* A user as the API shows it. The e-mail address is personal data: only for
 * those the policy lets read it (user.read-private), as on D-Bus. */
json_t *api_user_json(const UserRecord *u, bool private) {
        char id[32];
        json_t *j;

        snprintf(id, sizeof(id), "usr_%" PRIi64, u->id);
        j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o}",
                      "id", id,
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

/* The record's version for If-Match: it changes with every write. */
static void etag_of(const UserRecord *u, char buf[static 40]) {
        snprintf(buf, 40, "\"%" PRIi64 "\"", u->changed_usec);
}

static bool may_read_private(HttpRequest *req, const UserRecord *u) {
        PolicyTarget t = policy_target_user(u);
        const Principal *p;

        return http_request_principal(req, &p) >= 0 && policy_check(p, POLICY_USER_READ_PRIVATE, &t) == 0;
}

static void reply_user(HttpRequest *req, unsigned status, const UserRecord *u) {
        char etag[40];

        http_reply_json(req, status, api_user_json(u, may_read_private(req, u)));
        http_reply_no_store(req);
        etag_of(u, etag);
        http_reply_header(req, MHD_HTTP_HEADER_ETAG, etag);
}

/* The user as stored now, after a change. */
static void reply_user_again(HttpRequest *req, unsigned status, int64_t id) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int r;

        r = store_user_get_by_id(http_store(req), id, &u);
        if (r < 0)
                http_reply_internal_error(req, r);
        else
                reply_user(req, status, u);
}

void api_handle_user_get(HttpRequest *req) {
        reply_user(req, MHD_HTTP_OK, req->target.user);
}

/* -- list and search -------------------------------------------------------- */

_printf_(3, 4) static void bad_parameter(HttpRequest *req, const char *name, const char *format, ...) {
        char message[256];
        va_list ap;

        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", json_pack("{s:s}", "field", name), "%s", message);
}

/* An RFC 3339 time in UTC, "2026-05-01T12:00:00Z" (fractions of a second
 * allowed, to the microsecond), as usec since the epoch. */
static int parse_time(const char *s, int64_t *ret) {
        struct tm tm = {};
        const char *p;
        int64_t usec = 0;
        time_t t;

        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                int64_t scale = 100000;

                if (!(p[1] >= '0' && p[1] <= '9'))
                        return -EINVAL;
                for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                        usec += scale > 0 ? (*p - '0') * scale : 0;
        }
        if (!streq(p, "Z"))
                return -EINVAL;
        t = timegm(&tm);
        if (t <= 0 || t > INT64_MAX / (int64_t) USEC_PER_SEC - 1)
                return -EINVAL;
        *ret = (int64_t) t * (int64_t) USEC_PER_SEC + usec;
        return 0;
}

/* The query of GET .../users from its parameters; replies itself on bad
 * input. The names say what each is; an unknown one is refused, as an
 * unknown field of a body is. */
static int list_query(HttpRequest *req, const HttpParams *params, UserQuery *q) {
        const char *v;

        *q = (UserQuery) { .state = -1, .role = -1 };

        v = http_params_get(params, "q");
        if (v && (strlen(v) > USER_SEARCH_PREFIX_MAX || !valid_display_text(v, USER_SEARCH_PREFIX_MAX))) {
                bad_parameter(req, "q", "q is at most %d bytes of text: a prefix of a name or e-mail address.",
                              USER_SEARCH_PREFIX_MAX);
                return -EINVAL;
        }
        q->prefix = isempty(v) ? NULL : v;
        if ((v = http_params_get(params, "state")) && (q->state = user_state_from_string(v)) < 0) {
                bad_parameter(req, "state", "Unknown state '%.32s': use active, disabled, locked or expired.", v);
                return -EINVAL;
        }
        if ((v = http_params_get(params, "role")) && (q->role = user_role_from_string(v)) < 0) {
                bad_parameter(req, "role", "Unknown role '%.32s': use member, admin or owner.", v);
                return -EINVAL;
        }
        if ((v = http_params_get(params, "sort")) && (int) (q->sort = user_sort_from_string(v)) < 0) {
                bad_parameter(req, "sort", "Unknown order '%.32s': sort by name or created.", v);
                return -EINVAL;
        }
        if ((v = http_params_get(params, "created_after")) && parse_time(v, &q->created_after) < 0) {
                bad_parameter(req, "created_after", "created_after is a time as 2026-05-01T12:00:00Z.");
                return -EINVAL;
        }
        if ((v = http_params_get(params, "created_before")) && parse_time(v, &q->created_before) < 0) {
                bad_parameter(req, "created_before", "created_before is a time as 2026-05-01T12:00:00Z.");
                return -EINVAL;
        }
        return 0;
}

void api_handle_users_list(HttpRequest *req) {
        static const char *const filters[] = { "q", "state", "role", "created_after", "created_before", "sort",
                                               NULL };
        _cleanup_(http_params_done) HttpParams params = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        _cleanup_free_ char *scope = NULL;
        const TenantRecord *t = req->target.tenant;
        UserRecord **users = NULL;
        size_t n = 0;
        const Principal *p;
        TesseraError e = {};
        UserQuery q;
        Cursor last = {};
        json_t *items;
        int r;

        if (http_list_query(req, filters, &params) < 0 || list_query(req, &params, &q) < 0)
                return;
        /* The cursor is good for this list and this query only. */
        if (user_search_scope(t, &q, &scope) < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        if (http_list_page(req, &params, scope, &page) < 0)
                return;
        q.limit = page.limit;
        if (page.has_cursor && user_search_continue(&q, &page.after) < 0) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_cursor", json_pack("{s:s}", "field", "cursor"),
                                 "The cursor is not one this list gave out for this query.");
                return;
        }

        r = http_request_principal(req, &p);
        if (r >= 0)
                r = user_search(req->manager, http_store(req), p, t, &q, &users, &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }

        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, api_user_json(users[i], may_read_private(req, users[i]))) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                user_search_position(&q, users[n - 1], &last);
        http_reply_json(req, MHD_HTTP_OK, http_list_json(req, scope, items, &page, n > 0 ? &last : NULL));
        http_reply_no_store(req);
        user_record_array_free(users, n);
}

/* -- create and update ------------------------------------------------------ */

typedef struct UserBody {
        char *name;
        char *real_name;
        char *email;
        char *role;
        char *password;
        char *home;
        char *shell;
        bool email_verified;
        bool has_email_verified;
        bool has_email;           /* given, perhaps as null (clears it) */
} UserBody;

static const JsonField create_fields[] = {
        JSON_FIELD_STRING(UserBody, name, "name", .required = true, .max_len = NAME_MAX_LEN),
        JSON_FIELD_STRING(UserBody, real_name, "real_name", .max_len = REAL_NAME_MAX_LEN),
        JSON_FIELD_STRING(UserBody, email, "email", .max_len = EMAIL_MAX_LEN),
        JSON_FIELD_STRING(UserBody, role, "role", .max_len = 16),
        JSON_FIELD_STRING(UserBody, password, "password", .secret = true, .max_len = 1024),
        JSON_FIELD_STRING(UserBody, home, "home", .max_len = UNIX_PATH_FIELD_MAX_LEN),
        JSON_FIELD_STRING(UserBody, shell, "shell", .max_len = UNIX_PATH_FIELD_MAX_LEN),
        JSON_FIELD_BOOLEAN(UserBody, email_verified, "email_verified",
                           .present = JSON_PRESENT(UserBody, has_email_verified)),
        {}
};
static const JsonSchema create_schema = { create_fields, sizeof(UserBody) };

/* Roles are the members' business (.../members/{user}), with their own
 * rules about owners: an update of the user leaves the role alone. */
static const JsonField update_fields[] = {
        JSON_FIELD_STRING(UserBody, real_name, "real_name", .max_len = REAL_NAME_MAX_LEN),
        JSON_FIELD_STRING(UserBody, email, "email", .nullable = true, .max_len = EMAIL_MAX_LEN,
                          .present = JSON_PRESENT(UserBody, has_email)),
        JSON_FIELD_STRING(UserBody, home, "home", .max_len = UNIX_PATH_FIELD_MAX_LEN),
        JSON_FIELD_STRING(UserBody, shell, "shell", .max_len = UNIX_PATH_FIELD_MAX_LEN),
        JSON_FIELD_BOOLEAN(UserBody, email_verified, "email_verified",
                           .present = JSON_PRESENT(UserBody, has_email_verified)),
        {}
};
static const JsonSchema update_schema = { update_fields, sizeof(UserBody) };

/* A conflict names what is taken: the name (of a user, or of a group the
 * user's private group would clash with) or the e-mail address. */
static void reply_conflict(HttpRequest *req, const TenantRecord *t, const char *email, int64_t self,
                           const TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *holder = NULL;
        bool email_taken = !isempty(email) &&
                           store_user_get_by_email(http_store(req), t->id, email, &holder) >= 0 && holder->id != self;

        http_reply_error(req, MHD_HTTP_CONFLICT, email_taken ? "email_taken" : "name_taken",
                         json_pack("{s:s}", "field", email_taken ? "email" : "name"), "%s", tessera_error_message(e));
}

static int spec_from_body(HttpRequest *req, const UserBody *b, UserSpec *spec) {
        spec->real_name = b->real_name;
        spec->email = b->email;
        spec->home = b->home;
        spec->shell = b->shell;
        if (b->has_email_verified)
                spec->email_verified = b->email_verified;
        if (b->role && (spec->role = user_role_from_string(b->role)) < 0) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", json_pack("{s:s}", "field", "role"),
                                 "Unknown role '%.16s': use member, admin or owner.", b->role);
                return -EINVAL;
        }
        return 0;
}

/* The answer to a creation, made or refused. */
static void reply_create(HttpRequest *req, const TenantRecord *t, int r, const UserRecord *u, const char *email,
                         const char *field, const TesseraError *e) {
        _cleanup_free_ char *location = NULL;

        if (r == -EEXIST)
                reply_conflict(req, t, email, 0, e);
        else if (r == -EINVAL && field)
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "weak_password",
                                 json_pack("{s:s}", "field", "password"), "%s", e->message);
        else if (r < 0)
                http_reply_errno(req, r, e);
        else {
                reply_user(req, MHD_HTTP_CREATED, u);
                if (asprintf(&location, "/api/v1/tenants/%s/users/%s", t->slug, u->name) >= 0)
                        http_reply_header(req, MHD_HTTP_HEADER_LOCATION, location);
        }
}

/* A creation without a password, waiting for the group commit that takes
 * it: the body its record borrows from, and the creation. */
typedef struct PendingCreate {
        UserBody body;
        UserCreation creation;
} PendingCreate;

static void pending_create_free(PendingCreate *pc) {
        user_creation_done(&pc->creation);
        json_schema_done(&create_schema, &pc->body);
        free(pc);
}

/* On the writer thread. */
static int pending_create_write(Store *s, void *userdata) {
        PendingCreate *pc = userdata;
        return user_create_write(s, &pc->creation);
}

static void create_committed(HttpRequest *req, int result, void *userdata) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        PendingCreate *pc = userdata;
        TesseraError e = {};
        int r;

        r = user_create_finish(req->manager, http_store(req), &pc->creation, result, &u, &e);
        reply_create(req, req->target.tenant, r, u, pc->body.email, NULL, &e);
        pending_create_free(pc);
}

/* Checked here, written by the server's writer thread with whatever other
 * writes are waiting, in one transaction: one fsync for a burst of
 * creations (an import, a provisioning script) instead of one each. */
static int create_grouped(HttpRequest *req, const Principal *p, const TenantRecord *t, UserBody *b,
                          const UserSpec *spec, TesseraError *e) {
        PendingCreate *pc;
        int r;

        pc = calloc(1, sizeof(PendingCreate));
        if (!pc)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        /* The body moves into pc: the record borrows its strings (spec's
         * point into the same memory). */
        pc->body = *b;
        *b = (UserBody) {};

        r = user_create_prepare(req->manager, http_store(req), p, t, pc->body.name, spec, &pc->creation, e);
        if (r < 0) {
                pending_create_free(pc);
                return r;
        }
        r = http_write_async(req, pending_create_write, create_committed, pc);
        if (r < 0) {
                (void) user_create_finish(req->manager, http_store(req), &pc->creation, r, NULL, e);
                pending_create_free(pc);
                return r;
        }
        return 0;
}

void api_handle_user_create(HttpRequest *req) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const TenantRecord *t = req->target.tenant;
        UserSpec spec = USER_SPEC_INIT;
        UserBody b = {};
        const char *field = NULL;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &create_schema, &b) < 0)
                return;
        if (spec_from_body(req, &b, &spec) < 0)
                goto finish;
        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                goto finish;
        }
        if (!b.password) {
                /* The answer follows once the write committed. */
                if (create_grouped(req, p, t, &b, &spec, &e) < 0)
                        reply_create(req, t, e.code ?: -EIO, NULL, NULL, NULL, &e);
                goto finish;
        }
        /* With a password: hashed on a worker first (seconds of CPU per
         * hundred), then created on its own. */
        r = password_change_create_user_run(req->manager, http_store(req), p, t, b.name, &spec, b.password, &u,
                                            &field, &e);
        reply_create(req, t, r, u, b.email, field, &e);
finish:
        json_schema_done(&create_schema, &b);
}

/* If-Match: a client that read the user may ask that it has not changed
 * since ("*" matches any). Replied 412 when it has. */
static int check_if_match(HttpRequest *req, const UserRecord *u) {
        const char *if_match = http_header(req, MHD_HTTP_HEADER_IF_MATCH);
        char etag[40];

        etag_of(u, etag);
        if (if_match && !streq(if_match, "*") && !strstr(if_match, etag)) {
                http_reply_errno(req, -ESTALE, NULL);
                return -ESTALE;
        }
        return 0;
}

void api_handle_user_update(HttpRequest *req) {
        const UserRecord *u = req->target.user;
        UserSpec spec = USER_SPEC_INIT;
        UserBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &update_schema, &b) < 0)
                return;
        if (!b.real_name && !b.has_email && !b.home && !b.shell && !b.has_email_verified) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "missing_field", NULL,
                                 "Give at least one of real_name, email, home, shell, email_verified.");
                goto finish;
        }
        if (check_if_match(req, u) < 0 || spec_from_body(req, &b, &spec) < 0)
                goto finish;
        /* null clears the address. */
        if (b.has_email && !b.email)
                spec.email = "";
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = user_update(req->manager, http_store(req), p, u, &spec, &e);
        if (r == -EEXIST)
                reply_conflict(req, req->target.tenant, b.email, u->id, &e);
        else if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_user_again(req, MHD_HTTP_OK, u->id);
finish:
        json_schema_done(&update_schema, &b);
}

void api_handle_user_delete(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0 || check_if_match(req, req->target.user) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = user_delete(req->manager, http_store(req), p, req->target.user, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}

/* -- the account's state ---------------------------------------------------- */

static void set_state(HttpRequest *req, PolicyAction action) {
        const UserRecord *u = req->target.user;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        if (action == POLICY_USER_UNLOCK)
                r = user_set_locked_until(req->manager, http_store(req), p, u, 0, &e);
        else
                r = user_set_disabled(req->manager, http_store(req), p, u, action == POLICY_USER_DISABLE, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_user_again(req, MHD_HTTP_OK, u->id);
}

void api_handle_user_disable(HttpRequest *req) {
        set_state(req, POLICY_USER_DISABLE);
}

void api_handle_user_enable(HttpRequest *req) {
        set_state(req, POLICY_USER_ENABLE);
}

void api_handle_user_unlock(HttpRequest *req) {
        set_state(req, POLICY_USER_UNLOCK);
}

void api_handle_user_send_reset(HttpRequest *req) {
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = password_reset_send(req->manager, http_store(req), p, req->target.tenant, req->target.user,
                                        req->server->url, &e);
        if (r == -EINVAL)
                http_reply_error(req, MHD_HTTP_CONFLICT, "no_email", NULL, "%s", tessera_error_message(&e));
        else if (r == -EOPNOTSUPP)
                http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "mail_unavailable", NULL, "%s",
                                 tessera_error_message(&e));
        else if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_ACCEPTED,
                                json_pack("{s:s}", "message", "A password reset link was mailed to the user."));
}

typedef struct CodeBody {
        char *code;
} CodeBody;

static const JsonField code_fields[] = {
        JSON_FIELD_STRING(CodeBody, code, "code", .secret = true, .max_len = 64),
        {}
};
static const JsonSchema code_schema = { code_fields, sizeof(CodeBody) };

/* An administrator removes anyone's second factor (a lost phone) without
 * a code; a user who reaches their own here proves it with one, as on
 * .../me/totp. */
void api_handle_user_totp_remove(HttpRequest *req) {
        CodeBody b = {};
        const Principal *p;
        TesseraError e = {};
        TotpStatus st;
        int r;

        if (req->body_size > 0 && http_json_body(req, &code_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = auth_totp_disable(req->manager, http_store(req), p, req->target.user, b.code, &e);
        if (r >= 0)
                r = auth_totp_status(http_store(req), req->target.user->id, &st);
        if (r == -EKEYREJECTED)
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "invalid_code", NULL, "%s", tessera_error_message(&e));
        else if (r < 0)
                http_reply_errno(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, json_pack("{s:b, s:b, s:I}", "enabled", st.enabled, "pending",
                                                            st.pending, "backup_codes_left",
                                                            (json_int_t) st.backup_codes_left));
        http_reply_no_store(req);
        json_schema_done(&code_schema, &b);
}
