/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The authentication socket (pam.sock): pam_tessera.so's door into the
 * authentication core. Runs on the main loop; the password hashes it asks
 * for run on the worker pool, so lookups and D-Bus calls never wait behind
 * them, and the pool's size caps how many run at once. */

#include "manager.h"

typedef struct ListenFds ListenFds;
typedef struct PamServer PamServer;

/* FileDescriptorName= of tessera-pam.socket. */
#define PAM_LISTEN_FD_NAME "pam"

/* Serves the socket ([pam] socket, default RUNTIME/pam.sock): the one
 * systemd handed over in listen_fds, or else one it binds itself, mode
 * 0666 (every caller is checked by SO_PEERCRED). */
int pam_server_start(Manager *m, ListenFds *listen_fds, PamServer **ret);
PamServer *pam_server_free(PamServer *s);
