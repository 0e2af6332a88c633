/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store-group.c: groups, gids and membership. */

#include "test-util.h"

START_TEST(test_create) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice"), *bob = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *devs = NULL;
        GroupRecord g = { .tenant_id = t->id, .name = (char *) "devs", .description = (char *) "Developers" };

        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_group_create(s, &g, &devs), 0);
        ck_assert_int_eq(store_commit(s), 0);

        ck_assert_int_gt(devs->id, 0);
        ck_assert_str_eq(devs->name, "devs");
        ck_assert_str_eq(devs->tenant, "acme");
        ck_assert_str_eq(devs->description, "Developers");
        ck_assert_int_eq(devs->private_user_id, 0);
        ck_assert_int_gt(devs->created_usec, 0);

        /* uids and gids are one ID space: alice 200000, devs 200001, bob 200002. */
        ck_assert_uint_eq(alice->uid, 200000);
        ck_assert_uint_eq(devs->gid, 200001);
        bob = test_user(s, t, "bob");
        ck_assert_uint_eq(bob->uid, 200002);
}
END_TEST

START_TEST(test_create_needs_transaction) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        GroupRecord g = { .tenant_id = t->id, .name = (char *) "devs" };

        ck_assert_int_eq(store_group_create(s, &g, NULL), -EINVAL);
        ck_assert_int_eq(store_group_get(s, t->id, "devs", NULL), -ENOENT);
}
END_TEST

START_TEST(test_explicit_gid) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL, *next = NULL;

        ck_assert_int_eq(test_group_create(s, t, "ops", 300000, &g), 0);
        ck_assert_uint_eq(g->gid, 300000);
        next = test_group(s, t, "web");
        ck_assert_uint_eq(next->gid, 300001);

        ck_assert_int_eq(test_group_create(s, t, "low", 150000, NULL), -ERANGE);
        ck_assert_int_eq(test_group_create(s, t, "high", 400000, NULL), -ERANGE);
        /* alice's uid is her private group's gid. */
        ck_assert_int_eq(test_group_create(s, t, "clash", alice->uid, NULL), -EEXIST);
        ck_assert_int_eq(test_group_create(s, t, "clash2", 300000, NULL), -EEXIST);
        ck_assert_int_eq(store_group_get(s, t->id, "clash", NULL), -ENOENT);
}
END_TEST

START_TEST(test_duplicate_name) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *g = test_tenant(s, "globex", NULL);
        _unused_ _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops"), *other = NULL;

        ck_assert_int_eq(test_group_create(s, t, "ops", 0, NULL), -EEXIST);
        /* A user's private group holds the user's name. */
        ck_assert_int_eq(test_group_create(s, t, "alice", 0, NULL), -EEXIST);
        /* Names are per tenant. */
        ck_assert_int_eq(test_group_create(s, g, "ops", 0, &other), 0);
        ck_assert_int_ne(other->id, ops->id);
}
END_TEST

START_TEST(test_get) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops"), *g = NULL;

        ck_assert_int_eq(store_group_get(s, t->id, "ops", &g), 0);
        ck_assert_int_eq(g->id, ops->id);
        g = group_record_unref(g);
        ck_assert_int_eq(store_group_get_by_gid(s, ops->gid, &g), 0);
        ck_assert_str_eq(g->name, "ops");
        g = group_record_unref(g);
        ck_assert_int_eq(store_group_get_by_id(s, ops->id, &g), 0);
        ck_assert_uint_eq(g->gid, ops->gid);
        g = group_record_unref(g);

        ck_assert_int_eq(store_group_get(s, t->id, "alice", &g), 0);
        ck_assert_int_eq(g->private_user_id, alice->id);
        ck_assert_uint_eq(g->gid, alice->uid);
        g = group_record_unref(g);

        ck_assert_int_eq(store_group_get(s, t->id, "web", &g), -ENOENT);
        ck_assert_int_eq(store_group_get_by_gid(s, 100, &g), -ENOENT);
        ck_assert_int_eq(store_group_get_by_id(s, ops->id + 100, &g), -ENOENT);
        ck_assert_ptr_null(g);
}
END_TEST

START_TEST(test_list) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *b = test_tenant(s, "beta", NULL), *a = test_tenant(s, "alpha", NULL);
        GroupRecord **list = NULL;
        size_t n = 0;

        group_record_unref(test_group(s, b, "ops"));
        user_record_unref(test_user(s, b, "carol"));
        group_record_unref(test_group(s, a, "web"));

        ck_assert_int_eq(store_group_list(s, 0, &list, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(list[0]->tenant, "alpha");
        ck_assert_str_eq(list[0]->name, "web");
        ck_assert_str_eq(list[1]->name, "carol");
        ck_assert_int_ne(list[1]->private_user_id, 0);
        ck_assert_str_eq(list[2]->name, "ops");
        group_record_array_free(list, n);

        ck_assert_int_eq(store_group_list(s, a->id, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(list[0]->name, "web");
        group_record_array_free(list, n);
}
END_TEST

START_TEST(test_update) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops"), *g = NULL;
        GroupRecord c = *ops;

        c.description = (char *) "Operations";
        c.name = (char *) "renamed";
        c.gid = 1;
        ck_assert_int_eq(store_group_update(s, &c), 0);
        ck_assert_int_eq(store_group_get_by_id(s, ops->id, &g), 0);
        ck_assert_str_eq(g->description, "Operations");
        ck_assert_str_eq(g->name, "ops");
        ck_assert_uint_eq(g->gid, ops->gid);
        ck_assert_int_ge(g->changed_usec, ops->changed_usec);

        c.id = ops->id + 100;
        ck_assert_int_eq(store_group_update(s, &c), -ENOENT);
}
END_TEST

START_TEST(test_delete) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops"), *pg = NULL;
        _cleanup_(strv_freep) char **groups = NULL;

        ck_assert_int_eq(store_group_add_member(s, ops->id, alice->id), 0);
        ck_assert_int_eq(store_group_delete(s, ops->id), 0);
        ck_assert_int_eq(store_group_get_by_id(s, ops->id, NULL), -ENOENT);
        /* Memberships go with the group; the member stays. */
        ck_assert_int_eq(store_user_groups(s, alice->id, &groups), 0);
        ASSERT_STRV(groups, NULL);
        ck_assert_int_eq(store_user_get_by_id(s, alice->id, NULL), 0);

        ck_assert_int_eq(store_group_delete(s, ops->id), -ENOENT);

        /* A private group goes only with its user. */
        ck_assert_int_eq(store_group_get(s, t->id, "alice", &pg), 0);
        ck_assert_int_eq(store_group_delete(s, pg->id), -EPERM);
        ck_assert_int_eq(store_group_get_by_id(s, pg->id, NULL), 0);
}
END_TEST

START_TEST(test_membership) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *bob = test_user(s, t, "bob"), *alice = test_user(s, t, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops");
        _cleanup_(strv_freep) char **members = NULL;

        ck_assert_int_eq(store_group_members(s, ops->id, &members), 0);
        ASSERT_STRV(members, NULL);
        strv_free(TAKE_PTR(members));

        ck_assert_int_eq(store_group_add_member(s, ops->id, bob->id), 0);
        ck_assert_int_eq(store_group_add_member(s, ops->id, alice->id), 0);
        ck_assert_int_eq(store_group_add_member(s, ops->id, alice->id), -EEXIST);
        /* Sorted by name. */
        ck_assert_int_eq(store_group_members(s, ops->id, &members), 0);
        ASSERT_STRV(members, "alice", "bob");
        strv_free(TAKE_PTR(members));

        ck_assert_int_eq(store_group_remove_member(s, ops->id, alice->id), 0);
        ck_assert_int_eq(store_group_remove_member(s, ops->id, alice->id), -ENOENT);
        ck_assert_int_eq(store_group_members(s, ops->id, &members), 0);
        ASSERT_STRV(members, "bob");

        /* Unknown users and groups. */
        ck_assert_int_eq(store_group_add_member(s, ops->id, bob->id + alice->id + 100), -ENOENT);
        ck_assert_int_eq(store_group_add_member(s, ops->id + 100, bob->id), -ENOENT);
        ck_assert_int_eq(store_group_remove_member(s, ops->id + 100, bob->id), -ENOENT);
}
END_TEST

START_TEST(test_cross_tenant_membership) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *a = test_tenant(s, "acme", NULL), *g = test_tenant(s, "globex", NULL);
        _cleanup_(user_record_unrefp) UserRecord *hank = test_user(s, g, "hank");
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, a, "ops");
        _cleanup_(strv_freep) char **members = NULL, **groups = NULL;

        ck_assert_int_eq(store_group_add_member(s, ops->id, hank->id), -ENOENT);
        ck_assert_int_eq(store_group_members(s, ops->id, &members), 0);
        ASSERT_STRV(members, NULL);
        ck_assert_int_eq(store_user_groups(s, hank->id, &groups), 0);
        ASSERT_STRV(groups, NULL);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_create);
        tcase_add_test(tc, test_create_needs_transaction);
        tcase_add_test(tc, test_explicit_gid);
        tcase_add_test(tc, test_duplicate_name);
        tcase_add_test(tc, test_get);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_membership);
        tcase_add_test(tc, test_cross_tenant_membership);
}

int main(void) {
        Suite *suite = suite_create("store-group");

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "groups", add_tests);
        return test_run_suite(suite);
}
