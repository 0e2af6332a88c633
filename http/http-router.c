/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The one route table of the HTTP face, and the matching of a request's
 * path against it. 404, 405 and a malformed path come from here, before any
 * handler runs; each route names the policy action that http-authorize.c
 * checks before its handler is called. */

#include "http-internal.h"
#include "http-handlers.h"
#include "names.h"

/* Read it as the list of what the face serves, and who may ask: the OpenID
 * provider's endpoints are open at the door (their protocol authenticates
 * inside), the JSON API's are not. */
const HttpRoute http_routes[] = {
        { "GET", "/healthz", POLICY_HEALTH, http_handle_healthz },
        { "GET", "/readyz", POLICY_HEALTH, http_handle_readyz },
        { "GET", "/metrics", POLICY_METRICS, http_handle_metrics },

        { "GET", "/t/{tenant}/.well-known/openid-configuration", POLICY_OIDC_PUBLIC, oidc_handle_discovery },
        { "GET", "/t/{tenant}/jwks", POLICY_OIDC_PUBLIC, oidc_handle_jwks },
        { "GET", "/t/{tenant}/authorize", POLICY_OIDC_BROWSER, oidc_handle_authorize },
        { "POST", "/t/{tenant}/authorize", POLICY_OIDC_BROWSER, oidc_handle_authorize },
        { "POST", "/t/{tenant}/login", POLICY_OIDC_BROWSER, oidc_handle_login },
        { "POST", "/t/{tenant}/login/totp", POLICY_OIDC_BROWSER, oidc_handle_login_totp },
        /* Upstream identity providers: out, back (one URL per tenant), and
         * the proof of an account before a link. */
        { "POST", "/t/{tenant}/upstream/{provider}/start", POLICY_OIDC_BROWSER, upstream_handle_start },
        { "GET", "/t/{tenant}/upstream/callback", POLICY_OIDC_BROWSER, upstream_handle_callback },
        { "POST", "/t/{tenant}/upstream/link", POLICY_OIDC_BROWSER, upstream_handle_link },
        { "POST", "/t/{tenant}/consent", POLICY_OIDC_BROWSER, oidc_handle_consent },
        { "POST", "/t/{tenant}/token", POLICY_OIDC_CLIENT, oidc_handle_token },
        { "GET", "/t/{tenant}/userinfo", POLICY_OIDC_USERINFO, oidc_handle_userinfo },
        { "POST", "/t/{tenant}/userinfo", POLICY_OIDC_USERINFO, oidc_handle_userinfo },
        { "POST", "/t/{tenant}/revoke", POLICY_OIDC_CLIENT, oidc_handle_revoke },
        { "POST", "/t/{tenant}/introspect", POLICY_OIDC_CLIENT, oidc_handle_introspect },
        { "GET", "/t/{tenant}/logout", POLICY_OIDC_BROWSER, oidc_handle_logout },
        { "POST", "/t/{tenant}/logout", POLICY_OIDC_BROWSER, oidc_handle_logout },
        /* The pages a mailed link opens: the token is the proof. */
        { "GET", "/t/{tenant}/reset-password", POLICY_AUTH_RESET_PASSWORD, page_handle_reset_password_get },
        { "POST", "/t/{tenant}/reset-password", POLICY_AUTH_RESET_PASSWORD, page_handle_reset_password_post },
        { "GET", "/t/{tenant}/verify-email", POLICY_AUTH_VERIFY_EMAIL, page_handle_verify_email_get },
        { "POST", "/t/{tenant}/verify-email", POLICY_AUTH_VERIFY_EMAIL, page_handle_verify_email_post },
        { "GET", "/t/{tenant}/forgot-password", POLICY_AUTH_FORGOT, page_handle_forgot_password_get },
        { "POST", "/t/{tenant}/forgot-password", POLICY_AUTH_FORGOT, page_handle_forgot_password_post },
        { "GET", "/t/{tenant}/signup", POLICY_AUTH_SIGNUP_MEMBER, page_handle_tenant_signup_get },
        { "POST", "/t/{tenant}/signup", POLICY_AUTH_SIGNUP_MEMBER, page_handle_tenant_signup_post },
        { "GET", "/signup", POLICY_SIGNUP, page_handle_signup_get },
        { "POST", "/signup", POLICY_SIGNUP, page_handle_signup_post },
        { "GET", "/t/{tenant}/accept-invitation", POLICY_INVITATION_ACCEPT, page_handle_accept_invitation_get },
        { "POST", "/t/{tenant}/accept-invitation", POLICY_INVITATION_ACCEPT, page_handle_accept_invitation_post },

        { "GET", "/api/v1/openapi.json", POLICY_API_DOCUMENT, api_handle_openapi },
        { "GET", "/api/v1/tenants/{tenant}", POLICY_TENANT_READ, api_handle_tenant_get },
        { "PATCH", "/api/v1/tenants/{tenant}", POLICY_TENANT_UPDATE, api_handle_tenant_update },
        { "DELETE", "/api/v1/tenants/{tenant}", POLICY_TENANT_DELETE, api_handle_tenant_delete },
        /* Applications (OAuth clients) and the tenant's signing keys: the
         * core checks again against the application itself. */
#define APPS "/api/v1/tenants/{tenant}/applications"
        { "GET", APPS, POLICY_APPLICATION_LIST, api_handle_applications_list },
        { "POST", APPS, POLICY_APPLICATION_CREATE, api_handle_application_create },
        { "GET", APPS "/{app}", POLICY_APPLICATION_READ, api_handle_application_get },
        { "PATCH", APPS "/{app}", POLICY_APPLICATION_UPDATE, api_handle_application_update },
        { "DELETE", APPS "/{app}", POLICY_APPLICATION_DELETE, api_handle_application_delete },
        { "POST", APPS "/{app}/rotate-secret", POLICY_APPLICATION_ROTATE_SECRET,
          api_handle_application_rotate_secret },
#undef APPS
        { "GET", "/api/v1/tenants/{tenant}/keys", POLICY_SIGNING_KEY_LIST, api_handle_signing_keys_list },
        { "POST", "/api/v1/tenants/{tenant}/keys/rotate", POLICY_SIGNING_KEY_ROTATE, api_handle_signing_keys_rotate },
        /* API keys: only the tenant's administrators manage them. */
#define KEYS "/api/v1/tenants/{tenant}/api-keys"
        { "GET", KEYS, POLICY_API_KEY_LIST, api_handle_api_keys_list },
        { "POST", KEYS, POLICY_API_KEY_CREATE, api_handle_api_key_create },
        { "GET", KEYS "/{key}", POLICY_API_KEY_LIST, api_handle_api_key_get },
        { "DELETE", KEYS "/{key}", POLICY_API_KEY_REVOKE, api_handle_api_key_revoke },
        { "POST", KEYS "/{key}/rotate", POLICY_API_KEY_ROTATE, api_handle_api_key_rotate },
#undef KEYS
        /* Upstream identity providers ("Sign in with Google"): the
         * tenant's administrators register them. */
#define PROVIDERS "/api/v1/tenants/{tenant}/providers"
        { "GET", PROVIDERS, POLICY_PROVIDER_READ, api_handle_providers_list },
        { "POST", PROVIDERS, POLICY_PROVIDER_CREATE, api_handle_provider_create },
        { "GET", PROVIDERS "/{provider}", POLICY_PROVIDER_READ, api_handle_provider_get },
        { "PATCH", PROVIDERS "/{provider}", POLICY_PROVIDER_UPDATE, api_handle_provider_update },
        { "DELETE", PROVIDERS "/{provider}", POLICY_PROVIDER_DELETE, api_handle_provider_delete },
#undef PROVIDERS
        /* Members and roles; invitations to join. */
        { "GET", "/api/v1/tenants/{tenant}/members", POLICY_MEMBER_LIST, api_handle_members_list },
        { "PATCH", "/api/v1/tenants/{tenant}/members/{user}", POLICY_MEMBER_SET_ROLE, api_handle_member_update },
        { "DELETE", "/api/v1/tenants/{tenant}/members/{user}", POLICY_MEMBER_REMOVE, api_handle_member_remove },
        { "POST", "/api/v1/tenants/{tenant}/invitations", POLICY_INVITATION_CREATE, api_handle_invitation_create },
        { "GET", "/api/v1/tenants/{tenant}/invitations", POLICY_INVITATION_LIST, api_handle_invitations_list },
        { "POST", "/api/v1/tenants/{tenant}/invitations/{invitation}/resend", POLICY_INVITATION_RESEND,
          api_handle_invitation_resend },
        { "DELETE", "/api/v1/tenants/{tenant}/invitations/{invitation}", POLICY_INVITATION_REVOKE,
          api_handle_invitation_revoke },
        /* The mailed token is the proof. */
        { "POST", "/api/v1/tenants/{tenant}/auth/accept-invitation", POLICY_INVITATION_ACCEPT,
          api_handle_accept_invitation },
        /* The tenant administrator's view of users and groups, {user}
         * and {group} by name or id (usr_<n>, grp_<n>). */
#define USERS "/api/v1/tenants/{tenant}/users"
        { "GET", USERS, POLICY_USER_LIST, api_handle_users_list },
        { "POST", USERS, POLICY_USER_CREATE, api_handle_user_create },
        { "GET", USERS "/{user}", POLICY_USER_READ, api_handle_user_get },
        { "PATCH", USERS "/{user}", POLICY_USER_UPDATE, api_handle_user_update },
        { "DELETE", USERS "/{user}", POLICY_USER_DELETE, api_handle_user_delete },
        { "POST", USERS "/{user}/disable", POLICY_USER_DISABLE, api_handle_user_disable },
        { "POST", USERS "/{user}/enable", POLICY_USER_ENABLE, api_handle_user_enable },
        { "POST", USERS "/{user}/unlock", POLICY_USER_UNLOCK, api_handle_user_unlock },
        { "POST", USERS "/{user}/reset-password", POLICY_USER_SEND_RESET, api_handle_user_send_reset },
        { "DELETE", USERS "/{user}/totp", POLICY_TOTP_DISABLE, api_handle_user_totp_remove },
        { "GET", USERS "/{user}/identities", POLICY_USER_LINK_LIST, api_handle_identities_list },
        { "DELETE", USERS "/{user}/identities/{identity}", POLICY_USER_UNLINK, api_handle_identity_remove },
#undef USERS
#define GROUPS "/api/v1/tenants/{tenant}/groups"
        { "GET", GROUPS, POLICY_GROUP_LIST, api_handle_groups_list },
        { "POST", GROUPS, POLICY_GROUP_CREATE, api_handle_group_create },
        { "GET", GROUPS "/{group}", POLICY_GROUP_READ, api_handle_group_get },
        { "PATCH", GROUPS "/{group}", POLICY_GROUP_UPDATE, api_handle_group_update },
        { "DELETE", GROUPS "/{group}", POLICY_GROUP_DELETE, api_handle_group_delete },
        { "GET", GROUPS "/{group}/members", POLICY_GROUP_READ, api_handle_group_members },
        { "POST", GROUPS "/{group}/members", POLICY_GROUP_ADD_MEMBER, api_handle_group_member_add },
        { "DELETE", GROUPS "/{group}/members/{user}", POLICY_GROUP_REMOVE_MEMBER, api_handle_group_member_remove },
#undef GROUPS
        /* The tenant's audit trail: a page, or the same selection as JSON lines. */
        { "GET", "/api/v1/tenants/{tenant}/audit", POLICY_AUDIT_READ, api_handle_audit_list },
        { "GET", "/api/v1/tenants/{tenant}/audit/export", POLICY_AUDIT_READ, api_handle_audit_export },
        /* The tenant's plan: limits and features (the platform's to set),
         * usage counters (its programs' to count). */
        { "GET", "/api/v1/tenants/{tenant}/entitlements", POLICY_ENTITLEMENT_READ, api_handle_entitlements_get },
        { "PUT", "/api/v1/tenants/{tenant}/entitlements", POLICY_ENTITLEMENT_WRITE, api_handle_entitlements_put },
        { "GET", "/api/v1/tenants/{tenant}/usage", POLICY_USAGE_READ, api_handle_usage_list },
        { "POST", "/api/v1/tenants/{tenant}/usage/{counter}/increment", POLICY_USAGE_INCREMENT,
          api_handle_usage_increment },
        /* Account flows by mail: open, "forgot" answering the same for
         * everybody; asking for a verification mail needs a signed-in
         * user of the tenant. */
        { "POST", "/api/v1/tenants/{tenant}/auth/forgot", POLICY_AUTH_FORGOT, api_handle_auth_forgot },
        { "POST", "/api/v1/tenants/{tenant}/auth/reset", POLICY_AUTH_RESET_PASSWORD, api_handle_auth_reset },
        { "POST", "/api/v1/tenants/{tenant}/auth/verify-email", POLICY_AUTH_VERIFY_EMAIL,
          api_handle_auth_verify_email },
        { "POST", "/api/v1/tenants/{tenant}/auth/verify-email/request", POLICY_AUTH_SELF,
          api_handle_auth_verify_email_request },

        /* Account flows: sign-up and sign-in authenticate inside (a
         * password, a code, a refresh token); the session is its user's. */
        { "POST", "/api/v1/signup", POLICY_SIGNUP, api_handle_signup },
        { "POST", "/api/v1/tenants/{tenant}/auth/signup", POLICY_AUTH_SIGNUP_MEMBER, api_handle_auth_signup },
        { "POST", "/api/v1/tenants/{tenant}/auth/signin", POLICY_AUTH_SIGNIN, api_handle_signin },
        { "POST", "/api/v1/tenants/{tenant}/auth/mfa", POLICY_AUTH_SIGNIN, api_handle_mfa },
        /* A sign-in through an upstream provider; the callback before the
         * provider's name, which can't be "callback". */
        { "GET", "/api/v1/tenants/{tenant}/auth/oauth/callback", POLICY_AUTH_SIGNIN, api_handle_upstream_callback },
        { "POST", "/api/v1/tenants/{tenant}/auth/oauth/callback", POLICY_AUTH_SIGNIN, api_handle_upstream_callback },
        { "GET", "/api/v1/tenants/{tenant}/auth/oauth/{provider}", POLICY_AUTH_SIGNIN, api_handle_upstream_start },
        { "POST", "/api/v1/tenants/{tenant}/auth/oauth/{provider}", POLICY_AUTH_SIGNIN, api_handle_upstream_start },
        /* A sign-in the tenant refused for want of a second factor: its MFA
         * token enrols one, and the first code signs in. */
        { "POST", "/api/v1/tenants/{tenant}/auth/mfa/enrol", POLICY_AUTH_SIGNIN, api_handle_mfa_enrol },
        { "POST", "/api/v1/tenants/{tenant}/auth/mfa/enrol/confirm", POLICY_AUTH_SIGNIN,
          api_handle_mfa_enrol_confirm },
        { "POST", "/api/v1/tenants/{tenant}/auth/refresh", POLICY_AUTH_SIGNIN, api_handle_refresh },
        /* What a browser asks before it POSTs with an application's
         * publishable key from that application's origin (http-cors.c). */
        { "OPTIONS", "/api/v1/tenants/{tenant}/auth/signin", POLICY_CORS_PREFLIGHT, api_handle_cors_preflight },
        { "OPTIONS", "/api/v1/tenants/{tenant}/auth/mfa", POLICY_CORS_PREFLIGHT, api_handle_cors_preflight },
        { "OPTIONS", "/api/v1/tenants/{tenant}/auth/refresh", POLICY_CORS_PREFLIGHT, api_handle_cors_preflight },
        { "OPTIONS", "/api/v1/tenants/{tenant}/auth/signup", POLICY_CORS_PREFLIGHT, api_handle_cors_preflight },
        { "POST", "/api/v1/tenants/{tenant}/auth/signout", POLICY_AUTH_SESSION, api_handle_signout },
        { "GET", "/api/v1/tenants/{tenant}/auth/session", POLICY_AUTH_SESSION, api_handle_session },

        /* The platform's operators: sign-in authenticates inside (a
         * password and a TOTP code); the rest takes an operator's token. */
        { "POST", "/api/v1/platform/auth/signin", POLICY_PLATFORM_SIGNIN, api_handle_platform_signin },
        { "GET", "/api/v1/platform/tenants", POLICY_TENANT_LIST, api_handle_platform_tenants },
        { "GET", "/api/v1/platform/users", POLICY_PLATFORM_USER_SEARCH, api_handle_platform_users },
        { "POST", "/api/v1/platform/tenants/{tenant}/impersonate", POLICY_PLATFORM_IMPERSONATE,
          api_handle_platform_impersonate },

        /* The signed-in user's own account: the policy's target is the
         * principal's own user (.self). */
#define ME "/api/v1/tenants/{tenant}/me"
        { "GET", ME, POLICY_ME_READ, api_handle_me_get, .self = true },
        { "PATCH", ME, POLICY_ME_UPDATE, api_handle_me_update, .self = true },
        { "POST", ME "/password", POLICY_ME_PASSWORD, api_handle_me_password, .self = true },
        { "GET", ME "/totp", POLICY_ME_READ, api_handle_me_totp_get, .self = true },
        { "POST", ME "/totp", POLICY_ME_TOTP, api_handle_me_totp_begin, .self = true },
        { "DELETE", ME "/totp", POLICY_ME_TOTP, api_handle_me_totp_remove, .self = true },
        { "POST", ME "/totp/confirm", POLICY_ME_TOTP, api_handle_me_totp_confirm, .self = true },
        { "POST", ME "/backup-codes", POLICY_ME_TOTP, api_handle_me_backup_codes, .self = true },
        { "GET", ME "/sessions", POLICY_ME_SESSION_LIST, api_handle_me_sessions, .self = true },
        { "POST", ME "/sessions/revoke-others", POLICY_ME_SESSION_REVOKE, api_handle_me_sessions_revoke_others,
          .self = true },
        { "DELETE", ME "/sessions/{session}", POLICY_ME_SESSION_REVOKE, api_handle_me_session_revoke, .self = true },
        { "POST", ME "/sessions/{session}/extend", POLICY_ME_SESSION_EXTEND, api_handle_me_session_extend,
          .self = true },
        /* The upstream identities linked to the account (the core keeps
         * the last way to sign in). */
        { "GET", ME "/identities", POLICY_ME_READ, api_handle_identities_list, .self = true },
        { "DELETE", ME "/identities/{identity}", POLICY_ME_UPDATE, api_handle_identity_remove, .self = true },
#undef ME
        {},
};

bool http_method_valid(const char *method) {
        size_t n = 0;

        /* tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "."
         * / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
        for (; method && method[n]; n++) {
                char c = method[n];

                if (n >= 32 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                 strchr("!#$%&'*+-.^_`|~", c)))
                        return false;
        }
        return n > 0;
}

static int unhex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int http_path_segment_decode(const char *s, size_t n, char *out, size_t out_size, size_t *ret_len) {
        size_t o = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c == '%') {
                        int a, b;

                        if (i + 2 >= n)
                                return -EBADMSG;
                        a = unhex(s[i + 1]);
                        b = unhex(s[i + 2]);
                        if (a < 0 || b < 0)
                                return -EBADMSG;
                        c = (unsigned char) (a << 4 | b);
                        i += 2;
                }
                /* A segment is one name: no "/" (which would be a second
                 * segment), no NUL, no control characters. */
                if (c == '/' || c < 0x20 || c == 0x7f)
                        return -EBADMSG;
                if (o + 1 >= out_size)
                        return -E2BIG;
                out[o++] = (char) c;
        }
        out[o] = '\0';
        if (!utf8_is_valid(out))
                return -EBADMSG;
        if (ret_len)
                *ret_len = o;
        return 0;
}

/* One literal segment of a pattern against the client's (raw) segment:
 * equal as they are, or once decoded ("%61cme" is "acme"). */
static bool literal_equal(const char *lit, size_t lit_len, const char *seg, size_t seg_len) {
        char decoded[128];
        size_t n;

        if (lit_len == seg_len && memcmp(lit, seg, lit_len) == 0)
                return true;
        if (!memchr(seg, '%', seg_len) || seg_len >= 3 * sizeof(decoded))
                return false;
        return http_path_segment_decode(seg, seg_len, decoded, sizeof(decoded), &n) >= 0 && n == lit_len &&
               memcmp(decoded, lit, n) == 0;
}

/* Where one capture's raw text lies in the path, while matching. */
typedef struct CaptureSpan {
        const char *name, *raw;
        size_t name_len, raw_len;
} CaptureSpan;

/* Matches the raw path against pattern segment by segment; records where
 * the captures lie, undecoded: the table is walked for every request, and
 * decoding waits until a route is chosen. {tenant} must also be a valid
 * slug (checked last, once the rest matched): a path with anything else
 * there names no tenant, so no route. */
static bool match(const char *pattern, const char *path, CaptureSpan spans[static HTTP_CAPTURES_MAX], size_t *ret_n,
                  char tenant[static HTTP_TENANT_SLUG_MAX]) {
        const char *p = pattern, *q = path;
        size_t n = 0;

        tenant[0] = '\0';
        while (*p) {
                size_t p_len, q_len;

                if (*p != '/' || *q != '/')
                        return false;
                p++, q++;
                p_len = strcspn(p, "/");
                q_len = strcspn(q, "/");
                if (*p == '{') {
                        /* A capture takes one segment that is not empty. */
                        if (q_len == 0 || q_len > 3 * HTTP_CAPTURE_MAX_LEN || n >= HTTP_CAPTURES_MAX)
                                return false;
                        spans[n++] = (CaptureSpan) { .name = p + 1, .name_len = p_len - 2, .raw = q, .raw_len = q_len };
                } else if (!literal_equal(p, p_len, q, q_len))
                        return false;
                p += p_len;
                q += q_len;
        }
        if (*q != '\0')
                return false;

        for (size_t i = 0; i < n; i++)
                if (spans[i].name_len == 6 && strneq(spans[i].name, "tenant", 6)) {
                        char slug[HTTP_TENANT_SLUG_MAX];

                        if (http_path_segment_decode(spans[i].raw, spans[i].raw_len, slug, sizeof(slug), NULL) < 0 ||
                            !valid_tenant_slug(slug))
                                return false;
                        memcpy(tenant, slug, strlen(slug) + 1);
                }
        *ret_n = n;
        return true;
}

/* The captures of the chosen route, decoded into the room after the
 * request's path: each value is no longer than its segment, and each
 * segment follows a "/" of the path, so that they all fit. */
static int decode_captures(HttpRequest *req, const CaptureSpan *spans, size_t n, HttpRouteMiss *miss) {
        char *text = req->raw_path + req->raw_path_len + 1;
        size_t left = req->raw_path_len + 1;

        for (size_t i = 0; i < n; i++) {
                HttpCapture *c = &req->captures[i];
                size_t len;
                int r;

                r = http_path_segment_decode(spans[i].raw, spans[i].raw_len, text,
                                             MIN(left, (size_t) HTTP_CAPTURE_MAX_LEN + 1), &len);
                if (r < 0) {
                        req->n_captures = 0;
                        snprintf(miss->capture, sizeof(miss->capture), "%.*s", (int) spans[i].name_len,
                                 spans[i].name);
                        return r;
                }
                *c = (HttpCapture) { .name = spans[i].name, .name_len = spans[i].name_len, .value = text };
                text += len + 1;
                left -= len + 1;
        }
        req->n_captures = n;
        return 0;
}

int http_routes_find(const HttpRoute *table, HttpRequest *req, const char *method, HttpRouteMiss *ret_miss) {
        CaptureSpan spans[HTTP_CAPTURES_MAX];
        char tenant[HTTP_TENANT_SLUG_MAX] = "";
        const char *path = req->raw_path;
        bool path_matched = false;
        size_t n;

        *ret_miss = (HttpRouteMiss) {};
        req->route = NULL;
        req->n_captures = 0;
        for (const HttpRoute *r = table; r->method; r++) {
                if (!match(r->pattern, path, spans, &n, tenant))
                        continue;
                if (streq(r->method, method)) {
                        int k = decode_captures(req, spans, n, ret_miss);

                        if (k < 0)
                                return k;
                        req->route = r;
                        snprintf(req->tenant_slug, sizeof(req->tenant_slug), "%s", tenant);
                        return 0;
                }
                if (!strstr(ret_miss->allow, r->method)) {
                        size_t len = strlen(ret_miss->allow);
                        snprintf(ret_miss->allow + len, sizeof(ret_miss->allow) - len, "%s%s", len > 0 ? ", " : "",
                                 r->method);
                }
                path_matched = true;
        }
        return path_matched ? -EOPNOTSUPP : -ENOENT;
}

int http_route_find(HttpRequest *req, const char *method, HttpRouteMiss *ret_miss) {
        return http_routes_find(http_routes, req, method, ret_miss);
}

const char *http_capture(const HttpRequest *req, const char *name) {
        size_t n = strlen(name);

        for (size_t i = 0; i < req->n_captures; i++)
                if (req->captures[i].name_len == n && memcmp(req->captures[i].name, name, n) == 0)
                        return req->captures[i].value;
        return NULL;
}
