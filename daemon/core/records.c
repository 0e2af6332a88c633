/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "records.h"

#include <assert.h>
#include <stdlib.h>


TenantRecord *tenant_record_new(void) {
        TenantRecord *t = calloc(1, sizeof(TenantRecord));
        if (t)
                t->n_ref = 1;
        return t;
}

TenantRecord *tenant_record_ref(TenantRecord *t) {
        if (t)
                t->n_ref++;
        return t;
}

TenantRecord *tenant_record_unref(TenantRecord *t) {
        if (!t)
                return NULL;
        assert(t->n_ref > 0);
        if (--t->n_ref > 0)
                return NULL;
        free(t->slug);
        free(t->display_name);
        free(t);
        return NULL;
}

UserRecord *user_record_new(void) {
        UserRecord *u = calloc(1, sizeof(UserRecord));
        if (u)
                u->n_ref = 1;
        return u;
}

UserRecord *user_record_ref(UserRecord *u) {
        if (u)
                u->n_ref++;
        return u;
}

UserRecord *user_record_unref(UserRecord *u) {
        if (!u)
                return NULL;
        assert(u->n_ref > 0);
        if (--u->n_ref > 0)
                return NULL;
        free(u->tenant);
        free(u->name);
        free(u->real_name);
        free(u->email);
        free(u->home);
        free(u->shell);
        erase_and_free(u->password_hash);
        free(u);
        return NULL;
}

GroupRecord *group_record_new(void) {
        GroupRecord *g = calloc(1, sizeof(GroupRecord));
        if (g)
                g->n_ref = 1;
        return g;
}

GroupRecord *group_record_ref(GroupRecord *g) {
        if (g)
                g->n_ref++;
        return g;
}

GroupRecord *group_record_unref(GroupRecord *g) {
        if (!g)
                return NULL;
        assert(g->n_ref > 0);
        if (--g->n_ref > 0)
                return NULL;
        free(g->tenant);
        free(g->name);
        free(g->description);
        free(g);
        return NULL;
}

void tenant_record_array_free(TenantRecord **a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                tenant_record_unref(a[i]);
        free(a);
}

void user_record_array_free(UserRecord **a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                user_record_unref(a[i]);
        free(a);
}

void group_record_array_free(GroupRecord **a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                group_record_unref(a[i]);
        free(a);
}

UserState user_record_state(const UserRecord *u, int64_t now_usec) {
        if (u->disabled)
                return USER_STATE_DISABLED;
        if (u->expires_usec > 0 && u->expires_usec <= now_usec)
                return USER_STATE_EXPIRED;
        if (u->locked_until_usec > now_usec)
                return USER_STATE_LOCKED;
        return USER_STATE_ACTIVE;
}

static const char *const role_names[_USER_ROLE_MAX] = {
        [USER_ROLE_MEMBER] = "member",
        [USER_ROLE_ADMIN] = "admin",
        [USER_ROLE_OWNER] = "owner",
};

const char *user_role_to_string(UserRole r) {
        return r >= 0 && r < _USER_ROLE_MAX ? role_names[r] : NULL;
}

UserRole user_role_from_string(const char *s) {
        for (int i = 0; s && i < _USER_ROLE_MAX; i++)
                if (streq(s, role_names[i]))
                        return (UserRole) i;
        return _USER_ROLE_INVALID;
}

static const char *const state_names[_USER_STATE_MAX] = {
        [USER_STATE_ACTIVE] = "active",
        [USER_STATE_DISABLED] = "disabled",
        [USER_STATE_LOCKED] = "locked",
        [USER_STATE_EXPIRED] = "expired",
};

const char *user_state_to_string(UserState s) {
        return s >= 0 && s < _USER_STATE_MAX ? state_names[s] : NULL;
}

UserState user_state_from_string(const char *s) {
        for (int i = 0; s && i < _USER_STATE_MAX; i++)
                if (streq(s, state_names[i]))
                        return (UserState) i;
        return _USER_STATE_INVALID;
}
