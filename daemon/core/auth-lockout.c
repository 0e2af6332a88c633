/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "auth-lockout.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "time-util.h"

/* 4096 names in sets of 8: about 330 KiB. */
#define UNKNOWN_SETS 512
#define UNKNOWN_WAYS 8

/* How long the level-th lock (from 0) lasts: lockout_time, doubled per
 * level, at most lockout_max_time. */
static int64_t lock_duration_usec(const Config *c, uint32_t level) {
        uint64_t t = c->lockout_time;

        for (uint32_t i = 0; i < level && t < c->lockout_max_time; i++)
                t *= 2;
        return (int64_t) MIN(t, (uint64_t) c->lockout_max_time) * (int64_t) USEC_PER_SEC;
}

int64_t auth_lockout_count_failure(const Config *c, AuthState *st, int64_t now) {
        int64_t until = 0;

        if (st->failed_count == 0 ||
            now - st->first_failure_usec > (int64_t) c->lockout_interval * (int64_t) USEC_PER_SEC) {
                st->failed_count = 0;
                st->first_failure_usec = now;
        }
        st->failed_count++;
        st->last_failure_usec = now;

        if (c->lockout_failures > 0 && st->failed_count >= c->lockout_failures) {
                until = now + lock_duration_usec(c, st->lock_level);
                st->lock_level++;
                st->failed_count = 0;
                st->first_failure_usec = 0;
        }
        return until;
}

typedef struct UnknownName {
        uint8_t key[AUTH_LOCKOUT_KEY_SIZE];
        bool used;
        AuthState state;
        int64_t locked_until_usec;
} UnknownName;

struct UnknownLockouts {
        pthread_mutex_t lock;
        UnknownName names[UNKNOWN_SETS][UNKNOWN_WAYS];
};

UnknownLockouts *unknown_lockouts_new(void) {
        UnknownLockouts *l = calloc(1, sizeof(UnknownLockouts));

        if (!l)
                return NULL;
        if (pthread_mutex_init(&l->lock, NULL) != 0) {
                free(l);
                return NULL;
        }
        return l;
}

UnknownLockouts *unknown_lockouts_free(UnknownLockouts *l) {
        if (!l)
                return NULL;
        pthread_mutex_destroy(&l->lock);
        free(l);
        return NULL;
}

/* When a name last mattered: its last failure, or the end of its lock. A
 * name still locked outlives the names that failed since. */
static int64_t recency(const UnknownName *n) {
        return MAX(n->state.last_failure_usec, n->locked_until_usec);
}

/* The name's slot: its own, else a free one, else the one that mattered
 * least recently (forgotten for it). */
static UnknownName *slot_of(UnknownLockouts *l, const uint8_t key[static AUTH_LOCKOUT_KEY_SIZE]) {
        /* The key is a keyed digest: any of its bytes picks the set evenly. */
        UnknownName *set = l->names[((size_t) key[0] << 8 | key[1]) % UNKNOWN_SETS], *victim = NULL;

        for (size_t i = 0; i < UNKNOWN_WAYS; i++) {
                UnknownName *n = &set[i];

                if (n->used && memcmp(n->key, key, AUTH_LOCKOUT_KEY_SIZE) == 0)
                        return n;
                if (!victim || (victim->used && (!n->used || recency(n) < recency(victim))))
                        victim = n;
        }
        *victim = (UnknownName) { .used = true };
        memcpy(victim->key, key, AUTH_LOCKOUT_KEY_SIZE);
        return victim;
}

bool unknown_lockouts_fail(UnknownLockouts *l, const Config *c, const uint8_t key[static AUTH_LOCKOUT_KEY_SIZE],
                           int64_t now, int64_t *ret_until) {
        UnknownName *n;
        bool locked;

        pthread_mutex_lock(&l->lock);
        n = slot_of(l, key);
        locked = n->locked_until_usec > now;
        if (locked)
                *ret_until = n->locked_until_usec;
        else {
                *ret_until = auth_lockout_count_failure(c, &n->state, now);
                if (*ret_until > 0)
                        n->locked_until_usec = *ret_until;
        }
        pthread_mutex_unlock(&l->lock);
        return locked;
}
