/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store/store-invitation.c: invitations to a tenant, by digest
 * only; one pending invitation per address; ended once; nothing of one
 * tenant found through another; gone with their tenant. */

#include "store-invitation.h"
#include "test-util.h"

static Invitation invitation(const TenantRecord *t, const char *email, uint8_t mark) {
        Invitation i = { .tenant_id = t->id, .role = USER_ROLE_ADMIN, .created_usec = 1000, .expires_usec = 2000 };

        memset(i.digest, mark, sizeof(i.digest));
        snprintf(i.email, sizeof(i.email), "%s", email);
        snprintf(i.invited_by, sizeof(i.invited_by), "olga");
        return i;
}

START_TEST(test_add_get) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *acme = test_tenant(s, "acme", NULL),
                                                     *globex = test_tenant(s, "globex", NULL);
        Invitation i = invitation(acme, "ann@example.org", 1), got, dup = invitation(acme, "ANN@example.org", 2);

        ck_assert_int_eq(store_invitation_add(s, &i), 0);
        ck_assert_int_gt(i.id, 0);
        ck_assert_int_eq(store_invitation_get(s, acme->id, i.id, &got), 0);
        ck_assert_str_eq(got.email, "ann@example.org");
        ck_assert_int_eq(got.role, USER_ROLE_ADMIN);
        ck_assert_str_eq(got.invited_by, "olga");
        ck_assert_int_eq(got.sent_usec, 1000);
        ck_assert_int_eq(got.expires_usec, 2000);
        ck_assert(invitation_pending(&got));
        ck_assert_int_eq(store_invitation_get_by_digest(s, acme->id, i.digest, &got), 0);
        ck_assert_int_eq(got.id, i.id);
        ck_assert_int_eq(store_invitation_get_pending_email(s, acme->id, "Ann@Example.org", &got), 0);
        /* Another tenant finds nothing of it. */
        ck_assert_int_eq(store_invitation_get(s, globex->id, i.id, &got), -ENOENT);
        ck_assert_int_eq(store_invitation_get_by_digest(s, globex->id, i.digest, &got), -ENOENT);
        /* One pending invitation per address (in any case). */
        ck_assert_int_eq(store_invitation_add(s, &dup), -EEXIST);
        dup.tenant_id = globex->id;
        ck_assert_int_eq(store_invitation_add(s, &dup), 0);
}
END_TEST

START_TEST(test_renew_finish) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *acme = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = test_user(s, acme, "ann");
        Invitation i = invitation(acme, "ann@example.org", 1), j = invitation(acme, "bob@example.org", 3), got;
        uint8_t fresh[TOKEN_DIGEST_SIZE];

        ck_assert_int_eq(store_invitation_add(s, &i), 0);
        ck_assert_int_eq(store_invitation_add(s, &j), 0);
        memset(fresh, 9, sizeof(fresh));
        ck_assert_int_eq(store_invitation_renew(s, acme->id, i.id, fresh, 1500, 9000), 0);
        /* The old digest is void. */
        ck_assert_int_eq(store_invitation_get_by_digest(s, acme->id, i.digest, &got), -ENOENT);
        ck_assert_int_eq(store_invitation_get_by_digest(s, acme->id, fresh, &got), 0);
        ck_assert_int_eq(got.expires_usec, 9000);
        ck_assert_int_eq(got.sent_usec, 1500);

        /* Accepted once; then neither accepted, revoked nor renewed again. */
        ck_assert_int_eq(store_invitation_finish(s, acme->id, i.id, u->id, 5000), 1);
        ck_assert_int_eq(store_invitation_finish(s, acme->id, i.id, u->id, 5001), 0);
        ck_assert_int_eq(store_invitation_finish(s, acme->id, i.id, 0, 5002), 0);
        ck_assert_int_eq(store_invitation_renew(s, acme->id, i.id, fresh, 1, 2), -ENOENT);
        ck_assert_int_eq(store_invitation_get(s, acme->id, i.id, &got), 0);
        ck_assert_int_eq(got.accepted_usec, 5000);
        ck_assert_int_eq(got.user_id, u->id);
        ck_assert(!invitation_pending(&got));
        /* Revoked: no longer pending, and the address may be invited again. */
        ck_assert_int_eq(store_invitation_finish(s, acme->id, j.id, 0, 6000), 1);
        ck_assert_int_eq(store_invitation_get(s, acme->id, j.id, &got), 0);
        ck_assert_int_eq(got.revoked_usec, 6000);
        j = invitation(acme, "bob@example.org", 4);
        ck_assert_int_eq(store_invitation_add(s, &j), 0);
}
END_TEST

START_TEST(test_list_pending) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *acme = test_tenant(s, "acme", NULL);
        _cleanup_free_ Invitation *page = NULL, *rest = NULL;
        int64_t ids[5];
        size_t n = 0;

        for (unsigned k = 0; k < 5; k++) {
                char email[64];
                Invitation i;

                snprintf(email, sizeof(email), "p%u@example.org", k);
                i = invitation(acme, email, (uint8_t) (10 + k));
                ck_assert_int_eq(store_invitation_add(s, &i), 0);
                ids[k] = i.id;
        }
        ck_assert_int_eq(store_invitation_finish(s, acme->id, ids[1], 0, 1), 1);
        ck_assert_int_eq(store_invitation_list_pending(s, acme->id, 0, 2, &page, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(page[0].id, ids[0]);
        ck_assert_int_eq(page[1].id, ids[2]);
        ck_assert_int_eq(store_invitation_list_pending(s, acme->id, page[1].id, 10, &rest, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(rest[0].id, ids[3]);
        ck_assert_int_eq(rest[1].id, ids[4]);
}
END_TEST

START_TEST(test_gone_with_the_tenant) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *acme = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = test_user(s, acme, "ann");
        Invitation i = invitation(acme, "x@example.org", 1), got;

        ck_assert_int_eq(store_invitation_add(s, &i), 0);
        ck_assert_int_eq(store_tenant_purge(s, acme->id), 0);
        ck_assert_int_eq(store_invitation_get(s, acme->id, i.id, &got), -ENOENT);
        ck_assert_int_eq(store_user_get(s, acme->id, "ann", NULL), -ENOENT);
        ck_assert_int_eq(store_tenant_purge(s, acme->id), -ENOENT);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_add_get);
        tcase_add_test(tc, test_renew_finish);
        tcase_add_test(tc, test_list_pending);
        tcase_add_test(tc, test_gone_with_the_tenant);
}

int main(void) {
        Suite *suite = suite_create("store-invitation");

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "invitations", add_tests);
        return test_run_suite(suite);
}
