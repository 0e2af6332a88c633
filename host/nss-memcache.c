/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-memcache.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "log.h"
#include "manager.h"
#include "nss-cache.h"
#include "nss-lookup.h"
#include "store-pool.h"
#include "time-util.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* Changes come in bursts (an import, a script): wait this long after one
 * before rebuilding, so a burst costs one rebuild. Lookups meanwhile go to
 * the socket, which reads the store. */
#define REBUILD_DELAY_USEC (20 * 1000ULL)
/* The timer's accuracy: sd-event's default (250 ms) would stretch the
 * delay above more than tenfold. */
#define REBUILD_DELAY_ACCURACY_USEC (1000ULL)
/* A rebuild that failed (descriptors or memory ran out, the store was
 * busy) is tried again after this, not only at the next change: the data
 * may not change for days. */
#define REBUILD_RETRY_USEC (5 * 1000000ULL)

struct NssMemcache {
        Manager *manager;
        /* Guards the fields below against nss_memcache_invalidate() from
         * other threads. Held only for pointer swaps and single stores. */
        pthread_mutex_t lock;
        int fd;                   /* the published image, or -1 */
        void *map;
        size_t size;
        uint64_t seq;             /* of the next image, even */
        uint64_t generation;      /* bumped by every invalidation */
        bool valid;
        /* For /metrics: rebuilds by how they ended, and how long the last
         * published one took (it grows with the accounts a host sees). */
        uint64_t n_published, n_superseded, n_failed;
        uint64_t last_rebuild_usec;

        int event_fd;             /* wakes the main loop after an invalidation */
        sd_event_source *event_source, *rebuild_timer, *heartbeat_timer;

        /* Rebuilds after the first run on a thread of their own, with a
         * store connection of its own: reading every account a host sees
         * takes seconds at a million users, and the main loop answers the
         * lookups that the socket gets meanwhile (the image is invalid
         * from the change on). Under lock: */
        pthread_cond_t wake;      /* requested or stopping changed */
        bool requested;           /* the main loop's timer asked for a rebuild */
        bool stopping;            /* nss_memcache_free(): give up and end */
        bool thread_started;
        pthread_t thread;
        Store *thread_store;
};

static void unpublish_locked(NssMemcache *c) {
        if (c->map) {
                nss_cache_invalidate(c->map);
                munmap(c->map, c->size);
        }
        safe_close(c->fd);
        c->fd = -1;
        c->map = NULL;
        c->size = 0;
        c->valid = false;
}

NssMemcache *nss_memcache_free(NssMemcache *c) {
        if (!c)
                return NULL;
        if (c->thread_started) {
                pthread_mutex_lock(&c->lock);
                __atomic_store_n(&c->stopping, true, __ATOMIC_RELAXED);
                pthread_cond_signal(&c->wake);
                pthread_mutex_unlock(&c->lock);
                pthread_join(c->thread, NULL);
        }
        store_close(c->thread_store);
        pthread_cond_destroy(&c->wake);
        sd_event_source_disable_unref(c->event_source);
        sd_event_source_disable_unref(c->rebuild_timer);
        sd_event_source_disable_unref(c->heartbeat_timer);
        pthread_mutex_lock(&c->lock);
        unpublish_locked(c);
        pthread_mutex_unlock(&c->lock);
        pthread_mutex_destroy(&c->lock);
        safe_close(c->event_fd);
        free(c);
        return NULL;
}

static int cmp_user_id(const void *a, const void *b) {
        int64_t x = (*(UserRecord * const *) a)->id, y = (*(UserRecord * const *) b)->id;
        return x < y ? -1 : x > y;
}

static int cmp_group_id(const void *a, const void *b) {
        int64_t x = (*(GroupRecord * const *) a)->id, y = (*(GroupRecord * const *) b)->id;
        return x < y ? -1 : x > y;
}

/* Index of the user with that id in users (sorted by id), or -1. */
static ssize_t user_index(UserRecord **users, size_t n, int64_t id) {
        UserRecord key = { .id = id }, *k = &key, **f;

        if (n == 0)
                return -1;
        f = bsearch(&k, users, n, sizeof(UserRecord *), cmp_user_id);
        return f ? f - users : -1;
}

/* Everything one image is made of, read in one snapshot. */
typedef struct Snapshot {
        UserRecord **users;       /* sorted by id */
        GroupRecord **groups;     /* sorted by id */
        StoreMembership *ms;      /* sorted by group, then user */
        size_t n_users, n_groups, n_ms;
        uint32_t *gids;           /* per user: gids[first[i]] .. gids[first[i] + n[i] - 1] */
        size_t *first, *n;
} Snapshot;

static void snapshot_done(Snapshot *sn) {
        user_record_array_free(sn->users, sn->n_users);
        group_record_array_free(sn->groups, sn->n_groups);
        free(sn->ms);
        free(sn->gids);
        free(sn->first);
        free(sn->n);
}

static int snapshot_read(Store *s, Snapshot *sn) {
        int r;

        r = store_begin_read(s);
        if (r < 0)
                return r;
        r = store_lookup_users(s, 0, SIZE_MAX, &sn->users, &sn->n_users);
        if (r >= 0)
                r = store_lookup_groups(s, 0, SIZE_MAX, &sn->groups, &sn->n_groups);
        if (r >= 0)
                r = store_lookup_memberships(s, &sn->ms, &sn->n_ms);
        store_end_read(s);
        if (r < 0)
                return r;
        /* qsort() and bsearch() want a real array even when it is empty. */
        if (sn->n_users > 1)
                qsort(sn->users, sn->n_users, sizeof(UserRecord *), cmp_user_id);
        if (sn->n_groups > 1)
                qsort(sn->groups, sn->n_groups, sizeof(GroupRecord *), cmp_group_id);

        /* Supplementary gids per user, in two passes over the memberships:
         * count, then fill. */
        sn->first = calloc(sn->n_users + 1, sizeof(size_t));
        sn->n = calloc(sn->n_users + 1, sizeof(size_t));
        sn->gids = malloc((sn->n_ms + 1) * sizeof(uint32_t));
        if (!sn->first || !sn->n || !sn->gids)
                return -ENOMEM;
        for (int pass = 0; pass < 2; pass++) {
                size_t g = 0;

                for (size_t k = 0; k < sn->n_ms; k++) {
                        ssize_t u;

                        while (g < sn->n_groups && sn->groups[g]->id < sn->ms[k].group_id)
                                g++;
                        if (g == sn->n_groups || sn->groups[g]->id != sn->ms[k].group_id)
                                continue;
                        u = user_index(sn->users, sn->n_users, sn->ms[k].user_id);
                        if (u < 0)
                                continue;
                        if (pass == 0)
                                sn->n[u]++;
                        else
                                sn->gids[sn->first[u] + sn->n[u]++] = sn->groups[g]->gid;
                }
                if (pass == 0)
                        for (size_t i = 0, acc = 0; i < sn->n_users; i++) {
                                sn->first[i] = acc;
                                acc += sn->n[i];
                                sn->n[i] = 0;
                        }
        }
        return 0;
}

static int add_groups(const Config *conf, const Snapshot *sn, int64_t now, NssCacheBuilder *b) {
        _cleanup_free_ const char **members = malloc((sn->n_ms + 1) * sizeof(char *));
        _cleanup_free_ char *names = malloc((sn->n_ms + 1) * (NSS_MAX_NAME + 1));
        char shown_buf[NSS_MAX_NAME + 1];
        size_t k = 0;
        int r;

        if (!members || !names)
                return -ENOMEM;
        for (size_t gi = 0; gi < sn->n_groups; gi++) {
                const GroupRecord *g = sn->groups[gi];
                size_t n_members = 0, off = 0;
                uint64_t hide_after = 0;
                const char *shown;

                while (k < sn->n_ms && sn->ms[k].group_id < g->id)
                        k++;
                for (; k < sn->n_ms && sn->ms[k].group_id == g->id; k++) {
                        ssize_t u = user_index(sn->users, sn->n_users, sn->ms[k].user_id);
                        const char *m;

                        if (u < 0)
                                continue;
                        m = nss_name_show(conf, sn->users[u]->name, sn->users[u]->tenant, names + off,
                                          NSS_MAX_NAME + 1);
                        if (!m)
                                continue;
                        members[n_members++] = m;
                        off += strlen(m) + 1;
                }

                shown = nss_name_show(conf, g->name, g->tenant, shown_buf, sizeof(shown_buf));
                if (!shown)
                        continue;
                if (g->private_user_id != 0) {
                        /* The user-private group goes and comes with its user. */
                        ssize_t u = user_index(sn->users, sn->n_users, g->private_user_id);
                        if (u < 0 || nss_user_hidden(sn->users[u], now, &hide_after))
                                continue;
                        n_members = 0;
                }
                r = nss_cache_builder_add_group(b, &(NssGroupEntry) {
                        .name = shown,
                        .gid = g->gid,
                        .members = members,
                        .n_members = n_members,
                        .hide_after_usec = hide_after,
                });
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_users(const Config *conf, const Snapshot *sn, int64_t now, NssCacheBuilder *b) {
        char shown_buf[NSS_MAX_NAME + 1];
        int r;

        for (size_t i = 0; i < sn->n_users; i++) {
                const UserRecord *u = sn->users[i];
                uint64_t hide_after;
                const char *shown;

                if (nss_user_hidden(u, now, &hide_after))
                        continue;
                shown = nss_name_show(conf, u->name, u->tenant, shown_buf, sizeof(shown_buf));
                if (!shown)
                        continue;
                r = nss_cache_builder_add_user(b, &(NssUserEntry) {
                        .name = shown,
                        .uid = u->uid,
                        .gid = u->gid,
                        .gecos = u->real_name,
                        .dir = u->home,
                        .shell = u->shell,
                        .groups = sn->gids + sn->first[i],
                        .n_groups = sn->n[i],
                        .hide_after_usec = hide_after,
                });
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Adds every account the host sees to b: 1 when all went in, 0 when the
 * image reached its size limit (the rest is answered by the socket). */
static int collect(NssMemcache *c, Store *s, NssCacheBuilder *b) {
        const Config *conf = c->manager->config;
        Snapshot sn = {};
        int64_t now = now_realtime_usec();
        int r;

        r = snapshot_read(s, &sn);
        /* Reading is most of the time; a daemon stopping does not wait for
         * the image it would throw away. */
        if (r >= 0 && __atomic_load_n(&c->stopping, __ATOMIC_RELAXED))
                r = -ECANCELED;
        if (r >= 0)
                r = add_users(conf, &sn, now, b);
        if (r >= 0)
                r = add_groups(conf, &sn, now, b);
        snapshot_done(&sn);
        if (r == -E2BIG)
                return 0;
        return r < 0 ? r : 1;
}

/* Builds an image into a new sealed memfd and publishes it, unless a
 * change came in while we read (then the next rebuild is already due). */
static int rebuild(NssMemcache *c, Store *store) {
        NssCacheBuilder *b = NULL;
        uint64_t generation, seq, start = now_monotonic_usec();
        size_t size;
        void *map = MAP_FAILED;
        int fd = -1, r, complete;
        bool published = false;

        pthread_mutex_lock(&c->lock);
        generation = c->generation;
        seq = c->seq;
        pthread_mutex_unlock(&c->lock);

        b = nss_cache_builder_new();
        if (!b)
                return log_oom();
        r = collect(c, store, b);
        if (r == -ECANCELED)
                goto finish;
        if (r < 0) {
                log_error_errno(r, "Failed to read accounts for the NSS memory cache: %m");
                goto finish;
        }
        complete = r;
        if (!complete)
                log_warning("The NSS memory cache is full (%u MiB); further lookups go by the socket.",
                            NSS_CACHE_MAX_SIZE / (1024 * 1024));

        size = nss_cache_builder_size(b);
        fd = memfd_create("tessera-nss-cache", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
                r = log_error_errno(-errno, "Failed to create the NSS memory cache: %m");
                goto finish;
        }
        if (ftruncate(fd, (off_t) size) < 0) {
                r = log_error_errno(-errno, "Failed to size the NSS memory cache: %m");
                goto finish;
        }
        map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
                r = log_error_errno(-errno, "Failed to map the NSS memory cache: %m");
                goto finish;
        }
        nss_cache_builder_write(b, map, seq, complete);
        nss_cache_heartbeat(map, now_monotonic_usec());
        /* From here on only our own mapping may write (sequence number,
         * heartbeat); nobody may shrink or grow the file under a reader. */
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
                r = log_error_errno(-errno, "Failed to seal the NSS memory cache: %m");
                goto finish;
        }

        pthread_mutex_lock(&c->lock);
        if (c->generation != generation) {
                /* Stale before it was born: a rebuild is already scheduled. */
                pthread_mutex_unlock(&c->lock);
                r = 0;
                goto finish;
        }
        unpublish_locked(c);
        c->fd = TAKE_FD(fd);
        c->map = TAKE_PTR(map);
        c->size = size;
        c->seq = seq + 2;
        c->valid = true;
        c->last_rebuild_usec = now_monotonic_usec() - start;
        pthread_mutex_unlock(&c->lock);
        log_debug("Published the NSS memory cache: %zu bytes%s.", size, complete ? "" : ", partial");
        published = true;
        r = 0;
finish:
        pthread_mutex_lock(&c->lock);
        if (r < 0)
                c->n_failed++;
        else if (published)
                c->n_published++;
        else
                c->n_superseded++;
        pthread_mutex_unlock(&c->lock);
        if (map != MAP_FAILED && map)
                munmap(map, size);
        safe_close(fd);
        nss_cache_builder_free(b);
        return r;
}

/* The rebuild thread: waits for a request, rebuilds, and after a failure
 * tries again by itself after REBUILD_RETRY_USEC (the data may not change
 * for days). A request that comes while it builds is served right after:
 * the image it was building is already stale then and is not published. */
static void *rebuild_thread(void *userdata) {
        NssMemcache *c = userdata;
        struct timespec retry_at = {};
        bool retry = false;
        int r;

        pthread_mutex_lock(&c->lock);
        for (;;) {
                while (!c->stopping && !c->requested) {
                        if (!retry) {
                                pthread_cond_wait(&c->wake, &c->lock);
                                continue;
                        }
                        if (pthread_cond_timedwait(&c->wake, &c->lock, &retry_at) == ETIMEDOUT)
                                break;
                }
                if (c->stopping)
                        break;
                c->requested = false;
                pthread_mutex_unlock(&c->lock);

                r = rebuild(c, c->thread_store);
                /* A rebuild allocates and frees the whole account set; give
                 * the freed heap back instead of keeping the peak resident
                 * (half of the daemon's memory at 100,000 users). */
                (void) malloc_trim(0);

                pthread_mutex_lock(&c->lock);
                retry = r < 0 && r != -ECANCELED;
                if (retry) {
                        uint64_t at = now_monotonic_usec() + REBUILD_RETRY_USEC;
                        retry_at = (struct timespec) { .tv_sec = at / USEC_PER_SEC,
                                                       .tv_nsec = (at % USEC_PER_SEC) * 1000 };
                }
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

static int on_rebuild(sd_event_source *s, uint64_t usec, void *userdata) {
        NssMemcache *c = userdata;

        pthread_mutex_lock(&c->lock);
        c->requested = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        return 0;
}

static int schedule_rebuild(NssMemcache *c, uint64_t delay) {
        uint64_t now;
        int r;

        r = sd_event_now(sd_event_source_get_event(c->event_source), CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        if (!c->rebuild_timer)
                return sd_event_add_time(sd_event_source_get_event(c->event_source), &c->rebuild_timer,
                                         CLOCK_MONOTONIC, now + delay, REBUILD_DELAY_ACCURACY_USEC, on_rebuild, c);
        r = sd_event_source_set_time(c->rebuild_timer, now + delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->rebuild_timer, SD_EVENT_ONESHOT);
        return r;
}

static int start_thread(NssMemcache *c) {
        int r;

        r = store_pool_open(c->manager->store_pool, &c->thread_store);
        if (r < 0)
                return log_error_errno(r, "Failed to open a store connection for the NSS memory cache: %m");

        r = -pthread_create(&c->thread, NULL, rebuild_thread, c);
        if (r < 0)
                return log_error_errno(r, "Failed to start the NSS memory cache's thread: %m");
        (void) pthread_setname_np(c->thread, "nss-cache");
        c->thread_started = true;
        return 0;
}

static int on_invalidated(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NssMemcache *c = userdata;
        eventfd_t v;
        int r;

        /* EAGAIN: reset already. A rebuild is scheduled whatever the read
         * says: it reads the generation, not the counter. */
        if (eventfd_read(fd, &v) < 0 && errno != EAGAIN)
                log_warning_errno(errno, "Failed to reset the wake-up of the NSS memory cache: %m");
        r = schedule_rebuild(c, REBUILD_DELAY_USEC);
        if (r < 0)
                log_error_errno(r, "Failed to schedule a rebuild of the NSS memory cache: %m");
        return 0;
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        NssMemcache *c = userdata;

        pthread_mutex_lock(&c->lock);
        if (c->map)
                nss_cache_heartbeat(c->map, now_monotonic_usec());
        pthread_mutex_unlock(&c->lock);
        (void) sd_event_source_set_time(s, usec + NSS_CACHE_HEARTBEAT_USEC);
        return 0;
}

int nss_memcache_new(Manager *m, NssMemcache **ret) {
        pthread_condattr_t attr;
        NssMemcache *c;
        uint64_t now;
        int r;

        c = calloc(1, sizeof(NssMemcache));
        if (!c)
                return log_oom();
        c->manager = m;
        c->fd = -1;
        pthread_mutex_init(&c->lock, NULL);
        /* Timed waits on the monotonic clock: a clock step must not make
         * the retry come at once or in a week. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&c->wake, &attr);
        pthread_condattr_destroy(&attr);
        c->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->event_fd < 0) {
                r = log_error_errno(-errno, "Failed to create an eventfd: %m");
                goto fail;
        }
        r = sd_event_add_io(m->event, &c->event_source, c->event_fd, EPOLLIN, on_invalidated, c);
        if (r >= 0)
                r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(m->event, &c->heartbeat_timer, CLOCK_MONOTONIC,
                                      now + NSS_CACHE_HEARTBEAT_USEC, 0, on_heartbeat, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->heartbeat_timer, SD_EVENT_ON);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the NSS memory cache: %m");
                goto fail;
        }
        /* The first image before the daemon says it is ready, on this
         * thread; the thread takes over from there. */
        r = rebuild(c, m->store);
        if (r >= 0)
                r = start_thread(c);
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        nss_memcache_free(c);
        return r;
}

void nss_memcache_invalidate(NssMemcache *c) {
        if (!c)
                return;
        pthread_mutex_lock(&c->lock);
        c->generation++;
        if (c->map)
                nss_cache_invalidate(c->map);
        c->valid = false;
        pthread_mutex_unlock(&c->lock);
        /* EAGAIN: a full counter (never in practice) wakes the loop all
         * the same. Otherwise no rebuild comes until the next change: the
         * image stays invalid, and lookups take the socket meanwhile. */
        if (eventfd_write(c->event_fd, 1) < 0 && errno != EAGAIN)
                log_error_errno(errno, "Failed to wake the main loop to rebuild the NSS memory cache: %m");
}

int nss_memcache_get_fd(NssMemcache *c, uint64_t *ret_size) {
        int fd;

        if (!c)
                return -ENOENT;
        pthread_mutex_lock(&c->lock);
        if (!c->valid || c->fd < 0) {
                pthread_mutex_unlock(&c->lock);
                return -ENOENT;
        }
        fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
                fd = -errno;
                pthread_mutex_unlock(&c->lock);
                return fd;
        }
        *ret_size = c->size;
        pthread_mutex_unlock(&c->lock);
        return fd;
}

void nss_memcache_get_stats(NssMemcache *c, NssMemcacheStats *ret) {
        pthread_mutex_lock(&c->lock);
        *ret = (NssMemcacheStats) {
                .valid = c->valid,
                .size = c->valid ? c->size : 0,
                .invalidations = c->generation,
                .published = c->n_published,
                .superseded = c->n_superseded,
                .failed = c->n_failed,
                .last_rebuild_usec = c->last_rebuild_usec,
        };
        pthread_mutex_unlock(&c->lock);
}
