/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The sign-up pages, in the style of the sign-in pages (no script, no
 * framing, no referrer, CSRF tokens bound to the browser):
 *
 *   GET  /signup               a form for a new organization and its owner
 *   POST /signup               signs up (signup.h, as POST /api/v1/signup)
 *   GET  /t/{tenant}/signup    a form for an account in an open tenant
 *   POST /t/{tenant}/signup    signs up (signup.h, as .../auth/signup)
 *
 * Both are the JSON routes' core calls and limits; on success the browser
 * is signed in to the tenant (its SSO session cookie, as the OpenID
 * sign-in sets it), and the page says to confirm the e-mail address: the
 * core has mailed the link with the account. Refused with a page that
 * says so where sign-up is closed. */

#include <stdlib.h>

#include "http-browser.h"
#include "http-pages.h"
#include "mail.h"
#include "signup.h"
#include "sso-session.h"
#include "tenant-settings.h"
#include "time-util.h"

#define FORM_NAME "signup"
#define SITE_SIGNUP_PATH "/signup"
#define VALUE_MAX_LEN 1024

static void show_message(HttpRequest *req, unsigned status, const char *title, const char *message) {
        http_reply_html(req, status, page_message(title, message));
        http_reply_no_store(req);
}

/* t NULL: the site's page (a new organization). f: the values to show
 * again and the error; the rest is added here. */
static void show_form(HttpRequest *req, const TenantRecord *t, unsigned status, PageForm f) {
        _cleanup_free_ char *binding = NULL, *csrf = NULL;
        bool fresh = false;
        int r;

        if (t) {
                f.tenant = t->slug;
                f.tenant_name = isempty(t->display_name) ? t->slug : t->display_name;
        }
        r = browser_binding(req, &binding, &fresh);
        if (r >= 0)
                r = browser_csrf_token(req, binding, FORM_NAME, &csrf);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        f.csrf = csrf;
        http_reply_html(req, status, page_signup(&f));
        http_reply_no_store(req);
        if (fresh) {
                if (t)
                        browser_send_binding(req, t->slug, binding);
                else
                        browser_send_binding_at(req, SITE_SIGNUP_PATH, binding);
        }
}

static void show_closed(HttpRequest *req, const char *message) {
        show_message(req, MHD_HTTP_FORBIDDEN, "Sign-up is closed", message);
}

static void show_limited(HttpRequest *req, unsigned wait) {
        char seconds[16];

        show_message(req, MHD_HTTP_TOO_MANY_REQUESTS, "Please wait a while",
                     "Too many sign-ups from this address. Try again later.");
        snprintf(seconds, sizeof(seconds), "%u", MAX(wait, 1u));
        http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
}

/* The posted form: CSRF first, then the two passwords alike. On a refusal
 * the reply is set and a negative errno returned. */
static int read_form(HttpRequest *req, const TenantRecord *t, HttpParams *ret) {
        const char *password, *again;
        int r;

        r = http_body_params(req, NULL, ret);
        if (r < 0)
                return r;
        if (!browser_csrf_ok(req, FORM_NAME, http_params_get(ret, "csrf"))) {
                show_message(req, MHD_HTTP_FORBIDDEN, "Please try again",
                             "This form has expired or did not come from this site. Open the page again.");
                return -EACCES;
        }
        /* What the core can't judge: the form's own fields. */
        for (const char *const *k = (const char *const[]) { "name", "email", "organization", "password", NULL }; *k;
             k++) {
                const char *v = http_params_get(ret, *k);

                if (v && strlen(v) > VALUE_MAX_LEN) {
                        show_form(req, t, MHD_HTTP_BAD_REQUEST, (PageForm) { .error = "A value is too long." });
                        return -E2BIG;
                }
        }
        password = http_params_get(ret, "password");
        again = http_params_get(ret, "password2");
        if (isempty(password) || !again || !streq(password, again)) {
                show_form(req, t, MHD_HTTP_BAD_REQUEST,
                          (PageForm) {
                                  .name = http_params_get(ret, "name"),
                                  .email = http_params_get(ret, "email"),
                                  .organization = http_params_get(ret, "organization"),
                                  .error = isempty(password) ? "Choose a password."
                                                             : "The two passwords are not the same.",
                          });
                return -EINVAL;
        }
        return 0;
}

/* A refusal of the core: the form again with what to change, or a page. */
static void show_refusal(HttpRequest *req, const TenantRecord *t, const HttpParams *form, int r,
                         const TesseraError *e) {
        const char *message = tessera_error_message(e);

        switch (r) {
        case -EACCES:
                show_closed(req, message);
                return;
        case -EINVAL:
        case -EEXIST:
                show_form(req, t, r == -EEXIST ? MHD_HTTP_CONFLICT : MHD_HTTP_UNPROCESSABLE_CONTENT,
                          (PageForm) {
                                  .name = http_params_get(form, "name"),
                                  .email = http_params_get(form, "email"),
                                  .organization = http_params_get(form, "organization"),
                                  .error = message,
                          });
                return;
        case -EBUSY:
                show_message(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Please try again",
                             "The service is busy. Try again in a moment.");
                return;
        default:
                http_reply_internal_error(req, r);
        }
}

/* Signed up: the browser signed in to t (its SSO session, as the OpenID
 * sign-in starts it), and the page that says what comes next. */
static void signed_up(HttpRequest *req, TenantRecord *t, const UserRecord *u) {
        _cleanup_(oidc_context_done) OidcContext ctx = {
                .req = req,
                .caller = http_principal(req, u->name),
                .oauth = {
                        .manager = req->manager,
                        .store = http_store(req),
                        .cache = &req->thread->oauth,
                        .tenant = tenant_record_ref(t),
                        .issuer = http_issuer(req, t->slug),
                        .log_id = req->id,
                },
        };
        _cleanup_(erase_and_freep) char *cookie = NULL;
        _cleanup_free_ char *message = NULL;
        const char *org = isempty(t->display_name) ? t->slug : t->display_name;
        SsoSession sess;
        int r;

        if (!ctx.oauth.issuer) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        r = sso_session_start(&ctx.oauth, &ctx.caller, u, "pwd", &cookie, &sess);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        if (asprintf(&message,
                     "You are signed in to %s as %s. %s",
                     org, u->name,
                     mail_enabled(req->manager)
                             ? "Now confirm your e-mail address: open the link we have mailed to it."
                             : "This service sends no mail; your e-mail address is confirmed later.") < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        show_message(req, MHD_HTTP_OK, "Welcome", message);
        /* The cookie lasts as long as the session it names. */
        browser_set_session_cookie(req, t->slug, cookie,
                                   (unsigned) ((sess.expires_usec - sess.auth_time_usec) / USEC_PER_SEC));
}

static bool take_limit(HttpRequest *req, Store *s, const Principal *p, const char *action) {
        unsigned wait = 0;
        int r;

        r = signup_limit_take(req->manager, s, p, action, &wait);
        if (r == -ETOOMANYREFS) {
                show_limited(req, wait);
                return false;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return false;
        }
        return true;
}

/* -- /signup: a new organization and its owner -------------------------------------- */

void page_handle_signup_get(HttpRequest *req) {
        if (!req->manager->config->open_signup) {
                show_closed(req, "Sign-up is closed on this server: ask its administrator for an account.");
                return;
        }
        show_form(req, NULL, MHD_HTTP_OK, (PageForm) {});
}

void page_handle_signup_post(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(http_params_done) HttpParams f = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        SignupRefusal refusal = {};
        TesseraError e = {};
        int r;

        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        if (read_form(req, NULL, &f) < 0)
                return;
        if (!take_limit(req, s, &p, "account.signup"))
                return;
        r = signup_run(req->manager, s, &p,
                       &(SignupSpec) {
                               .email = http_params_get(&f, "email"),
                               .password = http_params_get(&f, "password"),
                               .real_name = http_params_get(&f, "name"),
                               .organization_name = http_params_get(&f, "organization"),
                               .verify_base_url = req->server->url,
                       },
                       &t, &u, &refusal, &e);
        if (r < 0) {
                show_refusal(req, NULL, &f, r, &e);
                return;
        }
        signed_up(req, t, u);
}

/* -- /t/{tenant}/signup: an account in an open tenant ------------------------------- */

void page_handle_tenant_signup_get(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        TenantSettings settings;

        if (http_tenant(req, &t) < 0)
                return;
        tenant_settings_effective(req->manager->config, &t->settings, &settings);
        if (!settings.open_signup) {
                show_closed(req, "Sign-up is closed here: ask the administrators for an account.");
                return;
        }
        show_form(req, t, MHD_HTTP_OK, (PageForm) {});
}

void page_handle_tenant_signup_post(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(http_params_done) HttpParams f = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        SignupRefusal refusal = {};
        TesseraError e = {};
        int r;

        if (http_tenant(req, &t) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        if (read_form(req, t, &f) < 0)
                return;
        if (!take_limit(req, s, &p, "account.signup-member"))
                return;
        r = signup_member_run(req->manager, s, &p, t,
                              &(SignupMemberSpec) {
                                      .email = http_params_get(&f, "email"),
                                      .password = http_params_get(&f, "password"),
                                      .real_name = http_params_get(&f, "name"),
                                      .verify_base_url = req->server->url,
                              },
                              &u, &refusal, &e);
        if (r < 0) {
                show_refusal(req, t, &f, r, &e);
                return;
        }
        signed_up(req, t, u);
}
