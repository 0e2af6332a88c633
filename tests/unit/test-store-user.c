/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store-user.c: users, their uids and their user-private groups. */

#include "test-util.h"

START_TEST(test_create) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL, *bob = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *pg = NULL;
        UserRecord u = {
                .tenant_id = t->id,
                .name = (char *) "alice",
                .real_name = (char *) "Alice Liddell",
                .email = (char *) "alice@example.com",
                .home = (char *) "/home/alice",
                .shell = (char *) "/bin/zsh",
                .password_hash = (char *) "$y$j9T$salt$hash",
                .role = USER_ROLE_ADMIN,
                .expires_usec = 4102444800000000,
        };

        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_user_create(s, &u, &alice), 0);
        ck_assert_int_eq(store_commit(s), 0);

        /* The first ID of the tenant's slice, as uid and as gid. */
        ck_assert_uint_eq(alice->uid, 200000);
        ck_assert_uint_eq(alice->gid, 200000);
        ck_assert_int_gt(alice->id, 0);
        ck_assert_int_eq(alice->tenant_id, t->id);
        ck_assert_str_eq(alice->tenant, "acme");
        ck_assert_str_eq(alice->name, "alice");
        ck_assert_str_eq(alice->real_name, "Alice Liddell");
        ck_assert_str_eq(alice->email, "alice@example.com");
        ck_assert(!alice->email_verified);
        ck_assert_str_eq(alice->home, "/home/alice");
        ck_assert_str_eq(alice->shell, "/bin/zsh");
        ck_assert_str_eq(alice->password_hash, "$y$j9T$salt$hash");
        ck_assert_int_gt(alice->password_changed_usec, 0);
        ck_assert_int_eq(alice->role, USER_ROLE_ADMIN);
        ck_assert(!alice->disabled);
        ck_assert_int_eq(alice->expires_usec, 4102444800000000);
        ck_assert_int_gt(alice->created_usec, 0);

        /* The user-private group: same name, gid = uid, tied to the user. */
        ck_assert_int_eq(store_group_get_by_gid(s, 200000, &pg), 0);
        ck_assert_str_eq(pg->name, "alice");
        ck_assert_int_eq(pg->tenant_id, t->id);
        ck_assert_int_eq(pg->private_user_id, alice->id);

        bob = test_user(s, t, "bob");
        ck_assert_uint_eq(bob->uid, 200001);
        ck_assert_uint_eq(bob->gid, 200001);
        /* No password: no change time, no hash, empty real name. */
        ck_assert_ptr_null(bob->password_hash);
        ck_assert_int_eq(bob->password_changed_usec, 0);
        ck_assert_str_eq(bob->real_name, "");
        ck_assert_ptr_null(bob->email);
        ck_assert_int_eq(bob->role, USER_ROLE_MEMBER);
}
END_TEST

START_TEST(test_create_needs_transaction) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        UserRecord u = { .tenant_id = t->id, .name = (char *) "alice", .home = (char *) "/home/alice",
                         .shell = (char *) "/bin/sh" };
        UserRecord *ret = NULL;

        ck_assert_int_eq(store_user_create(s, &u, &ret), -EINVAL);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(store_user_get(s, t->id, "alice", NULL), -ENOENT);
}
END_TEST

START_TEST(test_transaction_state) {
        Store *s = test_store;

        ck_assert_int_eq(store_commit(s), -EINVAL);
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_begin(s), -EBUSY);
        store_rollback(s);
        store_rollback(s);
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_commit(s), 0);
}
END_TEST

START_TEST(test_duplicate_name) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *g = test_tenant(s, "globex", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice"), *other = NULL, *bob = NULL;
        UserRecord **list = NULL;
        size_t n = 0;

        ck_assert_int_eq(test_user_create(s, t, "alice", 0, NULL, &other), -EEXIST);
        ck_assert_ptr_null(other);
        ck_assert_int_eq(store_user_list(s, t->id, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        user_record_array_free(list, n);

        /* The failed attempt left no ID behind. */
        bob = test_user(s, t, "bob");
        ck_assert_uint_eq(bob->uid, alice->uid + 1);

        /* The same name in another tenant is another user. */
        ck_assert_int_eq(test_user_create(s, g, "alice", 0, NULL, &other), 0);
        ck_assert_uint_eq(other->uid, 400000);
}
END_TEST

START_TEST(test_name_clashes_with_group) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops"), *again = NULL;

        /* The private group would take the name of an existing group. */
        ck_assert_int_eq(test_user_create(s, t, "ops", 0, NULL, NULL), -EEXIST);
        ck_assert_int_eq(store_user_get(s, t->id, "ops", NULL), -ENOENT);
        ck_assert_int_eq(store_group_get(s, t->id, "ops", &again), 0);
        ck_assert_int_eq(again->id, ops->id);
        ck_assert_int_eq(again->private_user_id, 0);
}
END_TEST

START_TEST(test_duplicate_email) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *g = test_tenant(s, "globex", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL, *other = NULL, *found = NULL;

        ck_assert_int_eq(test_user_create(s, t, "alice", 0, "Alice@Example.com", &alice), 0);
        /* Addresses compare without regard to case within a tenant. */
        ck_assert_int_eq(test_user_create(s, t, "bob", 0, "alice@example.COM", NULL), -EEXIST);
        ck_assert_int_eq(store_user_get(s, t->id, "bob", NULL), -ENOENT);
        /* Another tenant may have its own user with that address. */
        ck_assert_int_eq(test_user_create(s, g, "alice2", 0, "alice@example.com", &other), 0);
        /* Users without an address don't clash with each other. */
        ck_assert_int_eq(test_user_create(s, t, "carol", 0, NULL, NULL), 0);
        ck_assert_int_eq(test_user_create(s, t, "dave", 0, NULL, NULL), 0);

        ck_assert_int_eq(store_user_get_by_email(s, t->id, "ALICE@example.com", &found), 0);
        ck_assert_int_eq(found->id, alice->id);
        found = user_record_unref(found);
        ck_assert_int_eq(store_user_get_by_email(s, g->id, "alice@EXAMPLE.com", &found), 0);
        ck_assert_int_eq(found->id, other->id);
}
END_TEST

START_TEST(test_explicit_uid) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *g = test_tenant(s, "globex", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL, *bob = NULL, *top = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *ops = NULL;
        uint32_t id = 0;

        ck_assert_int_eq(test_user_create(s, t, "alice", 250000, NULL, &alice), 0);
        ck_assert_uint_eq(alice->uid, 250000);
        ck_assert_uint_eq(alice->gid, 250000);
        /* Allocation continues after the highest ID in use. */
        bob = test_user(s, t, "bob");
        ck_assert_uint_eq(bob->uid, 250001);

        /* The slice's ends are inside it; anything else is not. */
        ck_assert_int_eq(test_user_create(s, t, "first", 200000, NULL, NULL), 0);
        ck_assert_int_eq(test_user_create(s, t, "last", 399999, NULL, &top), 0);
        ck_assert_uint_eq(top->uid, 399999);
        ck_assert_int_eq(test_user_create(s, t, "below", 199999, NULL, NULL), -ERANGE);
        ck_assert_int_eq(test_user_create(s, t, "above", 400000, NULL, NULL), -ERANGE);
        ck_assert_int_eq(test_user_create(s, t, "local", 1000, NULL, NULL), -ERANGE);
        ck_assert_int_eq(store_allocate_id(s, g->id, 250000, &id), -ERANGE);
        ck_assert_int_eq(store_allocate_id(s, g->id, 400123, &id), 0);
        ck_assert_uint_eq(id, 400123);
        ck_assert_int_eq(store_allocate_id(s, 4711, 0, &id), -ENOENT);

        /* Taken, by a user or by a group. */
        ck_assert_int_eq(test_user_create(s, t, "twin", 250000, NULL, NULL), -EEXIST);
        ck_assert_int_eq(test_group_create(s, t, "ops", 260000, &ops), 0);
        ck_assert_int_eq(test_user_create(s, t, "carol", 260000, NULL, NULL), -EEXIST);
        ck_assert_int_eq(store_user_get(s, t->id, "carol", NULL), -ENOENT);
}
END_TEST

START_TEST(test_gap_reuse) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", &test_small_range);
        _cleanup_(user_record_unrefp) UserRecord *top = NULL, *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *ops = NULL;

        /* Once the top of the slice is used, allocation fills gaps from the bottom. */
        ck_assert_int_eq(test_user_create(s, t, "top", 1999, NULL, &top), 0);
        a = test_user(s, t, "a");
        ck_assert_uint_eq(a->uid, 1000);
        b = test_user(s, t, "b");
        ck_assert_uint_eq(b->uid, 1001);

        /* Group IDs count as used. */
        ck_assert_int_eq(test_group_create(s, t, "ops", 1002, &ops), 0);
        c = test_user(s, t, "c");
        ck_assert_uint_eq(c->uid, 1003);

        /* A deleted user's ID is found again. */
        ck_assert_int_eq(store_user_delete(s, a->id), 0);
        d = test_user(s, t, "d");
        ck_assert_uint_eq(d->uid, 1000);
}
END_TEST

START_TEST(test_slice_full) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", &test_small_range),
                                                    *g = test_tenant(s, "globex", &test_small_range);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *last = NULL;
        uint32_t id = 0;

        /* Fill 1000..1999 in one transaction, allocating each ID. */
        ck_assert_int_eq(store_begin(s), 0);
        for (unsigned i = 0; i < 1000; i++) {
                char name[16];
                UserRecord r = { .tenant_id = t->id, .name = name, .home = (char *) "/", .shell = (char *) "/bin/sh" };

                snprintf(name, sizeof(name), "u%04u", i);
                ck_assert_int_eq(store_user_create(s, &r, NULL), 0);
        }
        ck_assert_int_eq(store_commit(s), 0);

        ck_assert_int_eq(store_user_get(s, t->id, "u0999", &last), 0);
        ck_assert_uint_eq(last->uid, 1999);
        ck_assert_int_eq(store_allocate_id(s, t->id, 0, &id), -ENOSPC);
        ck_assert_int_eq(test_user_create(s, t, "late", 0, NULL, NULL), -ENOSPC);
        ck_assert_int_eq(test_group_create(s, t, "late", 0, NULL), -ENOSPC);

        /* The neighbour's slice is not touched. */
        ck_assert_int_eq(test_user_create(s, g, "neighbour", 0, NULL, &u), 0);
        ck_assert_uint_eq(u->uid, 2000);

        /* One free ID in the middle is found. */
        user_record_unref(last);
        ck_assert_int_eq(store_user_get(s, t->id, "u0500", &last), 0);
        ck_assert_int_eq(store_user_delete(s, last->id), 0);
        ck_assert_int_eq(store_allocate_id(s, t->id, 0, &id), 0);
        ck_assert_uint_eq(id, 1500);
}
END_TEST

START_TEST(test_get) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL), *g = test_tenant(s, "globex", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL, *u = NULL;

        ck_assert_int_eq(test_user_create(s, t, "alice", 0, "alice@example.com", &alice), 0);
        tenant_record_unref(test_tenant(s, "initech", NULL));

        ck_assert_int_eq(store_user_get(s, t->id, "alice", &u), 0);
        ck_assert_int_eq(u->id, alice->id);
        u = user_record_unref(u);
        ck_assert_int_eq(store_user_get_by_uid(s, alice->uid, &u), 0);
        ck_assert_str_eq(u->name, "alice");
        u = user_record_unref(u);
        ck_assert_int_eq(store_user_get_by_id(s, alice->id, &u), 0);
        ck_assert_uint_eq(u->uid, alice->uid);
        u = user_record_unref(u);
        ck_assert_int_eq(store_user_get_by_email(s, t->id, "alice@example.com", &u), 0);
        ck_assert_int_eq(u->id, alice->id);
        u = user_record_unref(u);

        ck_assert_int_eq(store_user_get(s, t->id, "bob", &u), -ENOENT);
        ck_assert_int_eq(store_user_get(s, g->id, "alice", &u), -ENOENT);
        ck_assert_int_eq(store_user_get_by_uid(s, alice->uid + 1, &u), -ENOENT);
        ck_assert_int_eq(store_user_get_by_id(s, alice->id + 100, &u), -ENOENT);
        ck_assert_int_eq(store_user_get_by_email(s, g->id, "alice@example.com", &u), -ENOENT);
        ck_assert_int_eq(store_user_get_by_email(s, t->id, "bob@example.com", &u), -ENOENT);
        ck_assert_ptr_null(u);
}
END_TEST

START_TEST(test_list) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *beta = test_tenant(s, "beta", NULL),
                                                    *alpha = test_tenant(s, "alpha", NULL);
        UserRecord **list = NULL;
        size_t n = 0;

        /* Created out of order, listed by tenant slug, then name. */
        user_record_unref(test_user(s, beta, "zed"));
        user_record_unref(test_user(s, alpha, "mia"));
        user_record_unref(test_user(s, beta, "amy"));

        ck_assert_int_eq(store_user_list(s, 0, &list, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(list[0]->tenant, "alpha");
        ck_assert_str_eq(list[0]->name, "mia");
        ck_assert_str_eq(list[1]->tenant, "beta");
        ck_assert_str_eq(list[1]->name, "amy");
        ck_assert_str_eq(list[2]->name, "zed");
        user_record_array_free(list, n);

        ck_assert_int_eq(store_user_list(s, beta->id, &list, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(list[0]->name, "amy");
        ck_assert_str_eq(list[1]->name, "zed");
        user_record_array_free(list, n);

        ck_assert_int_eq(store_user_list(s, beta->id + alpha->id + 1, &list, &n), 0);
        ck_assert_uint_eq(n, 0);
        user_record_array_free(list, n);
}
END_TEST

START_TEST(test_update) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = NULL, *bob = NULL, *u = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops");
        UserRecord c;

        ck_assert_int_eq(test_user_create(s, t, "alice", 0, "alice@example.com", &alice), 0);
        ck_assert_int_eq(test_user_create(s, t, "bob", 0, "bob@example.com", &bob), 0);

        c = *alice;
        c.gid = ops->gid;
        c.real_name = (char *) "Alice L.";
        c.email = (char *) "alice@example.org";
        c.email_verified = true;
        c.home = (char *) "/srv/alice";
        c.shell = (char *) "/bin/zsh";
        c.password_hash = (char *) "$6$salt$hash";
        c.password_changed_usec = 1234;
        c.role = USER_ROLE_OWNER;
        c.disabled = true;
        c.locked_until_usec = LOCKED_INDEFINITELY;
        c.expires_usec = 5678;
        /* Not mutable: these stay as they were. */
        c.name = (char *) "mallory";
        c.uid = 0;
        ck_assert_int_eq(store_user_update(s, &c), 0);

        ck_assert_int_eq(store_user_get_by_id(s, alice->id, &u), 0);
        ck_assert_str_eq(u->name, "alice");
        ck_assert_uint_eq(u->uid, alice->uid);
        ck_assert_uint_eq(u->gid, ops->gid);
        ck_assert_str_eq(u->real_name, "Alice L.");
        ck_assert_str_eq(u->email, "alice@example.org");
        ck_assert(u->email_verified);
        ck_assert_str_eq(u->home, "/srv/alice");
        ck_assert_str_eq(u->shell, "/bin/zsh");
        ck_assert_str_eq(u->password_hash, "$6$salt$hash");
        ck_assert_int_eq(u->password_changed_usec, 1234);
        ck_assert_int_eq(u->role, USER_ROLE_OWNER);
        ck_assert(u->disabled);
        ck_assert_int_eq(u->locked_until_usec, LOCKED_INDEFINITELY);
        ck_assert_int_eq(u->expires_usec, 5678);
        ck_assert_int_ge(u->changed_usec, alice->changed_usec);
        ck_assert_int_eq(user_record_state(u, 0), USER_STATE_DISABLED);

        /* Clearing the address and the hash. */
        c = *u;
        c.email = NULL;
        c.password_hash = NULL;
        ck_assert_int_eq(store_user_update(s, &c), 0);
        u = user_record_unref(u);
        ck_assert_int_eq(store_user_get_by_id(s, alice->id, &u), 0);
        ck_assert_ptr_null(u->email);
        ck_assert_ptr_null(u->password_hash);

        /* Taking bob's address, in another case, is a clash. */
        c = *alice;
        c.email = (char *) "BOB@example.com";
        ck_assert_int_eq(store_user_update(s, &c), -EEXIST);

        c.id = bob->id + 100;
        c.email = NULL;
        ck_assert_int_eq(store_user_update(s, &c), -ENOENT);
}
END_TEST

START_TEST(test_delete_cascades) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice"), *bob = test_user(s, t, "bob"), *u = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *ops = test_group(s, t, "ops"), *g = NULL;
        _cleanup_(strv_freep) char **members = NULL, **groups = NULL;

        ck_assert_int_eq(store_group_add_member(s, ops->id, alice->id), 0);
        ck_assert_int_eq(store_group_add_member(s, ops->id, bob->id), 0);

        ck_assert_int_eq(store_user_delete(s, alice->id), 0);
        ck_assert_int_eq(store_user_get_by_id(s, alice->id, &u), -ENOENT);
        /* The private group went with the user, and so did the membership. */
        ck_assert_int_eq(store_group_get_by_gid(s, alice->uid, &g), -ENOENT);
        ck_assert_int_eq(store_group_get(s, t->id, "alice", &g), -ENOENT);
        ck_assert_int_eq(store_group_members(s, ops->id, &members), 0);
        ASSERT_STRV(members, "bob");
        ck_assert_int_eq(store_user_groups(s, alice->id, &groups), 0);
        ASSERT_STRV(groups, NULL);
        /* Others are untouched. */
        ck_assert_int_eq(store_group_get_by_gid(s, bob->uid, &g), 0);

        ck_assert_int_eq(store_user_delete(s, alice->id), -ENOENT);
}
END_TEST

START_TEST(test_rollback) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *again = NULL;
        UserRecord **list = NULL;
        UserRecord r = { .tenant_id = t->id, .name = (char *) "alice", .home = (char *) "/home/alice",
                         .shell = (char *) "/bin/sh" };
        size_t n = 0;

        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_user_create(s, &r, &u), 0);
        /* Visible inside the transaction... */
        ck_assert_int_eq(store_user_get(s, t->id, "alice", NULL), 0);
        store_rollback(s);

        /* ...and gone without a trace after the rollback. */
        ck_assert_int_eq(store_user_get(s, t->id, "alice", NULL), -ENOENT);
        ck_assert_int_eq(store_user_get_by_uid(s, u->uid, NULL), -ENOENT);
        ck_assert_int_eq(store_group_get_by_gid(s, u->uid, NULL), -ENOENT);
        ck_assert_int_eq(store_user_list(s, 0, &list, &n), 0);
        ck_assert_uint_eq(n, 0);
        user_record_array_free(list, n);

        /* The same uid is handed out again. */
        again = test_user(s, t, "alice");
        ck_assert_uint_eq(again->uid, u->uid);
}
END_TEST

START_TEST(test_user_groups) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", NULL);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, t, "alice");
        _unused_ _cleanup_(group_record_unrefp) GroupRecord *zeta = test_group(s, t, "zeta"), *alpha = test_group(s, t, "alpha"),
                                                   *mid = test_group(s, t, "mid");
        _cleanup_(strv_freep) char **groups = NULL;

        ck_assert_int_eq(store_user_groups(s, alice->id, &groups), 0);
        ASSERT_STRV(groups, NULL);
        strv_free(TAKE_PTR(groups));

        ck_assert_int_eq(store_group_add_member(s, zeta->id, alice->id), 0);
        ck_assert_int_eq(store_group_add_member(s, alpha->id, alice->id), 0);
        /* Sorted, and without the private group. */
        ck_assert_int_eq(store_user_groups(s, alice->id, &groups), 0);
        ASSERT_STRV(groups, "alpha", "zeta");
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_create);
        tcase_add_test(tc, test_create_needs_transaction);
        tcase_add_test(tc, test_transaction_state);
        tcase_add_test(tc, test_duplicate_name);
        tcase_add_test(tc, test_name_clashes_with_group);
        tcase_add_test(tc, test_duplicate_email);
        tcase_add_test(tc, test_explicit_uid);
        tcase_add_test(tc, test_gap_reuse);
        tcase_add_test(tc, test_slice_full);
        tcase_add_test(tc, test_get);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_delete_cascades);
        tcase_add_test(tc, test_rollback);
        tcase_add_test(tc, test_user_groups);
}

int main(void) {
        Suite *suite = suite_create("store-user");

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "users", add_tests);
        return test_run_suite(suite);
}
