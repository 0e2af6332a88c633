/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's account flows by mail, under
 * /api/v1/tenants/{tenant}/auth/: forgot, reset, verify-email and
 * verify-email/request. The rules are the core's (password-reset.h,
 * email-verification.h); here requests are read and answers written.
 *
 *   POST forgot                {"email"}                  200 {"message"}, the same for every address
 *   POST reset                 {"token", "new_password"}  200 {"message"}
 *   POST verify-email          {"token"}                  200 {"message", "email_verified": true}
 *   POST verify-email/request  (signed in, no body)       202 {"message"}
 *
 * Refusals, in the envelope: 400 invalid_token, expired_token; 422 the
 * body's fields, invalid (not an e-mail address), weak_password; 409
 * already_done (verified already); 429 rate_limited with Retry-After; 503
 * mail_unavailable when this host sends no mail. */

#include "email-verification.h"
#include "http-handlers.h"
#include "password-reset.h"

#define EMAIL_MAX_LEN 320
#define ACCOUNT_TOKEN_MAX_LEN 512
#define PASSWORD_MAX_LEN 1024

typedef struct ForgotBody {
        char *email;
} ForgotBody;

static const JsonField forgot_fields[] = {
        JSON_FIELD_STRING(ForgotBody, email, "email", .required = true, .max_len = EMAIL_MAX_LEN),
        {}
};
static const JsonSchema forgot_schema = { forgot_fields, sizeof(ForgotBody) };
static void forgot_body_done(ForgotBody *b) {
        json_schema_done(&forgot_schema, b);
}

typedef struct ResetBody {
        char *token;
        char *new_password;
} ResetBody;

static const JsonField reset_fields[] = {
        JSON_FIELD_STRING(ResetBody, token, "token", .required = true, .secret = true, .max_len = ACCOUNT_TOKEN_MAX_LEN),
        JSON_FIELD_STRING(ResetBody, new_password, "new_password", .required = true, .secret = true,
                          .max_len = PASSWORD_MAX_LEN),
        {}
};
static const JsonSchema reset_schema = { reset_fields, sizeof(ResetBody) };
static void reset_body_done(ResetBody *b) {
        json_schema_done(&reset_schema, b);
}

typedef struct VerifyBody {
        char *token;
} VerifyBody;

static const JsonField verify_fields[] = {
        JSON_FIELD_STRING(VerifyBody, token, "token", .required = true, .secret = true, .max_len = ACCOUNT_TOKEN_MAX_LEN),
        {}
};
static const JsonSchema verify_schema = { verify_fields, sizeof(VerifyBody) };
static void verify_body_done(VerifyBody *b) {
        json_schema_done(&verify_schema, b);
}

static void retry_after(HttpRequest *req, unsigned wait) {
        char seconds[16];

        snprintf(seconds, sizeof(seconds), "%u", MAX(wait, 1u));
        http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
}

/* A refusal of the core's account operations in the envelope. */
static void reply_refusal(HttpRequest *req, int r, const TesseraError *e, unsigned wait) {
        switch (r) {
        case -EKEYREJECTED:
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_token", NULL, "%s",
                                 e->message[0] ? e->message : "The token is not valid.");
                break;
        case -ETIME:
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "expired_token", NULL, "%s",
                                 e->message[0] ? e->message : "The token has expired.");
                break;
        case -EOPNOTSUPP:
                http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "mail_unavailable", NULL, "%s",
                                 e->message[0] ? e->message : "This host sends no mail.");
                break;
        case -ETOOMANYREFS:
                http_reply_errno(req, r, e);
                retry_after(req, wait);
                break;
        default:
                http_reply_errno(req, r, e);
        }
        http_reply_no_store(req);
}

static void reply_message(HttpRequest *req, unsigned status, json_t *j) {
        http_reply_json(req, status, j);
        http_reply_no_store(req);
}

void api_handle_auth_forgot(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(forgot_body_done) ForgotBody b = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        BatchWrite *work = NULL;
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (http_tenant(req, &t) < 0)
                return;
        if (http_json_body(req, &forgot_schema, &b) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        r = password_reset_request(req->manager, s, &p, t, b.email, req->server->url, &wait, &work, &e);
        if (r == -EINVAL) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", json_pack("{s:s}", "field", "email"),
                                 "%s", e.message[0] ? e.message : "Give an e-mail address.");
                return;
        }
        if (r < 0) {
                reply_refusal(req, r, &e, wait);
                return;
        }
        /* The account is looked up only once the answer is out: nothing
         * the asker can time depends on it. */
        http_write_after_reply(req, work);
        reply_message(req, MHD_HTTP_OK, json_pack("{s:s}", "message", PASSWORD_RESET_REQUESTED));
}

void api_handle_auth_reset(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(reset_body_done) ResetBody b = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (http_tenant(req, &t) < 0)
                return;
        if (http_json_body(req, &reset_schema, &b) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        r = password_reset_confirm(req->manager, s, &p, t, b.token, b.new_password, &wait, NULL, &e);
        if (r == -EINVAL) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "weak_password",
                                 json_pack("{s:s}", "field", "new_password"), "%s",
                                 e.message[0] ? e.message : "The password is too weak.");
                http_reply_no_store(req);
                return;
        }
        if (r < 0) {
                reply_refusal(req, r, &e, wait);
                return;
        }
        reply_message(req, MHD_HTTP_OK, json_pack("{s:s}", "message", "Password reset successfully."));
}

void api_handle_auth_verify_email(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(verify_body_done) VerifyBody b = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (http_tenant(req, &t) < 0)
                return;
        if (http_json_body(req, &verify_schema, &b) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        r = email_verification_confirm(req->manager, s, &p, t, b.token, &wait, NULL, &e);
        if (r < 0) {
                reply_refusal(req, r, &e, wait);
                return;
        }
        reply_message(req, MHD_HTTP_OK,
                      json_pack("{s:s, s:b}", "message", "The e-mail address is verified.", "email_verified", 1));
}

void api_handle_auth_verify_email_request(HttpRequest *req) {
        const Principal *p;
        Store *s = http_store(req);
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        r = http_request_principal(req, &p);
        if (r < 0 || !s) {
                http_reply_internal_error(req, r < 0 ? r : -EIO);
                return;
        }
        /* The door let only a user of this tenant through (auth.self). */
        if (p->kind != PRINCIPAL_USER || !req->auth->user || !req->target.tenant) {
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", NULL, "Sign in as the user first.");
                return;
        }
        r = email_verification_request(req->manager, s, p, req->target.tenant, req->auth->user, req->server->url,
                                       &wait, &e);
        if (r < 0) {
                reply_refusal(req, r, &e, wait);
                return;
        }
        reply_message(req, MHD_HTTP_ACCEPTED,
                      json_pack("{s:s}", "message", "A verification mail is on its way."));
}
