/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The token endpoint (RFC 6749 3.2): authorization_code, refresh_token and
 * client_credentials, decided by the core (oauth-grant.h). Every outcome
 * is audited, and the reply goes out only once that record (and any
 * refresh token or used code) is committed, in a batch with other
 * requests'. */

#include "http-oidc.h"
#include "oauth-client.h"
#include "oauth-grant.h"

static const char *const token_json_fields[] = {
        "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret",
        "refresh_token", "scope", NULL,
};

void oidc_handle_token(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_free_ char *response = NULL;
        OAuthCommit *commit = NULL;
        OAuthTokenRequest rq;
        Principal client;
        OAuthError e = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, token_json_fields, &p) < 0)
                return;
        if (oidc_client_authenticate(&ctx, &p, "oauth.token", &app) < 0)
                return;

        rq = (OAuthTokenRequest) {
                .grant_type = http_params_get(&p, "grant_type"),
                .code = http_params_get(&p, "code"),
                .redirect_uri = http_params_get(&p, "redirect_uri"),
                .code_verifier = http_params_get(&p, "code_verifier"),
                .refresh_token = http_params_get(&p, "refresh_token"),
                .scope = http_params_get(&p, "scope"),
        };
        client = oauth_client_principal(&ctx.caller, app);
        r = oauth_token_request(&ctx.oauth, &client, app, &rq, &response, &commit, &e);
        if (r < 0) {
                oidc_refuse(&ctx, r, &e);
                return;
        }
        if (commit) {
                oidc_commit_answer(&ctx, commit);
                return;
        }
        http_reply_json_text(req, MHD_HTTP_OK, TAKE_PTR(response));
        http_reply_no_store(req);
        oidc_commit_reply(&ctx);
}
