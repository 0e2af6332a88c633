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
void api_handle_openapi(HttpRequest *req);
void api_handle_tenant_get(HttpRequest *req);
void api_handle_user_get(HttpRequest *req);
void api_handle_audit_list(HttpRequest *req);
void api_handle_audit_export(HttpRequest *req);
void api_handle_entitlements_get(HttpRequest *req);
void api_handle_entitlements_put(HttpRequest *req);
void api_handle_usage_list(HttpRequest *req);
void api_handle_usage_increment(HttpRequest *req);
void api_handle_platform_signin(HttpRequest *req);
void api_handle_platform_tenants(HttpRequest *req);
void api_handle_platform_users(HttpRequest *req);
void api_handle_platform_impersonate(HttpRequest *req);
void api_handle_auth_forgot(HttpRequest *req);
void api_handle_auth_reset(HttpRequest *req);
void api_handle_auth_verify_email(HttpRequest *req);
void api_handle_auth_verify_email_request(HttpRequest *req);

/* The pages a mailed link opens (http-account-pages.c). */
void page_handle_reset_password_get(HttpRequest *req);
void page_handle_reset_password_post(HttpRequest *req);
void page_handle_verify_email_get(HttpRequest *req);
void page_handle_verify_email_post(HttpRequest *req);
void page_handle_forgot_password_get(HttpRequest *req);
void page_handle_forgot_password_post(HttpRequest *req);
/* A user as the JSON API shows it; private: with the e-mail address. */
json_t *api_user_json(const UserRecord *u, bool private);

/* The signed-in user's own account (http-api-me*.c). */
void api_handle_me_get(HttpRequest *req);
void api_handle_me_update(HttpRequest *req);
void api_handle_me_password(HttpRequest *req);
void api_handle_me_totp_get(HttpRequest *req);
void api_handle_me_totp_begin(HttpRequest *req);
void api_handle_me_totp_confirm(HttpRequest *req);
void api_handle_me_totp_remove(HttpRequest *req);
void api_handle_me_backup_codes(HttpRequest *req);
void api_handle_me_sessions(HttpRequest *req);
void api_handle_me_sessions_revoke_others(HttpRequest *req);
void api_handle_me_session_revoke(HttpRequest *req);
void api_handle_me_session_extend(HttpRequest *req);
/* For the routes without parameters: no body, or {} (application/json);
 * anything else is refused in the envelope (< 0, replied). */
int api_me_no_body(HttpRequest *req);
/* The sid of the request's access token (its SSO session), or NULL. */
const char *api_me_sid(HttpRequest *req);
void api_handle_signup(HttpRequest *req);
void api_handle_signin(HttpRequest *req);
void api_handle_mfa(HttpRequest *req);
void api_handle_refresh(HttpRequest *req);
void api_handle_signout(HttpRequest *req);
void api_handle_session(HttpRequest *req);
