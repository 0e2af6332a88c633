/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/core/upstream-signin.c: from a verified upstream identity to a
 * tessera user: the link first, then the address (verified and allowed to
 * link, or proven), then the provider's signup mode (just in time, an
 * invitation, or nobody new), its domains on every path; the decision of
 * a sign-in after; no account and no link made on any refusal. */

#include "store-internal.h"
#include "store-invitation.h"
#include "store-upstream.h"
#include "test-auth-util.h"
#include "upstream-link.h"
#include "upstream-provider.h"
#include "upstream-signin.h"
#include "user.h"

static Manager *m;
static TenantRecord *acme;
static const Principal anon = { .kind = PRINCIPAL_ANONYMOUS, .uid = -1, .channel = "http", .remote = "192.0.2.9" };

static void setup(void) {
        UserRecord *u;

        m = auth_test_manager_new();
        u = auth_test_user(m, "olga", "olga-password");     /* makes acme */
        user_record_unref(u);
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &acme), 0);
}

static void teardown(void) {
        acme = tenant_record_unref(acme);
        m = manager_free(m);
}

static UpstreamProvider *provider(const char *name, const char *signup, bool link_by_email, char **domains) {
        UpstreamProviderSpec spec = { .signup = upstream_signup_mode_from_string(signup), .role = USER_ROLE_MEMBER,
                                      .link_by_email = link_by_email, .enabled = 1 };
        UpstreamProvider *p = NULL;
        TesseraError e = {};

        spec.name = name;
        spec.kind = "oidc";
        spec.issuer = "https://id.example.com";
        spec.client_id = "tessera";
        spec.allowed_domains = domains;
        ck_assert_msg(upstream_provider_create(m, m->store, &test_admin, acme, &spec, &p, &e) == 0, "%s", e.message);
        return p;
}

static UpstreamIdentity identity(const char *sub, const char *email, bool verified, const char *username) {
        return (UpstreamIdentity) {
                .subject = (char *) sub,
                .email = (char *) email,
                .email_verified = verified,
                .username = (char *) username,
                .name = (char *) "Somebody",
        };
}

static size_t count(const char *sql) {
        _cleanup_(db_stmt_resetp) DbStmt *st = NULL;

        ck_assert_int_eq(db_stmt(m->store->db, sql, &st), 0);
        ck_assert_int_eq(db_step(st), 1);
        return (size_t) db_column_int64(st, 0);
}

#define USERS() count("SELECT count(*) FROM users")
#define LINKS() count("SELECT count(*) FROM upstream_links")

static int resolve(const UpstreamProvider *p, const UpstreamIdentity *id, UpstreamSignin *res,
                   UpstreamRefusal *refusal) {
        TesseraError e = {};
        int r = upstream_signin_resolve(m, m->store, &anon, acme, p, id, res, refusal, &e);
        ck_assert_msg(r >= 0 || e.message[0], "a refusal says why");
        return r;
}

START_TEST(test_jit_then_link) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("op", "jit", false, NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        UpstreamIdentity id = identity("sub-1", "Ada.L@example.org", true, NULL);
        UpstreamSignin res = {}, again = {};
        UpstreamRefusal refusal = {};
        size_t users = USERS();

        ck_assert_int_eq(resolve(p, &id, &res, &refusal), 0);
        ck_assert_int_eq(res.step, UPSTREAM_SIGNIN_DECIDED);
        ck_assert(res.created && res.linked);
        ck_assert_int_eq(res.result.outcome, AUTH_SUCCESS);
        ck_assert_str_eq(res.result.factor, "fed");
        ck_assert_uint_eq(USERS(), users + 1);
        ck_assert_int_eq(store_user_get_by_id(m->store, res.user_id, &u), 0);
        /* A user like any: name from the address, uid and private group, no password. */
        ck_assert_str_eq(u->name, "ada_l");
        ck_assert_uint_gt(u->uid, 0);
        ck_assert_uint_eq(u->gid, u->uid);
        ck_assert_ptr_null(u->password_hash);
        ck_assert(u->email_verified);
        ck_assert_int_eq(u->role, USER_ROLE_MEMBER);
        ck_assert_uint_eq(count("SELECT count(*) FROM groups WHERE name = 'ada_l'"), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "account.signup-federated", "ada_l@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "auth.federated", NULL, AUDIT_SUCCESS), 1);
        ck_assert(auth_test_audit_contains(m, "\"provider\":\"op\""));

        /* Again: the link, nothing made. */
        ck_assert_int_eq(resolve(p, &id, &again, &refusal), 0);
        ck_assert(!again.created && !again.linked);
        ck_assert_int_eq(again.user_id, res.user_id);
        ck_assert_uint_eq(USERS(), users + 1);
        ck_assert_uint_eq(LINKS(), 1);
}
END_TEST

START_TEST(test_jit_name_made_unique) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("gh", "jit", false, NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        UpstreamIdentity id = identity("42", NULL, false, "Olga");
        UpstreamSignin res = {};
        UpstreamRefusal refusal = {};

        ck_assert_int_eq(resolve(p, &id, &res, &refusal), 0);
        ck_assert_int_eq(store_user_get_by_id(m->store, res.user_id, &u), 0);
        ck_assert_str_eq(u->name, "olga2");
        ck_assert_ptr_null(u->email);
}
END_TEST

START_TEST(test_link_by_verified_email) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("op", "jit", true, NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = auth_test_user(m, "alice", "alice-password");
        UpstreamIdentity id = identity("sub-a", "ALICE@example.org", true, NULL);
        UpstreamSignin res = {};
        UpstreamRefusal refusal = {};
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};
        size_t users;

        spec.email = "alice@example.org";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, alice, &spec, &e), 0);
        users = USERS();
        ck_assert_int_eq(resolve(p, &id, &res, &refusal), 0);
        ck_assert_int_eq(res.step, UPSTREAM_SIGNIN_DECIDED);
        ck_assert(!res.created && res.linked);
        ck_assert_int_eq(res.user_id, alice->id);
        ck_assert_int_eq(res.result.outcome, AUTH_SUCCESS);
        ck_assert_uint_eq(USERS(), users);
        ck_assert_uint_eq(test_audit_count(m->store, "user.link", "alice@acme", AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_unverified_or_unlinkable_address_asks_proof) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("op", "jit", true, NULL),
                                                             *strict = provider("strict", "jit", false, NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = auth_test_user(m, "alice", "alice-password");
        UpstreamIdentity unverified = identity("sub-u", "alice@example.org", false, NULL),
                         verified = identity("sub-v", "alice@example.org", true, NULL);
        UpstreamSignin res = {};
        UpstreamRefusal refusal = {};
        UserSpec spec = USER_SPEC_INIT;
        TesseraError e = {};
        size_t users;

        spec.email = "alice@example.org";
        ck_assert_int_eq(user_update(m, m->store, &test_admin, alice, &spec, &e), 0);
        users = USERS();

        /* Not verified upstream: no link, no account, no sign-in. */
        ck_assert_int_eq(resolve(p, &unverified, &res, &refusal), 0);
        ck_assert_int_eq(res.step, UPSTREAM_SIGNIN_PROVE);
        ck_assert_int_eq(res.user_id, alice->id);
        ck_assert(!res.created && !res.linked);
        /* Verified, but this provider links by nothing but proof. */
        ck_assert_int_eq(resolve(strict, &verified, &res, &refusal), 0);
        ck_assert_int_eq(res.step, UPSTREAM_SIGNIN_PROVE);
        ck_assert_uint_eq(USERS(), users);
        ck_assert_uint_eq(LINKS(), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "auth.federated", "alice@acme", AUDIT_FAILURE), 2);

        /* Proven: linked, and found by the link from then on. */
        ck_assert_int_eq(upstream_signin_link_proven(m, m->store, &anon, acme, p, &unverified, alice->id, &e), 0);
        ck_assert_uint_eq(LINKS(), 1);
        ck_assert_int_eq(resolve(p, &unverified, &res, &refusal), 0);
        ck_assert_int_eq(res.step, UPSTREAM_SIGNIN_DECIDED);
        ck_assert_int_eq(res.user_id, alice->id);
        /* Twice: the subject is linked already. */
        ck_assert_int_eq(upstream_signin_link_proven(m, m->store, &anon, acme, p, &unverified, alice->id, &e),
                         -EEXIST);
}
END_TEST

START_TEST(test_existing_only) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("op", "existing", true, NULL);
        UpstreamIdentity id = identity("sub-x", "nobody@example.org", true, NULL);
        UpstreamSignin res = {};
        UpstreamRefusal refusal = {};
        size_t users = USERS();

        ck_assert_int_eq(resolve(p, &id, &res, &refusal), -EACCES);
        ck_assert_str_eq(refusal.code, "no_account");
        ck_assert_uint_eq(USERS(), users);
        ck_assert_uint_eq(LINKS(), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "auth.federated", "nobody@example.org", AUDIT_DENIED), 1);
}
END_TEST

START_TEST(test_invitation) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("op", "invitation", false, NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        UpstreamIdentity id = identity("sub-i", "Invited@example.org", true, NULL),
                         unverified = identity("sub-j", "invited@example.org", false, NULL);
        Invitation inv = { .tenant_id = acme->id, .role = USER_ROLE_ADMIN, .created_usec = 1,
                           .expires_usec = INT64_MAX / 2 }, got;
        UpstreamSignin res = {};
        UpstreamRefusal refusal = {};
        size_t users = USERS();

        ck_assert_int_eq(resolve(p, &id, &res, &refusal), -EACCES);
        ck_assert_str_eq(refusal.code, "invitation_required");
        memset(inv.digest, 9, sizeof(inv.digest));
        snprintf(inv.email, sizeof(inv.email), "invited@example.org");
        ck_assert_int_eq(store_invitation_add(m->store, &inv), 0);
        /* The invitation counts for a verified address only. */
        ck_assert_int_eq(resolve(p, &unverified, &res, &refusal), -EACCES);
        ck_assert_uint_eq(USERS(), users);

        ck_assert_int_eq(resolve(p, &id, &res, &refusal), 0);
        ck_assert(res.created);
        ck_assert_int_eq(store_user_get_by_id(m->store, res.user_id, &u), 0);
        ck_assert_int_eq(u->role, USER_ROLE_ADMIN);
        ck_assert_int_eq(store_invitation_get(m->store, acme->id, inv.id, &got), 0);
        ck_assert_int_eq(got.user_id, u->id);
        ck_assert_int_gt(got.accepted_usec, 0);
        ck_assert_uint_eq(test_audit_count(m->store, "invitation.accept", NULL, AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_domains) {
        char *domains[] = { (char *) "corp.example", NULL };
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("corp", "jit", true, domains);
        UpstreamIdentity outside = identity("sub-o", "x@example.org", true, NULL),
                         unverified = identity("sub-u", "x@corp.example", false, NULL),
                         inside = identity("sub-i", "x@corp.example", true, NULL);
        UpstreamSignin res = {};
        UpstreamRefusal refusal = {};
        size_t users = USERS();

        ck_assert_int_eq(resolve(p, &outside, &res, &refusal), -EACCES);
        ck_assert_str_eq(refusal.code, "domain_not_allowed");
        ck_assert_int_eq(resolve(p, &unverified, &res, &refusal), -EACCES);
        ck_assert_str_eq(refusal.code, "domain_not_allowed");
        ck_assert_uint_eq(USERS(), users);
        ck_assert_int_eq(resolve(p, &inside, &res, &refusal), 0);
        ck_assert(res.created);
        /* Linked already, but the address moved out of the domains. */
        inside.email = (char *) "x@example.org";
        ck_assert_int_eq(resolve(p, &inside, &res, &refusal), -EACCES);
        ck_assert_str_eq(refusal.code, "domain_not_allowed");
}
END_TEST

START_TEST(test_account_state_decides) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = provider("op", "jit", false, NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        UpstreamIdentity id = identity("sub-d", "d@example.org", true, NULL);
        UpstreamSignin res = {};
        UpstreamRefusal refusal = {};
        TesseraError e = {};

        ck_assert_int_eq(resolve(p, &id, &res, &refusal), 0);
        ck_assert_int_eq(store_user_get_by_id(m->store, res.user_id, &u), 0);
        ck_assert_int_eq(user_set_disabled(m, m->store, &test_admin, u, true, &e), 0);
        ck_assert_int_eq(resolve(p, &id, &res, &refusal), 0);
        ck_assert_int_eq(res.result.outcome, AUTH_ACCOUNT_DISABLED);
        ck_assert_uint_eq(test_audit_count(m->store, "auth.federated", NULL, AUDIT_DENIED), 1);
}
END_TEST

int main(void) {
        Suite *s = suite_create("upstream-signin");
        TCase *tc = tcase_create("signin");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_jit_then_link);
        tcase_add_test(tc, test_jit_name_made_unique);
        tcase_add_test(tc, test_link_by_verified_email);
        tcase_add_test(tc, test_unverified_or_unlinkable_address_asks_proof);
        tcase_add_test(tc, test_existing_only);
        tcase_add_test(tc, test_invitation);
        tcase_add_test(tc, test_domains);
        tcase_add_test(tc, test_account_state_decides);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
