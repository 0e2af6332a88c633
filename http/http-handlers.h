/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every handler of the route table. */

#include "http-internal.h"

void http_handle_healthz(HttpRequest *req);
void http_handle_readyz(HttpRequest *req);
void http_handle_metrics(HttpRequest *req);

void oidc_handle_discovery(HttpRequest *req);
void oidc_handle_jwks(HttpRequest *req);
void oidc_handle_authorize(HttpRequest *req);
void oidc_handle_login(HttpRequest *req);
void oidc_handle_login_totp(HttpRequest *req);
void oidc_handle_consent(HttpRequest *req);
void oidc_handle_token(HttpRequest *req);
void oidc_handle_userinfo(HttpRequest *req);
void oidc_handle_revoke(HttpRequest *req);
void oidc_handle_introspect(HttpRequest *req);
void oidc_handle_logout(HttpRequest *req);

/* The JSON API (http-api-*.c). */
void api_handle_tenant_get(HttpRequest *req);
void api_handle_user_get(HttpRequest *req);
void api_handle_signup(HttpRequest *req);
void api_handle_signin(HttpRequest *req);
void api_handle_mfa(HttpRequest *req);
void api_handle_refresh(HttpRequest *req);
void api_handle_signout(HttpRequest *req);
void api_handle_session(HttpRequest *req);
