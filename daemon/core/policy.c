/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "policy.h"

#include "macro.h"

/* What one kind of principal gets for an action. */
typedef enum Grant {
        GRANT_NONE,           /* refused (the default of the table) */
        GRANT_ANY,            /* every principal of the kind (in the target's tenant when tenant-bound) */
        GRANT_SELF,           /* only for its own user */
        GRANT_ADMIN,          /* local: root or the admin group; tenant user: admin or owner */
        GRANT_OWNER,          /* local: root or the admin group; tenant user: owner */
        GRANT_ROOT,           /* local: uid 0 only */
        GRANT_SELF_OR_ROOT,
        GRANT_SELF_OR_ADMIN,
        GRANT_SCOPE,          /* API keys and clients holding the action's scope */
} Grant;

typedef struct PolicyRule {
        const char *name;
        const char *scope;            /* for GRANT_SCOPE */
        bool tenant_bound;            /* the target is always a tenant's */
        Grant anonymous, local, member, operator_, keys, publishable;
        /* What a local caller is told when refused, if more than the grant
         * says: each %s is the target's name. */
        const char *refused;
} PolicyRule;

#define TENANT .tenant_bound = true

/* The policy. member is a tenant's user by role; an impersonating operator
 * is judged as an admin of the tenant who is nobody's "self"; keys are API
 * keys and client-credentials clients. Read it row by row: that is what
 * each door allows. */
static const PolicyRule rules[_POLICY_ACTION_MAX] = {
        [POLICY_TENANT_CREATE] = { "tenant.create", .local = GRANT_ADMIN, .operator_ = GRANT_ANY },
        [POLICY_TENANT_LIST] = { "tenant.list", .local = GRANT_ANY, .operator_ = GRANT_ANY },
        [POLICY_TENANT_READ] = { "tenant.read", "tessera:tenant:read", TENANT, .local = GRANT_ANY,
                                 .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_TENANT_UPDATE] = { "tenant.update", "tessera:tenant:write", TENANT, .local = GRANT_ADMIN,
                                   .member = GRANT_ADMIN, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_TENANT_DELETE] = { "tenant.delete", NULL, TENANT, .local = GRANT_ADMIN, .member = GRANT_OWNER,
                                   .operator_ = GRANT_ANY },

        /* Members see who else is in their organization (the e-mail
         * addresses only where user.read-private allows); roles are the
         * owners' to give; admins remove members and invite, and an owner
         * is removed by an owner only (the core's rule, which also keeps
         * one owner). Keys never change roles. */
        [POLICY_MEMBER_LIST] = { "member.list", "tessera:members:read", TENANT, .local = GRANT_ANY,
                                 .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_MEMBER_SET_ROLE] = { "member.set-role", NULL, TENANT, .local = GRANT_ADMIN, .member = GRANT_OWNER,
                                     .refused = "Only the owners of the tenant may change roles." },
        [POLICY_MEMBER_REMOVE] = { "member.remove", "tessera:members:write", TENANT, .local = GRANT_ADMIN,
                                   .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_INVITATION_CREATE] = { "invitation.create", "tessera:members:write", TENANT, .local = GRANT_ADMIN,
                                       .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_INVITATION_LIST] = { "invitation.list", "tessera:members:read", TENANT, .local = GRANT_ADMIN,
                                     .member = GRANT_ADMIN, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_INVITATION_RESEND] = { "invitation.resend", "tessera:members:write", TENANT, .local = GRANT_ADMIN,
                                       .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_INVITATION_REVOKE] = { "invitation.revoke", "tessera:members:write", TENANT, .local = GRANT_ADMIN,
                                       .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_INVITATION_ACCEPT] = { "invitation.accept", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                       .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                       .publishable = GRANT_ANY },

        [POLICY_USER_LIST] = { "user.list", "tessera:users:read", TENANT, .local = GRANT_ANY, .member = GRANT_ADMIN,
                               .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_USER_READ] = { "user.read", "tessera:users:read", TENANT, .local = GRANT_ANY,
                               .member = GRANT_SELF_OR_ADMIN, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_USER_READ_PRIVATE] = { "user.read-private", "tessera:users:read", TENANT,
                                       .local = GRANT_SELF_OR_ADMIN, .member = GRANT_SELF_OR_ADMIN,
                                       .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_USER_CREATE] = { "user.create", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                                 .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_USER_UPDATE] = { "user.update", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                                 .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        /* Keys reset passwords by mail, never set them. */
        [POLICY_USER_SET_PASSWORD] = { "user.set-password", NULL, TENANT, .local = GRANT_SELF_OR_ADMIN,
                                       .member = GRANT_SELF_OR_ADMIN },
        [POLICY_USER_LOCK] = { "user.lock", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                               .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_USER_UNLOCK] = { "user.unlock", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                                 .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_USER_DISABLE] = { "user.disable", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                                  .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_USER_ENABLE] = { "user.enable", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                                 .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_USER_DELETE] = { "user.delete", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                                 .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        /* The mail goes to the user's own address only: an administrator
         * starts the reset, the user finishes it. */
        [POLICY_USER_SEND_RESET] = { "user.send-reset", "tessera:users:write", TENANT, .local = GRANT_ADMIN,
                                     .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        /* A second factor is the user's own; an admin may remove one (lost
         * phone) or start over for them. */
#define TOTP_REFUSED "Only %s and administrators may change the second factor of %s."
        [POLICY_TOTP_BEGIN] = { "totp.begin", NULL, TENANT, .local = GRANT_SELF_OR_ADMIN,
                                .member = GRANT_SELF_OR_ADMIN, .refused = TOTP_REFUSED },
        [POLICY_TOTP_CONFIRM] = { "totp.confirm", NULL, TENANT, .local = GRANT_SELF_OR_ADMIN,
                                  .member = GRANT_SELF_OR_ADMIN, .refused = TOTP_REFUSED },
        [POLICY_TOTP_DISABLE] = { "totp.disable", "tessera:users:write", TENANT, .local = GRANT_SELF_OR_ADMIN,
                                  .member = GRANT_SELF_OR_ADMIN, .keys = GRANT_SCOPE, .refused = TOTP_REFUSED },
        [POLICY_TOTP_BACKUP_CODES] = { "totp.backup-codes", NULL, TENANT, .local = GRANT_SELF_OR_ADMIN,
                                       .member = GRANT_SELF_OR_ADMIN, .refused = TOTP_REFUSED },

        [POLICY_GROUP_LIST] = { "group.list", "tessera:groups:read", TENANT, .local = GRANT_ANY,
                                .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_GROUP_READ] = { "group.read", "tessera:groups:read", TENANT, .local = GRANT_ANY,
                                .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_GROUP_CREATE] = { "group.create", "tessera:groups:write", TENANT, .local = GRANT_ADMIN,
                                  .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_GROUP_UPDATE] = { "group.update", "tessera:groups:write", TENANT, .local = GRANT_ADMIN,
                                  .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_GROUP_DELETE] = { "group.delete", "tessera:groups:write", TENANT, .local = GRANT_ADMIN,
                                  .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_GROUP_ADD_MEMBER] = { "group.add-member", "tessera:groups:write", TENANT, .local = GRANT_ADMIN,
                                      .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_GROUP_REMOVE_MEMBER] = { "group.remove-member", "tessera:groups:write", TENANT,
                                         .local = GRANT_ADMIN, .member = GRANT_ADMIN, .keys = GRANT_SCOPE },

        [POLICY_APPLICATION_LIST] = { "application.list", "tessera:applications:read", TENANT,
                                      .local = GRANT_ANY, .member = GRANT_ADMIN, .operator_ = GRANT_ANY,
                                      .keys = GRANT_SCOPE },
        [POLICY_APPLICATION_READ] = { "application.read", "tessera:applications:read", TENANT,
                                      .local = GRANT_ANY, .member = GRANT_ADMIN, .operator_ = GRANT_ANY,
                                      .keys = GRANT_SCOPE },
        [POLICY_APPLICATION_CREATE] = { "application.create", "tessera:applications:write", TENANT,
                                        .local = GRANT_ADMIN, .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_APPLICATION_UPDATE] = { "application.update", "tessera:applications:write", TENANT,
                                        .local = GRANT_ADMIN, .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_APPLICATION_ROTATE_SECRET] = { "application.rotate-secret", "tessera:applications:write", TENANT,
                                               .local = GRANT_ADMIN, .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_APPLICATION_DELETE] = { "application.delete", "tessera:applications:write", TENANT,
                                        .local = GRANT_ADMIN, .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_SIGNING_KEY_LIST] = { "signing-key.list", "tessera:keys:read", TENANT, .local = GRANT_ANY,
                                      .member = GRANT_ADMIN, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_SIGNING_KEY_ROTATE] = { "signing-key.rotate", "tessera:keys:write", TENANT, .local = GRANT_ADMIN,
                                        .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        /* API keys are the tenant administrators' to manage: a key never
         * mints or rotates keys (it could give itself any scope), and an
         * operator looks but does not make one. */
        [POLICY_API_KEY_LIST] = { "api-key.list", NULL, TENANT, .local = GRANT_ADMIN, .member = GRANT_ADMIN,
                                  .operator_ = GRANT_ANY },
        [POLICY_API_KEY_CREATE] = { "api-key.create", NULL, TENANT, .local = GRANT_ADMIN, .member = GRANT_ADMIN },
        [POLICY_API_KEY_ROTATE] = { "api-key.rotate", NULL, TENANT, .local = GRANT_ADMIN, .member = GRANT_ADMIN },
        [POLICY_API_KEY_REVOKE] = { "api-key.revoke", NULL, TENANT, .local = GRANT_ADMIN, .member = GRANT_ADMIN },
        /* Upstream providers are the administrators' to register, keys
         * with the scope included (an operator looks); the secret never
         * leaves the core. A provider making admins or owners just in
         * time needs an owner (the core's rule, as for roles). */
        [POLICY_PROVIDER_READ] = { "provider.read", "tessera:providers:read", TENANT, .local = GRANT_ADMIN,
                                   .member = GRANT_ADMIN, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_PROVIDER_CREATE] = { "provider.create", "tessera:providers:write", TENANT, .local = GRANT_ADMIN,
                                     .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_PROVIDER_UPDATE] = { "provider.update", "tessera:providers:write", TENANT, .local = GRANT_ADMIN,
                                     .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        [POLICY_PROVIDER_DELETE] = { "provider.delete", "tessera:providers:write", TENANT, .local = GRANT_ADMIN,
                                     .member = GRANT_ADMIN, .keys = GRANT_SCOPE },
        /* A user's linked identities: theirs to see and remove (the core
         * keeps the last way in), and administrators'. */
        [POLICY_USER_LINK_LIST] = { "user.link-list", "tessera:users:read", TENANT, .local = GRANT_SELF_OR_ADMIN,
                                    .member = GRANT_SELF_OR_ADMIN, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_USER_UNLINK] = { "user.unlink", "tessera:users:write", TENANT, .local = GRANT_SELF_OR_ADMIN,
                                 .member = GRANT_SELF_OR_ADMIN, .keys = GRANT_SCOPE },

        /* Host login sessions: anyone's for administrators, one's own for
         * everybody else; opened and closed by the login stack (root) or
         * the user's own process. */
        [POLICY_SESSION_LIST] = { "session.list", NULL, TENANT, .local = GRANT_SELF_OR_ADMIN,
                                  .member = GRANT_SELF_OR_ADMIN,
                                  .refused = "Only administrators may list the sessions of others." },
        [POLICY_SESSION_OPEN] = { "session.open", NULL, TENANT, .local = GRANT_SELF_OR_ROOT,
                                  .refused = "Only root and %s may open a session of %s." },
        [POLICY_SESSION_CLOSE] = { "session.close", NULL, TENANT, .local = GRANT_SELF_OR_ROOT,
                                   .refused = "Only root and %s may close a session of %s." },
        [POLICY_AUDIT_READ] = { "audit.read", "tessera:audit:read", TENANT, .local = GRANT_ADMIN, .member = GRANT_ADMIN,
                                .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        /* Entitlements are the platform's to set (an operator as
         * themselves, not while impersonating; a key with the scope) and
         * the whole tenant's to read; usage is counted by the tenant's
         * programs (keys) and read by its admins. */
        [POLICY_ENTITLEMENT_READ] = { "entitlement.read", "tessera:entitlements:read", TENANT, .local = GRANT_ANY,
                                      .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_ENTITLEMENT_WRITE] = { "entitlement.write", "tessera:entitlements:write", TENANT,
                                       .local = GRANT_ADMIN, .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_USAGE_READ] = { "usage.read", "tessera:usage:read", TENANT, .local = GRANT_ANY, .member = GRANT_ADMIN,
                                .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        [POLICY_USAGE_INCREMENT] = { "usage.increment", "tessera:usage:write", TENANT, .local = GRANT_ADMIN,
                                     .operator_ = GRANT_ANY, .keys = GRANT_SCOPE },
        /* Only an operator, as themselves, takes a grant to act as a
         * tenant's admin: never a grant from a grant. */
        [POLICY_PLATFORM_IMPERSONATE] = { "platform.impersonate", NULL, TENANT, .operator_ = GRANT_ANY },
        /* The signed-in user's own account: only a tenant's user, for
         * themself (the door makes the target the principal's own user).
         * Administrators act on others through the users' routes; keys,
         * clients and impersonating operators have no "me". */
#define ME_REFUSED "Only the signed-in user may manage their own account here."
        [POLICY_ME_READ] = { "me.read", NULL, TENANT, .member = GRANT_SELF, .refused = ME_REFUSED },
        [POLICY_ME_UPDATE] = { "me.update", NULL, TENANT, .member = GRANT_SELF, .refused = ME_REFUSED },
        [POLICY_ME_PASSWORD] = { "me.change-password", NULL, TENANT, .member = GRANT_SELF, .refused = ME_REFUSED },
        [POLICY_ME_TOTP] = { "me.totp", NULL, TENANT, .member = GRANT_SELF, .refused = ME_REFUSED },
        [POLICY_ME_SESSION_LIST] = { "me.session-list", NULL, TENANT, .member = GRANT_SELF, .refused = ME_REFUSED },
        [POLICY_ME_SESSION_REVOKE] = { "me.session-revoke", NULL, TENANT, .member = GRANT_SELF,
                                       .refused = ME_REFUSED },
        [POLICY_ME_SESSION_EXTEND] = { "me.session-extend", NULL, TENANT, .member = GRANT_SELF,
                                       .refused = ME_REFUSED },

        /* Mail to any address is the host's to send (and a platform
         * operator's): a tenant's admin or key could spam through it. */
        [POLICY_MAIL_TEST] = { "mail.test", .local = GRANT_ADMIN, .operator_ = GRANT_ANY },

        [POLICY_AUTH_LOGIN] = { "auth.login", NULL, TENANT, .local = GRANT_SELF_OR_ROOT },
        [POLICY_NSS_LOOKUP] = { "nss.lookup", NULL, .local = GRANT_ANY },

        /* Open at the door: the mailed token is the proof, and "forgot"
         * answers the same for everybody. */
        [POLICY_AUTH_FORGOT] = { "auth.forgot", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                 .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                 .publishable = GRANT_ANY },
        [POLICY_AUTH_RESET_PASSWORD] = { "auth.reset-password", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                         .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                         .publishable = GRANT_ANY },
        [POLICY_AUTH_VERIFY_EMAIL] = { "auth.verify-email", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                       .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                       .publishable = GRANT_ANY },
        [POLICY_EMAIL_VERIFY_REQUEST] = { "email.verify-request", "tessera:users:write", TENANT,
                                          .local = GRANT_SELF_OR_ADMIN, .member = GRANT_SELF_OR_ADMIN,
                                          .keys = GRANT_SCOPE },
        [POLICY_AUTH_SELF] = { "auth.self", NULL, TENANT, .member = GRANT_ANY },

        [POLICY_OIDC_PUBLIC] = { "oidc.public", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                 .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                 .publishable = GRANT_ANY },
        [POLICY_OIDC_BROWSER] = { "oidc.browser", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                  .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                  .publishable = GRANT_ANY },
        [POLICY_OIDC_CLIENT] = { "oidc.client", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                 .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                 .publishable = GRANT_ANY },
        [POLICY_OIDC_USERINFO] = { "oidc.userinfo", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                   .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                   .publishable = GRANT_ANY },
        [POLICY_HEALTH] = { "health", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY, .member = GRANT_ANY,
                            .operator_ = GRANT_ANY, .keys = GRANT_ANY, .publishable = GRANT_ANY },
        /* Anybody may ask to sign up, and whether sign-up is open is the
         * core's setting: a holder of a tenant's credentials gains nothing
         * by them here. */
        [POLICY_SIGNUP] = { "account.signup", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                            .operator_ = GRANT_ANY },
        /* The same for a tenant's end users: whether the tenant is open is
         * its setting, and the caller is nobody the tenant knows yet. */
        [POLICY_AUTH_SIGNUP_MEMBER] = { "account.signup-member", NULL, TENANT, .anonymous = GRANT_ANY,
                                        .local = GRANT_ANY, .operator_ = GRANT_ANY,
                                        .publishable = GRANT_ANY },
        [POLICY_AUTH_SIGNIN] = { "auth.signin", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                 .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                 .publishable = GRANT_ANY },
        /* A session is its user's: a key or a client has none (an
         * impersonation, judged as a member, has none either: the handler
         * finds no session in its credentials). */
        [POLICY_AUTH_SESSION] = { "auth.session", NULL, TENANT, .member = GRANT_ANY },
        /* The scraper is nobody tessera knows: anonymous, let through by
         * the door's own rule (an allowed address or the metrics token).
         * What a tenant holds never opens it: the numbers are every
         * tenant's together. */
        [POLICY_METRICS] = { "metrics.read", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                             .operator_ = GRANT_ANY },
        /* The API's description holds nothing of any tenant. */
        [POLICY_API_DOCUMENT] = { "api.document", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                  .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                  .publishable = GRANT_ANY },
        /* A preflight carries no credentials by the CORS rules. */
        [POLICY_CORS_PREFLIGHT] = { "cors.preflight", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                    .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                    .publishable = GRANT_ANY },
        /* Operators are the host's to make and remove: they see across
         * every tenant. */
        [POLICY_OPERATOR_MANAGE] = { "operator.manage", NULL, .local = GRANT_ADMIN,
                                     .refused = "Only root and the tessera admin group manage operators." },
        /* Open at the door: the password and the TOTP code are the proof. */
        [POLICY_PLATFORM_SIGNIN] = { "platform.signin", NULL, .anonymous = GRANT_ANY, .local = GRANT_ANY,
                                     .member = GRANT_ANY, .operator_ = GRANT_ANY, .keys = GRANT_ANY,
                                     .publishable = GRANT_ANY },
        [POLICY_PLATFORM_USER_SEARCH] = { "platform.user-search", NULL, .local = GRANT_ADMIN,
                                          .operator_ = GRANT_ANY },
};

static const char *const kind_names[_PRINCIPAL_KIND_MAX] = {
        [PRINCIPAL_ANONYMOUS] = "anonymous",
        [PRINCIPAL_LOCAL] = "local",
        [PRINCIPAL_USER] = "user",
        [PRINCIPAL_OPERATOR] = "operator",
        [PRINCIPAL_IMPERSONATION] = "impersonation",
        [PRINCIPAL_API_KEY] = "api-key",
        [PRINCIPAL_PUBLISHABLE_KEY] = "publishable-key",
        [PRINCIPAL_CLIENT] = "client",
};

const char *principal_kind_to_string(PrincipalKind k) {
        return k >= 0 && k < _PRINCIPAL_KIND_MAX ? kind_names[k] : NULL;
}

PrincipalKind principal_kind_from_string(const char *s) {
        for (PrincipalKind k = 0; s && k < _PRINCIPAL_KIND_MAX; k++)
                if (streq(kind_names[k], s))
                        return k;
        return _PRINCIPAL_KIND_INVALID;
}

bool principal_tenant_bound(const Principal *p) {
        switch (p->kind) {
        case PRINCIPAL_USER:
        case PRINCIPAL_IMPERSONATION:
        case PRINCIPAL_API_KEY:
        case PRINCIPAL_PUBLISHABLE_KEY:
        case PRINCIPAL_CLIENT:
                return true;
        default:
                return false;
        }
}

bool principal_is_root(const Principal *p) {
        return p->kind == PRINCIPAL_LOCAL && p->uid == 0;
}

/* Scopes are space-separated words; "tessera:users:write" also grants
 * "tessera:users:read". */
bool principal_has_scope(const Principal *p, const char *scope) {
        const char *colon = strrchr(scope, ':');
        size_t area_len;

        if (!p->scopes || !colon)
                return false;
        area_len = (size_t) (colon - scope);
        for (const char *w = p->scopes; *w;) {
                size_t n = strcspn(w, " ");

                if (n == strlen(scope) && strneq(w, scope, n))
                        return true;
                if (streq(colon + 1, "read") && n == area_len + 6 && strneq(w, scope, area_len + 1) &&
                    strneq(w + area_len + 1, "write", 5))
                        return true;
                w += n;
                w += strspn(w, " ");
        }
        return false;
}

static bool local_granted(Grant g, const Principal *p, const PolicyTarget *t) {
        bool self = t->uid >= 0 && p->uid >= 0 && p->uid == t->uid;

        switch (g) {
        case GRANT_ANY:
                return true;
        case GRANT_SELF:
                return self;
        case GRANT_ADMIN:
        case GRANT_OWNER:
                return p->admin_group;
        case GRANT_ROOT:
                return p->uid == 0;
        case GRANT_SELF_OR_ROOT:
                return self || p->uid == 0;
        case GRANT_SELF_OR_ADMIN:
                return self || p->admin_group;
        default:
                return false;
        }
}

static bool member_granted(Grant g, UserRole role, bool self) {
        switch (g) {
        case GRANT_ANY:
                return true;
        case GRANT_SELF:
        case GRANT_SELF_OR_ROOT:
                return self;
        case GRANT_ADMIN:
                return role == USER_ROLE_ADMIN || role == USER_ROLE_OWNER;
        case GRANT_OWNER:
                return role == USER_ROLE_OWNER;
        case GRANT_SELF_OR_ADMIN:
                return self || role == USER_ROLE_ADMIN || role == USER_ROLE_OWNER;
        default:
                return false;
        }
}

int policy_check(const Principal *p, PolicyAction a, const PolicyTarget *t) {
        const PolicyRule *rule;

        if (a < 0 || a >= _POLICY_ACTION_MAX || !rules[a].name || !p || !t)
                return -EINVAL;
        rule = &rules[a];

        if (principal_tenant_bound(p)) {
                /* Fail closed: a tenant's action asked without its tenant
                 * would otherwise skip the one check that keeps tenants
                 * apart. */
                if (rule->tenant_bound && t->tenant_id <= 0)
                        return -EINVAL;
                if (t->tenant_id > 0 && t->tenant_id != p->tenant_id)
                        return -EACCES;
        }

        switch (p->kind) {
        case PRINCIPAL_ANONYMOUS:
                return rule->anonymous == GRANT_ANY ? 0 : -EACCES;
        case PRINCIPAL_LOCAL:
                return local_granted(rule->local, p, t) ? 0 : -EACCES;
        case PRINCIPAL_USER:
                return member_granted(rule->member, p->role, t->user_id > 0 && t->user_id == p->user_id) ? 0
                                                                                                         : -EACCES;
        case PRINCIPAL_IMPERSONATION:
                return member_granted(rule->member, USER_ROLE_ADMIN, false) ? 0 : -EACCES;
        case PRINCIPAL_OPERATOR:
                return rule->operator_ == GRANT_ANY ? 0 : -EACCES;
        case PRINCIPAL_API_KEY:
        case PRINCIPAL_CLIENT:
                if (rule->keys == GRANT_ANY)
                        return 0;
                return rule->keys == GRANT_SCOPE && rule->scope && principal_has_scope(p, rule->scope) ? 0 : -EACCES;
        case PRINCIPAL_PUBLISHABLE_KEY:
                if (rule->publishable != GRANT_ANY)
                        return -EACCES;
                return t->application_id <= 0 || t->application_id == p->application_id ? 0 : -EACCES;
        default:
                return -EINVAL;
        }
}

bool policy_administers(const Principal *p, const PolicyTarget *t) {
        return policy_check(p, POLICY_USER_UPDATE, t) == 0;
}

const char *policy_action_to_string(PolicyAction a) {
        return a >= 0 && a < _POLICY_ACTION_MAX ? rules[a].name : NULL;
}

PolicyAction policy_action_from_string(const char *s) {
        for (PolicyAction a = 0; s && a < _POLICY_ACTION_MAX; a++)
                if (rules[a].name && streq(rules[a].name, s))
                        return a;
        return _POLICY_ACTION_INVALID;
}

const char *policy_action_scope(PolicyAction a) {
        return a >= 0 && a < _POLICY_ACTION_MAX && rules[a].keys == GRANT_SCOPE ? rules[a].scope : NULL;
}

bool policy_scope_known(const char *scope) {
        const char *colon;

        if (!scope || !(colon = strrchr(scope, ':')))
                return false;
        for (PolicyAction a = 0; a < _POLICY_ACTION_MAX; a++) {
                const char *s = rules[a].scope;

                if (!s || rules[a].keys != GRANT_SCOPE)
                        continue;
                if (streq(s, scope))
                        return true;
                /* tessera:users:write grants tessera:users:read: the read
                 * scope of such an area is a scope too. */
                if (streq(colon + 1, "read") && strneq(s, scope, (size_t) (colon - scope) + 1) &&
                    streq(s + (colon - scope) + 1, "write"))
                        return true;
        }
        return false;
}

char *policy_refusal_message(const Principal *p, PolicyAction a, const char *target, char *buf, size_t size) {
        const char *text;
        Grant g;

        if (a < 0 || a >= _POLICY_ACTION_MAX)
                text = "This action is not known.";
        else if (p->kind == PRINCIPAL_LOCAL && rules[a].refused) {
                /* A format of our own table, with the target once or twice. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                snprintf(buf, size, rules[a].refused, strempty(target), strempty(target));
#pragma GCC diagnostic pop
                return buf;
        } else
                switch (p->kind) {
                case PRINCIPAL_LOCAL:
                        g = rules[a].local;
                        text = g == GRANT_ROOT ? "Only root may do this."
                             : g == GRANT_SELF_OR_ROOT ? "A caller that is not root may only act for itself."
                             : g == GRANT_SELF_OR_ADMIN ? "This needs root, membership in the tessera admin group, "
                                                          "or being that user."
                                                        : "Changing this needs root or membership in the tessera "
                                                          "admin group.";
                        break;
                case PRINCIPAL_ANONYMOUS:
                        text = "Sign in first: this needs credentials.";
                        break;
                case PRINCIPAL_API_KEY:
                case PRINCIPAL_CLIENT:
                        text = rules[a].keys == GRANT_SCOPE ? "The key or token lacks the scope this needs."
                                                            : "Keys and client tokens may not do this.";
                        break;
                case PRINCIPAL_OPERATOR:
                        text = rules[a].member != GRANT_NONE
                                       ? "Platform operators act inside a tenant by impersonating it, with a "
                                         "reason (POST /api/v1/platform/tenants/{tenant}/impersonate)."
                                       : "Not allowed to platform operators.";
                        break;
                case PRINCIPAL_USER:
                case PRINCIPAL_IMPERSONATION:
                        text = rules[a].member == GRANT_OWNER ? "Only an owner of the tenant may do this."
                             : rules[a].member == GRANT_SELF ? "Only the signed-in user may do this, for themself."
                                                             : "This needs an admin or owner of the tenant.";
                        break;
                default:
                        text = "Not allowed.";
                }
        snprintf(buf, size, "%s", text);
        return buf;
}
