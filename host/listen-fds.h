/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Listening sockets handed over by the service manager (sd_listen_fds(3)).
 * Installed, systemd owns nss.sock and pam.sock (tessera-nss.socket and
 * tessera-pam.socket): it binds them with the permissions the units set,
 * keeps them open while tesserad restarts, so that lookups and logins wait
 * in the backlog instead of failing, and starts tesserad on the first
 * connection. Started by hand (development, tests), nothing is handed over
 * and each door binds its socket itself. */

#include "macro.h"

typedef struct ListenFds ListenFds;

/* Takes what LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES describe, and clears
 * them from the environment. Nothing handed over is no error: *ret is then
 * an empty set. */
int listen_fds_receive(ListenFds **ret);

/* The door called name ("nss", "pam": the units' FileDescriptorName=) whose
 * socket is configured at path takes its socket: the one of that name, or
 * else the one bound to that path. Returns the descriptor (now the
 * caller's, non-blocking), -ENOENT when none was handed over (the door
 * binds its own), or -EINVAL, logged, when the one handed over is not a
 * listening Unix stream socket. */
int listen_fds_take(ListenFds *l, const char *name, const char *path);

/* Once every door started: closes, with a warning, whatever none took. */
void listen_fds_close_unused(ListenFds *l);

/* Closes whatever no door took, quietly (start-up failed anyway). */
ListenFds *listen_fds_free(ListenFds *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(ListenFds *, listen_fds_free);
