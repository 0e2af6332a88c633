/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http-oidc.h"

static void bearer_error(OidcContext *ctx, const char *error, const char *message) {
        char header[160];
        OidcAudit a = {};

        snprintf(header, sizeof(header), "Bearer realm=\"%s\", error=\"%s\"", ctx->tenant->slug, error);
        http_reply_oauth_error(ctx->req, MHD_HTTP_UNAUTHORIZED, error, "%s", message);
        http_reply_header(ctx->req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, header);
        oidc_audit_add(&a, ctx, "oauth.userinfo", NULL, NULL, AUDIT_DENIED, "{\"error\":\"%s\"}", error);
        oidc_commit_reply(ctx, &a);
}

void oidc_handle_userinfo(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        json_auto_t *claims = NULL;
        const char *auth, *token, *sid, *sub, *scope;
        OidcSession sess = {};
        char expected[64];
        json_t *body;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        auth = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
                /* RFC 6750 3.1: no credentials, no error code. */
                http_reply_oauth_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_request",
                                       "Send the access token as Authorization: Bearer.");
                http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
                return;
        }
        token = auth + 7;
        while (*token == ' ')
                token++;

        r = oidc_verify_access_token(&ctx, token, &claims);
        if (r == -ETIME) {
                bearer_error(&ctx, "invalid_token", "The access token has expired.");
                return;
        }
        if (r == -EKEYREJECTED) {
                bearer_error(&ctx, "invalid_token", "The access token is not valid here.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }

        scope = json_string_value(json_object_get(claims, "scope"));
        sid = json_string_value(json_object_get(claims, "sid"));
        sub = json_string_value(json_object_get(claims, "sub"));
        if (!oidc_scope_has(scope, "openid") || !sid) {
                bearer_error(&ctx, "insufficient_scope", "userinfo needs a user's token with the openid scope.");
                return;
        }

        /* The user behind the token, found through its session. */
        r = store_session_get_by_sid(ctx.store, sid, &sess);
        if (r >= 0)
                r = oidc_session_user(&ctx, &sess, &u);
        if (r >= 0)
                r = oidc_subject_of(req, u, expected);
        if (r == -ENOENT || r == -EPERM || (r >= 0 && !streq(expected, sub))) {
                bearer_error(&ctx, "invalid_token", "The user of this token can no longer sign in.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }

        body = oidc_user_claims(u, expected, scope);
        http_reply_json(req, MHD_HTTP_OK, body);
        http_reply_no_store(req);
}
