/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Descriptors are the one resource all doors share, and running out of
 * them on the lookup or the authentication socket takes the host's logins
 * down. So the limit is raised as far as it goes at start, and split: the
 * daemon's own descriptors (store connections, bus, journal, threads) and a
 * reserve for every connection the lookup and authentication sockets may
 * hold come first; HTTP gets what is left, and its connection limit is
 * held to that. */

#include "config.h"

/* Descriptors of the daemon itself, beyond what its threads hold. */
#define FD_BUDGET_OWN 64
/* Each HTTP thread: its event loop, a wake-up descriptor and a store
 * connection (database, WAL and temporary files). */
#define FD_BUDGET_PER_HTTP_THREAD 8
/* Fewer HTTP connections than this is a configuration mistake. */
#define FD_BUDGET_HTTP_MIN 16
/* [http] connection_limit = 0 takes what the budget allows, up to this
 * (each connection may hold max_header_size + 8 KiB of memory). */
#define FD_BUDGET_HTTP_AUTO_MAX 4096

typedef struct FdBudget {
        unsigned limit;           /* RLIMIT_NOFILE (the soft limit, as raised) */
        unsigned own;             /* the daemon's own, HTTP threads included */
        unsigned nss;             /* kept for the lookup socket */
        unsigned pam;             /* kept for the authentication socket */
        unsigned http;            /* HTTP connections; 0 without an HTTP server */
} FdBudget;

/* Raises the soft RLIMIT_NOFILE to the hard one, as systemd advises for
 * services that need many descriptors (no select() here to break), and
 * returns the soft limit in effect. */
int fd_limit_raise(unsigned *ret_limit);

/* Splits limit for the configuration c, with http_threads HTTP threads
 * (0: no HTTP server). A configured connection limit that would eat into
 * the reserve is lowered, with a warning; a limit too small for the
 * reserve and FD_BUDGET_HTTP_MIN HTTP connections is refused (-ENFILE). */
int fd_budget_plan(const Config *c, unsigned limit, unsigned http_threads, FdBudget *ret);
