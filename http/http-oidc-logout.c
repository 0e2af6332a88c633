/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the
 * browser session and its refresh tokens, then returns to the app only at
 * a post-logout URI it registered. Without an id_token_hint of this very
 * session the user confirms first, so a link on another site cannot sign
 * anybody out. */

#include <stdlib.h>

#include "http-browser.h"
#include "http-pages.h"
#include "jwt.h"

/* An ID token of ours (expired is fine: it only names the session). */
static int hint_claims(OidcContext *ctx, const char *hint, json_t **ret) {
        json_auto_t *claims = NULL;
        int r;

        r = oidc_verify_jwt(ctx, hint, NULL, &claims);
        if (r < 0)
                return r;
        if (!streq(strempty(json_string_value(json_object_get(claims, "iss"))), ctx->issuer))
                return -EKEYREJECTED;
        *ret = TAKE_PTR(claims);
        return 0;
}

void oidc_handle_logout(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(http_params_done) HttpParams q = {}, form = {};
        _cleanup_free_ char *target = NULL, *raw = NULL, *binding = NULL, *csrf = NULL;
        json_auto_t *claims = NULL;
        const char *hint, *post_logout, *state, *client_id;
        SsoSession sess = {};
        bool have_session, confirmed = false, fresh = false;
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

        hint = http_params_get(&q, "id_token_hint");
        post_logout = http_params_get(&q, "post_logout_redirect_uri");
        state = http_params_get(&q, "state");
        client_id = http_params_get(&q, "client_id");
        if (hint && hint_claims(&ctx, hint, &claims) < 0) {
                authz_error_page(&ctx, MHD_HTTP_BAD_REQUEST, "Sign-out failed", "The id_token_hint is not valid here.");
                return;
        }
        if (claims) {
                const char *aud = json_string_value(json_object_get(claims, "aud"));
                if (client_id && aud && !streq(client_id, aud)) {
                        authz_error_page(&ctx, MHD_HTTP_BAD_REQUEST, "Sign-out failed",
                                         "client_id and id_token_hint name different applications.");
                        return;
                }
                client_id = client_id ?: aud;
        }
        if (post_logout) {
                /* Only to an address the application registered for this. */
                if (!client_id || !token_is_plausible(client_id) ||
                    http_application(req, ctx.tenant->id, client_id, &app) < 0 ||
                    !application_has_post_logout_uri(app, post_logout)) {
                        authz_error_page(&ctx, MHD_HTTP_BAD_REQUEST, "Sign-out failed",
                                         "The address to return to after signing out is not registered, so we will "
                                         "not send you there.");
                        return;
                }
        }

        have_session = browser_session(&ctx, &sess) >= 0;
        if (have_session && !confirmed) {
                const char *sid = claims ? json_string_value(json_object_get(claims, "sid")) : NULL;

                if (!sid || !streq(sid, sess.sid)) {
                        PageForm f = { .tenant = ctx.tenant->slug };

                        r = browser_binding(req, &binding, &fresh);
                        if (r >= 0)
                                r = browser_csrf_token(req, binding, "logout", &csrf);
                        /* The confirmation posts the same query again. */
                        if (r >= 0)
                                r = http_params_encode(&q, &raw);
                        if (r < 0) {
                                http_reply_internal_error(req, r);
                                return;
                        }
                        f.csrf = csrf;
                        f.logout_params = raw;
                        f.tenant_name = isempty(ctx.tenant->display_name) ? ctx.tenant->slug : ctx.tenant->display_name;
                        http_reply_html(req, MHD_HTTP_OK, page_logout_confirm(&f));
                        if (fresh)
                                browser_send_binding(req, ctx.tenant->slug, binding);
                        return;
                }
        }

        if (have_session) {
                _cleanup_(store_rollbackp) Store *txn = NULL;
                Principal actor = http_principal(req, NULL);

                r = store_begin(ctx.store);
                if (r >= 0) {
                        txn = ctx.store;
                        r = store_sso_session_revoke(ctx.store, ctx.tenant->id, sess.id, store_now_usec());
                }
                if (r >= 0)
                        r = change_audit(ctx.store, &actor, "oidc.logout", ctx.tenant->slug, sess.sid, AUDIT_SUCCESS,
                                        "{\"revoked\":\"session and its refresh tokens\"}");
                if (r >= 0)
                        r = store_commit(TAKE_PTR(txn));
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
                browser_set_session_cookie(req, ctx.tenant->slug, NULL, 0);
}
