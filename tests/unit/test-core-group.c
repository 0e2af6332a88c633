/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/group.c: group operations and membership, with authorization and
 * audit. */

#include "group.h"
#include "test-util.h"
#include "user.h"

static Manager *m;
static TenantRecord *acme;

static void setup(void) {
        m = test_manager_new();
        acme = test_tenant(m->store, "acme", NULL);
}

static void teardown(void) {
        acme = tenant_record_unref(acme);
        m = manager_free(m);
}

static GroupRecord *create(const char *name) {
        GroupRecord *g = NULL;
        TesseraError e = {};

        ck_assert_msg(group_create(m, m->store, &test_admin, acme, name, 0, NULL, &g, &e) == 0, "creating %s: %s",
                      name, e.message);
        return g;
}

static UserRecord *create_user(const TenantRecord *t, const char *name) {
        UserSpec spec = USER_SPEC_INIT;
        UserRecord *u = NULL;
        TesseraError e = {};

        ck_assert_msg(user_create(m, m->store, &test_admin, t, name, &spec, &u, &e) == 0, "creating %s: %s", name,
                      e.message);
        return u;
}

START_TEST(test_create_denied) {
        GroupRecord *g = NULL;
        TesseraError e = {};

        ck_assert_int_eq(group_create(m, m->store, &test_nobody, acme, "ops", 0, NULL, &g, &e), -EACCES);
        ck_assert_ptr_null(g);
        ck_assert_int_eq(store_group_get(m->store, acme->id, "ops", NULL), -ENOENT);
        ck_assert_uint_eq(test_audit_count(m->store, "group.create", "ops@acme", AUDIT_DENIED), 1);
}
END_TEST

START_TEST(test_create) {
        _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL, *h = NULL;
        TesseraError e = {};

        ck_assert_int_eq(group_create(m, m->store, &test_admin, acme, "ops", 0, "Operations", &g, &e), 0);
        ck_assert_str_eq(g->name, "ops");
        ck_assert_str_eq(g->tenant, "acme");
        ck_assert_str_eq(g->description, "Operations");
        /* Next to alice's uid, in the same ID space. */
        ck_assert_uint_eq(g->gid, alice->uid + 1);
        ck_assert_int_eq(g->private_user_id, 0);
        ck_assert_uint_eq(test_audit_count(m->store, "group.create", "ops@acme", AUDIT_SUCCESS), 1);

        ck_assert_int_eq(group_create(m, m->store, &test_admin, acme, "web", 250000, NULL, &h, &e), 0);
        ck_assert_uint_eq(h->gid, 250000);
        ck_assert_str_eq(h->description, "");
}
END_TEST

START_TEST(test_create_invalid) {
        _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice");
        GroupRecord **list = NULL;
        TesseraError e = {};
        size_t n = 0;

        ck_assert_int_eq(group_create(m, m->store, &test_admin, acme, "Ops", 0, NULL, NULL, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "not a valid group name"));
        ck_assert_uint_eq(test_audit_count(m->store, "group.create", "Ops@acme", AUDIT_INVALID), 1);

        e = (TesseraError) {};
        ck_assert_int_eq(group_create(m, m->store, &test_admin, acme, "ops", 0, "line\nbreak", NULL, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "description"));

        /* alice's private group has the name. */
        e = (TesseraError) {};
        ck_assert_int_eq(group_create(m, m->store, &test_admin, acme, "alice", 0, NULL, NULL, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "already exists"));

        e = (TesseraError) {};
        ck_assert_int_eq(group_create(m, m->store, &test_admin, acme, "ops", 100, NULL, NULL, &e), -ERANGE);
        ck_assert_ptr_nonnull(strstr(e.message, "outside the ID slice"));

        e = (TesseraError) {};
        ck_assert_int_eq(group_create(m, m->store, &test_admin, acme, "ops", alice->uid, NULL, NULL, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "already in use"));

        /* Only alice's private group exists. */
        ck_assert_int_eq(store_group_list(m->store, 0, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(list[0]->name, "alice");
        group_record_array_free(list, n);
        ck_assert_uint_eq(test_audit_count(m->store, "group.create", NULL, AUDIT_SUCCESS), 0);
}
END_TEST

START_TEST(test_update) {
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops"), *r = NULL;
        TesseraError e = {};

        ck_assert_int_eq(group_update(m, m->store, &test_nobody, g, "Hacked", &e), -EACCES);
        e = (TesseraError) {};
        ck_assert_int_eq(group_update(m, m->store, &test_admin, g, "two\nlines", &e), -EINVAL);
        e = (TesseraError) {};
        ck_assert_int_eq(group_update(m, m->store, &test_admin, g, NULL, &e), -EINVAL);
        ck_assert_int_eq(store_group_get_by_id(m->store, g->id, &r), 0);
        ck_assert_str_eq(r->description, "");
        r = group_record_unref(r);

        e = (TesseraError) {};
        ck_assert_int_eq(group_update(m, m->store, &test_admin, g, "Operations", &e), 0);
        ck_assert_int_eq(store_group_get_by_id(m->store, g->id, &r), 0);
        ck_assert_str_eq(r->description, "Operations");

        ck_assert_uint_eq(test_audit_count(m->store, "group.update", "ops@acme", AUDIT_DENIED), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "group.update", "ops@acme", AUDIT_INVALID), 2);
        ck_assert_uint_eq(test_audit_count(m->store, "group.update", "ops@acme", AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_delete) {
        _unused_ _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops"), *pg = NULL;
        TesseraError e = {};

        ck_assert_int_eq(group_delete(m, m->store, &test_nobody, g, &e), -EACCES);
        ck_assert_int_eq(store_group_get_by_id(m->store, g->id, NULL), 0);

        e = (TesseraError) {};
        ck_assert_int_eq(group_delete(m, m->store, &test_admin, g, &e), 0);
        ck_assert_int_eq(store_group_get_by_id(m->store, g->id, NULL), -ENOENT);
        ck_assert_uint_eq(test_audit_count(m->store, "group.delete", "ops@acme", AUDIT_SUCCESS), 1);

        /* A private group goes only with its user. */
        ck_assert_int_eq(store_group_get(m->store, acme->id, "alice", &pg), 0);
        ck_assert_int_eq(group_delete(m, m->store, &test_admin, pg, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "private group"));
        ck_assert_int_eq(store_group_get_by_id(m->store, pg->id, NULL), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "group.delete", "alice@acme", AUDIT_INVALID), 1);
}
END_TEST

START_TEST(test_members) {
        _unused_ _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice"), *bob = create_user(acme, "bob"),
                                                 *who = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops");
        _cleanup_(strv_freep) char **members = NULL;
        TesseraError e = {};
        AuditEvent *ev;
        size_t n;

        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "alice", &who, &e), 0);
        ck_assert_int_eq(who->id, alice->id);
        who = user_record_unref(who);
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "bob", NULL, &e), 0);
        ck_assert_int_eq(store_group_members(m->store, g->id, &members), 0);
        ASSERT_STRV(members, "alice", "bob");
        strv_free(TAKE_PTR(members));

        ev = test_audit_events(m->store, "group.add-member", "ops@acme", &n);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(ev[0].result, AUDIT_SUCCESS);
        ck_assert_str_eq(ev[0].details, "{\"member\":\"alice\"}");
        audit_event_array_free(ev, n);

        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "alice", &who, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "already a member"));
        ck_assert_ptr_null(who);

        e = (TesseraError) {};
        ck_assert_int_eq(group_remove_member(m, m->store, &test_admin, g, "alice", &who, &e), 0);
        ck_assert_int_eq(who->id, alice->id);
        ck_assert_int_eq(group_remove_member(m, m->store, &test_admin, g, "alice", NULL, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "not a member"));
        ck_assert_int_eq(store_group_members(m->store, g->id, &members), 0);
        ASSERT_STRV(members, "bob");

        ck_assert_uint_eq(test_audit_count(m->store, "group.add-member", "ops@acme", AUDIT_INVALID), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "group.remove-member", "ops@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_audit_count(m->store, "group.remove-member", "ops@acme", AUDIT_INVALID), 1);
}
END_TEST

/* A member change is announced for the group (Members) and for the user
 * (the groups they are in): the faces learn of both from the core. */
START_TEST(test_member_change_announced) {
        _unused_ _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops");
        TestEvents *events = test_events_follow(m);
        TesseraError e = {};

        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "alice", NULL, &e), 0);
        ck_assert_uint_eq(events->n, 2);
        ck_assert_uint_eq(test_events_count(events, CHANGE_GROUP, CHANGE_UPDATED, "ops"), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_USER, CHANGE_UPDATED, "alice"), 1);
        ck_assert_int_eq(group_remove_member(m, m->store, &test_admin, g, "alice", NULL, &e), 0);
        ck_assert_uint_eq(events->n, 4);
        ck_assert_uint_eq(test_events_count(events, CHANGE_USER, CHANGE_UPDATED, "alice"), 2);
        /* A refused change announces nothing. */
        ck_assert_int_eq(group_remove_member(m, m->store, &test_admin, g, "alice", NULL, &e), -ENOENT);
        ck_assert_uint_eq(events->n, 4);

        m = manager_free(m);
        test_events_free(events);
}
END_TEST

/* Deleting a group changes its members' groups: announced for each member
 * (and for no one else). */
START_TEST(test_delete_announced_to_members) {
        _unused_ _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice"),
                                                          *bob = create_user(acme, "bob"),
                                                          *carol = create_user(acme, "carol");
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops");
        TestEvents *events;
        TesseraError e = {};

        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "alice", NULL, &e), 0);
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "bob", NULL, &e), 0);
        events = test_events_follow(m);
        ck_assert_int_eq(group_delete(m, m->store, &test_admin, g, &e), 0);
        ck_assert_uint_eq(events->n, 3);
        ck_assert_uint_eq(test_events_count(events, CHANGE_GROUP, CHANGE_DELETED, "ops"), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_USER, CHANGE_UPDATED, "alice"), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_USER, CHANGE_UPDATED, "bob"), 1);
        /* A refused deletion announces nothing. */
        ck_assert_int_eq(group_delete(m, m->store, &test_admin, g, &e), -ENOENT);
        ck_assert_uint_eq(events->n, 3);

        m = manager_free(m);
        test_events_free(events);
}
END_TEST

/* Deleting a user changes the members of each group it was in: announced
 * for each, after the user and its private group. */
START_TEST(test_user_delete_announced_to_groups) {
        _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice");
        _unused_ _cleanup_(user_record_unrefp) UserRecord *bob = create_user(acme, "bob");
        _cleanup_(group_record_unrefp) GroupRecord *ops = create("ops"), *dev = create("dev"), *qa = create("qa");
        TestEvents *events;
        TesseraError e = {};

        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, ops, "alice", NULL, &e), 0);
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, dev, "alice", NULL, &e), 0);
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, qa, "bob", NULL, &e), 0);
        events = test_events_follow(m);
        ck_assert_int_eq(user_delete(m, m->store, &test_admin, alice, &e), 0);
        ck_assert_uint_eq(events->n, 4);
        ck_assert_uint_eq(test_events_count(events, CHANGE_USER, CHANGE_DELETED, "alice"), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_GROUP, CHANGE_DELETED, "alice"), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_GROUP, CHANGE_UPDATED, "ops"), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_GROUP, CHANGE_UPDATED, "dev"), 1);
        ck_assert_int_eq(user_delete(m, m->store, &test_admin, alice, &e), -ENOENT);
        ck_assert_uint_eq(events->n, 4);

        m = manager_free(m);
        test_events_free(events);
}
END_TEST

START_TEST(test_members_invalid) {
        _unused_ _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops");
        _cleanup_(strv_freep) char **members = NULL;
        TesseraError e = {};

        ck_assert_int_eq(group_add_member(m, m->store, &test_nobody, g, "alice", NULL, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "group.add-member", "ops@acme", AUDIT_DENIED), 1);

        e = (TesseraError) {};
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "zed", NULL, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "does not exist"));
        e = (TesseraError) {};
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "Alice\"}", NULL, &e), -EINVAL);
        e = (TesseraError) {};
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, NULL, NULL, &e), -EINVAL);

        ck_assert_int_eq(store_group_members(m->store, g->id, &members), 0);
        ASSERT_STRV(members, NULL);
}
END_TEST

START_TEST(test_members_cross_tenant) {
        _cleanup_(tenant_record_unrefp) TenantRecord *globex = test_tenant(m->store, "globex", NULL);
        _cleanup_(user_record_unrefp) UserRecord *hank = create_user(globex, "hank");
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops");
        _cleanup_(strv_freep) char **members = NULL, **groups = NULL;
        TesseraError e = {};

        /* Member names are looked up in the group's own tenant. */
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "hank", NULL, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "hank@acme"));
        ck_assert_int_eq(store_group_members(m->store, g->id, &members), 0);
        ASSERT_STRV(members, NULL);
        ck_assert_int_eq(store_user_groups(m->store, hank->id, &groups), 0);
        ASSERT_STRV(groups, NULL);
}
END_TEST

START_TEST(test_change_inside_open_transaction) {
        _unused_ _cleanup_(user_record_unrefp) UserRecord *alice = create_user(acme, "alice");
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops");
        _cleanup_(strv_freep) char **members = NULL;
        TesseraError e = {};

        /* A change that cannot get its transaction fails cleanly. */
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "alice", NULL, &e), -EBUSY);
        e = (TesseraError) {};
        ck_assert_int_eq(group_update(m, m->store, &test_admin, g, "Ops", &e), -EBUSY);
        store_rollback(m->store);

        ck_assert_int_eq(store_group_members(m->store, g->id, &members), 0);
        ASSERT_STRV(members, NULL);
        e = (TesseraError) {};
        ck_assert_int_eq(group_add_member(m, m->store, &test_admin, g, "alice", NULL, &e), 0);
}
END_TEST

START_TEST(test_lookup) {
        _cleanup_(group_record_unrefp) GroupRecord *g = create("ops"), *found = NULL;
        _cleanup_free_ char *q = NULL;
        TesseraError e = {};

        ck_assert_int_eq(group_lookup(m, m->store, "acme", "ops", &found, &e), 0);
        ck_assert_int_eq(found->id, g->id);
        found = group_record_unref(found);
        ck_assert_int_eq(group_lookup(m, m->store, "acme", "web", &found, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.message, "Group 'web@acme' does not exist"));
        ck_assert_int_eq(group_lookup(m, m->store, "acme", "Web", &found, NULL), -EINVAL);
        ck_assert_int_eq(group_lookup(m, m->store, "globex", "ops", &found, NULL), -ENOENT);
        ck_assert_ptr_null(found);

        q = group_qualified_name(g);
        ck_assert_str_eq(q, "ops@acme");
}
END_TEST

static Suite *core_group_suite(void) {
        Suite *s = suite_create("core-group");
        TCase *tc;

        tc = tcase_create("groups");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_create_denied);
        tcase_add_test(tc, test_create);
        tcase_add_test(tc, test_create_invalid);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_lookup);
        suite_add_tcase(s, tc);

        tc = tcase_create("members");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_members);
        tcase_add_test(tc, test_member_change_announced);
        tcase_add_test(tc, test_delete_announced_to_members);
        tcase_add_test(tc, test_user_delete_announced_to_groups);
        tcase_add_test(tc, test_members_invalid);
        tcase_add_test(tc, test_members_cross_tenant);
        tcase_add_test(tc, test_change_inside_open_transaction);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        log_set_max_level(LOG_WARNING);
        return test_run_suite(core_group_suite());
}
