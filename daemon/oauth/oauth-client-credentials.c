/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client_credentials grant (RFC 6749 4.4): a confidential client asks
 * for an access token of its own, for the scopes it may have. The hot
 * path of the provider: everything it needs comes from the thread's cache,
 * and its one write (the audit event) goes into a batch. */

#include "oauth-grant.h"
#include "oauth-scope.h"
#include "oauth-token.h"

int oauth_grant_client_credentials(OAuthContext *ctx, const Principal *client, const ApplicationRecord *app,
                                   const char *requested, char **ret_response, OAuthError *e) {
        _cleanup_free_ char *scope = NULL, *access = NULL, *response = NULL;
        OAuthTokenSpec t = { .app = app };
        int r;

        if (app->public_client || !application_has_grant(app, "client_credentials"))
                return oauth_grant_refuse(ctx, client, app, e, "unauthorized_client",
                                          "This client may not use the client_credentials grant.");
        /* No user: the OpenID scopes make no sense here. */
        if (requested && (oauth_scope_has(requested, "openid") || oauth_scope_has(requested, "offline_access")))
                return oauth_grant_refuse(ctx, client, app, e, "invalid_scope",
                                          "openid and offline_access need a user; client_credentials has none.");
        r = oauth_scope_normalize(app, requested ?: "", &scope);
        if (r < 0)
                return oauth_grant_refuse(ctx, client, app, e, "invalid_scope",
                                          "A requested scope is unknown or not allowed.");
        t.scope = scope;
        r = oauth_mint_tokens(ctx, &t, &access, NULL);
        if (r < 0)
                return r;
        r = oauth_token_response(ctx, access, NULL, NULL, scope, &response);
        if (r < 0)
                return r;
        pending_audit_add(&ctx->audit, client, "oauth.token", ctx->tenant->slug, app->name, AUDIT_SUCCESS,
                          "{\"grant\":\"client_credentials\",\"jti\":\"%s\"}", t.jti);
        *ret_response = TAKE_PTR(response);
        return 0;
}
