/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The authorization endpoint (authorization code flow with PKCE), the
 * consent step, and what the sign-in pages share with them. Errors about
 * the client or its redirect URI are shown as a page and never redirect
 * (RFC 6749 4.1.2.1); every other error goes back to the client with
 * state and iss (RFC 9207). */

#include <stdlib.h>

#include "http-browser.h"
#include "http-pages.h"
#include "pkce.h"
#include "time-util.h"

#define STATE_MAX_LEN 2048
#define NONCE_MAX_LEN 512

void authz_request_done(AuthzRequest *a) {
        http_params_done(&a->params);
        free(a->raw);
        free(a->scope);
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

static void redirect_error(OidcContext *ctx, const char *redirect_uri, const char *state, const char *client_id,
                           const char *error, const char *description) {
        const char *kv[] = { "error", error, "error_description", description, "state", state, "iss", ctx->issuer,
                             NULL };
        _cleanup_free_ char *url = uri_with_params(redirect_uri, kv);
        OidcAudit a = {};

        if (!url) {
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }
        http_reply_redirect(ctx->req, url);
        oidc_audit_add(&a, ctx, "oauth.authorize", client_id, client_id, AUDIT_DENIED, "{\"error\":\"%s\"}", error);
        oidc_commit_reply(ctx, &a);
}

static void authz_redirect_error(OidcContext *ctx, const AuthzRequest *a, const char *error, const char *description) {
        redirect_error(ctx, a->redirect_uri, a->state, a->client_id, error, description);
}

static void untrusted_error(OidcContext *ctx, const char *client_id, const char *message) {
        OidcAudit a = {};

        authz_error_page(ctx, MHD_HTTP_BAD_REQUEST, "This sign-in link is not valid", message);
        oidc_audit_add(&a, ctx, "oauth.authorize", client_id && token_is_plausible(client_id) ? client_id : NULL, NULL,
                       AUDIT_INVALID, "{\"error\":\"invalid_request\"}");
        oidc_commit_reply(ctx, &a);
}

int authz_parse(OidcContext *ctx, HttpParams *params, AuthzRequest *ret, ApplicationRecord **ret_app) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = { .params = *params, .max_age = -1 };
        const char *response_type, *method, *prompt, *max_age, *scope;
        int r;

        *params = (HttpParams) {};
        a.client_id = http_params_get(&a.params, "client_id");
        a.redirect_uri = http_params_get(&a.params, "redirect_uri");

        /* First what decides whether we may redirect at all. */
        if (isempty(a.client_id) || !token_is_plausible(a.client_id)) {
                untrusted_error(ctx, NULL, "The application did not say who it is (client_id).");
                return -EINVAL;
        }
        r = http_application(ctx->req, ctx->tenant->id, a.client_id, &app);
        if (r < 0 && r != -ENOENT) {
                http_reply_internal_error(ctx->req, r);
                return r;
        }
        if (r == -ENOENT) {
                untrusted_error(ctx, a.client_id, "The application is not known here.");
                return -ENOENT;
        }
        if (!application_has_grant(app, "authorization_code")) {
                untrusted_error(ctx, a.client_id, "This application may not sign users in.");
                return -EPERM;
        }
        if (isempty(a.redirect_uri) || !application_has_redirect_uri(app, a.redirect_uri)) {
                untrusted_error(ctx, a.client_id,
                                "The address to return to is not registered for this application, so we will not "
                                "send you there.");
                return -EPERM;
        }
        if (a.params.duplicate) {
                /* Which of the two values is meant can't be known, not even for state. */
                redirect_error(ctx, a.redirect_uri, NULL, a.client_id, "invalid_request",
                               "A parameter was given more than once.");
                return -EINVAL;
        }
        a.state = http_params_get(&a.params, "state");
        if (a.state && strlen(a.state) > STATE_MAX_LEN) {
                redirect_error(ctx, a.redirect_uri, NULL, a.client_id, "invalid_request", "state is too long.");
                return -EINVAL;
        }

        /* From here on errors go back to the client. */
        if (http_params_get(&a.params, "request")) {
                authz_redirect_error(ctx, &a, "request_not_supported", "Request objects are not supported.");
                return -EINVAL;
        }
        if (http_params_get(&a.params, "request_uri")) {
                authz_redirect_error(ctx, &a, "request_uri_not_supported", "request_uri is not supported.");
                return -EINVAL;
        }
        response_type = http_params_get(&a.params, "response_type");
        if (isempty(response_type)) {
                authz_redirect_error(ctx, &a, "invalid_request", "response_type is required.");
                return -EINVAL;
        }
        if (!streq(response_type, "code")) {
                authz_redirect_error(ctx, &a, "unsupported_response_type",
                                     "Only response_type=code is offered (no implicit or hybrid flow).");
                return -EINVAL;
        }
        if (http_params_get(&a.params, "response_mode") && !streq(http_params_get(&a.params, "response_mode"), "query")) {
                authz_redirect_error(ctx, &a, "invalid_request", "Only response_mode=query is offered.");
                return -EINVAL;
        }

        scope = http_params_get(&a.params, "scope");
        r = oidc_normalize_scope(app, scope ?: "", &a.scope);
        if (r < 0 || isempty(a.scope)) {
                authz_redirect_error(ctx, &a, "invalid_scope", "A requested scope is unknown or not allowed.");
                return -EINVAL;
        }

        a.code_challenge = http_params_get(&a.params, "code_challenge");
        method = http_params_get(&a.params, "code_challenge_method");
        if (a.code_challenge) {
                if (!method || !streq(method, "S256")) {
                        authz_redirect_error(ctx, &a, "invalid_request",
                                             "code_challenge_method must be S256 (plain is not offered).");
                        return -EINVAL;
                }
                if (!pkce_valid_challenge(a.code_challenge)) {
                        authz_redirect_error(ctx, &a, "invalid_request", "code_challenge is malformed.");
                        return -EINVAL;
                }
        } else if (method) {
                authz_redirect_error(ctx, &a, "invalid_request", "code_challenge_method without code_challenge.");
                return -EINVAL;
        } else if (app->public_client) {
                authz_redirect_error(ctx, &a, "invalid_request", "Public clients must use PKCE (code_challenge, S256).");
                return -EINVAL;
        }

        a.nonce = http_params_get(&a.params, "nonce");
        if (a.nonce && (strlen(a.nonce) > NONCE_MAX_LEN || a.nonce[0] == '\0')) {
                authz_redirect_error(ctx, &a, "invalid_request", "nonce is empty or too long.");
                return -EINVAL;
        }

        prompt = http_params_get(&a.params, "prompt");
        if (prompt) {
                _cleanup_(strv_freep) char **l = NULL;

                r = strv_split_spaces(prompt, 4, &l);
                STRV_FOREACH(i, l) {
                        if (streq(*i, "none"))
                                a.prompt_none = true;
                        else if (streq(*i, "login"))
                                a.prompt_login = true;
                        else if (streq(*i, "consent"))
                                a.prompt_consent = true;
                        else if (streq(*i, "select_account"))
                                ; /* one account per browser and tenant: nothing to select */
                        else
                                r = -EINVAL;
                }
                if (r < 0 || (a.prompt_none && strv_length(l) > 1)) {
                        authz_redirect_error(ctx, &a, "invalid_request",
                                             "prompt takes none (alone), login, consent or select_account.");
                        return -EINVAL;
                }
        }

        max_age = http_params_get(&a.params, "max_age");
        if (max_age) {
                char *end;
                long long v;

                errno = 0;
                v = strtoll(max_age, &end, 10);
                if (errno != 0 || end == max_age || *end != '\0' || v < 0 || v > INT64_MAX / (int64_t) USEC_PER_SEC) {
                        authz_redirect_error(ctx, &a, "invalid_request", "max_age must be a number of seconds.");
                        return -EINVAL;
                }
                a.max_age = v;
        }

        r = http_params_encode(&a.params, &a.raw);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return r;
        }
        /* The const pointers point into params, which moves along. */
        *ret = a;
        a = (AuthzRequest) {};
        *ret_app = TAKE_PTR(app);
        return 0;
}

int authz_parse_form(OidcContext *ctx, const char *request, AuthzRequest *ret, ApplicationRecord **ret_app) {
        HttpParams p;
        int r;

        if (isempty(request)) {
                untrusted_error(ctx, NULL, "The sign-in form lost the request it belongs to; start again from the "
                                           "application.");
                return -EINVAL;
        }
        r = http_parse_urlencoded(request, strlen(request), &p);
        if (r < 0 && r != -ENOTUNIQ) {
                untrusted_error(ctx, NULL, "The sign-in form carries a malformed request.");
                return r;
        }
        return authz_parse(ctx, &p, ret, ret_app);
}

/* -- pages ------------------------------------------------------------------------------ */

typedef enum FormKind { FORM_LOGIN, FORM_TOTP, FORM_CONSENT } FormKind;

static void show_form(OidcContext *ctx, FormKind kind, unsigned status, PageForm *f) {
        static const char *const form_names[] = { "login", "totp", "consent" };
        _cleanup_free_ char *binding = NULL, *csrf = NULL;
        bool fresh = false;
        char *html;
        int r;

        r = browser_binding(ctx->req, &binding, &fresh);
        if (r >= 0)
                r = browser_csrf_token(ctx->req, binding, form_names[kind], &csrf);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }
        f->csrf = csrf;
        f->tenant = ctx->tenant->slug;
        f->tenant_name = isempty(ctx->tenant->display_name) ? ctx->tenant->slug : ctx->tenant->display_name;
        html = kind == FORM_LOGIN ? page_login(f) : kind == FORM_TOTP ? page_totp(f) : page_consent(f);
        http_reply_html(ctx->req, status, html);
        if (fresh)
                browser_send_binding(ctx->req, ctx->tenant->slug, binding);
}

void authz_show_login(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app, unsigned status,
                      const char *error, const char *login) {
        PageForm f = { .app_name = app->name, .request = a->raw, .error = error, .login = login };
        show_form(ctx, FORM_LOGIN, status, &f);
}

void authz_show_totp(OidcContext *ctx, const AuthzRequest *a, unsigned status, const char *error,
                     const char *pending) {
        PageForm f = { .request = a->raw, .error = error, .pending = pending };
        show_form(ctx, FORM_TOTP, status, &f);
}

/* -- sessions, consent and the code ---------------------------------------------------- */

int authz_start_session(OidcContext *ctx, const UserRecord *u, const char *amr, char **ret_cookie,
                        SsoSession *ret_session) {
        _cleanup_(erase_and_freep) char *cookie = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        const Config *cfg = ctx->manager->config;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t now = store_now_usec();
        SsoSession sess = {
                .tenant_id = ctx->tenant->id,
                .user_id = u->id,
                .auth_time_usec = now,
                .expires_usec = now + (int64_t) cfg->oidc_session_lifetime * USEC_PER_SEC,
        };
        Principal actor = http_principal(ctx->req, u->name);
        int r;

        snprintf(sess.amr, sizeof(sess.amr), "%s", amr);
        r = token_random_hex(16, sess.sid, sizeof(sess.sid));
        if (r >= 0)
                r = token_random(TOKEN_RANDOM_BYTES, &cookie);
        if (r < 0)
                return r;
        token_digest(cookie, digest);

        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_sso_session_create(ctx->store, &sess, digest, NULL);
        if (r >= 0)
                r = change_audit(ctx->store, &actor, "oidc.session-start", ctx->tenant->slug, u->name, AUDIT_SUCCESS,
                                NULL);
        if (r < 0)
                return r;
        r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return r;
        r = store_sso_session_get_by_cookie(ctx->store, ctx->tenant->id, digest, ret_session);
        if (r < 0)
                return r;
        *ret_cookie = TAKE_PTR(cookie);
        return 0;
}

static bool consent_covers(OidcContext *ctx, const ApplicationRecord *app, int64_t user_id, const char *scope) {
        _cleanup_free_ char *granted = NULL;
        _cleanup_(strv_freep) char **l = NULL;

        if (store_consent_get(ctx->store, ctx->tenant->id, user_id, app->id, &granted) < 0 ||
            strv_split_spaces(scope, 16, &l) < 0)
                return false;
        STRV_FOREACH(i, l)
                if (!oidc_scope_has(granted, *i))
                        return false;
        return true;
}

static void issue_code(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app, const SsoSession *sess,
                       const UserRecord *u) {
        _cleanup_(erase_and_freep) char *code = NULL, *url = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int64_t now = store_now_usec();
        AuthorizationCode c = {
                .application_id = app->id,
                .session_id = sess->id,
                .redirect_uri = (char *) a->redirect_uri,
                .scope = a->scope,
                .nonce = (char *) a->nonce,
                .code_challenge = (char *) a->code_challenge,
                .created_usec = now,
                .expires_usec = now + (int64_t) ctx->manager->config->oidc_code_lifetime * USEC_PER_SEC,
        };
        Principal actor = http_principal(ctx->req, app->client_id);
        char details[160];
        int r;

        r = token_random(TOKEN_RANDOM_BYTES, &code);
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }
        token_digest(code, c.digest);
        snprintf(details, sizeof(details), "{\"sid\":\"%s\",\"scope\":\"%s\"}", sess->sid, a->scope);

        /* Durable before the browser carries it anywhere. */
        r = store_begin(ctx->store);
        if (r >= 0) {
                txn = ctx->store;
                r = store_code_create(ctx->store, &c);
        }
        if (r >= 0)
                r = change_audit(ctx->store, &actor, "oauth.authorize", ctx->tenant->slug, u->name, AUDIT_SUCCESS, details);
        if (r >= 0)
                r = store_commit(TAKE_PTR(txn));
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }

        const char *kv[] = { "code", code, "state", a->state, "iss", ctx->issuer, NULL };
        url = uri_with_params(a->redirect_uri, kv);
        if (!url) {
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }
        http_reply_redirect(ctx->req, url);
}

void authz_continue(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app,
                    const SsoSession *fresh_session, const char *fresh_cookie) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int64_t now = store_now_usec();
        SsoSession sess = {};
        bool have = false;

        if (fresh_session) {
                sess = *fresh_session;
                have = oidc_session_user(ctx, &sess, &u) >= 0;
        } else if (browser_session(ctx, &sess) >= 0)
                have = oidc_session_user(ctx, &sess, &u) >= 0;

        /* An existing session may not be good enough for this request. */
        if (have && !fresh_session) {
                if (a->prompt_login)
                        have = false;
                else if (a->max_age >= 0 && now - sess.auth_time_usec > a->max_age * (int64_t) USEC_PER_SEC)
                        have = false;
        }
        if (!have) {
                if (a->prompt_none) {
                        authz_redirect_error(ctx, a, "login_required", "The user is not signed in.");
                        return;
                }
                authz_show_login(ctx, a, app, MHD_HTTP_OK, NULL, NULL);
                return;
        }

        if (!app->first_party && (a->prompt_consent || !consent_covers(ctx, app, u->id, a->scope))) {
                if (a->prompt_none) {
                        authz_redirect_error(ctx, a, "consent_required", "The user has not allowed this application.");
                        return;
                }
                PageForm f = { .app_name = app->name, .request = a->raw, .scope = a->scope };
                show_form(ctx, FORM_CONSENT, MHD_HTTP_OK, &f);
        } else
                issue_code(ctx, a, app, &sess, u);

        if (fresh_cookie)
                browser_set_session_cookie(ctx->req, ctx->tenant->slug, fresh_cookie,
                                           ctx->manager->config->oidc_session_lifetime);
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
                        untrusted_error(&ctx, NULL, "The request must be a form post.");
                        return;
                }
                r = http_parse_urlencoded(req->body ?: "", req->body_size, &p);
        } else
                r = http_query_params(req, &p);
        if (r < 0 && r != -ENOTUNIQ) {
                http_params_done(&p);
                untrusted_error(&ctx, NULL, "The request is malformed.");
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
        if (browser_session(&ctx, &sess) < 0 || oidc_session_user(&ctx, &sess, &u) < 0) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_OK, "Please sign in again.", NULL);
                return;
        }
        decision = http_params_get(&p, "decision");
        if (!decision || !streq(decision, "allow")) {
                authz_redirect_error(&ctx, &a, "access_denied", "The user did not allow access.");
                return;
        }
        r = store_begin(ctx.store);
        if (r >= 0) {
                r = store_consent_set(ctx.store, ctx.tenant->id, u->id, app->id, a.scope, store_now_usec());
                if (r >= 0)
                        r = store_commit(ctx.store);
                else
                        store_rollback(ctx.store);
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        /* Consented: the request goes on (prompt=consent is satisfied now). */
        a.prompt_consent = false;
        authz_continue(&ctx, &a, app, NULL, NULL);
}
