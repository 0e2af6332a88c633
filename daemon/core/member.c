/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "member.h"

#include "log.h"
#include "time-util.h"
#include "user.h"

int member_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *after_name,
                unsigned limit, UserRecord ***ret, size_t *ret_n, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_MEMBER_LIST, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        /* The admin view's query (store_user_search()) without filters:
         * by name, one indexed range per page. */
        r = store_user_search(s, &(UserQuery) {
                                      .tenant_id = t->id,
                                      .sort = USER_SORT_NAME,
                                      .state = -1,
                                      .role = -1,
                                      .now_usec = now_realtime_usec(),
                                      .after = after_name,
                                      .after_name = after_name,
                                      .limit = limit,
                              }, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to list the members of tenant '%s'.", t->slug);
        return 0;
}

static int set_role_txn(Store *s, const Principal *a, const UserRecord *u, UserRole role, const char *target,
                        UserRecord **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *now = NULL;
        _cleanup_free_ char *details = NULL;
        UserRecord changed;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_user_get_by_id(s, u->id, &now);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s' no longer exists.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
        if (role != USER_ROLE_OWNER) {
                r = user_keep_an_owner(s, now, target, e);
                if (r < 0)
                        return r;
        }
        if (asprintf(&details, "{\"from\":\"%s\",\"role\":\"%s\"}", user_role_to_string(now->role),
                     user_role_to_string(role)) < 0) {
                details = NULL;
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        changed = *now;
        changed.role = role;
        r = store_user_update(s, &changed);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s' no longer exists.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to update user '%s'.", target);
        r = change_commit(&txn, a, "member.set-role", u->tenant, target, details, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(now);
        return 0;
}

int member_set_role(Manager *m, Store *s, const Principal *a, const UserRecord *u, UserRole role, UserRecord **ret,
                    TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *before = NULL, *stored = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_MEMBER_SET_ROLE, policy_target_user(u), u->tenant, target, e);
        if (r < 0)
                return r;
        if (role < 0 || role >= _USER_ROLE_MAX)
                r = tessera_error_set(e, -EINVAL, "Unknown role; use member, admin or owner.");
        else
                r = set_role_txn(s, a, u, role, target, &before, e);
        if (r < 0) {
                change_audit_failure(s, a, "member.set-role", u->tenant, target, e);
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_USER, before, CHANGE_UPDATED));
        log_info("%s: member.set-role %s.", target, user_role_to_string(role));
        if (ret) {
                r = store_user_get_by_id(s, u->id, &stored);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
                *ret = TAKE_PTR(stored);
        }
        return 0;
}

int member_remove(Manager *m, Store *s, const Principal *a, const UserRecord *u, TesseraError *e) {
        return user_delete_full(m, s, a, u, POLICY_MEMBER_REMOVE, user_owner_removal_rule, e);
}
