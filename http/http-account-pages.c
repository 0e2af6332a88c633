/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The pages a mailed link opens, in the style of the sign-in pages (no
 * script, no framing, no referrer, CSRF tokens bound to the browser):
 *
 *   GET  /t/{tenant}/reset-password?token=...   a form for the new password
 *   POST /t/{tenant}/reset-password             sets it (password-reset.h)
 *   GET  /t/{tenant}/verify-email?token=...     a button to confirm
 *   POST /t/{tenant}/verify-email               verifies (email-verification.h)
 *
 * A GET never uses the token up: mail scanners and link previews follow
 * links; only the posted form, from a browser that got the page, does.
 *
 * And the page the sign-in page links to, which mails such a link:
 *
 *   GET  /t/{tenant}/forgot-password            a form for the address
 *   POST /t/{tenant}/forgot-password            "forgot" (password-reset.h): the
 *                                               same answer for every address */

#include "email-verification.h"
#include "http-browser.h"
#include "http-pages.h"
#include "mail.h"
#include "password-reset.h"

#define PASSWORD_MAX_LEN 1024

typedef enum AccountPage { PAGE_RESET, PAGE_VERIFY, PAGE_FORGOT } AccountPage;

static const char *const form_names[] = {
        [PAGE_RESET] = "reset-password",
        [PAGE_VERIFY] = "verify-email",
        [PAGE_FORGOT] = "forgot-password",
};

static void show_message(HttpRequest *req, unsigned status, const char *title, const char *message) {
        http_reply_html(req, status, page_message(title, message));
        http_reply_no_store(req);
}

/* f: what the caller fills in (the token, the address, an error); the
 * tenant and the CSRF token are added here. */
static void show_page(HttpRequest *req, const TenantRecord *t, AccountPage kind, unsigned status, PageForm f) {
        _cleanup_free_ char *binding = NULL, *csrf = NULL;
        bool fresh = false;
        char *html;
        int r;

        f.tenant = t->slug;
        f.tenant_name = isempty(t->display_name) ? t->slug : t->display_name;

        r = browser_binding(req, &binding, &fresh);
        if (r >= 0)
                r = browser_csrf_token(req, binding, form_names[kind], &csrf);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        f.csrf = csrf;
        html = kind == PAGE_RESET ? page_reset_password(&f) : kind == PAGE_VERIFY ? page_verify_email(&f)
                                                                                  : page_forgot_password(&f);
        http_reply_html(req, status, html);
        http_reply_no_store(req);
        if (fresh)
                browser_send_binding(req, t->slug, binding);
}

static void show_form(HttpRequest *req, const TenantRecord *t, AccountPage kind, unsigned status, const char *token,
                      const char *error) {
        show_page(req, t, kind, status, (PageForm) { .token = token, .error = error });
}

static void show_refusal(HttpRequest *req, int r, const TesseraError *e, unsigned wait) {
        char seconds[16];

        switch (r) {
        case -EKEYREJECTED:
        case -ETIME:
                show_message(req, MHD_HTTP_BAD_REQUEST, "This link can't be used",
                             e->message[0] ? e->message : "The link is not valid; ask for a new one.");
                break;
        case -ETOOMANYREFS:
                show_message(req, MHD_HTTP_TOO_MANY_REQUESTS, "Please wait a while",
                             e->message[0] ? e->message : "Too many attempts from this address.");
                snprintf(seconds, sizeof(seconds), "%u", MAX(wait, 1u));
                http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
                break;
        case -EOPNOTSUPP:
                show_message(req, MHD_HTTP_SERVICE_UNAVAILABLE, "No mail from this service",
                             "This service sends no mail; ask an administrator to reset the password.");
                break;
        default:
                http_reply_internal_error(req, r);
        }
}

/* GET: the link's token is looked at (not used) so that a dead link says
 * so at once instead of after the form. */
static void handle_get(HttpRequest *req, AccountPage kind) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(http_params_done) HttpParams q = {};
        Principal p = http_principal(req, NULL);
        AccountTokenPurpose purpose = kind == PAGE_RESET ? ACCOUNT_TOKEN_RESET_PASSWORD : ACCOUNT_TOKEN_VERIFY_EMAIL;
        Store *s = http_store(req);
        const char *token;
        AccountToken row;
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (http_tenant(req, &t) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        if (http_query_params(req, &q) < 0) {
                show_message(req, MHD_HTTP_BAD_REQUEST, "This link can't be used", "The link is malformed.");
                return;
        }
        token = http_params_get(&q, "token");
        r = account_token_limit(req->manager, &p, &wait);
        if (r >= 0) {
                r = account_token_check(s, t, purpose, token, &row, &e);
                if (r == -EKEYREJECTED || r == -ETIME)
                        account_token_failed(req->manager, &p);
        } else
                tessera_error_set(&e, r, "Too many failed attempts; try again in %u seconds.", wait);
        if (r < 0) {
                show_refusal(req, r, &e, wait);
                return;
        }
        show_form(req, t, kind, MHD_HTTP_OK, token, NULL);
}

void page_handle_reset_password_get(HttpRequest *req) {
        handle_get(req, PAGE_RESET);
}

void page_handle_verify_email_get(HttpRequest *req) {
        handle_get(req, PAGE_VERIFY);
}

/* POST: the form's CSRF token first, then the core. */
static int read_form(HttpRequest *req, AccountPage kind, TenantRecord **ret_tenant, HttpParams *ret) {
        if (http_tenant(req, ret_tenant) < 0)
                return -ENOENT;
        if (http_body_params(req, NULL, ret) < 0)
                return -EINVAL;
        if (!browser_csrf_ok(req, form_names[kind], http_params_get(ret, "csrf"))) {
                show_message(req, MHD_HTTP_FORBIDDEN, "Please try again",
                             kind == PAGE_FORGOT ? "This form has expired or did not come from this site. Open the "
                                                   "page again."
                                                 : "This form has expired or did not come from this site. Open "
                                                   "the link from the mail again.");
                return -EACCES;
        }
        return 0;
}

void page_handle_reset_password_post(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(http_params_done) HttpParams f = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        const char *token, *password, *again;
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (read_form(req, PAGE_RESET, &t, &f) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        token = http_params_get(&f, "token");
        password = http_params_get(&f, "password");
        again = http_params_get(&f, "password2");
        if (!token_is_plausible(token)) {
                show_message(req, MHD_HTTP_BAD_REQUEST, "This link can't be used", "The link is not valid.");
                return;
        }
        if (isempty(password) || strlen(password) > PASSWORD_MAX_LEN) {
                show_form(req, t, PAGE_RESET, MHD_HTTP_BAD_REQUEST, token, "Enter a new password.");
                return;
        }
        if (!again || !streq(password, again)) {
                show_form(req, t, PAGE_RESET, MHD_HTTP_BAD_REQUEST, token, "The two passwords are not the same.");
                return;
        }

        r = password_reset_confirm(req->manager, s, &p, t, token, password, &wait, NULL, &e);
        if (r == -EINVAL) {
                /* The policy refused it; the link still works. */
                show_form(req, t, PAGE_RESET, MHD_HTTP_UNPROCESSABLE_CONTENT, token,
                          e.message[0] ? e.message : "Choose a stronger password.");
                return;
        }
        if (r < 0) {
                show_refusal(req, r, &e, wait);
                return;
        }
        show_message(req, MHD_HTTP_OK, "Your password is set",
                     "Sign in with the new password. Every session of the account has been signed out.");
}

void page_handle_verify_email_post(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(http_params_done) HttpParams f = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (read_form(req, PAGE_VERIFY, &t, &f) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        r = email_verification_confirm(req->manager, s, &p, t, http_params_get(&f, "token"), &wait, NULL, &e);
        if (r < 0) {
                show_refusal(req, r, &e, wait);
                return;
        }
        show_message(req, MHD_HTTP_OK, "Your e-mail address is confirmed", "Thank you. You can close this page.");
}

/* GET: the form, or, where no mail goes out, says so at once rather than
 * after the address. */
void page_handle_forgot_password_get(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;

        if (http_tenant(req, &t) < 0)
                return;
        if (!mail_enabled(req->manager)) {
                show_refusal(req, -EOPNOTSUPP, &(TesseraError) {}, 0);
                return;
        }
        show_page(req, t, PAGE_FORGOT, MHD_HTTP_OK, (PageForm) {});
}

/* POST: the same answer whether or not an account has the address, in the
 * same time; the account is looked up only once the answer is out, as on
 * the JSON route. Only what is no address at all gets the form again. */
void page_handle_forgot_password_post(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(http_params_done) HttpParams f = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        BatchWrite *work = NULL;
        const char *email;
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (read_form(req, PAGE_FORGOT, &t, &f) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        email = http_params_get(&f, "email");
        r = password_reset_request(req->manager, s, &p, t, email, req->server->url, &wait, &work, &e);
        if (r == -EINVAL) {
                show_page(req, t, PAGE_FORGOT, MHD_HTTP_UNPROCESSABLE_CONTENT,
                          (PageForm) { .email = email, .error = e.message[0] ? e.message : "Give an e-mail address." });
                return;
        }
        if (r < 0) {
                show_refusal(req, r, &e, wait);
                return;
        }
        http_write_after_reply(req, work);
        show_message(req, MHD_HTTP_OK, "Check your mail", PASSWORD_RESET_REQUESTED
                     " The link in it works once, for a short while.");
}
