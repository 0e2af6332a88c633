/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Revocation (RFC 7009) and introspection (RFC 7662), decided by the core
 * (oauth-revoke.h). */

#include "http-oidc.h"
#include "oauth-client.h"
#include "oauth-revoke.h"

static const char *const revoke_fields[] = { "token", "token_type_hint", "client_id", "client_secret", NULL };

void oidc_handle_revoke(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(http_params_done) HttpParams p = {};
        OAuthCommit *commit = NULL;
        Principal client;
        OAuthError e = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, revoke_fields, &p) < 0)
                return;
        if (oidc_client_authenticate(&ctx, &p, "oauth.revoke", &app) < 0)
                return;
        client = oauth_client_principal(&ctx.caller, app);
        r = oauth_revoke(&ctx.oauth, &client, app, http_params_get(&p, "token"), &commit, &e);
        if (r < 0) {
                oidc_refuse(&ctx, r, &e);
                return;
        }
        oidc_commit_answer(&ctx, commit);
}

void oidc_handle_introspect(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(http_params_done) HttpParams p = {};
        json_t *body = NULL;
        Principal client;
        OAuthError e = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, revoke_fields, &p) < 0)
                return;
        if (oidc_client_authenticate(&ctx, &p, "oauth.introspect", &app) < 0)
                return;
        client = oauth_client_principal(&ctx.caller, app);
        r = oauth_introspect(&ctx.oauth, &client, app, http_params_get(&p, "token"), &body, &e);
        if (r < 0) {
                oidc_refuse(&ctx, r, &e);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, body);
        http_reply_no_store(req);
}
