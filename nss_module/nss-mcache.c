/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-mcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nss-cache.h"
#include "time-util.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* Readers hold the lock shared while they copy a record out; the mapping
 * is replaced or unmapped only under the exclusive lock. Every lock is a
 * try-lock: after fork() in a threaded program the child may inherit it
 * held by a thread that no longer exists, and must then use the socket
 * rather than hang. */
static pthread_rwlock_t map_lock = PTHREAD_RWLOCK_INITIALIZER;
static const void *map_addr;
static size_t map_size;
/* Set by a reader that found the image invalidated; cleared on install. */
static bool map_stale;

/* $TESSERA_NSS_CACHE=0 turns the cache off (debugging, benchmarks). Read
 * once per process, as nss_bypassed() does. */
static int disabled_state;

static bool disabled(void) {
        int s = __atomic_load_n(&disabled_state, __ATOMIC_RELAXED);

        if (s == 0) {
                const char *e = secure_getenv("TESSERA_NSS_CACHE");
                s = e && strcmp(e, "0") == 0 ? 2 : 1;
                __atomic_store_n(&disabled_state, s, __ATOMIC_RELAXED);
        }
        return s == 2;
}

bool nss_mcache_wanted(void) {
        if (disabled())
                return false;
        return !__atomic_load_n(&map_addr, __ATOMIC_RELAXED) || __atomic_load_n(&map_stale, __ATOMIC_RELAXED);
}

static void drop_stale(void) {
        if (pthread_rwlock_trywrlock(&map_lock) != 0)
                return;
        if (map_addr && map_stale) {
                munmap((void *) map_addr, map_size);
                map_addr = NULL;
                map_size = 0;
        }
        pthread_rwlock_unlock(&map_lock);
}

void nss_mcache_install(int fd, uint64_t size) {
        struct stat st;
        void *p;
        int seals;

        if (disabled() || size < sizeof(NssCacheHeader) || size > NSS_CACHE_MAX_SIZE)
                goto refuse;
        /* Without these seals the file could shrink under the mapping
         * (SIGBUS in the host process) or change under our feet. */
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || !(seals & F_SEAL_SHRINK) || !(seals & F_SEAL_GROW) ||
            !(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
                goto refuse;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_size != size)
                goto refuse;
        p = mmap(NULL, (size_t) size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                goto refuse;
        close(fd);
        if (nss_cache_verify(p, (size_t) size) < 0) {
                munmap(p, (size_t) size);
                return;
        }
        if (pthread_rwlock_trywrlock(&map_lock) != 0) {
                munmap(p, (size_t) size);
                return;
        }
        if (map_addr)
                munmap((void *) map_addr, map_size);
        map_addr = p;
        map_size = (size_t) size;
        map_stale = false;
        pthread_rwlock_unlock(&map_lock);
        return;
refuse:
        close(fd);
}

typedef int (*LookupFunc)(const void *image, size_t size, void *ctx);

/* Runs fn on a valid image under the shared lock; fn's result counts only
 * if the image stayed valid while it ran. */
static int run(LookupFunc fn, void *ctx) {
        uint64_t seq;
        bool stale = false;
        int r = MCACHE_MISS;

        if (!__atomic_load_n(&map_addr, __ATOMIC_RELAXED) || disabled())
                return MCACHE_MISS;
        if (pthread_rwlock_tryrdlock(&map_lock) != 0)
                return MCACHE_MISS;
        if (map_addr && !map_stale) {
                if (nss_cache_begin(map_addr, now_monotonic_usec(), &seq) < 0)
                        stale = true;
                else {
                        r = fn(map_addr, map_size, ctx);
                        if (r < 0)
                                r = MCACHE_MISS;   /* a broken record: let the daemon answer */
                        else if (r == MCACHE_MISS && nss_cache_is_complete(map_addr))
                                r = MCACHE_NOTFOUND;
                        if (!nss_cache_still_valid(map_addr, seq)) {
                                r = MCACHE_MISS;
                                stale = true;
                        }
                }
        }
        pthread_rwlock_unlock(&map_lock);
        if (stale) {
                __atomic_store_n(&map_stale, true, __ATOMIC_RELAXED);
                drop_stale();
        }
        return r;
}

static bool hidden(uint64_t hide_after_usec) {
        return hide_after_usec != 0 && (uint64_t) now_realtime_usec() >= hide_after_usec;
}

typedef struct PwCtx {
        const char *name;
        uint32_t id;
        struct passwd *pw;
        char *buf;
        size_t buflen;
} PwCtx;

static int pack_user(int found, const NssUserView *v, PwCtx *c) {
        if (found <= 0)
                return found < 0 ? found : MCACHE_MISS;
        if (hidden(v->hide_after_usec))
                return MCACHE_MISS;
        return nss_pack_passwd(v, c->pw, c->buf, c->buflen) < 0 ? MCACHE_ERANGE : MCACHE_FOUND;
}

static int pw_by_name(const void *image, size_t size, void *ctx) {
        PwCtx *c = ctx;
        NssUserView v;
        return pack_user(nss_cache_find_user_by_name(image, size, c->name, &v), &v, c);
}

static int pw_by_uid(const void *image, size_t size, void *ctx) {
        PwCtx *c = ctx;
        NssUserView v;
        return pack_user(nss_cache_find_user_by_uid(image, size, c->id, &v), &v, c);
}

int nss_mcache_getpwnam(const char *name, struct passwd *pw, char *buf, size_t buflen) {
        PwCtx c = { .name = name, .pw = pw, .buf = buf, .buflen = buflen };
        return run(pw_by_name, &c);
}

int nss_mcache_getpwuid(uid_t uid, struct passwd *pw, char *buf, size_t buflen) {
        PwCtx c = { .id = uid, .pw = pw, .buf = buf, .buflen = buflen };
        return run(pw_by_uid, &c);
}

typedef struct GrCtx {
        const char *name;
        uint32_t id;
        struct group *gr;
        char *buf;
        size_t buflen;
} GrCtx;

static int pack_group(int found, const NssGroupView *v, GrCtx *c) {
        if (found <= 0)
                return found < 0 ? found : MCACHE_MISS;
        if (hidden(v->hide_after_usec))
                return MCACHE_MISS;
        return nss_pack_group(v, c->gr, c->buf, c->buflen) < 0 ? MCACHE_ERANGE : MCACHE_FOUND;
}

static int gr_by_name(const void *image, size_t size, void *ctx) {
        GrCtx *c = ctx;
        NssGroupView v;
        return pack_group(nss_cache_find_group_by_name(image, size, c->name, &v), &v, c);
}

static int gr_by_gid(const void *image, size_t size, void *ctx) {
        GrCtx *c = ctx;
        NssGroupView v;
        return pack_group(nss_cache_find_group_by_gid(image, size, c->id, &v), &v, c);
}

int nss_mcache_getgrnam(const char *name, struct group *gr, char *buf, size_t buflen) {
        GrCtx c = { .name = name, .gr = gr, .buf = buf, .buflen = buflen };
        return run(gr_by_name, &c);
}

int nss_mcache_getgrgid(gid_t gid, struct group *gr, char *buf, size_t buflen) {
        GrCtx c = { .id = gid, .gr = gr, .buf = buf, .buflen = buflen };
        return run(gr_by_gid, &c);
}

/* Most users are in a handful of groups: those need no allocation. */
#define INITGROUPS_STACK 32

typedef struct InitgroupsCtx {
        const char *name;
        uint32_t *gids;           /* stack or heap */
        uint32_t *heap;
        size_t n_gids;
} InitgroupsCtx;

/* Collects the gids first and hands them on only once the image proved
 * valid to the end, so that a concurrent invalidation never leaks a stale
 * membership into the caller's list. */
static int cached_initgroups(const void *image, size_t size, void *ctx) {
        InitgroupsCtx *c = ctx;
        NssUserView v;
        size_t state = 0;
        uint32_t gid;
        int r;

        r = nss_cache_find_user_by_name(image, size, c->name, &v);
        if (r <= 0)
                return r < 0 ? r : MCACHE_MISS;
        if (hidden(v.hide_after_usec))
                return MCACHE_MISS;
        c->n_gids = 0;
        if (v.n_groups > INITGROUPS_STACK) {
                free(c->heap);
                c->heap = malloc(v.n_groups * sizeof(uint32_t));
                if (!c->heap)
                        return MCACHE_MISS;
                c->gids = c->heap;
        }
        while (c->n_gids < v.n_groups && nss_user_next_group(&v, &state, &gid) > 0)
                c->gids[c->n_gids++] = gid;
        return MCACHE_FOUND;
}

int nss_mcache_initgroups(const char *name, int (*add)(uint32_t gid, void *userdata), void *userdata, int *ret_error) {
        uint32_t stack[INITGROUPS_STACK];
        InitgroupsCtx c = { .name = name, .gids = stack };
        int r = run(cached_initgroups, &c);

        *ret_error = 0;
        if (r == MCACHE_FOUND)
                for (size_t i = 0; i < c.n_gids; i++) {
                        int e = add(c.gids[i], userdata);
                        if (e < 0) {
                                *ret_error = e;
                                break;
                        }
                }
        free(c.heap);
        return r;
}
