/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The server-rendered pages of the sign-in flow. Every value is escaped;
 * pages carry no script and are served with a CSP that forbids framing. */

#include "http-internal.h"

/* A button of the sign-in page: an upstream identity provider. */
typedef struct PageProvider {
        const char *name;         /* in the start URL */
        const char *display_name;
        const char *icon_url;     /* shown only as a data: URI (the pages load nothing else) */
} PageProvider;

typedef struct PageForm {
        const char *tenant;       /* slug, for the form actions */
        const char *tenant_name;  /* for people */
        const char *app_name;
        const char *csrf;
        const char *request;      /* the authorization request, carried along */
        const char *error;        /* shown above the form, or NULL */
        const char *login;        /* prefilled */
        const char *pending;      /* the TOTP step's proof of the password step */
        const char *scope;        /* consent */
        const char *logout_params; /* logout confirmation: the request, urlencoded */
        const char *token;        /* a mailed link's token, posted back by its page */
        const char *email;        /* the forgot page's address, prefilled */
        bool forgot_link;         /* the sign-in page links to "forgot" (mail is set up) */
        bool signup_link;         /* the sign-in page links to sign-up (the tenant is open) */
        const char *name;         /* the sign-up pages' values, prefilled */
        const char *organization; /* the organization's name (/signup); NULL: a tenant's page */
        /* The sign-in page's buttons of upstream providers, their forms'
         * CSRF token. */
        const PageProvider *providers;
        size_t n_providers;
        const char *csrf_upstream;
        /* The proof of an account before a link: the ticket of the
         * waiting link, the provider's name for people. */
        const char *ticket;
        const char *provider;
} PageForm;

char *page_login(const PageForm *f);
char *page_totp(const PageForm *f);
/* An upstream identity came back with the address of an account: the
 * password (and the code, when the account has TOTP) proves it, then the
 * link is made. */
char *page_upstream_link(const PageForm *f);
char *page_consent(const PageForm *f);
char *page_logout_confirm(const PageForm *f);
char *page_message(const char *title, const char *message);
/* The pages a mailed link opens: choose a new password, confirm the
 * address. */
char *page_reset_password(const PageForm *f);
char *page_verify_email(const PageForm *f);
/* Asks for the address to mail a reset link to. */
char *page_forgot_password(const PageForm *f);
/* Sign-up: with f->tenant NULL, a new organization and its owner
 * (/signup); else an account in that tenant (/t/{tenant}/signup). */
char *page_signup(const PageForm *f);
/* An invitation's page: the address invited (email), a name (login,
 * prefilled) and a password for the new account. */
char *page_accept_invitation(const PageForm *f);
