/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>

#include "http-oidc.h"
#include "http-pages.h"
#include "oauth-scope.h"

static void put_escaped(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&#39;", f); break;
                default: fputc(*s, f);
                }
}

/* printf with %s only, every argument escaped. */
static void put(FILE *f, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        for (const char *p = format; *p; p++) {
                if (p[0] == '%' && p[1] == 's') {
                        put_escaped(f, va_arg(ap, const char *));
                        p++;
                } else
                        fputc(*p, f);
        }
        va_end(ap);
}

static const char style[] =
        "<style>"
        "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d232b}"
        "main{max-width:22rem;margin:8vh auto;background:#fff;padding:2rem 2.2rem;border-radius:12px;"
        "box-shadow:0 2px 12px rgba(0,0,0,.08)}"
        "h1{font-size:1.35rem;margin:0 0 .3rem}p.sub{color:#5b6470;margin:0 0 1.4rem}"
        "label{display:block;font-size:.9rem;margin:.9rem 0 .3rem}"
        "input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;"
        "border:1px solid #c4cad3;border-radius:6px;font-size:1rem}"
        "button{margin-top:1.3rem;width:100%;padding:.7rem;border:0;border-radius:6px;background:#2455c3;color:#fff;"
        "font-size:1rem;cursor:pointer}button.secondary{background:#e6e9ee;color:#1d232b}"
        ".error{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:6px;margin-bottom:.6rem}"
        "p.link{margin:1rem 0 0;text-align:center;font-size:.9rem}a{color:#2455c3}"
        "button.provider{background:#fff;color:#1d232b;border:1px solid #c4cad3;margin-top:.6rem;display:flex;"
        "align-items:center;justify-content:center;gap:.5rem}p.or{text-align:center;color:#8a929c;margin:1.2rem 0 0}"
        "ul{padding-left:1.2rem}footer{color:#8a929c;font-size:.8rem;text-align:center;margin-top:1.5rem}"
        "</style>";

static FILE *page_open(char **buf, size_t *size, const char *title) {
        FILE *f = open_memstream(buf, size);

        if (!f)
                return NULL;
        put(f, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<meta name=\"referrer\" content=\"no-referrer\"><title>%s</title>", title);
        fputs(style, f);
        fputs("</head><body><main>", f);
        return f;
}

static char *page_close(FILE *f, char **buf) {
        fputs("</main><footer>tessera</footer></body></html>", f);
        if (fclose(f) != 0) {
                free(*buf);
                return NULL;
        }
        return *buf;
}

static void put_error(FILE *f, const PageForm *p) {
        if (p->error)
                put(f, "<div class=\"error\" role=\"alert\">%s</div>", p->error);
}

static void put_hidden(FILE *f, const PageForm *p) {
        put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", p->csrf);
        if (p->request)
                put(f, "<input type=\"hidden\" name=\"request\" value=\"%s\">", p->request);
}

char *page_login(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Sign in");

        if (!f)
                return NULL;
        put(f, "<h1>Sign in</h1><p class=\"sub\">to continue to %s</p>", p->app_name);
        put_error(f, p);
        put(f, "<form method=\"post\" action=\"/t/%s/login\">", p->tenant);
        put_hidden(f, p);
        put(f, "<label for=\"login\">User name or e-mail</label>"
               "<input type=\"text\" id=\"login\" name=\"login\" value=\"%s\" autocomplete=\"username\" "
               "autocapitalize=\"none\" required autofocus>"
               "<label for=\"password\">Password</label>"
               "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>"
               "<button type=\"submit\">Sign in</button></form>",
            p->login ?: "");
        if (p->n_providers > 0)
                put(f, "<p class=\"or\">or</p>");
        for (size_t i = 0; i < p->n_providers; i++) {
                const PageProvider *pv = &p->providers[i];

                put(f, "<form method=\"post\" action=\"/t/%s/upstream/%s/start\">", p->tenant, pv->name);
                put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", p->csrf_upstream);
                if (p->request)
                        put(f, "<input type=\"hidden\" name=\"request\" value=\"%s\">", p->request);
                put(f, "<button type=\"submit\" class=\"provider\" data-provider=\"%s\">", pv->name);
                if (pv->icon_url && strneq(pv->icon_url, "data:image/", 11))
                        put(f, "<img src=\"%s\" alt=\"\" width=\"18\" height=\"18\">", pv->icon_url);
                put(f, "Continue with %s</button></form>", pv->display_name);
        }
        if (p->forgot_link)
                put(f, "<p class=\"link\"><a href=\"/t/%s/forgot-password\">Forgot your password?</a></p>", p->tenant);
        if (p->signup_link)
                put(f, "<p class=\"link\">No account yet? <a href=\"/t/%s/signup\">Sign up</a></p>", p->tenant);
        put(f, "<p class=\"sub\" style=\"margin-top:1rem\">%s</p>", p->tenant_name);
        return page_close(f, &buf);
}

char *page_totp(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Verification code");

        if (!f)
                return NULL;
        put(f, "<h1>Verification code</h1><p class=\"sub\">Enter the 6-digit code from your authenticator app, "
               "or one of your backup codes.</p>");
        put_error(f, p);
        put(f, "<form method=\"post\" action=\"/t/%s/login/totp\">", p->tenant);
        put_hidden(f, p);
        put(f, "<input type=\"hidden\" name=\"pending\" value=\"%s\">"
               "<label for=\"code\">Code</label>"
               "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" "
               "required autofocus>"
               "<button type=\"submit\">Verify</button></form>",
            p->pending);
        return page_close(f, &buf);
}

char *page_upstream_link(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Link your account");

        if (!f)
                return NULL;
        put(f, "<h1>Link your account</h1><p class=\"sub\">An account here has the address %s already. "
               "To sign in with %s from now on, prove that the account is yours: sign in to it once.</p>",
            p->email, p->provider);
        put_error(f, p);
        put(f, "<form method=\"post\" action=\"/t/%s/upstream/link\">", p->tenant);
        put_hidden(f, p);
        put(f, "<input type=\"hidden\" name=\"ticket\" value=\"%s\">"
               "<label for=\"password\">Password of the account</label>"
               "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" "
               "required autofocus>"
               "<label for=\"code\">Verification code (if the account has two-step verification)</label>"
               "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
               "autocomplete=\"one-time-code\">"
               "<button type=\"submit\">Link and sign in</button></form>",
            p->ticket);
        put(f, "<p class=\"sub\" style=\"margin-top:1rem\">%s</p>", p->tenant_name);
        return page_close(f, &buf);
}

char *page_consent(const PageForm *p) {
        static const struct {
                const char *scope, *text;
        } texts[] = {
                { "openid", "Know who you are (your account identifier)" },
                { "profile", "See your name and user name" },
                { "email", "See your e-mail address" },
                { "offline_access", "Stay signed in while you are away" },
        };
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Allow access");

        if (!f)
                return NULL;
        put(f, "<h1>Allow %s?</h1><p class=\"sub\">%s would like to:</p><ul>", p->app_name, p->app_name);
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                if (oauth_scope_has(p->scope, texts[i].scope))
                        put(f, "<li>%s</li>", texts[i].text);
        put(f, "</ul><form method=\"post\" action=\"/t/%s/consent\">", p->tenant);
        put_hidden(f, p);
        put(f, "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>"
               "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>");
        return page_close(f, &buf);
}

char *page_logout_confirm(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Sign out");

        if (!f)
                return NULL;
        put(f, "<h1>Sign out?</h1><p class=\"sub\">You will be signed out of %s.</p>", p->tenant_name);
        put(f, "<form method=\"post\" action=\"/t/%s/logout?%s\">", p->tenant, p->logout_params ?: "");
        put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", p->csrf);
        put(f, "<button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>");
        return page_close(f, &buf);
}

char *page_message(const char *title, const char *message) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, title);

        if (!f)
                return NULL;
        put(f, "<h1>%s</h1><p class=\"sub\">%s</p>", title, message);
        return page_close(f, &buf);
}

char *page_reset_password(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Choose a new password");

        if (!f)
                return NULL;
        put(f, "<h1>Choose a new password</h1><p class=\"sub\">for your account at %s. Every session of the "
               "account is signed out.</p>", p->tenant_name);
        put_error(f, p);
        put(f, "<form method=\"post\" action=\"/t/%s/reset-password\">", p->tenant);
        put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
               "<input type=\"hidden\" name=\"token\" value=\"%s\">"
               "<label for=\"password\">New password</label>"
               "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" "
               "required autofocus>"
               "<label for=\"password2\">The new password again</label>"
               "<input type=\"password\" id=\"password2\" name=\"password2\" autocomplete=\"new-password\" "
               "required>"
               "<button type=\"submit\">Set the password</button></form>",
            p->csrf, p->token);
        return page_close(f, &buf);
}

char *page_accept_invitation(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Accept the invitation");

        if (!f)
                return NULL;
        put(f, "<h1>Join %s</h1><p class=\"sub\">You are invited as %s. Choose a name and a password for your "
               "account.</p>", p->tenant_name, p->email);
        put_error(f, p);
        put(f, "<form method=\"post\" action=\"/t/%s/accept-invitation\">", p->tenant);
        put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
               "<input type=\"hidden\" name=\"token\" value=\"%s\">"
               "<label for=\"name\">User name</label>"
               "<input type=\"text\" id=\"name\" name=\"name\" value=\"%s\" autocomplete=\"username\" "
               "autocapitalize=\"none\" required autofocus>"
               "<label for=\"password\">Password</label>"
               "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" "
               "required>"
               "<label for=\"password2\">The password again</label>"
               "<input type=\"password\" id=\"password2\" name=\"password2\" autocomplete=\"new-password\" "
               "required>"
               "<button type=\"submit\">Create the account</button></form>",
            p->csrf, p->token, strempty(p->login));
        return page_close(f, &buf);
}

char *page_verify_email(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Confirm your e-mail address");

        if (!f)
                return NULL;
        put(f, "<h1>Confirm your e-mail address</h1><p class=\"sub\">for your account at %s.</p>", p->tenant_name);
        put_error(f, p);
        put(f, "<form method=\"post\" action=\"/t/%s/verify-email\">", p->tenant);
        put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
               "<input type=\"hidden\" name=\"token\" value=\"%s\">"
               "<button type=\"submit\">Confirm</button></form>",
            p->csrf, p->token);
        return page_close(f, &buf);
}

char *page_forgot_password(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, "Forgot your password?");

        if (!f)
                return NULL;
        put(f, "<h1>Forgot your password?</h1><p class=\"sub\">Give the e-mail address of your account at %s; "
               "a link to choose a new password is mailed to it.</p>", p->tenant_name);
        put_error(f, p);
        put(f, "<form method=\"post\" action=\"/t/%s/forgot-password\">", p->tenant);
        put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
               "<label for=\"email\">E-mail address</label>"
               "<input type=\"email\" id=\"email\" name=\"email\" value=\"%s\" autocomplete=\"email\" "
               "autocapitalize=\"none\" required autofocus>"
               "<button type=\"submit\">Mail me a link</button></form>",
            p->csrf, p->email ?: "");
        return page_close(f, &buf);
}

char *page_signup(const PageForm *p) {
        char *buf = NULL;
        size_t size;
        FILE *f = page_open(&buf, &size, p->tenant ? "Create your account" : "Create your organization");

        if (!f)
                return NULL;
        if (p->tenant) {
                put(f, "<h1>Create your account</h1><p class=\"sub\">at %s</p>", p->tenant_name);
                put_error(f, p);
                put(f, "<form method=\"post\" action=\"/t/%s/signup\">", p->tenant);
        } else {
                put(f, "<h1>Create your organization</h1><p class=\"sub\">and your account as its owner.</p>");
                put_error(f, p);
                put(f, "<form method=\"post\" action=\"/signup\">");
        }
        put(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", p->csrf);
        if (!p->tenant)
                put(f, "<label for=\"organization\">Organization</label>"
                       "<input type=\"text\" id=\"organization\" name=\"organization\" value=\"%s\" "
                       "autocomplete=\"organization\" required autofocus>",
                    p->organization ?: "");
        put(f, "<label for=\"name\">Your name</label>"
               "<input type=\"text\" id=\"name\" name=\"name\" value=\"%s\" autocomplete=\"name\" required>"
               "<label for=\"email\">E-mail address</label>"
               "<input type=\"email\" id=\"email\" name=\"email\" value=\"%s\" autocomplete=\"email\" "
               "autocapitalize=\"none\" required>"
               "<label for=\"password\">Password</label>"
               "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>"
               "<label for=\"password2\">The password again</label>"
               "<input type=\"password\" id=\"password2\" name=\"password2\" autocomplete=\"new-password\" "
               "required>"
               "<button type=\"submit\">Sign up</button></form>",
            p->name ?: "", p->email ?: "");
        return page_close(f, &buf);
}
