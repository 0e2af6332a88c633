/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-grant.h"

#include "oauth-code.h"
#include "oauth-refresh.h"

int oauth_grant_refuse(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app, OAuthError *e,
                       const char *error, const char *description) {
        pending_audit_add(&ctx->audit, client, "oauth.token", ctx->tenant->slug, app->name, AUDIT_DENIED,
                          "{\"error\":\"%s\"}", error);
        return oauth_error_set(e, -EINVAL, error, "%s", description);
}

int oauth_token_request(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                        const OAuthTokenRequest *rq, char **ret_response, OAuthCommit **ret_commit, OAuthError *e) {
        const char *grant = rq->grant_type;

        if (isempty(grant))
                return oauth_grant_refuse(ctx, client, app, e, "invalid_request", "grant_type is required.");
        if (streq(grant, "client_credentials"))
                return oauth_grant_client_credentials(ctx, client, app, rq->scope, ret_response, e);
        if (streq(grant, "authorization_code"))
                return oauth_grant_authorization_code(ctx, client, app, rq->code, rq->redirect_uri, rq->code_verifier,
                                                      ret_commit, e);
        if (streq(grant, "refresh_token"))
                return oauth_grant_refresh_token(ctx, client, app, rq->refresh_token, rq->scope, ret_commit, e);
        return oauth_grant_refuse(ctx, client, app, e, "unsupported_grant_type",
                                  "Supported grants: authorization_code, refresh_token, client_credentials.");
}
