/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a browser carries between the sign-in pages: the session cookie
 * (SSO), a binding cookie that CSRF tokens are tied to, and the signed
 * proof that the password step passed, for the TOTP step. */

#include "http-oidc.h"

#define SESSION_COOKIE "tessera_session"
#define BINDING_COOKIE "tessera_binding"

/* The browser's binding value, made when it has none (*ret_new); send a
 * new one with browser_send_binding() once the reply is set. */
int browser_binding(HttpRequest *req, char **ret, bool *ret_new);
void browser_send_binding(HttpRequest *req, const char *tenant, const char *value);
/* The same for a page of no tenant (/signup): the cookie's path is the page's. */
void browser_send_binding_at(HttpRequest *req, const char *path, const char *value);
/* The CSRF token of a form for this browser. */
int browser_csrf_token(HttpRequest *req, const char *binding, const char *form, char **ret);
/* Checks a posted form: binding cookie present, token right, and (when the
 * browser says) the Origin ours. */
bool browser_csrf_ok(HttpRequest *req, const char *form, const char *token);

/* The browser's SSO session in this tenant, if its cookie names a live one. */
int browser_session(OidcContext *ctx, SsoSession *ret);
/* Sets the session cookie on the reply (value NULL: clears it). */
void browser_set_session_cookie(HttpRequest *req, const char *tenant, const char *value, unsigned max_age);

/* "pending" proof after the first step of a sign-in (the password, or an
 * upstream provider's: federated), for the TOTP step: user and how the
 * first step went, bound to the browser, valid for a few minutes. */
int browser_pending_make(HttpRequest *req, int64_t user_id, bool federated, char **ret);
int browser_pending_check(HttpRequest *req, const char *pending, int64_t *ret_user_id, bool *ret_federated);
