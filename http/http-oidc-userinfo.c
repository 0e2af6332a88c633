/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The UserInfo endpoint: a bearer token in, the user's claims out
 * (oauth-userinfo.h decides); refusals as RFC 6750 challenges. */

#include <strings.h>

#include "http-oidc.h"
#include "oauth-userinfo.h"

void oidc_handle_userinfo(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        const char *auth, *token;
        OAuthError e = {};
        char *claims = NULL;
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

        r = oauth_userinfo(&ctx.oauth, &ctx.caller, token, &claims, &e);
        if (r < 0) {
                if (e.error) {
                        char header[160];

                        snprintf(header, sizeof(header), "Bearer realm=\"%s\", error=\"%s\"", ctx.oauth.tenant->slug,
                                 e.error);
                        http_reply_oauth_error(req, oidc_error_status(e.error), e.error, "%s", e.description);
                        http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, header);
                        oidc_commit_reply(&ctx);
                } else
                        http_reply_internal_error(req, r);
                return;
        }
        http_reply_json_text(req, MHD_HTTP_OK, claims);
        http_reply_no_store(req);
}
