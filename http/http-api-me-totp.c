/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The signed-in user's second factor: /api/v1/tenants/{tenant}/me/totp
 * (state, enrol, confirm, remove) and /me/backup-codes. The core's TOTP
 * operations (auth-totp.h), the same the D-Bus face calls, decide: a code
 * proves the user has the factor they change, a wrong one counts towards
 * the lockout. The enrolment's secret goes out once, with its otpauth://
 * URI and that URI as a QR code (SVG). */

#include "auth-totp.h"
#include "http-handlers.h"
#include "http-qr-svg.h"

typedef struct CodeBody {
        char *code;
} CodeBody;

static const JsonField code_fields[] = {
        JSON_FIELD_STRING(CodeBody, code, "code", .secret = true, .max_len = 64),
        {}
};
static const JsonSchema code_schema = { code_fields, sizeof(CodeBody) };

static const JsonField code_required_fields[] = {
        JSON_FIELD_STRING(CodeBody, code, "code", .required = true, .secret = true, .max_len = 64),
        {}
};
static const JsonSchema code_required_schema = { code_required_fields, sizeof(CodeBody) };

/* The body {"code"} of routes whose code may be left out (the core says
 * when it is needed); an empty body is the same as {}. */
static int code_body(HttpRequest *req, CodeBody *b) {
        if (req->body_size == 0)
                return 0;
        return http_json_body(req, &code_schema, b);
}

/* A wrong code is not a failed bearer token: 403 with its own code, so
 * that a client does not take it for a sign-out. */
static void reply_failure(HttpRequest *req, int r, const TesseraError *e) {
        if (r == -EKEYREJECTED)
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "invalid_code", NULL, "%s",
                                 e->message[0] ? e->message : "The code is not correct.");
        else
                http_reply_errno(req, r, e);
}

static void reply_status(HttpRequest *req, unsigned status) {
        TotpStatus st;
        int r;

        r = auth_totp_status(http_store(req), req->target.user->id, &st);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_json(req, status, json_pack("{s:b, s:b, s:I}", "enabled", st.enabled, "pending", st.pending,
                                               "backup_codes_left", (json_int_t) st.backup_codes_left));
        http_reply_no_store(req);
}

void api_handle_me_totp_get(HttpRequest *req) {
        reply_status(req, MHD_HTTP_OK);
}

void api_handle_me_totp_begin(HttpRequest *req) {
        _cleanup_(erase_and_freep) char *secret = NULL, *uri = NULL;
        _cleanup_free_ char *svg = NULL;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = auth_totp_begin(req->manager, http_store(req), p, req->target.user, &secret, &uri, &e);
        if (r < 0) {
                reply_failure(req, r, &e);
                return;
        }
        r = http_qr_svg(uri, &svg);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_json(req, MHD_HTTP_CREATED, json_pack("{s:s, s:s, s:s}", "secret", secret, "otpauth_uri", uri,
                                                         "qr_svg", svg));
        http_reply_no_store(req);
}

static json_t *codes_json(char **codes) {
        json_t *a = json_array();

        STRV_FOREACH(c, codes)
                json_array_append_new(a, json_string(*c));
        return json_pack("{s:o}", "backup_codes", a);
}

void api_handle_me_totp_confirm(HttpRequest *req) {
        _cleanup_(strv_free_erasep) char **codes = NULL;
        CodeBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &code_required_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = auth_totp_confirm(req->manager, http_store(req), p, req->target.user, b.code, &codes, &e);
        if (r < 0)
                reply_failure(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, codes_json(codes));
        http_reply_no_store(req);
        json_schema_done(&code_required_schema, &b);
}

void api_handle_me_totp_remove(HttpRequest *req) {
        CodeBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (code_body(req, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = auth_totp_disable(req->manager, http_store(req), p, req->target.user, b.code, &e);
        if (r < 0)
                reply_failure(req, r, &e);
        else
                reply_status(req, MHD_HTTP_OK);
        json_schema_done(&code_schema, &b);
}

void api_handle_me_backup_codes(HttpRequest *req) {
        _cleanup_(strv_free_erasep) char **codes = NULL;
        CodeBody b = {};
        const Principal *p;
        TesseraError e = {};
        int r;

        if (code_body(req, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = auth_totp_new_backup_codes(req->manager, http_store(req), p, req->target.user, b.code, &codes,
                                               &e);
        if (r < 0)
                reply_failure(req, r, &e);
        else
                http_reply_json(req, MHD_HTTP_OK, codes_json(codes));
        http_reply_no_store(req);
        json_schema_done(&code_schema, &b);
}
