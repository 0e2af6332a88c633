/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The store: the only door to persistent state. Everything above it (D-Bus,
 * HTTP, the NSS and PAM services) goes through these functions and never
 * sees SQL, so that another backend can take SQLite's place.
 *
 * Conventions: functions return 0 or a negative errno; -ENOENT when a
 * record does not exist, -EEXIST on a name or ID already taken, -ENOTEMPTY
 * when a tenant still has members, -ENOSPC when an ID slice is full, -ERANGE
 * for an ID outside the tenant's slice, -EBUSY when the database is locked,
 * -EIO for anything the backend could not do. Out-parameters are written
 * only on success.
 *
 * A Store is one connection, used by one thread at a time; every thread
 * that needs the store opens its own. Writes run inside store_begin() ..
 * store_commit(); store_commit() returns only once the change is durable. */

#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "records.h"

typedef struct Store Store;

/* The part of the configuration the store needs to hand out ID slices. */
typedef struct IdRange {
        uint32_t min, max, slice_size;
} IdRange;

/* Opens (creating if needed, mode 0600) and migrates the database at path;
 * ":memory:" gives a private in-memory database for tests. A database
 * written by a newer tesserad is refused with -EPROTONOSUPPORT. */
int store_open(const char *path, Store **ret);
Store *store_close(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

int store_schema_version(Store *s);
int store_latest_schema_version(void);
/* A cheap query that proves the database answers. */
int store_ping(Store *s);

int store_begin(Store *s);
int store_commit(Store *s);
/* Does nothing when s is NULL or not in a transaction. */
void store_rollback(Store *s);
/* _cleanup_(store_rollbackp) Store *txn = s;  ...  store_commit(TAKE_PTR(txn)) */
static inline void store_rollbackp(Store **s) {
        if (*s)
                store_rollback(*s);
}

/* Tenants */
int store_tenant_create(Store *s, const char *slug, const char *display_name, const IdRange *range,
                        TenantRecord **ret);
int store_tenant_get(Store *s, const char *slug, TenantRecord **ret);
int store_tenant_get_by_id(Store *s, int64_t id, TenantRecord **ret);
int store_tenant_list(Store *s, TenantRecord ***ret, size_t *ret_n);
int store_tenant_update(Store *s, const TenantRecord *t);
int store_tenant_delete(Store *s, int64_t id);

/* Picks a free ID in the tenant's slice (requested 0) or checks that the
 * requested one lies inside it (-ERANGE). Free means no user and no group
 * has it: user-private groups make uid and gid one namespace. */
int store_allocate_id(Store *s, int64_t tenant_id, uint32_t requested, uint32_t *ret);

/* Users. store_user_create() takes the fields of u (uid 0: allocate one
 * from the tenant's slice), creates the user-private group with gid = uid
 * and returns the stored record. Needs a transaction (store_begin()), as
 * does store_group_create(): allocation and insertion must be atomic. */
int store_user_create(Store *s, const UserRecord *u, UserRecord **ret);
int store_user_get(Store *s, int64_t tenant_id, const char *name, UserRecord **ret);
int store_user_get_by_uid(Store *s, uid_t uid, UserRecord **ret);
int store_user_get_by_id(Store *s, int64_t id, UserRecord **ret);
int store_user_get_by_email(Store *s, int64_t tenant_id, const char *email, UserRecord **ret);
/* tenant_id 0: users of every tenant. Sorted by tenant, then name. */
int store_user_list(Store *s, int64_t tenant_id, UserRecord ***ret, size_t *ret_n);
/* Writes every mutable field of u (all but id, tenant, name, uid) and
 * stamps changed_usec. */
int store_user_update(Store *s, const UserRecord *u);
int store_user_delete(Store *s, int64_t id);
/* Names of the groups the user is a member of (not the user-private one). */
int store_user_groups(Store *s, int64_t user_id, char ***ret);

/* Groups */
int store_group_create(Store *s, const GroupRecord *g, GroupRecord **ret);
int store_group_get(Store *s, int64_t tenant_id, const char *name, GroupRecord **ret);
int store_group_get_by_gid(Store *s, gid_t gid, GroupRecord **ret);
int store_group_get_by_id(Store *s, int64_t id, GroupRecord **ret);
int store_group_list(Store *s, int64_t tenant_id, GroupRecord ***ret, size_t *ret_n);
int store_group_update(Store *s, const GroupRecord *g);
/* User-private groups go with their user: deleting one gives -EPERM. */
int store_group_delete(Store *s, int64_t id);
int store_group_add_member(Store *s, int64_t group_id, int64_t user_id);
int store_group_remove_member(Store *s, int64_t group_id, int64_t user_id);
/* Names of the members, sorted. */
int store_group_members(Store *s, int64_t group_id, char ***ret);

/* Audit */
int store_audit_append(Store *s, const AuditEvent *e);
int store_audit_list(Store *s, const AuditFilter *f, AuditEvent **ret, size_t *ret_n);
