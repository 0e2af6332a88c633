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

/* The user behind a valid token, found through its session, every time:
 * a revoked token, an ended session or a disabled user fails at once. One
 * read transaction: one snapshot, and one WAL read lock instead of three.
 * -EKEYREJECTED or -ETIME for the token itself, -EACCES for a token without
 * a user or the openid scope, -ENOENT when its user can no longer sign in. */
static int token_user(OidcContext *ctx, const char *token, json_t **ret_claims, UserRecord **ret_user,
                      char ret_sub[static 64]) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        json_auto_t *claims = NULL;
        SsoSession sess = {};
        const char *sid, *sub, *scope;
        KeySet *ks;
        int r;

        /* The keys first: loading them may write (a tenant's first keys),
         * which a read transaction can't. Then they come from the cache. */
        r = http_keys(ctx->req, ctx->tenant->id, &ks);
        if (r < 0)
                return r;
        r = store_begin_read(ctx->store);
        if (r < 0)
                return r;
        r = oidc_verify_access_token(ctx, token, &claims);
        if (r >= 0) {
                scope = json_string_value(json_object_get(claims, "scope"));
                sid = json_string_value(json_object_get(claims, "sid"));
                if (!oidc_scope_has(scope, "openid") || !sid)
                        r = -EACCES;
        }
        if (r >= 0) {
                r = store_sso_session_get_by_sid(ctx->store, ctx->tenant->id, sid, &sess);
                if (r >= 0)
                        r = oidc_session_user(ctx, &sess, &u);
                if (r == -EPERM)
                        r = -ENOENT;
        }
        store_end_read(ctx->store);
        if (r < 0)
                return r;

        r = oidc_subject_of(ctx->req, u, ret_sub);
        if (r < 0)
                return r;
        sub = json_string_value(json_object_get(claims, "sub"));
        if (!streq(ret_sub, sub))
                return -ENOENT;
        *ret_claims = TAKE_PTR(claims);
        *ret_user = TAKE_PTR(u);
        return 0;
}

void oidc_handle_userinfo(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        json_auto_t *claims = NULL;
        const char *auth, *token;
        char sub[64];
        JsonText j;
        char *text;
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

        r = token_user(&ctx, token, &claims, &u, sub);
        switch (r) {
        case -ETIME:
                bearer_error(&ctx, "invalid_token", "The access token has expired.");
                return;
        case -EKEYREJECTED:
                bearer_error(&ctx, "invalid_token", "The access token is not valid here.");
                return;
        case -EACCES:
                bearer_error(&ctx, "insufficient_scope", "userinfo needs a user's token with the openid scope.");
                return;
        case -ENOENT:
                bearer_error(&ctx, "invalid_token", "The user of this token can no longer sign in.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }

        json_text_begin(&j);
        oidc_user_claims(&j, u, sub, json_string_value(json_object_get(claims, "scope")));
        text = json_text_end(&j);
        if (!text) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json_text(req, MHD_HTTP_OK, text);
        http_reply_no_store(req);
}
