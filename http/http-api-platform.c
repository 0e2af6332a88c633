/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The platform's operators over the JSON API (operator.h), under
 * /api/v1/platform: sign-in with a password and a TOTP code for an
 * operator token; the tenants; users of every tenant by the beginning of
 * their e-mail address; and a short-lived grant to act as one tenant's
 * admin, for a stated reason. The door checked the route's action; the
 * core checks again and audits. */

#include <inttypes.h>
#include <stdlib.h>

#include "http-handlers.h"
#include "http-list.h"
#include "operator.h"

typedef struct SigninBody {
        char *name;
        char *password;
        char *code;
} SigninBody;

static const JsonField signin_fields[] = {
        JSON_FIELD_STRING(SigninBody, name, "name", .required = true, .max_len = 64),
        JSON_FIELD_STRING(SigninBody, password, "password", .required = true, .secret = true, .max_len = 1024),
        JSON_FIELD_STRING(SigninBody, code, "code", .required = true, .secret = true, .max_len = 16),
        {}
};
static const JsonSchema signin_schema = { signin_fields, sizeof(SigninBody) };

static void reply_token(HttpRequest *req, unsigned status, char *token, int64_t expires_usec, json_t *extra) {
        json_t *j = json_pack("{s:s, s:s, s:o}", "token", token, "token_type", "Bearer", "expires_at",
                              http_json_time(expires_usec));

        explicit_bzero(token, strlen(token));
        free(token);
        if (j && extra && json_object_update(j, extra) < 0) {
                json_decref(j);
                j = NULL;
        }
        json_decref(extra);
        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, status, j);
        http_reply_no_store(req);
}

void api_handle_platform_signin(HttpRequest *req) {
        Principal caller = http_principal(req, NULL);
        SigninBody b = {};
        TesseraError e = {};
        unsigned wait = 0;
        int64_t expires = 0;
        char *token = NULL, seconds[16];
        Store *s = http_store(req);
        int r;

        if (http_json_body(req, &signin_schema, &b) < 0)
                return;
        r = s ? operator_signin(req->manager, s, &caller, b.name, b.password, b.code, &token, &expires, &wait, &e)
              : -EIO;
        if (r == -ETOOMANYREFS) {
                snprintf(seconds, sizeof(seconds), "%u", wait);
                http_reply_error(req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", NULL, "%s", e.message);
                http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        } else if (r == -EKEYREJECTED) {
                http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_credentials", NULL, "%s", e.message);
                http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tessera platform\"");
        } else if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_token(req, MHD_HTTP_OK, token, expires, json_pack("{s:{s:s}}", "operator", "name", b.name));
        json_schema_done(&signin_schema, &b);
}

void api_handle_platform_tenants(HttpRequest *req) {
        static const char *const known[] = { "limit", "cursor", NULL };
        _cleanup_(http_params_done) HttpParams q = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        TenantRecord **list = NULL;
        const Principal *p;
        TesseraError e = {};
        json_t *items, *answer;
        Cursor last = {};
        size_t n = 0;
        int r;

        if (http_list_query(req, known, &q) < 0 || http_list_page(req, &q, "platform:tenants", &page) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = platform_tenants_list(req->manager, http_store(req), p, page.has_cursor ? page.after.text : NULL,
                                          page.limit, &list, &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, json_pack("{s:s, s:s, s:o}", "slug", list[i]->slug, "display_name",
                                                           strempty(list[i]->display_name), "created_at",
                                                           http_json_time(list[i]->created_usec))) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                last = (Cursor) { .text = list[n - 1]->slug, .id = list[n - 1]->id };
        answer = http_list_json(req, "platform:tenants", items, &page, n > 0 ? &last : NULL);
        tenant_record_array_free(list, n);
        if (!answer) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, answer);
        http_reply_no_store(req);
}

void api_handle_platform_users(HttpRequest *req) {
        static const char *const known[] = { "email", "limit", "cursor", NULL };
        _cleanup_(http_params_done) HttpParams q = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        _cleanup_free_ char *scope = NULL;
        UserRecord **list = NULL;
        const char *email;
        const Principal *p;
        TesseraError e = {};
        json_t *items, *answer;
        Cursor last = {};
        size_t n = 0;
        int r;

        if (http_list_query(req, known, &q) < 0)
                return;
        email = http_params_get(&q, "email");
        if (!email) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_parameter", json_pack("{s:s}", "field", "email"),
                                 "Give email: the first characters of an address.");
                return;
        }
        if (asprintf(&scope, "platform:users:%zu:%s", strlen(email), email) < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        if (http_list_page(req, &q, scope, &page) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = platform_users_search(req->manager, http_store(req), p, email,
                                          page.has_cursor ? page.after.text : NULL, page.after.id, page.limit, &list,
                                          &n, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, api_user_json(list[i], true)) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                last = (Cursor) { .text = list[n - 1]->email, .id = list[n - 1]->id };
        answer = http_list_json(req, scope, items, &page, n > 0 ? &last : NULL);
        user_record_array_free(list, n);
        if (!answer) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, answer);
        http_reply_no_store(req);
}

typedef struct ImpersonateBody {
        char *reason;
} ImpersonateBody;

static const JsonField impersonate_fields[] = {
        JSON_FIELD_STRING(ImpersonateBody, reason, "reason", .required = true,
                          .max_len = IMPERSONATION_REASON_MAX_LEN),
        {}
};
static const JsonSchema impersonate_schema = { impersonate_fields, sizeof(ImpersonateBody) };

void api_handle_platform_impersonate(HttpRequest *req) {
        const TenantRecord *t = req->target.tenant;
        ImpersonateBody b = {};
        const Principal *p;
        TesseraError e = {};
        int64_t expires = 0;
        char *token = NULL;
        int r;

        if (http_json_body(req, &impersonate_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = operator_impersonate(req->manager, http_store(req), p, t, b.reason, &token, &expires, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        else
                reply_token(req, MHD_HTTP_CREATED, token, expires,
                            json_pack("{s:s, s:s, s:s}", "tenant", t->slug, "reason", b.reason, "acts_as", "admin"));
        json_schema_done(&impersonate_schema, &b);
}
