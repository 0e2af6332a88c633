/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "group.h"

#include "log.h"
#include "names.h"
#include "tenant.h"

char *group_qualified_name(const GroupRecord *g) {
        char *s;
        return asprintf(&s, "%s@%s", g->name, g->tenant) < 0 ? NULL : s;
}

static int invalid_description(TesseraError *e) {
        return tessera_error_set(e, -EINVAL, "The description must be one line of at most %d bytes of UTF-8.",
                                 DISPLAY_NAME_MAX_LEN);
}

static int create_txn(Store *s, const Principal *a, const GroupRecord *g, const char *target, GroupRecord **ret,
                      TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;

        r = store_group_get(s, g->tenant_id, g->name, NULL);
        if (r >= 0)
                return tessera_error_set(e, -EEXIST, "Group '%s' already exists.", target);
        r = store_group_create(s, g, ret);
        if (r == -ERANGE)
                return tessera_error_set(e, r, "GID %u lies outside the ID slice of tenant '%s'.", g->gid, g->tenant);
        if (r == -ENOSPC)
                return tessera_error_set(e, r, "The ID slice of tenant '%s' is full.", g->tenant);
        if (r == -EEXIST)
                return tessera_error_set(e, r, "GID %u is already in use.", g->gid);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create group '%s'.", target);
        return change_commit(&txn, a, "group.create", g->tenant, target, NULL, e);
}

int group_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name, uint32_t gid,
                 const char *description, GroupRecord **ret, TesseraError *e) {
        _cleanup_(group_record_unrefp) GroupRecord *created = NULL;
        _cleanup_free_ char *target = NULL;
        GroupRecord g = {
                .tenant_id = t->id,
                .tenant = t->slug,
                .name = (char *) name,
                .gid = gid,
                .description = (char *) description,
        };
        int r;

        if (asprintf(&target, "%s@%s", strempty(name), t->slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_GROUP_CREATE, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;

        if (!valid_group_name(name))
                r = tessera_error_set(e, -EINVAL,
                                      "'%s' is not a valid group name: begin with a lower-case letter or '_', "
                                      "then use lower-case letters, digits, '_' or '-', at most %d in all.",
                                      strempty(name), NAME_MAX_LEN);
        else if (description && !valid_display_text(description, DISPLAY_NAME_MAX_LEN))
                r = invalid_description(e);
        else
                r = create_txn(s, a, &g, target, &created, e);
        if (r < 0) {
                change_audit_failure(s, a, "group.create", t->slug, target, e);
                return r;
        }

        manager_changed(m, change_event_group(created, CHANGE_CREATED));
        log_info("Created group %s (gid %u).", target, created->gid);
        if (ret)
                *ret = TAKE_PTR(created);
        return 0;
}

/* Runs one change of a group inside a transaction, with the admin check
 * before and the audit trail on either outcome. */
typedef int (*GroupChangeFunc)(Store *s, const GroupRecord *g, const void *arg, const char *target,
                               TesseraError *e);

static int change_group(Manager *m, Store *s, const Principal *a, PolicyAction policy, const GroupRecord *g,
                        GroupChangeFunc change, const void *arg, const char *details, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = group_qualified_name(g);
        const char *action = policy_action_to_string(policy);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, policy, policy_target_tenant(g->tenant_id), g->tenant, target, e);
        if (r < 0)
                return r;

        r = change_begin(s, &txn, e);
        if (r >= 0)
                r = change(s, g, arg, target, e);
        if (r >= 0)
                r = change_commit(&txn, a, action, g->tenant, target, details, e);
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, a, action, g->tenant, target, e);
                return r;
        }

        manager_changed(m, change_event_group(g, policy == POLICY_GROUP_DELETE ? CHANGE_DELETED : CHANGE_UPDATED));
        log_info("%s: %s.", target, action);
        return 0;
}

static int do_update(Store *s, const GroupRecord *g, const void *arg, const char *target, TesseraError *e) {
        GroupRecord changed = *g;
        int r;

        changed.description = (char *) arg;
        if (!valid_display_text(changed.description, DISPLAY_NAME_MAX_LEN))
                return invalid_description(e);
        r = store_group_update(s, &changed);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Group '%s' no longer exists.", target);
        return r < 0 ? tessera_error_set(e, r, "Failed to update group '%s'.", target) : 0;
}

int group_update(Manager *m, Store *s, const Principal *a, const GroupRecord *g, const char *description,
                 TesseraError *e) {
        return change_group(m, s, a, POLICY_GROUP_UPDATE, g, do_update, description, NULL, e);
}

/* The members of a group about to go: their lists of groups change with it. */
typedef struct GroupDeletion {
        UserRecord **members;
        size_t n_members;
} GroupDeletion;

static int load_members(Store *s, const GroupRecord *g, GroupDeletion *del) {
        _cleanup_(strv_freep) char **names = NULL;
        UserRecord **users;
        size_t n = 0;
        int r;

        r = store_group_members(s, g->id, &names);
        if (r < 0)
                return r;
        if (strv_length(names) == 0)
                return 0;
        users = calloc(strv_length(names), sizeof(UserRecord *));
        if (!users)
                return -ENOMEM;
        STRV_FOREACH(name, names) {
                r = store_user_get(s, g->tenant_id, *name, &users[n]);
                if (r < 0) {
                        user_record_array_free(users, n);
                        return r;
                }
                n++;
        }
        del->members = users;
        del->n_members = n;
        return 0;
}

static int do_delete(Store *s, const GroupRecord *g, const void *arg, const char *target, TesseraError *e) {
        GroupDeletion *del = (GroupDeletion *) arg;
        int r;

        /* Read in the deletion's transaction: exactly the members it removes. */
        r = load_members(s, g, del);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the members of group '%s'.", target);
        r = store_group_delete(s, g->id);
        if (r == -EPERM)
                return tessera_error_set(e, -EINVAL,
                                         "'%s' is the private group of a user; it goes when the user is deleted.",
                                         target);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Group '%s' no longer exists.", target);
        return r < 0 ? tessera_error_set(e, r, "Failed to delete group '%s'.", target) : 0;
}

int group_delete(Manager *m, Store *s, const Principal *a, const GroupRecord *g, TesseraError *e) {
        GroupDeletion del = {};
        int r;

        r = change_group(m, s, a, POLICY_GROUP_DELETE, g, do_delete, &del, NULL, e);
        /* Each member's list of groups changed too. */
        for (size_t i = 0; r >= 0 && i < del.n_members; i++)
                manager_changed(m, change_event_user(CHANGE_USER, del.members[i], CHANGE_UPDATED));
        user_record_array_free(del.members, del.n_members);
        return r;
}

typedef struct MemberChange {
        const char *user;
        bool add;
        UserRecord *found;
} MemberChange;

static int do_member(Store *s, const GroupRecord *g, const void *arg, const char *target, TesseraError *e) {
        MemberChange *c = (MemberChange *) arg;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int r;

        if (!valid_user_name(c->user))
                return tessera_error_set(e, -EINVAL, "'%s' is not a valid user name.", strempty(c->user));
        r = store_user_get(s, g->tenant_id, c->user, &u);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s@%s' does not exist.", c->user, g->tenant);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up user '%s@%s'.", c->user, g->tenant);

        if (c->add) {
                r = store_group_add_member(s, g->id, u->id);
                if (r == -EEXIST)
                        return tessera_error_set(e, r, "'%s' is already a member of '%s'.", c->user, target);
        } else {
                r = store_group_remove_member(s, g->id, u->id);
                if (r == -ENOENT)
                        return tessera_error_set(e, r, "'%s' is not a member of '%s'.", c->user, target);
        }
        if (r < 0)
                return tessera_error_set(e, r, "Failed to change the members of '%s'.", target);
        c->found = TAKE_PTR(u);
        return 0;
}

static int change_member(Manager *m, Store *s, const Principal *a, const GroupRecord *g, const char *user, bool add,
                         UserRecord **ret_user, TesseraError *e) {
        MemberChange c = { .user = user, .add = add };
        _cleanup_free_ char *details = NULL;
        int r;

        /* Only names that passed validation reach the details text. */
        if (valid_user_name(user) && asprintf(&details, "{\"member\":\"%s\"}", user) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_group(m, s, a, add ? POLICY_GROUP_ADD_MEMBER : POLICY_GROUP_REMOVE_MEMBER, g, do_member, &c, details, e);
        /* The member's list of groups changed too. */
        if (r >= 0)
                manager_changed(m, change_event_user(CHANGE_USER, c.found, CHANGE_UPDATED));
        if (r >= 0 && ret_user)
                *ret_user = TAKE_PTR(c.found);
        user_record_unref(c.found);
        return r;
}

int group_add_member(Manager *m, Store *s, const Principal *a, const GroupRecord *g, const char *user,
                     UserRecord **ret_user, TesseraError *e) {
        return change_member(m, s, a, g, user, true, ret_user, e);
}

int group_remove_member(Manager *m, Store *s, const Principal *a, const GroupRecord *g, const char *user,
                        UserRecord **ret_user, TesseraError *e) {
        return change_member(m, s, a, g, user, false, ret_user, e);
}

int group_lookup(Manager *m, Store *s, const char *tenant, const char *name, GroupRecord **ret, TesseraError *e) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        int r;

        r = tenant_lookup(m, s, tenant, &t, e);
        if (r < 0)
                return r;
        if (!valid_group_name(name))
                return tessera_error_set(e, -EINVAL, "'%s' is not a valid group name.", strempty(name));
        r = store_group_get(s, t->id, name, ret);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Group '%s@%s' does not exist.", name, t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up group '%s@%s'.", name, t->slug);
        return 0;
}
