/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nss.sock: the lookup socket the NSS module asks, served on the main
 * loop. Every client may read (passwd and group data are public); what a
 * client can make us spend is bounded: request size, connections, and the
 * time a connection may sit half-way through a request or a reply. */

typedef struct ListenFds ListenFds;
typedef struct Manager Manager;
typedef struct NssServer NssServer;

/* FileDescriptorName= of tessera-nss.socket. */
#define NSS_LISTEN_FD_NAME "nss"

/* Publishes the memory cache ([nss] memory_cache) and serves the socket
 * ([nss] socket, default RUNTIME/nss.sock): the one systemd handed over in
 * listen_fds, or else one it binds itself. The cache follows the core's
 * change events. */
int nss_server_start(Manager *m, ListenFds *listen_fds, NssServer **ret);
NssServer *nss_server_free(NssServer *s);
