/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The module's view of the daemon's memory cache (lib/nss-cache.h): one
 * read-only mapping per process, replaced when the daemon invalidates it. */

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a cache lookup found. */
enum {
        MCACHE_MISS = 0,          /* ask the daemon */
        MCACHE_FOUND = 1,
        MCACHE_NOTFOUND = 2,      /* the cache is complete and has no such entry */
        MCACHE_ERANGE = 3,        /* found, but the caller's buffer is too small */
};

/* True when the next socket request should ask for the cache: there is no
 * valid mapping and the cache is not disabled ($TESSERA_NSS_CACHE=0). */
bool nss_mcache_wanted(void);

/* Maps the cache the daemon passed (fd, announced size); takes the fd. A
 * descriptor that is not a sealed memfd of that size, or an image that
 * does not verify, is refused and closed. */
void nss_mcache_install(int fd, uint64_t size);

int nss_mcache_getpwnam(const char *name, struct passwd *pw, char *buf, size_t buflen);
int nss_mcache_getpwuid(uid_t uid, struct passwd *pw, char *buf, size_t buflen);
int nss_mcache_getgrnam(const char *name, struct group *gr, char *buf, size_t buflen);
int nss_mcache_getgrgid(gid_t gid, struct group *gr, char *buf, size_t buflen);

/* Supplementary gids of a user, handed one by one to add(); MCACHE_FOUND,
 * MCACHE_NOTFOUND or MCACHE_MISS. add() returns < 0 to stop (-ENOMEM). */
int nss_mcache_initgroups(const char *name, int (*add)(uint32_t gid, void *userdata), void *userdata, int *ret_error);
