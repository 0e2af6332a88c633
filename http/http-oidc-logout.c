/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the
 * browser's SSO session and its refresh tokens, then returns to the app
 * only at a post-logout URI it registered. Without an id_token_hint of
 * this very session the user confirms first (oauth-logout.h). */

#include <stdlib.h>

#include "http-browser.h"
#include "http-pages.h"
#include "oauth-logout.h"
#include "sso-session.h"

/* The confirmation page: it posts the same query again. */
static void show_confirmation(OidcContext *ctx, const HttpParams *q) {
        _cleanup_free_ char *raw = NULL, *binding = NULL, *csrf = NULL;
        const TenantRecord *t = ctx->oauth.tenant;
        PageForm f = { .tenant = t->slug };
        bool fresh = false;
        int r;

        r = browser_binding(ctx->req, &binding, &fresh);
        if (r >= 0)
                r = browser_csrf_token(ctx->req, binding, "logout", &csrf);
        if (r >= 0)
                r = http_params_encode(q, &raw);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }
        f.csrf = csrf;
        f.logout_params = raw;
        f.tenant_name = isempty(t->display_name) ? t->slug : t->display_name;
        http_reply_html(ctx->req, MHD_HTTP_OK, page_logout_confirm(&f));
        if (fresh)
                browser_send_binding(ctx->req, t->slug, binding);
}

void oidc_handle_logout(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(http_params_done) HttpParams q = {}, form = {};
        _cleanup_free_ char *target = NULL, *hint_sid = NULL;
        const char *post_logout, *state;
        SsoSession sess = {};
        bool have_session, confirmed = false;
        OAuthError e = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        r = http_query_params(req, &q);
        if (r < 0) {
                authz_error_page(&ctx, MHD_HTTP_BAD_REQUEST, "Sign-out failed", "The sign-out request is malformed.");
                return;
        }
        if (streq(req->method, "POST")) {
                if (http_body_params(req, NULL, &form) < 0)
                        return;
                if (!browser_csrf_ok(req, "logout", http_params_get(&form, "csrf"))) {
                        authz_error_page(&ctx, MHD_HTTP_FORBIDDEN, "Please try again",
                                         "This form has expired or did not come from this site.");
                        return;
                }
                confirmed = streq(strempty(http_params_get(&form, "confirm")), "yes");
        }

        post_logout = http_params_get(&q, "post_logout_redirect_uri");
        state = http_params_get(&q, "state");
        r = oauth_logout_check(&ctx.oauth, http_params_get(&q, "id_token_hint"), http_params_get(&q, "client_id"),
                               post_logout, &hint_sid, &e);
        if (r < 0) {
                if (e.error)
                        authz_error_page(&ctx, MHD_HTTP_BAD_REQUEST, "Sign-out failed", e.description);
                else
                        http_reply_internal_error(req, r);
                return;
        }

        have_session = browser_session(&ctx, &sess) >= 0;
        if (have_session && !confirmed && oauth_logout_needs_confirmation(hint_sid, &sess)) {
                show_confirmation(&ctx, &q);
                return;
        }
        if (have_session) {
                r = sso_session_end(&ctx.oauth, &ctx.caller, &sess);
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
        }

        if (post_logout) {
                const char *sep = strchr(post_logout, '?') ? "&" : "?";
                _cleanup_free_ char *s = state ? http_url_encode(state) : NULL;

                if (asprintf(&target, "%s%s%s%s", post_logout, state ? sep : "", state ? "state=" : "",
                             state ? strempty(s) : "") < 0) {
                        http_reply_internal_error(req, -ENOMEM);
                        return;
                }
                http_reply_redirect(req, target);
        } else
                http_reply_html(req, MHD_HTTP_OK, page_message("Signed out", "You have been signed out."));
        if (have_session)
                browser_set_session_cookie(req, ctx.oauth.tenant->slug, NULL, 0);
}
