/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sessions: one login each (a PAM session now; web sessions later), opened
 * and closed by the channel that started it, listed over D-Bus. Who may:
 * root and administrators for anyone, users for themselves. */

#include "change.h"
#include "manager.h"

typedef struct SessionSpec {
        const char *kind;             /* "pam", "web", ... */
        const char *service;
        const char *tty;
        const char *remote_host;
        const char *remote_user;
        uint32_t pid;
} SessionSpec;

int session_open(Manager *m, Store *s, const Principal *a, const UserRecord *u, const SessionSpec *spec, int64_t *ret_id,
                 TesseraError *e);
/* Closes session id of the user; without an id (0), the newest open one
 * from the same service, tty and pid (a PAM close that lost the id). */
int session_close(Manager *m, Store *s, const Principal *a, const UserRecord *u, int64_t id, const SessionSpec *spec,
                  TesseraError *e);
/* Administrators list anyone's sessions; others only their own, so their
 * filter must name their own user. */
int session_list(Manager *m, Store *s, const Principal *a, const SessionFilter *f, SessionRecord **ret, size_t *ret_n,
                 TesseraError *e);
