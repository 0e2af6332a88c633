/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The authentication socket (pam.sock): pam_tessera.so's door into the
 * authentication core. Runs on the main loop; the password hashes it asks
 * for run on the worker pool, so lookups and D-Bus calls never wait behind
 * them, and the pool's size caps how many run at once. */

#include "manager.h"

typedef struct PamServer PamServer;

/* Binds the socket ([pam] socket, default RUNTIME/pam.sock, mode 0666:
 * every caller is checked by SO_PEERCRED) and serves it. */
int pam_server_start(Manager *m, PamServer **ret);
PamServer *pam_server_free(PamServer *s);
