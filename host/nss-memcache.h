/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's side of the NSS memory cache (lib/nss-cache.h): builds the
 * image of every account the host sees into a sealed memfd, hands its
 * descriptor to the lookup server, stamps its heartbeat, and invalidates
 * it whenever the data changes. The first image is built on the caller's
 * thread; every later one on a thread of the cache's own, so that a rebuild
 * (seconds at a million accounts) never holds up the main loop. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct Manager Manager;
typedef struct NssMemcache NssMemcache;

/* Builds the first image and starts the timers on the manager's loop. */
int nss_memcache_new(Manager *m, NssMemcache **ret);
/* Invalidates the published image (clients stop using it) and frees. */
NssMemcache *nss_memcache_free(NssMemcache *c);

/* Called from any thread after a change was committed: the published
 * image is invalidated before this returns, so that a change acknowledged
 * afterwards is never contradicted by the cache; a new image follows on
 * the main loop shortly after. */
void nss_memcache_invalidate(NssMemcache *c);

/* A new descriptor of the current valid image and its size, for passing
 * to a client; -ENOENT when there is none right now. */
int nss_memcache_get_fd(NssMemcache *c, uint64_t *ret_size);

/* For /metrics (host-metrics.c). */
typedef struct NssMemcacheStats {
        bool valid;               /* an image is published and current */
        uint64_t size;            /* its bytes; 0 when none is valid */
        uint64_t invalidations;   /* changes that made the image stale */
        uint64_t published;       /* rebuilds that published an image (the first included) */
        uint64_t superseded;      /* rebuilds a change overtook before they were done */
        uint64_t failed;          /* rebuilds that failed (tried again after a while) */
        uint64_t last_rebuild_usec; /* what the last published rebuild took; 0 before the first */
} NssMemcacheStats;

void nss_memcache_get_stats(NssMemcache *c, NssMemcacheStats *ret);
