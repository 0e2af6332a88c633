/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The identity records tesserad keeps: what the store returns and what the
 * D-Bus, NSS, PAM and HTTP faces show. Records are reference counted so a
 * D-Bus property cache and a method handler can hold the same one safely. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "tenant-settings.h"

typedef enum UserRole {
        USER_ROLE_MEMBER,
        USER_ROLE_ADMIN,
        USER_ROLE_OWNER,
        _USER_ROLE_MAX,
        _USER_ROLE_INVALID = -EINVAL,
} UserRole;

typedef enum UserState {
        USER_STATE_ACTIVE,
        USER_STATE_DISABLED,
        USER_STATE_LOCKED,
        USER_STATE_EXPIRED,
        _USER_STATE_MAX,
        _USER_STATE_INVALID = -EINVAL,
} UserState;

/* locked_until_usec of an account locked by an administrator, with no end. */
#define LOCKED_INDEFINITELY INT64_MAX

typedef struct TenantRecord {
        unsigned n_ref;
        int64_t id;
        char *slug;
        char *display_name;
        uint32_t slice;           /* index of the tenant's ID slice */
        uint32_t id_min, id_max;  /* the slice, inclusive */
        int64_t created_usec;
        int64_t changed_usec;
        /* The tenant's own settings; the site's defaults fill in the rest
         * (tenant_settings_effective()). */
        TenantSettings settings;
} TenantRecord;

typedef struct UserRecord {
        unsigned n_ref;
        int64_t id;
        int64_t tenant_id;
        char *tenant;             /* the tenant's slug */
        char *name;
        uid_t uid;
        gid_t gid;
        char *real_name;          /* never NULL; "" when unset */
        char *email;              /* NULL when unset */
        bool email_verified;
        char *home;
        char *shell;
        char *password_hash;      /* NULL when no password is set */
        int64_t password_changed_usec;
        UserRole role;
        bool disabled;
        int64_t locked_until_usec;  /* 0: not locked */
        int64_t expires_usec;       /* 0: never */
        int64_t created_usec;
        int64_t changed_usec;
} UserRecord;

typedef struct GroupRecord {
        unsigned n_ref;
        int64_t id;
        int64_t tenant_id;
        char *tenant;
        char *name;
        gid_t gid;
        char *description;
        int64_t private_user_id;  /* the user of a user-private group, else 0 */
        int64_t created_usec;
        int64_t changed_usec;
} GroupRecord;

TenantRecord *tenant_record_new(void);
TenantRecord *tenant_record_ref(TenantRecord *t);
TenantRecord *tenant_record_unref(TenantRecord *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(TenantRecord *, tenant_record_unref);

UserRecord *user_record_new(void);
UserRecord *user_record_ref(UserRecord *u);
UserRecord *user_record_unref(UserRecord *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(UserRecord *, user_record_unref);

GroupRecord *group_record_new(void);
GroupRecord *group_record_ref(GroupRecord *g);
GroupRecord *group_record_unref(GroupRecord *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(GroupRecord *, group_record_unref);

/* Arrays of records as the store's list functions return them. */
void tenant_record_array_free(TenantRecord **a, size_t n);
void user_record_array_free(UserRecord **a, size_t n);
void group_record_array_free(GroupRecord **a, size_t n);

/* What the account looks like now: disabled wins over expired over locked. */
UserState user_record_state(const UserRecord *u, int64_t now_usec);

const char *user_role_to_string(UserRole r);
UserRole user_role_from_string(const char *s);
const char *user_state_to_string(UserState s);
UserState user_state_from_string(const char *s);
