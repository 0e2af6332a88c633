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
void api_handle_auth_forgot(HttpRequest *req);
void api_handle_auth_reset(HttpRequest *req);
void api_handle_auth_verify_email(HttpRequest *req);
void api_handle_auth_verify_email_request(HttpRequest *req);

/* The pages a mailed link opens (http-account-pages.c). */
void page_handle_reset_password_get(HttpRequest *req);
void page_handle_reset_password_post(HttpRequest *req);
void page_handle_verify_email_get(HttpRequest *req);
void page_handle_verify_email_post(HttpRequest *req);
