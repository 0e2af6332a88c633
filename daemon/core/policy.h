/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one policy: (action × principal) → allowed or refused, from one table
 * (policy.c). Every D-Bus method, HTTP route and socket request declares its
 * action; core operations check it here before they change anything, and
 * nothing else grants access. The action's name is also the action of its
 * audit events ("user.create"). */

#include "principal.h"

typedef enum PolicyAction {
        /* tenants */
        POLICY_TENANT_CREATE,
        POLICY_TENANT_LIST,
        POLICY_TENANT_READ,
        POLICY_TENANT_UPDATE,
        POLICY_TENANT_DELETE,
        /* a tenant's members (its users with their roles) and invitations */
        POLICY_MEMBER_LIST,
        POLICY_MEMBER_SET_ROLE,       /* owners only: the core keeps one owner at least */
        POLICY_MEMBER_REMOVE,         /* an owner's removal: by an owner only (the core's rule) */
        POLICY_INVITATION_CREATE,
        POLICY_INVITATION_LIST,
        POLICY_INVITATION_RESEND,
        POLICY_INVITATION_REVOKE,
        /* Using a mailed invitation: open at the door, the token is the
         * proof (as for a reset). */
        POLICY_INVITATION_ACCEPT,
        /* users */
        POLICY_USER_LIST,
        POLICY_USER_READ,
        POLICY_USER_READ_PRIVATE,     /* e-mail, TOTP state: the user themself and admins */
        POLICY_USER_CREATE,
        POLICY_USER_UPDATE,
        POLICY_USER_SET_PASSWORD,     /* the user themself proves the current one */
        POLICY_USER_LOCK,
        POLICY_USER_UNLOCK,
        POLICY_USER_DISABLE,
        POLICY_USER_ENABLE,
        POLICY_USER_DELETE,
        POLICY_USER_SEND_RESET,       /* have a reset mail sent (an administrator's "forgot") */
        POLICY_TOTP_BEGIN,
        POLICY_TOTP_CONFIRM,
        POLICY_TOTP_DISABLE,
        POLICY_TOTP_BACKUP_CODES,
        /* groups */
        POLICY_GROUP_LIST,
        POLICY_GROUP_READ,
        POLICY_GROUP_CREATE,
        POLICY_GROUP_UPDATE,
        POLICY_GROUP_DELETE,
        POLICY_GROUP_ADD_MEMBER,
        POLICY_GROUP_REMOVE_MEMBER,
        /* applications and the tenant's signing keys */
        POLICY_APPLICATION_LIST,
        POLICY_APPLICATION_READ,
        POLICY_APPLICATION_CREATE,
        POLICY_APPLICATION_UPDATE,
        POLICY_APPLICATION_ROTATE_SECRET,
        POLICY_APPLICATION_DELETE,
        POLICY_SIGNING_KEY_LIST,
        POLICY_SIGNING_KEY_ROTATE,
        /* the tenant's API keys (api-key.h): secret keys for programs,
         * publishable keys for an application's end-user sign-in */
        POLICY_API_KEY_LIST,
        POLICY_API_KEY_CREATE,
        POLICY_API_KEY_ROTATE,
        POLICY_API_KEY_REVOKE,
        /* the tenant's upstream identity providers (upstream-provider.h):
         * "Sign in with Google" and the like */
        POLICY_PROVIDER_READ,
        POLICY_PROVIDER_CREATE,
        POLICY_PROVIDER_UPDATE,
        POLICY_PROVIDER_DELETE,
        /* the identities linked to a user (upstream-link.h): the user's
         * own, and administrators' */
        POLICY_USER_LINK_LIST,
        POLICY_USER_UNLINK,
        /* sessions (host logins) and the audit trail */
        POLICY_SESSION_LIST,
        POLICY_SESSION_OPEN,
        POLICY_SESSION_CLOSE,
        POLICY_AUDIT_READ,
        /* a tenant's entitlements (limits and features the platform sets)
         * and usage counters (entitlement.h) */
        POLICY_ENTITLEMENT_READ,
        POLICY_ENTITLEMENT_WRITE,
        POLICY_USAGE_READ,
        POLICY_USAGE_INCREMENT,
        /* an operator taking a short-lived grant to act as the tenant's
         * admin, for a stated reason (operator.h) */
        POLICY_PLATFORM_IMPERSONATE,
        /* the signed-in user's own account (/api/v1/tenants/{t}/me/...):
         * a tenant's user acting on themself, nobody else */
        POLICY_ME_READ,               /* profile, second factor state */
        POLICY_ME_UPDATE,             /* name, e-mail */
        POLICY_ME_PASSWORD,           /* change it, proving the current one */
        POLICY_ME_TOTP,               /* enrol, confirm, remove, backup codes */
        POLICY_ME_SESSION_LIST,       /* web, application and host sessions */
        POLICY_ME_SESSION_REVOKE,
        POLICY_ME_SESSION_EXTEND,
        /* mail: a templated test mail to any address, to check [mail] */
        POLICY_MAIL_TEST,
        /* host logins over the authentication socket: unix_chkpwd's rule */
        POLICY_AUTH_LOGIN,
        POLICY_NSS_LOOKUP,
        /* The account flows by mail (account-token.h): asking for a reset
         * mail and using a mailed token are open to everybody, since the
         * token, not a principal, is the proof; asking for a verification
         * mail is the user's own (or an admin's) business. */
        POLICY_AUTH_FORGOT,
        POLICY_AUTH_RESET_PASSWORD,
        POLICY_AUTH_VERIFY_EMAIL,
        POLICY_EMAIL_VERIFY_REQUEST,
        /* The door of routes that act on the signed-in user themself
         * (".../auth/verify-email/request"): any user of the tenant; the
         * core operation then asks its own action about that user. */
        POLICY_AUTH_SELF,
        /* the OpenID provider's protocol endpoints: open at the door, since
         * the protocol authenticates inside (client secrets, PKCE, bearer
         * tokens, the sign-in form) as its RFCs prescribe */
        POLICY_OIDC_PUBLIC,           /* discovery, JWKS */
        POLICY_OIDC_BROWSER,          /* authorize, sign-in, consent, logout */
        POLICY_OIDC_CLIENT,           /* token, revoke, introspect */
        POLICY_OIDC_USERINFO,
        POLICY_HEALTH,                /* /healthz, /readyz */
        /* the JSON API's account flows: sign-up (a new tenant and its
         * owner; the core asks [auth] open_signup), and sign-in, its MFA
         * step and refresh, which authenticate inside as the sign-in pages
         * do; the current session (read it, sign out) is its user's */
        POLICY_SIGNUP,
        /* End-user sign-up into an existing tenant (a member account), open
         * where the tenant's open_signup is on: the core asks. Its own
         * action, so that other principals (publishable keys) can be given
         * this and nothing else. */
        POLICY_AUTH_SIGNUP_MEMBER,
        POLICY_AUTH_SIGNIN,
        POLICY_AUTH_SESSION,
        /* /metrics: numbers of the whole host, every tenant's together;
         * the HTTP face lets through only configured addresses and
         * holders of the metrics token ([metrics] in tesserad.conf(5)) */
        POLICY_METRICS,
        POLICY_API_DOCUMENT,          /* /api/v1/openapi.json: what the API is, to anybody */
        /* A browser's CORS preflight of a route publishable keys may use:
         * it carries no credentials, and answers only which origins the
         * tenant's applications allow */
        POLICY_CORS_PREFLIGHT,
        /* The platform's operators (operator.h): made and removed by the
         * host's administrators; their sign-in authenticates inside (a
         * password and a TOTP code); their search across tenants. */
        POLICY_OPERATOR_MANAGE,
        POLICY_PLATFORM_SIGNIN,
        POLICY_PLATFORM_USER_SEARCH,
        _POLICY_ACTION_MAX,
        _POLICY_ACTION_INVALID = -EINVAL,
} PolicyAction;

/* What an action is applied to. tenant_id 0: nothing of a tenant (creating
 * one, listing them all, health); user_id and uid name the user acted on,
 * so that "self" can be decided (0 and -1: none). */
typedef struct PolicyTarget {
        int64_t tenant_id;
        int64_t user_id;
        int64_t uid;
        int64_t application_id;
} PolicyTarget;

#define POLICY_TARGET_NONE ((PolicyTarget) { .uid = -1 })

static inline PolicyTarget policy_target_tenant(int64_t tenant_id) {
        return (PolicyTarget) { .tenant_id = tenant_id, .uid = -1 };
}

static inline PolicyTarget policy_target_user(const UserRecord *u) {
        return (PolicyTarget) { .tenant_id = u->tenant_id, .user_id = u->id, .uid = u->uid };
}

/* 0 when p may do a to t, -EACCES when not, -EINVAL for an action we don't
 * know or a tenant action asked without its tenant (a programming error:
 * refused too). */
int policy_check(const Principal *p, PolicyAction a, const PolicyTarget *t);

/* True when p may administer the user of t, rather than only act as that
 * user: what decides whether a change of one's own second factor or
 * password must be proven with the current one. */
bool policy_administers(const Principal *p, const PolicyTarget *t);

/* "user.create"; NULL for an invalid action. */
const char *policy_action_to_string(PolicyAction a);
PolicyAction policy_action_from_string(const char *s);
/* The scope an API key or client needs for a ("tessera:users:write"), or
 * NULL when none may. */
const char *policy_action_scope(PolicyAction a);
/* True when scope is one an action of the table asks of keys
 * ("tessera:users:read"), or the read scope of an area whose write scope
 * is: what an API key may be given. */
bool policy_scope_known(const char *scope);
/* A sentence for the refusal that says what would be allowed, naming the
 * target ("Only alice@acme and administrators may change the second factor
 * of alice@acme."), into buf; returns buf. */
char *policy_refusal_message(const Principal *p, PolicyAction a, const char *target, char *buf, size_t size);
