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
/* Upstream identity providers on the hosted pages (http-upstream.c) and
 * the JSON API (http-api-upstream.c). */
void upstream_handle_start(HttpRequest *req);
void upstream_handle_callback(HttpRequest *req);
void upstream_handle_link(HttpRequest *req);
void api_handle_upstream_start(HttpRequest *req);
void api_handle_upstream_callback(HttpRequest *req);
void oidc_handle_consent(HttpRequest *req);
void oidc_handle_token(HttpRequest *req);
void oidc_handle_userinfo(HttpRequest *req);
void oidc_handle_revoke(HttpRequest *req);
void oidc_handle_introspect(HttpRequest *req);
void oidc_handle_logout(HttpRequest *req);

/* The JSON API (http-api-*.c). */
void api_handle_openapi(HttpRequest *req);
void api_handle_tenant_get(HttpRequest *req);
void api_handle_tenant_update(HttpRequest *req);
void api_handle_tenant_delete(HttpRequest *req);
/* Members and invitations (http-api-members.c, http-api-invitations.c). */
void api_handle_members_list(HttpRequest *req);
void api_handle_member_update(HttpRequest *req);
void api_handle_member_remove(HttpRequest *req);
void api_handle_invitation_create(HttpRequest *req);
void api_handle_invitations_list(HttpRequest *req);
void api_handle_invitation_resend(HttpRequest *req);
void api_handle_invitation_revoke(HttpRequest *req);
void api_handle_accept_invitation(HttpRequest *req);
void api_handle_user_get(HttpRequest *req);
void api_handle_users_list(HttpRequest *req);
void api_handle_user_create(HttpRequest *req);
void api_handle_user_update(HttpRequest *req);
void api_handle_user_delete(HttpRequest *req);
void api_handle_user_disable(HttpRequest *req);
void api_handle_user_enable(HttpRequest *req);
void api_handle_user_unlock(HttpRequest *req);
void api_handle_user_send_reset(HttpRequest *req);
void api_handle_user_totp_remove(HttpRequest *req);
void api_handle_groups_list(HttpRequest *req);
void api_handle_group_create(HttpRequest *req);
void api_handle_group_get(HttpRequest *req);
void api_handle_group_update(HttpRequest *req);
void api_handle_group_delete(HttpRequest *req);
void api_handle_group_members(HttpRequest *req);
void api_handle_group_member_add(HttpRequest *req);
void api_handle_group_member_remove(HttpRequest *req);
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

/* Applications (http-api-applications.c). */
void api_handle_applications_list(HttpRequest *req);
void api_handle_application_create(HttpRequest *req);
void api_handle_application_get(HttpRequest *req);
void api_handle_application_update(HttpRequest *req);
void api_handle_application_delete(HttpRequest *req);
void api_handle_application_rotate_secret(HttpRequest *req);
/* API keys (http-api-keys.c). */
void api_handle_api_keys_list(HttpRequest *req);
void api_handle_api_key_create(HttpRequest *req);
void api_handle_api_key_get(HttpRequest *req);
void api_handle_api_key_revoke(HttpRequest *req);
void api_handle_api_key_rotate(HttpRequest *req);
/* Upstream identity providers and linked identities (http-api-providers.c). */
void api_handle_providers_list(HttpRequest *req);
void api_handle_provider_create(HttpRequest *req);
void api_handle_provider_get(HttpRequest *req);
void api_handle_provider_update(HttpRequest *req);
void api_handle_provider_delete(HttpRequest *req);
void api_handle_identities_list(HttpRequest *req);
void api_handle_identity_remove(HttpRequest *req);
/* The tenant's signing keys (http-api-signing-keys.c). */
void api_handle_signing_keys_list(HttpRequest *req);
void api_handle_signing_keys_rotate(HttpRequest *req);
/* CORS preflights of the publishable-key routes (http-cors.c). */
void api_handle_cors_preflight(HttpRequest *req);
/* A string list as a JSON array; NULL when out of memory. */
json_t *api_strv_json(char **l);

/* The pages a mailed link opens (http-account-pages.c). */
void page_handle_reset_password_get(HttpRequest *req);
void page_handle_reset_password_post(HttpRequest *req);
void page_handle_verify_email_get(HttpRequest *req);
void page_handle_verify_email_post(HttpRequest *req);
void page_handle_forgot_password_get(HttpRequest *req);
void page_handle_forgot_password_post(HttpRequest *req);
void page_handle_signup_get(HttpRequest *req);
void page_handle_signup_post(HttpRequest *req);
void page_handle_tenant_signup_get(HttpRequest *req);
void page_handle_tenant_signup_post(HttpRequest *req);
/* The page a mailed invitation opens (http-invitation-page.c). */
void page_handle_accept_invitation_get(HttpRequest *req);
void page_handle_accept_invitation_post(HttpRequest *req);
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
void api_handle_auth_signup(HttpRequest *req);
void api_handle_signin(HttpRequest *req);
void api_handle_mfa(HttpRequest *req);
void api_handle_mfa_enrol(HttpRequest *req);
void api_handle_mfa_enrol_confirm(HttpRequest *req);
void api_handle_refresh(HttpRequest *req);
void api_handle_signout(HttpRequest *req);
void api_handle_session(HttpRequest *req);
