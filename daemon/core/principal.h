/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who asks. Every request, whichever door it came through, becomes one
 * Principal before any rule runs (DESIGN.md, "Principals and
 * authorization"): the D-Bus face and the socket servers make local
 * callers from peer credentials, the HTTP face makes the others from
 * tokens and keys. Core operations take it, ask the policy (policy.h) and
 * record it in the audit trail.
 *
 * A Principal is plain data with borrowed strings: it lives as long as the
 * request it describes. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "records.h"

typedef enum PrincipalKind {
        PRINCIPAL_ANONYMOUS,          /* nothing presented */
        PRINCIPAL_LOCAL,              /* a process on this host, by its peer credentials */
        PRINCIPAL_USER,               /* a tenant's user, by access token or console cookie */
        PRINCIPAL_OPERATOR,           /* a platform operator, signed in with TOTP */
        PRINCIPAL_IMPERSONATION,      /* an operator acting as a tenant admin, for a stated reason */
        PRINCIPAL_API_KEY,            /* a tenant's secret key: its scopes only */
        PRINCIPAL_PUBLISHABLE_KEY,    /* an application's key: end-user sign-up and sign-in only */
        PRINCIPAL_CLIENT,             /* a client-credentials access token: its scopes only */
        _PRINCIPAL_KIND_MAX,
        _PRINCIPAL_KIND_INVALID = -EINVAL,
} PrincipalKind;

typedef struct Principal {
        PrincipalKind kind;
        const char *channel;          /* "dbus", "pam", "nss", "http": for the audit trail */
        const char *remote;           /* peer address, remote host, bus sender */
        const char *name;             /* user, client id, key id or PAM service, when known */

        /* PRINCIPAL_LOCAL */
        int64_t uid;                  /* the caller's uid; -1 for every other kind */
        bool admin_group;             /* a member of [daemon] admin_group (root counts as one) */

        /* The tenant-bound kinds: USER, IMPERSONATION, API_KEY,
         * PUBLISHABLE_KEY, CLIENT. Nothing of another tenant is theirs. */
        int64_t tenant_id;
        int64_t user_id;              /* USER */
        UserRole role;                /* USER */
        int64_t operator_id;          /* OPERATOR, IMPERSONATION */
        const char *reason;           /* IMPERSONATION: why, for every audit event */
        int64_t application_id;       /* CLIENT, PUBLISHABLE_KEY; an API key bound to one */
        const char *scopes;           /* API_KEY, CLIENT: "tessera:users:read ..." */
} Principal;

static inline Principal principal_anonymous(const char *channel, const char *remote) {
        return (Principal) { .kind = PRINCIPAL_ANONYMOUS, .channel = channel, .remote = remote, .uid = -1 };
}

/* A local caller: root and members of the admin group administer the host's
 * tessera; everybody else acts for themselves. */
static inline Principal principal_local(const char *channel, uid_t uid, bool admin_group, const char *remote) {
        return (Principal) {
                .kind = PRINCIPAL_LOCAL,
                .channel = channel,
                .remote = remote,
                .uid = uid,
                .admin_group = uid == 0 || admin_group,
        };
}

static inline Principal principal_user(const char *channel, const UserRecord *u, const char *remote) {
        return (Principal) {
                .kind = PRINCIPAL_USER,
                .channel = channel,
                .remote = remote,
                .name = u->name,
                .uid = -1,
                .tenant_id = u->tenant_id,
                .user_id = u->id,
                .role = u->role,
        };
}

/* True for the kinds that belong to one tenant. */
bool principal_tenant_bound(const Principal *p);
/* True for a local caller running as root. */
bool principal_is_root(const Principal *p);
/* True when the principal holds scope ("tessera:users:write"); a write
 * scope implies the read scope of the same area. */
bool principal_has_scope(const Principal *p, const char *scope);

const char *principal_kind_to_string(PrincipalKind k);
PrincipalKind principal_kind_from_string(const char *s);
