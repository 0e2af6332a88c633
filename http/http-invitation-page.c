/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The page a mailed invitation opens, in the style of the other mailed
 * links' pages (http-account-pages.c: no script, no framing, CSRF tokens
 * bound to the browser):
 *
 *   GET  /t/{tenant}/accept-invitation?token=...   the form: name, password
 *   POST /t/{tenant}/accept-invitation             creates the account
 *                                                  (invitation.h)
 *
 * A GET looks at the token without using it (mail scanners follow links);
 * only the posted form does. */

#include "auth.h"
#include "http-browser.h"
#include "http-pages.h"
#include "invitation.h"

#define FORM_NAME "accept-invitation"
#define PASSWORD_MAX_LEN 1024

static void show_message(HttpRequest *req, unsigned status, const char *title, const char *message) {
        http_reply_html(req, status, page_message(title, message));
        http_reply_no_store(req);
}

static void show_form(HttpRequest *req, const TenantRecord *t, unsigned status, const Invitation *inv,
                      const char *token, const char *name, const char *error) {
        _cleanup_free_ char *binding = NULL, *csrf = NULL;
        bool fresh = false;
        int r;

        r = browser_binding(req, &binding, &fresh);
        if (r >= 0)
                r = browser_csrf_token(req, binding, FORM_NAME, &csrf);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_html(req, status,
                        page_accept_invitation(&(PageForm) {
                                .tenant = t->slug,
                                .tenant_name = isempty(t->display_name) ? t->slug : t->display_name,
                                .csrf = csrf,
                                .token = token,
                                .email = inv->email,
                                .login = name,
                                .error = error,
                        }));
        http_reply_no_store(req);
        if (fresh)
                browser_send_binding(req, t->slug, binding);
}

static void show_refusal(HttpRequest *req, int r, const TesseraError *e) {
        const char *message = tessera_error_message(e);

        switch (r) {
        case -EKEYREJECTED:
        case -ETIME:
                show_message(req, MHD_HTTP_BAD_REQUEST, "This invitation can't be used", message);
                break;
        case -EALREADY:
                show_message(req, MHD_HTTP_CONFLICT, "This invitation was accepted", message);
                break;
        case -ETOOMANYREFS:
                show_message(req, MHD_HTTP_TOO_MANY_REQUESTS, "Please wait a while", message);
                break;
        default:
                http_reply_internal_error(req, r);
        }
}

void page_handle_accept_invitation_get(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(http_params_done) HttpParams q = {};
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        const char *token;
        TesseraError e = {};
        Invitation inv;
        int r;

        if (http_tenant(req, &t) < 0)
                return;
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        if (http_query_params(req, &q) < 0) {
                show_message(req, MHD_HTTP_BAD_REQUEST, "This invitation can't be used", "The link is malformed.");
                return;
        }
        token = http_params_get(&q, "token");
        r = invitation_check(req->manager, s, &p, t, token, &inv, &e);
        if (r < 0) {
                show_refusal(req, r, &e);
                return;
        }
        show_form(req, t, MHD_HTTP_OK, &inv, token, NULL, NULL);
}

void page_handle_accept_invitation_post(HttpRequest *req) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(http_params_done) HttpParams f = {};
        _cleanup_free_ char *done = NULL;
        Principal p = http_principal(req, NULL);
        Store *s = http_store(req);
        const char *token, *name, *password, *again, *field = NULL;
        TesseraError e = {};
        Invitation inv;
        int r;

        if (http_tenant(req, &t) < 0)
                return;
        if (http_body_params(req, NULL, &f) < 0)
                return;
        if (!browser_csrf_ok(req, FORM_NAME, http_params_get(&f, "csrf"))) {
                show_message(req, MHD_HTTP_FORBIDDEN, "Please try again",
                             "This form has expired or did not come from this site. Open the link from the mail "
                             "again.");
                return;
        }
        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        token = http_params_get(&f, "token");
        name = http_params_get(&f, "name");
        password = http_params_get(&f, "password");
        again = http_params_get(&f, "password2");
        /* The invitation first: a dead link says so before the form does. */
        r = invitation_check(req->manager, s, &p, t, token, &inv, &e);
        if (r < 0) {
                show_refusal(req, r, &e);
                return;
        }
        if (isempty(name) || isempty(password) || strlen(password) > PASSWORD_MAX_LEN) {
                show_form(req, t, MHD_HTTP_BAD_REQUEST, &inv, token, name, "Enter a name and a password.");
                return;
        }
        if (!again || !streq(password, again)) {
                show_form(req, t, MHD_HTTP_BAD_REQUEST, &inv, token, name, "The two passwords are not the same.");
                return;
        }
        r = invitation_accept(req->manager, s, &p, t,
                              &(InvitationAcceptSpec) { .token = token, .name = name, .password = password },
                              &u, &field, &e);
        if (r == -EINVAL || r == -EEXIST) {
                /* The name or the password: the link still works. */
                show_form(req, t, r == -EINVAL ? MHD_HTTP_UNPROCESSABLE_CONTENT : MHD_HTTP_CONFLICT, &inv, token,
                          name, tessera_error_message(&e));
                return;
        }
        if (r < 0) {
                show_refusal(req, r, &e);
                return;
        }
        r = auth_mfa_required_for(req->manager, s, u);
        if (asprintf(&done, "Your account %s at %s is ready: sign in with it.%s", u->name,
                     isempty(t->display_name) ? t->slug : t->display_name,
                     r > 0 ? " This organization requires two-step verification: set up an authenticator app "
                             "when you first sign in."
                           : " Set up two-step verification in your account, too.") < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        show_message(req, MHD_HTTP_OK, "Welcome", done);
}
