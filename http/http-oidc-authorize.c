/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The authorization endpoint (authorization code flow with PKCE), the
 * consent step, and what the sign-in pages share with them. The core
 * decides (oauth-authorize.h); here the request is read, the pages shown
 * and the browser sent on. Errors about the client or its redirect URI
 * are shown as a page and never redirect (RFC 6749 4.1.2.1); every other
 * error goes back to the client with state and iss (RFC 9207). */

#include <stdlib.h>

#include "http-browser.h"
#include "http-pages.h"
#include "upstream-provider.h"
#include "mail.h"
#include "oauth-consent.h"
#include "tenant-settings.h"
#include "sso-session.h"

void authz_request_done(AuthzRequest *a) {
        http_params_done(&a->params);
        free(a->raw);
        oauth_authz_request_done(&a->oauth);
        *a = (AuthzRequest) {};
}

void authz_error_page(OidcContext *ctx, unsigned status, const char *title, const char *message) {
        http_reply_html(ctx->req, status, page_message(title, message));
}

/* Appends key=value pairs to a URI that may already have a query. */
static char *uri_with_params(const char *uri, const char *const *kv) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        char sep = strchr(uri, '?') ? '&' : '?';

        if (!f)
                return NULL;
        fputs(uri, f);
        for (size_t i = 0; kv[i]; i += 2) {
                _cleanup_free_ char *v = NULL;

                if (!kv[i + 1])
                        continue;
                v = http_url_encode(kv[i + 1]);
                if (!v) {
                        fclose(f);
                        free(out);
                        return NULL;
                }
                fprintf(f, "%c%s=%s", sep, kv[i], v);
                sep = '&';
        }
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}

void authz_refuse(OidcContext *ctx, const char *redirect_uri, const char *state, int r, const OAuthError *e) {
        if (!e->error)
                http_reply_internal_error(ctx->req, r);
        else if (!e->redirect)
                authz_error_page(ctx, MHD_HTTP_BAD_REQUEST, "This sign-in link is not valid", e->description);
        else {
                const char *kv[] = { "error", e->error, "error_description", e->description,
                                     "state", e->drop_state ? NULL : state, "iss", ctx->oauth.issuer, NULL };
                _cleanup_free_ char *url = uri_with_params(redirect_uri, kv);

                if (!url)
                        http_reply_internal_error(ctx->req, -ENOMEM);
                else
                        http_reply_redirect(ctx->req, url);
        }
        oidc_commit_reply(ctx);
}

/* A request that could not even be read: a page, audited. */
static void malformed(OidcContext *ctx, const char *message) {
        OAuthError e = {};
        int r;

        r = oauth_authz_invalid(&ctx->oauth, &ctx->caller, message, &e);
        authz_refuse(ctx, NULL, NULL, r, &e);
}

int authz_parse(OidcContext *ctx, HttpParams *params, AuthzRequest *ret, ApplicationRecord **ret_app) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = { .params = *params };
        OAuthAuthzParams p;
        OAuthError e = {};
        int r;

        *params = (HttpParams) {};
        p = (OAuthAuthzParams) {
                .client_id = http_params_get(&a.params, "client_id"),
                .redirect_uri = http_params_get(&a.params, "redirect_uri"),
                .state = http_params_get(&a.params, "state"),
                .response_type = http_params_get(&a.params, "response_type"),
                .response_mode = http_params_get(&a.params, "response_mode"),
                .scope = http_params_get(&a.params, "scope"),
                .code_challenge = http_params_get(&a.params, "code_challenge"),
                .code_challenge_method = http_params_get(&a.params, "code_challenge_method"),
                .nonce = http_params_get(&a.params, "nonce"),
                .prompt = http_params_get(&a.params, "prompt"),
                .max_age = http_params_get(&a.params, "max_age"),
                .request = http_params_get(&a.params, "request") != NULL,
                .request_uri = http_params_get(&a.params, "request_uri") != NULL,
                .duplicate = a.params.duplicate,
        };
        r = oauth_authz_check(&ctx->oauth, &ctx->caller, &p, &a.oauth, &app, &e);
        if (r < 0) {
                authz_refuse(ctx, p.redirect_uri, p.state, r, &e);
                return r;
        }
        r = http_params_encode(&a.params, &a.raw);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return r;
        }
        /* The strings of a.oauth point into params, which moves along. */
        *ret = a;
        a = (AuthzRequest) {};
        *ret_app = TAKE_PTR(app);
        return 0;
}

int authz_parse_form(OidcContext *ctx, const char *request, AuthzRequest *ret, ApplicationRecord **ret_app) {
        HttpParams p;
        int r;

        if (isempty(request)) {
                malformed(ctx, "The sign-in form lost the request it belongs to; start again from the application.");
                return -EINVAL;
        }
        r = http_parse_urlencoded(request, strlen(request), &p);
        if (r < 0 && r != -ENOTUNIQ) {
                malformed(ctx, "The sign-in form carries a malformed request.");
                return r;
        }
        return authz_parse(ctx, &p, ret, ret_app);
}

/* -- pages ------------------------------------------------------------------------------ */

typedef enum FormKind { FORM_LOGIN, FORM_TOTP, FORM_CONSENT, FORM_UPSTREAM_LINK } FormKind;

static char *render(FormKind kind, const PageForm *f) {
        switch (kind) {
        case FORM_LOGIN:
                return page_login(f);
        case FORM_TOTP:
                return page_totp(f);
        case FORM_CONSENT:
                return page_consent(f);
        default:
                return page_upstream_link(f);
        }
}

static void show_form(OidcContext *ctx, FormKind kind, unsigned status, PageForm *f) {
        static const char *const form_names[] = { "login", "totp", "consent", "upstream-link" };
        _cleanup_free_ char *binding = NULL, *csrf = NULL, *csrf_upstream = NULL;
        const TenantRecord *t = ctx->oauth.tenant;
        bool fresh = false;
        char *html;
        int r;

        r = browser_binding(ctx->req, &binding, &fresh);
        if (r >= 0)
                r = browser_csrf_token(ctx->req, binding, form_names[kind], &csrf);
        /* The buttons of upstream providers post forms of their own. */
        if (r >= 0 && f->n_providers > 0)
                r = browser_csrf_token(ctx->req, binding, "upstream", &csrf_upstream);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }
        f->csrf = csrf;
        f->csrf_upstream = csrf_upstream;
        f->tenant = t->slug;
        f->tenant_name = isempty(t->display_name) ? t->slug : t->display_name;
        html = render(kind, f);
        http_reply_html(ctx->req, status, html);
        if (fresh)
                browser_send_binding(ctx->req, t->slug, binding);
}

void authz_show_login(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app, unsigned status,
                      const char *error, const char *login) {
        TenantSettings settings;
        PageForm f = { .app_name = app->name, .request = a->raw, .error = error, .login = login,
                       .forgot_link = mail_enabled(ctx->req->manager) };
        UpstreamProvider **providers = NULL;
        _cleanup_free_ PageProvider *buttons = NULL;
        size_t n = 0;

        tenant_settings_effective(ctx->req->manager->config, &ctx->oauth.tenant->settings, &settings);
        f.signup_link = settings.open_signup;
        /* A button per enabled upstream provider; the page still signs in
         * with a password when they can't be read. */
        if (upstream_provider_list_enabled(ctx->oauth.manager, ctx->oauth.store, ctx->oauth.tenant, &providers, &n) <
            0)
                n = 0;
        if (n > 0) {
                buttons = calloc(n, sizeof(PageProvider));
                for (size_t i = 0; buttons && i < n; i++)
                        buttons[i] = (PageProvider) {
                                .name = providers[i]->name,
                                .display_name = providers[i]->display_name ?: providers[i]->name,
                                .icon_url = providers[i]->icon_url,
                        };
                f.providers = buttons;
                f.n_providers = buttons ? n : 0;
        }
        show_form(ctx, FORM_LOGIN, status, &f);
        upstream_provider_array_free(providers, n);
}

void authz_show_upstream_link(OidcContext *ctx, const AuthzRequest *a, unsigned status, const char *error,
                              const char *ticket, const char *email, const char *provider) {
        PageForm f = { .request = a->raw, .error = error, .ticket = ticket, .email = email, .provider = provider };
        show_form(ctx, FORM_UPSTREAM_LINK, status, &f);
}

void authz_show_totp(OidcContext *ctx, const AuthzRequest *a, unsigned status, const char *error,
                     const char *pending) {
        PageForm f = { .request = a->raw, .error = error, .pending = pending };
        show_form(ctx, FORM_TOTP, status, &f);
}

/* -- going on: sign-in, consent or the code --------------------------------------------- */

void authz_continue(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app,
                    const SsoSession *fresh_session, const char *fresh_cookie) {
        _cleanup_(erase_and_freep) char *code = NULL;
        SsoSession sess;
        const SsoSession *session = fresh_session;
        OAuthAuthzStep step;
        OAuthError e = {};
        int r;

        if (!session && browser_session(ctx, &sess) >= 0)
                session = &sess;
        r = oauth_authz_continue(&ctx->oauth, &ctx->caller, &a->oauth, app, session, fresh_session, &step, &code, &e);
        if (r < 0)
                authz_refuse(ctx, a->oauth.redirect_uri, a->oauth.state, r, &e);
        else if (step == OAUTH_AUTHZ_SIGN_IN)
                authz_show_login(ctx, a, app, MHD_HTTP_OK, NULL, NULL);
        else if (step == OAUTH_AUTHZ_CONSENT) {
                PageForm f = { .app_name = app->name, .request = a->raw, .scope = a->oauth.scope };
                show_form(ctx, FORM_CONSENT, MHD_HTTP_OK, &f);
        } else {
                const char *kv[] = { "code", code, "state", a->oauth.state, "iss", ctx->oauth.issuer, NULL };
                _cleanup_free_ char *url = uri_with_params(a->oauth.redirect_uri, kv);

                if (url)
                        http_reply_redirect(ctx->req, url);
                else
                        http_reply_internal_error(ctx->req, -ENOMEM);
        }

        /* The cookie lasts as long as the session it names (the tenant's
         * session_lifetime). */
        if (fresh_cookie && fresh_session)
                browser_set_session_cookie(ctx->req, ctx->oauth.tenant->slug, fresh_cookie,
                                           (unsigned) ((fresh_session->expires_usec - fresh_session->auth_time_usec) /
                                                       USEC_PER_SEC));
}

/* -- the endpoints ------------------------------------------------------------------------- */

void oidc_handle_authorize(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = {};
        HttpParams p = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        /* OpenID Connect allows the request as a query or as a form post. */
        if (streq(req->method, "POST")) {
                const char *ct = http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
                if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
                        malformed(&ctx, "The request must be a form post.");
                        return;
                }
                r = http_parse_urlencoded(req->body ?: "", req->body_size, &p);
        } else
                r = http_query_params(req, &p);
        if (r < 0 && r != -ENOTUNIQ) {
                http_params_done(&p);
                malformed(&ctx, "The request is malformed.");
                return;
        }
        if (authz_parse(&ctx, &p, &a, &app) < 0)
                return;
        authz_continue(&ctx, &a, app, NULL, NULL);
}

void oidc_handle_consent(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const char *decision;
        OAuthError e = {};
        Principal user;
        SsoSession sess;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, NULL, &p) < 0)
                return;
        if (!browser_csrf_ok(req, "consent", http_params_get(&p, "csrf"))) {
                authz_error_page(&ctx, MHD_HTTP_FORBIDDEN, "Please try again",
                                 "This form has expired or did not come from this site.");
                return;
        }
        if (authz_parse_form(&ctx, http_params_get(&p, "request"), &a, &app) < 0)
                return;
        if (browser_session(&ctx, &sess) < 0 || sso_session_user(&ctx.oauth, &sess, &u) < 0) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_OK, "Please sign in again.", NULL);
                return;
        }
        decision = http_params_get(&p, "decision");
        user = principal_user("http", u, req->remote);
        r = oauth_authz_consent(&ctx.oauth, &ctx.caller, &user, &a.oauth, app, decision && streq(decision, "allow"),
                                &e);
        if (r < 0) {
                authz_refuse(&ctx, a.oauth.redirect_uri, a.oauth.state, r, &e);
                return;
        }
        authz_continue(&ctx, &a, app, NULL, NULL);
}
