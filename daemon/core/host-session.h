/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Host sessions: one login on a host each (a PAM session: console, sshd,
 * su), opened and closed by the login stack, listed over D-Bus
 * (ListSessions). Who may: root and administrators for anyone, users for
 * themselves. Not to be confused with the browser (SSO) sessions of the
 * OpenID provider, which are the OAuth core's. */

#include "change.h"
#include "manager.h"

typedef struct HostSessionSpec {
        const char *kind;             /* "pam", "web", ... */
        const char *service;
        const char *tty;
        const char *remote_host;
        const char *remote_user;
        uint32_t pid;
} HostSessionSpec;

int host_session_open(Manager *m, Store *s, const Principal *a, const UserRecord *u, const HostSessionSpec *spec,
                      int64_t *ret_id, TesseraError *e);
/* Closes session id of the user; without an id (0), the newest open one
 * from the same service, tty and pid (a PAM close that lost the id). */
int host_session_close(Manager *m, Store *s, const Principal *a, const UserRecord *u, int64_t id,
                       const HostSessionSpec *spec, TesseraError *e);
/* Administrators list anyone's sessions; others only their own, so their
 * filter must name their own user. */
int host_session_list(Manager *m, Store *s, const Principal *a, const HostSessionFilter *f, HostSessionRecord **ret,
                      size_t *ret_n, TesseraError *e);

/* Closes every open host session of user_id inside the caller's
 * transaction, at now_usec, without audit of its own (the change that
 * ends them records it, a password reset); the ids closed into *ret_ids
 * (*ret_n, maybe 0) for host_sessions_ended() once the transaction has
 * committed. This ends tessera's record of the logins, as the login
 * stack's close would: the login processes themselves are not signalled
 * (that would take logind, over the bus, which the core does not use). */
int host_session_close_all(Store *s, int64_t user_id, int64_t now_usec, int64_t **ret_ids, size_t *ret_n);

/* After the commit: announces each as closed (events.h), as the login
 * stack's close would. */
void host_sessions_ended(Manager *m, const UserRecord *u, const int64_t *ids, size_t n);
