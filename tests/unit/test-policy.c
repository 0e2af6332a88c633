/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/policy.c: the one table of who may do what, checked cell by cell
 * against the matrix below. A change to the policy must change this
 * matrix too: that is the point. */

#include "policy.h"
#include "test-util.h"

#define TENANT_A 1
#define TENANT_B 2
#define TARGET_USER_ID 42
#define TARGET_UID 200042
#define APP_ID 7

/* The principals every action is tried with, one column each. The target
 * of every tenant action is user 42 (uid 200042) of tenant A, or tenant A
 * itself. */
enum {
        COL_ANONYMOUS,
        COL_ROOT,
        COL_ADMIN_GROUP,      /* local, in the admin group */
        COL_LOCAL_SELF,       /* local, uid 200042 */
        COL_LOCAL_OTHER,
        COL_MEMBER_SELF,      /* user 42 of A, a member */
        COL_MEMBER,           /* another member of A */
        COL_ADMIN,            /* admin of A */
        COL_OWNER,            /* owner of A */
        COL_OWNER_B,          /* owner of tenant B */
        COL_OPERATOR,
        COL_IMPERSONATION,    /* of A */
        COL_IMPERSONATION_B,  /* of B */
        COL_KEY_SCOPED,       /* API key of A with the action's scope */
        COL_KEY_UNSCOPED,     /* API key of A with an unrelated scope */
        COL_KEY_SCOPED_B,     /* API key of B with the action's scope */
        COL_CLIENT_SCOPED,    /* client-credentials token of A with the scope */
        COL_CLIENT_UNSCOPED,
        COL_PUBLISHABLE,      /* publishable key of A's application 7 */
        _COL_MAX,
};

/* One row per action: '+' allowed, '.' refused, in the column order above:
 *
 *                                                 anonymous
 *                                                 |root
 *                                                 ||admin group
 *                                                 |||local self
 *                                                 ||||local other
 *                                                 |||||member self
 *                                                 ||||||member
 *                                                 |||||||admin
 *                                                 ||||||||owner
 *                                                 |||||||||owner of B
 *                                                 ||||||||||operator
 *                                                 |||||||||||impersonation
 *                                                 ||||||||||||impersonation of B
 *                                                 |||||||||||||key with scope
 *                                                 ||||||||||||||key without
 *                                                 |||||||||||||||key of B with scope
 *                                                 ||||||||||||||||client with scope
 *                                                 |||||||||||||||||client without
 *                                                 ||||||||||||||||||publishable
 */
static const struct {
        PolicyAction action;
        const char *expected;
} matrix[] = {
        { POLICY_TENANT_CREATE,                   ".++.......+........" },
        { POLICY_TENANT_LIST,                     ".++++.....+........" },
        { POLICY_TENANT_READ,                     ".++++++++.++.+..+.." },
        { POLICY_TENANT_UPDATE,                   ".++....++.++.+..+.." },
        { POLICY_TENANT_DELETE,                   ".++.....+.+........" },
        { POLICY_MEMBER_LIST,                     ".++++++++.++.+..+.." },
        { POLICY_MEMBER_SET_ROLE,                 ".++.....+.........." },
        { POLICY_MEMBER_REMOVE,                   ".++....++..+.+..+.." },
        { POLICY_INVITATION_CREATE,               ".++....++..+.+..+.." },
        { POLICY_INVITATION_LIST,                 ".++....++.++.+..+.." },
        { POLICY_INVITATION_RESEND,               ".++....++..+.+..+.." },
        { POLICY_INVITATION_REVOKE,               ".++....++..+.+..+.." },
        { POLICY_INVITATION_ACCEPT,               "+++++++++.++.++.+++" },
        { POLICY_USER_LIST,                       ".++++..++.++.+..+.." },
        { POLICY_USER_READ,                       ".+++++.++.++.+..+.." },
        { POLICY_USER_READ_PRIVATE,               ".+++.+.++.++.+..+.." },
        { POLICY_USER_CREATE,                     ".++....++..+.+..+.." },
        { POLICY_USER_UPDATE,                     ".++....++..+.+..+.." },
        { POLICY_USER_SET_PASSWORD,               ".+++.+.++..+......." },
        { POLICY_USER_LOCK,                       ".++....++..+.+..+.." },
        { POLICY_USER_UNLOCK,                     ".++....++..+.+..+.." },
        { POLICY_USER_DISABLE,                    ".++....++..+.+..+.." },
        { POLICY_USER_ENABLE,                     ".++....++..+.+..+.." },
        { POLICY_USER_DELETE,                     ".++....++..+.+..+.." },
        { POLICY_USER_SEND_RESET,                 ".++....++..+.+..+.." },
        { POLICY_TOTP_BEGIN,                      ".+++.+.++..+......." },
        { POLICY_TOTP_CONFIRM,                    ".+++.+.++..+......." },
        { POLICY_TOTP_DISABLE,                    ".+++.+.++..+.+..+.." },
        { POLICY_TOTP_BACKUP_CODES,               ".+++.+.++..+......." },
        { POLICY_GROUP_LIST,                      ".++++++++.++.+..+.." },
        { POLICY_GROUP_READ,                      ".++++++++.++.+..+.." },
        { POLICY_GROUP_CREATE,                    ".++....++..+.+..+.." },
        { POLICY_GROUP_UPDATE,                    ".++....++..+.+..+.." },
        { POLICY_GROUP_DELETE,                    ".++....++..+.+..+.." },
        { POLICY_GROUP_ADD_MEMBER,                ".++....++..+.+..+.." },
        { POLICY_GROUP_REMOVE_MEMBER,             ".++....++..+.+..+.." },
        { POLICY_APPLICATION_LIST,                ".++++..++.++.+..+.." },
        { POLICY_APPLICATION_READ,                ".++++..++.++.+..+.." },
        { POLICY_APPLICATION_CREATE,              ".++....++..+.+..+.." },
        { POLICY_APPLICATION_UPDATE,              ".++....++..+.+..+.." },
        { POLICY_APPLICATION_ROTATE_SECRET,       ".++....++..+.+..+.." },
        { POLICY_APPLICATION_DELETE,              ".++....++..+.+..+.." },
        { POLICY_SIGNING_KEY_LIST,                ".++++..++.++.+..+.." },
        { POLICY_SIGNING_KEY_ROTATE,              ".++....++..+.+..+.." },
        { POLICY_API_KEY_LIST,                    ".++....++.++......." },
        { POLICY_API_KEY_CREATE,                  ".++....++..+......." },
        { POLICY_API_KEY_ROTATE,                  ".++....++..+......." },
        { POLICY_API_KEY_REVOKE,                  ".++....++..+......." },
        { POLICY_PROVIDER_READ,                   ".++....++.++.+..+.." },
        { POLICY_PROVIDER_CREATE,                 ".++....++..+.+..+.." },
        { POLICY_PROVIDER_UPDATE,                 ".++....++..+.+..+.." },
        { POLICY_PROVIDER_DELETE,                 ".++....++..+.+..+.." },
        { POLICY_USER_LINK_LIST,                  ".+++.+.++.++.+..+.." },
        { POLICY_USER_UNLINK,                     ".+++.+.++..+.+..+.." },
        { POLICY_SESSION_LIST,                    ".+++.+.++..+......." },
        { POLICY_SESSION_OPEN,                    ".+.+..............." },
        { POLICY_SESSION_CLOSE,                   ".+.+..............." },
        { POLICY_AUDIT_READ,                      ".++....++.++.+..+.." },
        { POLICY_ENTITLEMENT_READ,                ".++++++++.++.+..+.." },
        { POLICY_ENTITLEMENT_WRITE,               ".++.......+..+..+.." },
        { POLICY_USAGE_READ,                      ".++++..++.++.+..+.." },
        { POLICY_USAGE_INCREMENT,                 ".++.......+..+..+.." },
        { POLICY_PLATFORM_IMPERSONATE,            "..........+........" },
        { POLICY_ME_READ,                         ".....+............." },
        { POLICY_ME_UPDATE,                       ".....+............." },
        { POLICY_ME_PASSWORD,                     ".....+............." },
        { POLICY_ME_TOTP,                         ".....+............." },
        { POLICY_ME_SESSION_LIST,                 ".....+............." },
        { POLICY_ME_SESSION_REVOKE,               ".....+............." },
        { POLICY_ME_SESSION_EXTEND,               ".....+............." },
        { POLICY_MAIL_TEST,                       ".++.......+........" },
        { POLICY_AUTH_LOGIN,                      ".+.+..............." },
        { POLICY_NSS_LOOKUP,                      ".++++.............." },
        { POLICY_AUTH_FORGOT,                     "+++++++++.++.++.+++" },
        { POLICY_AUTH_RESET_PASSWORD,             "+++++++++.++.++.+++" },
        { POLICY_AUTH_VERIFY_EMAIL,               "+++++++++.++.++.+++" },
        { POLICY_EMAIL_VERIFY_REQUEST,            ".+++.+.++..+.+..+.." },
        { POLICY_AUTH_SELF,                       ".....++++..+......." },
        { POLICY_OIDC_PUBLIC,                     "+++++++++++++++++++" },
        { POLICY_OIDC_BROWSER,                    "+++++++++++++++++++" },
        { POLICY_OIDC_CLIENT,                     "+++++++++++++++++++" },
        { POLICY_OIDC_USERINFO,                   "+++++++++++++++++++" },
        { POLICY_HEALTH,                          "+++++++++++++++++++" },
        { POLICY_METRICS,                         "+++++.....+........" },
        { POLICY_API_DOCUMENT,                    "+++++++++++++++++++" },
        { POLICY_CORS_PREFLIGHT,                  "+++++++++++++++++++" },
        { POLICY_SIGNUP,                          "+++++.....+........" },
        { POLICY_AUTH_SIGNUP_MEMBER,              "+++++.....+.......+" },
        { POLICY_AUTH_SIGNIN,                     "+++++++++++++++++++" },
        { POLICY_OPERATOR_MANAGE,                 ".++................" },
        { POLICY_PLATFORM_SIGNIN,                 "+++++++++++++++++++" },
        { POLICY_PLATFORM_USER_SEARCH,            ".++.......+........" },
        { POLICY_AUTH_SESSION,                    ".....++++..+......." },
};

static Principal column(int col, const char *scope) {
        Principal p = { .channel = "test", .uid = -1 };

        switch (col) {
        case COL_ANONYMOUS:
                return principal_anonymous("test", NULL);
        case COL_ROOT:
                return principal_local("test", 0, false, NULL);
        case COL_ADMIN_GROUP:
                return principal_local("test", 1000, true, NULL);
        case COL_LOCAL_SELF:
                return principal_local("test", TARGET_UID, false, NULL);
        case COL_LOCAL_OTHER:
                return principal_local("test", 1001, false, NULL);
        case COL_MEMBER_SELF:
        case COL_MEMBER:
        case COL_ADMIN:
        case COL_OWNER:
        case COL_OWNER_B:
                p.kind = PRINCIPAL_USER;
                p.tenant_id = col == COL_OWNER_B ? TENANT_B : TENANT_A;
                p.user_id = col == COL_MEMBER_SELF ? TARGET_USER_ID : 100 + col;
                p.role = col == COL_ADMIN ? USER_ROLE_ADMIN
                       : col == COL_OWNER || col == COL_OWNER_B ? USER_ROLE_OWNER
                                                                  : USER_ROLE_MEMBER;
                return p;
        case COL_OPERATOR:
                p.kind = PRINCIPAL_OPERATOR;
                p.operator_id = 1;
                return p;
        case COL_IMPERSONATION:
        case COL_IMPERSONATION_B:
                p.kind = PRINCIPAL_IMPERSONATION;
                p.operator_id = 1;
                p.tenant_id = col == COL_IMPERSONATION ? TENANT_A : TENANT_B;
                p.reason = "ticket 1234";
                return p;
        case COL_KEY_SCOPED:
        case COL_KEY_UNSCOPED:
        case COL_KEY_SCOPED_B:
        case COL_CLIENT_SCOPED:
        case COL_CLIENT_UNSCOPED:
                p.kind = col >= COL_CLIENT_SCOPED ? PRINCIPAL_CLIENT : PRINCIPAL_API_KEY;
                p.tenant_id = col == COL_KEY_SCOPED_B ? TENANT_B : TENANT_A;
                p.scopes = col == COL_KEY_UNSCOPED || col == COL_CLIENT_UNSCOPED ? "tessera:nothing:read"
                                                                                  : scope;
                return p;
        case COL_PUBLISHABLE:
                p.kind = PRINCIPAL_PUBLISHABLE_KEY;
                p.tenant_id = TENANT_A;
                p.application_id = APP_ID;
                return p;
        default:
                ck_abort_msg("no such column %d", col);
                return p;
        }
}

START_TEST(test_every_action_has_a_row) {
        /* An action added to the table without a row here fails. */
        for (PolicyAction a = 0; a < _POLICY_ACTION_MAX; a++) {
                bool found = false;

                ck_assert_msg(policy_action_to_string(a), "action %d has no name", a);
                for (size_t i = 0; i < ELEMENTSOF(matrix); i++)
                        found = found || matrix[i].action == a;
                ck_assert_msg(found, "action %s is missing from the matrix", policy_action_to_string(a));
        }
}
END_TEST

START_TEST(test_matrix) {
        PolicyTarget target = { .tenant_id = TENANT_A, .user_id = TARGET_USER_ID, .uid = TARGET_UID };

        for (size_t i = 0; i < ELEMENTSOF(matrix); i++) {
                PolicyAction a = matrix[i].action;
                const char *scope = policy_action_scope(a);

                ck_assert_uint_eq(strlen(matrix[i].expected), _COL_MAX);
                for (int col = 0; col < _COL_MAX; col++) {
                        Principal p = column(col, scope ?: "tessera:unscoped:read");
                        /* Tenant-less actions get no tenant in their target. */
                        PolicyTarget t = target;
                        int r;

                        if (a == POLICY_TENANT_CREATE || a == POLICY_TENANT_LIST || a == POLICY_NSS_LOOKUP ||
                            (a >= POLICY_OIDC_PUBLIC && a != POLICY_AUTH_SESSION && a != POLICY_AUTH_SIGNUP_MEMBER))
                                t = (PolicyTarget) { .uid = -1 };
                        r = policy_check(&p, a, &t);
                        ck_assert_msg(r == 0 || r == -EACCES, "%s, column %d: %d", policy_action_to_string(a), col, r);
                        ck_assert_msg((r == 0) == (matrix[i].expected[col] == '+'),
                                      "%s, column %d (%s): expected %s", policy_action_to_string(a), col,
                                      principal_kind_to_string(p.kind),
                                      matrix[i].expected[col] == '+' ? "allowed" : "refused");
                }
        }
}
END_TEST

START_TEST(test_tenant_action_without_tenant_fails_closed) {
        Principal owner = column(COL_OWNER, NULL), root = column(COL_ROOT, NULL);
        PolicyTarget none = POLICY_TARGET_NONE;

        /* A tenant-bound caller must never be judged without the tenant. */
        ck_assert_int_eq(policy_check(&owner, POLICY_USER_DELETE, &none), -EINVAL);
        /* A local administrator manages every tenant of the host. */
        ck_assert_int_eq(policy_check(&root, POLICY_USER_DELETE, &none), 0);
}
END_TEST

START_TEST(test_scopes) {
        Principal k = column(COL_KEY_SCOPED, "tessera:users:write");
        PolicyTarget t = policy_target_tenant(TENANT_A);

        ck_assert(principal_has_scope(&k, "tessera:users:write"));
        /* write implies read of the same area, not of another. */
        ck_assert(principal_has_scope(&k, "tessera:users:read"));
        ck_assert(!principal_has_scope(&k, "tessera:groups:read"));
        ck_assert(!principal_has_scope(&k, "tessera:user:read"));
        ck_assert_int_eq(policy_check(&k, POLICY_USER_LIST, &t), 0);
        ck_assert_int_eq(policy_check(&k, POLICY_GROUP_LIST, &t), -EACCES);

        k.scopes = "tessera:users:read";
        ck_assert(!principal_has_scope(&k, "tessera:users:write"));
        ck_assert_int_eq(policy_check(&k, POLICY_USER_CREATE, &t), -EACCES);
        /* A prefix of a scope is not the scope. */
        k.scopes = "tessera:users:rea tessera:users:writer";
        ck_assert(!principal_has_scope(&k, "tessera:users:read"));
        ck_assert(!principal_has_scope(&k, "tessera:users:write"));
        k.scopes = NULL;
        ck_assert(!principal_has_scope(&k, "tessera:users:read"));
}
END_TEST

START_TEST(test_publishable_key_is_bound_to_its_application) {
        Principal p = column(COL_PUBLISHABLE, NULL);
        PolicyTarget mine = { .tenant_id = TENANT_A, .application_id = APP_ID, .uid = -1 };
        PolicyTarget other = { .tenant_id = TENANT_A, .application_id = APP_ID + 1, .uid = -1 };

        ck_assert_int_eq(policy_check(&p, POLICY_OIDC_BROWSER, &mine), 0);
        ck_assert_int_eq(policy_check(&p, POLICY_OIDC_BROWSER, &other), -EACCES);
}
END_TEST

START_TEST(test_publishable_key_signs_in_to_its_tenant_only) {
        /* What a browser holding an application's key may do: sign end
         * users in, in the application's tenant; nothing administrative. */
        Principal p = column(COL_PUBLISHABLE, NULL);
        PolicyTarget a = policy_target_tenant(TENANT_A), b = policy_target_tenant(TENANT_B);

        ck_assert_int_eq(policy_check(&p, POLICY_AUTH_SIGNIN, &a), 0);
        ck_assert_int_eq(policy_check(&p, POLICY_AUTH_SIGNIN, &b), -EACCES);
        ck_assert_int_eq(policy_check(&p, POLICY_USER_LIST, &a), -EACCES);
        ck_assert_int_eq(policy_check(&p, POLICY_API_KEY_LIST, &a), -EACCES);
        ck_assert_int_eq(policy_check(&p, POLICY_AUTH_SESSION, &a), -EACCES);
}
END_TEST

START_TEST(test_scope_known) {
        /* What an API key may be given: the scopes the table asks of keys,
         * and the read scope of an area it has a write scope for. */
        ck_assert(policy_scope_known("tessera:users:read"));
        ck_assert(policy_scope_known("tessera:users:write"));
        ck_assert(policy_scope_known("tessera:audit:read"));
        ck_assert(policy_scope_known("tessera:keys:write"));
        ck_assert(!policy_scope_known("tessera:audit:write"));
        ck_assert(!policy_scope_known("tessera:users"));
        ck_assert(!policy_scope_known("tessera:users:rea"));
        ck_assert(!policy_scope_known("openid"));
        ck_assert(!policy_scope_known(""));
        ck_assert(!policy_scope_known(NULL));
}
END_TEST

START_TEST(test_names) {
        ck_assert_str_eq(policy_action_to_string(POLICY_USER_CREATE), "user.create");
        ck_assert_int_eq(policy_action_from_string("user.set-password"), POLICY_USER_SET_PASSWORD);
        ck_assert_int_eq(policy_action_from_string("user.nope"), -EINVAL);
        ck_assert_int_eq(policy_action_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(policy_action_to_string(_POLICY_ACTION_MAX));
        ck_assert_str_eq(policy_action_scope(POLICY_USER_CREATE), "tessera:users:write");
        ck_assert_ptr_null(policy_action_scope(POLICY_USER_SET_PASSWORD));
        ck_assert_str_eq(principal_kind_to_string(PRINCIPAL_API_KEY), "api-key");
        ck_assert_int_eq(principal_kind_from_string("operator"), PRINCIPAL_OPERATOR);
        ck_assert_int_eq(principal_kind_from_string("root"), -EINVAL);
}
END_TEST

START_TEST(test_invalid) {
        Principal root = column(COL_ROOT, NULL);
        PolicyTarget t = POLICY_TARGET_NONE;

        ck_assert_int_eq(policy_check(&root, _POLICY_ACTION_MAX, &t), -EINVAL);
        ck_assert_int_eq(policy_check(&root, -1, &t), -EINVAL);
        ck_assert_int_eq(policy_check(NULL, POLICY_HEALTH, &t), -EINVAL);
        root.kind = _PRINCIPAL_KIND_MAX;
        ck_assert_int_eq(policy_check(&root, POLICY_HEALTH, &t), -EINVAL);
}
END_TEST

static Suite *policy_suite(void) {
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("policy");

        tcase_add_test(tc, test_every_action_has_a_row);
        tcase_add_test(tc, test_matrix);
        tcase_add_test(tc, test_tenant_action_without_tenant_fails_closed);
        tcase_add_test(tc, test_scopes);
        tcase_add_test(tc, test_publishable_key_is_bound_to_its_application);
        tcase_add_test(tc, test_publishable_key_signs_in_to_its_tenant_only);
        tcase_add_test(tc, test_scope_known);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_invalid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(policy_suite());
}
