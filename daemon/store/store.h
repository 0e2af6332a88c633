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
 * -EDQUOT when the storage is full (the disk, or a quota), -EIO for
 * anything else the backend could not do (an I/O error). A failed write
 * changes nothing, and the store goes on once the cause is gone: no
 * restart, no reopening. Out-parameters are written only on success.
 *
 * A Store is one connection, used by one thread at a time; every thread
 * that needs the store has its own, from the StorePool (store-pool.h),
 * which opens them from the StoreConfig ([store] of tesserad.conf). Writes
 * run inside store_begin() .. store_commit(); store_commit() returns only
 * once the change is durable. */

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "records.h"
#include "store-config.h"

typedef struct Store Store;

/* The part of the configuration the store needs to hand out ID slices. */
typedef struct IdRange {
        uint32_t min, max, slice_size;
} IdRange;

/* Opens one connection as c says, creating and migrating the database if
 * needed (SQLite: the file at c->path, mode 0600). A database written by a
 * newer tesserad is refused with -EPROTONOSUPPORT. The daemon's threads
 * get theirs from a StorePool; this is the pool's, and the tests'. */
int store_open(const StoreConfig *c, Store **ret);
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

/* Read-then-write work that no single row guards (the next free ID of a
 * slice, "has the tenant an active signing key yet?", the number of a
 * tenant's users against its plan) must not interleave with the same work
 * on another connection, of this tesserad or of another one on the same
 * database. store_lock() makes the transactions that take the same
 * (what, id) run it one after the other: from the call to the end of the
 * transaction. PostgreSQL: a transaction-level advisory lock; SQLite:
 * nothing more, as store_begin()'s write lock (BEGIN IMMEDIATE) lets one
 * transaction write at a time already. Inside a transaction only
 * (-EINVAL outside); taking a lock twice is harmless. */
typedef enum StoreLock {
        STORE_LOCK_TENANT_IDS,          /* id: a tenant's; its ID slice and its number of users */
        STORE_LOCK_TENANT_SLICES,       /* id: 0; the slices of the tenants */
        STORE_LOCK_TENANT_APPLICATIONS, /* id: a tenant's; its number of applications */
        STORE_LOCK_SIGNING_KEYS,        /* id: a tenant's; its active signing keys */
        STORE_LOCK_OWNER_EMAILS,        /* id: 0; the addresses of the tenants' owners (sign-up) */
        STORE_LOCK_TENANT_ROLES,        /* id: a tenant's; its count of users by role (its last owner) */
        _STORE_LOCK_MAX,
        _STORE_LOCK_INVALID = -EINVAL,
} StoreLock;
int store_lock(Store *s, StoreLock what, int64_t id);

/* Tenants */
int store_tenant_create(Store *s, const char *slug, const char *display_name, const IdRange *range,
                        TenantRecord **ret);
int store_tenant_get(Store *s, const char *slug, TenantRecord **ret);
int store_tenant_get_by_id(Store *s, int64_t id, TenantRecord **ret);
int store_tenant_list(Store *s, TenantRecord ***ret, size_t *ret_n);
int store_tenant_update(Store *s, const TenantRecord *t);
int store_tenant_delete(Store *s, int64_t id);
/* Deletes a tenant with everything in it: its users (and with them their
 * sessions, tokens, second factors), groups and applications. Inside the
 * caller's transaction. -ENOENT when there is no such tenant. */
int store_tenant_purge(Store *s, int64_t id);
/* Writes a tenant's own settings (what settings->set names; the rest
 * follows the site) and stamps the tenant's changed_usec; -ENOENT when
 * the tenant is gone. The tenant's reads return them (TenantRecord). */
int store_tenant_settings_put(Store *s, int64_t tenant_id, const TenantSettings *settings);

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
/* How many users of the tenant have role. */
/* Inside a transaction, takes the tenant's STORE_LOCK_TENANT_ROLES first,
 * so that the count stays true until the caller's change commits. */
int store_user_count_role(Store *s, int64_t tenant_id, UserRole role, unsigned *ret);
/* Replaces the user's password hash if it is still old_hash (the same
 * password, rehashed): 1 when replaced, 0 when it changed meanwhile. */
int store_user_replace_password_hash(Store *s, int64_t id, const char *old_hash, const char *new_hash);

/* One page of a tenant's users, for the admin view: filtered, sorted, and
 * continued after a position (keyset pagination, never an offset). */
typedef enum UserSort {
        USER_SORT_NAME,               /* by name (unique in a tenant) */
        USER_SORT_CREATED,            /* by creation time, then id */
        _USER_SORT_MAX,
        _USER_SORT_INVALID = -EINVAL,
} UserSort;

typedef struct UserQuery {
        int64_t tenant_id;
        UserSort sort;
        const char *prefix;           /* of the name or the e-mail address, lower case; NULL: any */
        int state;                    /* UserState, or -1: any */
        int role;                     /* UserRole, or -1: any */
        int64_t created_after;        /* inclusive, usec; 0: no bound */
        int64_t created_before;       /* exclusive, usec; 0: no bound */
        int64_t now_usec;             /* the time states are judged at */
        /* Continue after this row: its name (USER_SORT_NAME) or its
         * creation time and id (USER_SORT_CREATED). A prefix search by
         * name lists the users whose name begins with the prefix (phase
         * 0, by name), then those whose address does (phase 1, by
         * address): after_phase says which, and after_email is the row's
         * address in phase 1. */
        bool after;
        int after_phase;
        const char *after_name, *after_email;
        int64_t after_created, after_id;
        unsigned limit;
} UserQuery;

int store_user_search(Store *s, const UserQuery *q, UserRecord ***ret, size_t *ret_n);
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
/* A page of the tenant's groups (not the user-private ones) by name, after
 * the name after ("" or NULL: from the first). */
int store_group_page(Store *s, int64_t tenant_id, const char *after, unsigned limit, GroupRecord ***ret,
                     size_t *ret_n);
/* A page of a group's members by name, after the name after. */
int store_group_member_page(Store *s, int64_t group_id, const char *after, unsigned limit, UserRecord ***ret,
                            size_t *ret_n);
int store_group_update(Store *s, const GroupRecord *g);
/* User-private groups go with their user: deleting one gives -EPERM. */
int store_group_delete(Store *s, int64_t id);
int store_group_add_member(Store *s, int64_t group_id, int64_t user_id);
int store_group_remove_member(Store *s, int64_t group_id, int64_t user_id);
/* Names of the members, sorted. */
int store_group_members(Store *s, int64_t group_id, char ***ret);

/* Authentication state, shared by every channel (see auth.h). */
typedef struct AuthState {
        uint32_t failed_count;        /* failures in a row, within the counting interval */
        int64_t first_failure_usec;   /* when the current count began */
        int64_t last_failure_usec;
        uint32_t lock_level;          /* locks since the last success: the next lock lasts longer */
        int64_t last_success_usec;
} AuthState;

/* All zero for a user who never tried. */
int store_auth_state_get(Store *s, int64_t user_id, AuthState *ret);
int store_auth_state_put(Store *s, int64_t user_id, const AuthState *st);
/* The state as store_auth_state_get() reads it, with the row locked until
 * the transaction ends (made if missing), for a read-modify-write that
 * another connection must not interleave with. In a transaction only;
 * -ENOENT when the user does not exist. */
int store_auth_state_lock(Store *s, int64_t user_id, AuthState *ret);
/* Sets locked_until_usec alone: an automatic lock is not an edit of the
 * record, so changed_usec stays. */
int store_user_set_locked_until(Store *s, int64_t user_id, int64_t until_usec);

/* A TOTP enrollment. The seed is only ever stored sealed (secret-box.h). */
typedef struct TotpRecord {
        uint8_t *secret_box;
        size_t secret_box_len;
        int64_t last_step;            /* the last time step accepted; codes at or before it are refused */
        int64_t created_usec;
        int64_t confirmed_usec;       /* 0: enrollment begun, not confirmed with a first code */
} TotpRecord;
void totp_record_done(TotpRecord *t);

int store_totp_get(Store *s, int64_t user_id, TotpRecord *ret);
/* Creates or replaces the enrollment of a user. */
int store_totp_put(Store *s, int64_t user_id, const TotpRecord *t);
/* Moves last_step forward to step (and, with confirmed_usec > 0, marks the
 * enrollment confirmed). -ESTALE when last_step is already at or past step:
 * the code was used before, perhaps through another channel a moment ago. */
int store_totp_advance(Store *s, int64_t user_id, int64_t step, int64_t confirmed_usec);
/* Deletes the enrollment and the backup codes; -ENOENT when there is none. */
int store_totp_delete(Store *s, int64_t user_id);

#define STORE_DIGEST_SIZE 32
int store_backup_codes_replace(Store *s, int64_t user_id, const uint8_t (*digests)[STORE_DIGEST_SIZE], size_t n);
/* Deletes the code with this digest: 0 when it was there, -ENOENT if not. */
int store_backup_code_consume(Store *s, int64_t user_id, const uint8_t digest[static STORE_DIGEST_SIZE]);
int store_backup_codes_count(Store *s, int64_t user_id, unsigned *ret);

/* Host sessions: one login on a host each (PAM), see host-session.h. The
 * browser sessions of the OpenID provider are another thing (store-oidc.h). */
typedef struct HostSessionRecord {
        int64_t id;
        int64_t user_id;
        char *tenant;                 /* filled in by the store on reads */
        char *user_name;
        char *kind;                   /* "pam", "web", ... */
        char *service;
        char *tty;
        char *remote_host;
        char *remote_user;
        uint32_t pid;
        int64_t opened_usec;
        int64_t closed_usec;          /* 0: still open */
} HostSessionRecord;

typedef struct HostSessionFilter {
        int64_t tenant_id;            /* 0: all */
        int64_t user_id;              /* 0: all */
        bool open_only;
        size_t limit;                 /* 0: a default of 1000 */
} HostSessionFilter;

int store_host_session_open(Store *s, const HostSessionRecord *in, int64_t *ret_id);
/* Closes an open session of the user: -ENOENT when there is none with id. */
int store_host_session_close(Store *s, int64_t user_id, int64_t id, int64_t closed_usec);
/* The newest open session of the user from this service, tty and pid
 * (for a close that lost the session id). */
int store_host_session_find_open(Store *s, int64_t user_id, const char *service, const char *tty, uint32_t pid,
                            int64_t *ret_id);
/* Newest first. */
int store_host_session_list(Store *s, const HostSessionFilter *f, HostSessionRecord **ret, size_t *ret_n);
void host_session_record_array_free(HostSessionRecord *a, size_t n);
/* Lookups for the NSS service (store-lookup.c): records with public fields
 * only (no password hash, no e-mail). Listings are pages ordered by ID,
 * starting at from_uid / from_gid inclusive. */
typedef struct StoreMembership {
        int64_t group_id, user_id;
} StoreMembership;

int store_lookup_user(Store *s, const char *tenant, const char *name, UserRecord **ret);
int store_lookup_user_by_uid(Store *s, uid_t uid, UserRecord **ret);
int store_lookup_user_by_id(Store *s, int64_t id, UserRecord **ret);
int store_lookup_users(Store *s, uint64_t from_uid, size_t limit, UserRecord ***ret, size_t *ret_n);
int store_lookup_group(Store *s, const char *tenant, const char *name, GroupRecord **ret);
int store_lookup_group_by_gid(Store *s, gid_t gid, GroupRecord **ret);
int store_lookup_groups(Store *s, uint64_t from_gid, size_t limit, GroupRecord ***ret, size_t *ret_n);
/* gids of the (not user-private) groups the user is a member of, sorted. */
int store_lookup_user_gids(Store *s, int64_t user_id, uint32_t **ret, size_t *ret_n);
/* Every membership, ordered by group then user: one read for the cache. */
int store_lookup_memberships(Store *s, StoreMembership **ret, size_t *ret_n);
/* A read transaction: one consistent snapshot for several reads. */
int store_begin_read(Store *s);
void store_end_read(Store *s);

/* A tenant's entitlements (entitlement.h). A limit of -1 is none. */
typedef struct Entitlements {
        int64_t max_users;
        int64_t max_applications;
        char **features;              /* NULL-terminated, sorted; may be NULL for none */
        int64_t changed_usec;         /* 0: never set */
} Entitlements;
void entitlements_done(Entitlements *e);

typedef enum EntitledResource {
        ENTITLED_USERS,
        ENTITLED_APPLICATIONS,
} EntitledResource;

/* No limits and no features for a tenant that never had any set. */
int store_entitlements_get(Store *s, int64_t tenant_id, Entitlements *ret);
int store_entitlements_put(Store *s, int64_t tenant_id, const Entitlements *e);
/* How many the tenant has of r, counting no further than at_most (so that
 * a check against a limit costs the limit, not the tenant's size). Inside
 * a transaction, takes the tenant's lock of r (store_lock()) first, so
 * that the count stays true until the caller's insert commits. */
int store_tenant_count(Store *s, int64_t tenant_id, EntitledResource r, uint64_t at_most, uint64_t *ret);

typedef struct UsageCounter {
        char *name;
        int64_t value;
        int64_t changed_usec;
} UsageCounter;
void usage_counter_array_free(UsageCounter *a, size_t n);

/* Adds amount to the tenant's counter (made at 0 on first use) and
 * records key; *ret_value is the value after. A key used before (within
 * its retention) adds nothing: *ret_value is the value its first use
 * left, *ret_replayed true; -ENOTUNIQ when it was for another counter or
 * amount. Keys older than forget_before_usec are forgotten first. Needs a
 * transaction. */
int store_usage_increment(Store *s, int64_t tenant_id, const char *counter, int64_t amount, const char *key,
                          int64_t forget_before_usec, int64_t *ret_value, bool *ret_replayed);
/* The tenant's counters, by name. */
int store_usage_list(Store *s, int64_t tenant_id, UsageCounter **ret, size_t *ret_n);

/* The platform's operators (operator.h). */
typedef struct OperatorRecord {
        int64_t id;
        char *name;
        char *email;
        char *password_hash;
        uint8_t *totp_secret_box;
        size_t totp_secret_box_len;
        int64_t totp_last_step;
        int64_t created_usec;
        int64_t last_signin_usec;
} OperatorRecord;
void operator_record_done(OperatorRecord *o);
void operator_record_array_free(OperatorRecord *a, size_t n);

/* -EEXIST when the name is taken. */
int store_operator_create(Store *s, const OperatorRecord *o, int64_t *ret_id);
int store_operator_get(Store *s, const char *name, OperatorRecord *ret);
int store_operator_list(Store *s, OperatorRecord **ret, size_t *ret_n);
/* Deletes the operator and every token they hold; -ENOENT when none. */
int store_operator_delete(Store *s, const char *name);
/* Moves the last accepted TOTP step on (-ESTALE when it is already there
 * or past: a code used before) and stamps the sign-in. */
int store_operator_signed_in(Store *s, int64_t id, int64_t step, int64_t now_usec);

/* An operator's token, or their grant to act as a tenant's admin
 * (tenant_id > 0, with the reason). */
typedef struct PlatformToken {
        int64_t operator_id;
        char *operator_name;          /* filled in on reads */
        int64_t tenant_id;            /* 0: the operator's own token */
        char *reason;
        int64_t created_usec;
        int64_t expires_usec;
} PlatformToken;
void platform_token_done(PlatformToken *t);

int store_platform_token_put(Store *s, const uint8_t digest[static STORE_DIGEST_SIZE], const PlatformToken *t);
/* The token with this digest, unless it expired before now (-ETIME) or
 * is unknown (-ENOENT). Expired tokens are purged on the way. */
int store_platform_token_get(Store *s, const uint8_t digest[static STORE_DIGEST_SIZE], int64_t now_usec,
                             PlatformToken *ret);

/* Users of every tenant whose e-mail address begins with prefix (case
 * ignored), by address then id, after (after_email, after_id) when
 * after_email is set; limit of them. */
int store_user_search_email(Store *s, const char *prefix, const char *after_email, int64_t after_id, size_t limit,
                            UserRecord ***ret, size_t *ret_n);

/* Audit. Appending a refusal may count it on an identical recent event
 * instead (audit.h). */
int store_audit_append(Store *s, const AuditEvent *e);
int store_audit_list(Store *s, const AuditFilter *f, AuditEvent **ret, size_t *ret_n);
/* A page of a tenant's events (AuditQuery), newest first. */
int store_audit_query(Store *s, const AuditQuery *q, AuditEvent **ret, size_t *ret_n);

/* Retention (audit-retention.h). An event may go once it was last seen
 * before before_usec, or when max_rows newer events follow it; never while
 * it was first seen at or after hold_usec, since repeats may still be
 * counted on it (and an export would miss them). */
typedef struct AuditPrune {
        int64_t before_usec;      /* 0: no age limit */
        uint64_t max_rows;        /* 0: no size limit */
        int64_t hold_usec;
} AuditPrune;
/* The oldest events, oldest first, up to limit of them and up to the first
 * that must stay: what the next batch deletes, to export first. */
int store_audit_prunable(Store *s, const AuditPrune *p, size_t limit, AuditEvent **ret, size_t *ret_n);
/* Deletes the events with ids first_id..last_id (inside a transaction of
 * the caller's); *ret_n says how many went. */
int store_audit_delete(Store *s, int64_t first_id, int64_t last_id, uint64_t *ret_n);
