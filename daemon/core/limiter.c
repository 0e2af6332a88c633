/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "limiter.h"

#include <arpa/inet.h>
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>

#include "siphash.h"
#include "time-util.h"

/* Slots per bucket: a new key competes with this many for a place. */
#define LIMITER_WAYS 8
/* Locks, each for every LIMITER_LOCKS-th bucket: enough that the HTTP
 * threads rarely meet on one. */
#define LIMITER_LOCKS 64

typedef struct LimitEntry {
        uint64_t fingerprint;     /* keyed hash of kind and key, odd; 0: a free slot */
        /* GCRA's "theoretical arrival time": the bucket is full again at
         * tat_usec; each failure moves it on by the rule's interval. */
        uint64_t tat_usec;
        bool refusing;            /* the last check refused */
} LimitEntry;

typedef struct LimitLock {
        pthread_mutex_t mutex;
} __attribute__((aligned(64))) LimitLock;

struct Limiter {
        LimiterOptions options;
        uint8_t hash_key[_LIMIT_KIND_MAX][SIPHASH_KEY_SIZE];
        size_t n_buckets;         /* a power of two */
        LimitEntry *entries;      /* n_buckets * LIMITER_WAYS */
        LimitLock locks[LIMITER_LOCKS];
        _Atomic uint64_t n_evictions;
};

static const char *const kind_names[_LIMIT_KIND_MAX] = {
        [LIMIT_ADDRESS] = "address",
        [LIMIT_CLIENT] = "client",
        [LIMIT_ACCOUNT] = "account",
        [LIMIT_SIGNUP] = "signup",
};

const char *limit_kind_to_string(LimitKind k) {
        return k >= 0 && k < _LIMIT_KIND_MAX ? kind_names[k] : "unknown";
}

int limiter_new(const LimiterOptions *o, Limiter **ret) {
        _cleanup_(limiter_freep) Limiter *l = NULL;
        size_t n = 1;

        if (o->max_entries == 0 || o->max_entries > (SIZE_MAX / sizeof(LimitEntry)) / 2 || o->ipv6_prefix < 1 ||
            o->ipv6_prefix > 128)
                return -EINVAL;
        for (size_t k = 0; k < _LIMIT_KIND_MAX; k++)
                if (o->rules[k].burst > 0 && o->rules[k].interval_usec == 0)
                        return -EINVAL;

        l = calloc(1, sizeof(Limiter));
        if (!l)
                return -ENOMEM;
        l->options = *o;
        while (n * LIMITER_WAYS < o->max_entries)
                n *= 2;
        l->n_buckets = n;
        l->entries = calloc(n * LIMITER_WAYS, sizeof(LimitEntry));
        if (!l->entries)
                return -ENOMEM;
        /* One key per kind: "10.0.0.1" as an address and as a client id are
         * different keys. */
        if (getrandom(l->hash_key, sizeof(l->hash_key), 0) != (ssize_t) sizeof(l->hash_key))
                return errno > 0 ? -errno : -EIO;
        for (size_t i = 0; i < LIMITER_LOCKS; i++)
                pthread_mutex_init(&l->locks[i].mutex, NULL);

        *ret = TAKE_PTR(l);
        return 0;
}

Limiter *limiter_free(Limiter *l) {
        if (!l)
                return NULL;
        /* Half-built ones have no entries and no locks yet. */
        if (l->entries)
                for (size_t i = 0; i < LIMITER_LOCKS; i++)
                        pthread_mutex_destroy(&l->locks[i].mutex);
        free(l->entries);
        free(l);
        return NULL;
}

size_t limiter_capacity(const Limiter *l) {
        return l->n_buckets * LIMITER_WAYS;
}

uint64_t limiter_evictions(const Limiter *l) {
        return atomic_load(&((Limiter *) l)->n_evictions);
}

/* The hash of a key. Addresses hash in binary: IPv4 (also written as
 * IPv4-mapped IPv6) as its 4 bytes, IPv6 as its prefix, since one host
 * gets a whole /64 and changes addresses within it at will. */
static uint64_t key_hash(const Limiter *l, LimitKind kind, const char *key) {
        const uint8_t *hk = l->hash_key[kind];
        uint64_t h;

        if (kind == LIMIT_ADDRESS) {
                struct {
                        uint8_t family;
                        uint8_t bytes[16];
                } a = {};
                unsigned prefix = l->options.ipv6_prefix;
                static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

                if (inet_pton(AF_INET, key, a.bytes) == 1) {
                        a.family = 4;
                        h = siphash24(hk, &a, 1 + 4);
                } else if (inet_pton(AF_INET6, key, a.bytes) == 1) {
                        if (memcmp(a.bytes, v4_mapped, sizeof(v4_mapped)) == 0) {
                                memmove(a.bytes, a.bytes + 12, 4);
                                a.family = 4;
                                h = siphash24(hk, &a, 1 + 4);
                        } else {
                                a.family = 6;
                                for (unsigned bit = prefix; bit < 128; bit++)
                                        a.bytes[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
                                h = siphash24(hk, &a, 1 + 16);
                        }
                } else
                        /* Not an address (a Unix socket peer, "?"): a key
                         * of its own, apart from every address. */
                        h = siphash24(hk, key, strlen(key));
        } else
                h = siphash24(hk, key, strlen(key));
        /* Odd: 0 marks a free slot. */
        return h | 1;
}

static LimitEntry *bucket_of(Limiter *l, uint64_t h, pthread_mutex_t **ret_lock) {
        size_t b = (size_t) (h >> 1) & (l->n_buckets - 1);

        *ret_lock = &l->locks[b % LIMITER_LOCKS].mutex;
        return &l->entries[b * LIMITER_WAYS];
}

static LimitEntry *bucket_find(LimitEntry *bucket, uint64_t h) {
        for (size_t i = 0; i < LIMITER_WAYS; i++)
                if (bucket[i].fingerprint == h)
                        return &bucket[i];
        return NULL;
}

/* A slot for a new key: a free one, else the one whose bucket refills
 * first (a key already forgiven loses nothing by going). */
static LimitEntry *bucket_take(Limiter *l, LimitEntry *bucket, uint64_t h, uint64_t now) {
        LimitEntry *victim = &bucket[0];

        for (size_t i = 0; i < LIMITER_WAYS; i++) {
                if (bucket[i].fingerprint == 0) {
                        victim = &bucket[i];
                        break;
                }
                if (bucket[i].tat_usec < victim->tat_usec)
                        victim = &bucket[i];
        }
        if (victim->fingerprint != 0 && victim->tat_usec > now)
                atomic_fetch_add(&l->n_evictions, 1);
        *victim = (LimitEntry) { .fingerprint = h, .tat_usec = now };
        return victim;
}

unsigned limiter_check(Limiter *l, LimitKind kind, const char *key, uint64_t now_usec, bool *ret_first) {
        const LimitRule *rule;
        pthread_mutex_t *lock;
        LimitEntry *bucket, *e;
        unsigned wait = 0;
        bool first = false;
        uint64_t h;

        assert(kind >= 0 && kind < _LIMIT_KIND_MAX);
        if (ret_first)
                *ret_first = false;
        if (!l || !key)
                return 0;
        rule = &l->options.rules[kind];
        if (rule->burst == 0)
                return 0;
        h = key_hash(l, kind, key);
        bucket = bucket_of(l, h, &lock);

        pthread_mutex_lock(lock);
        e = bucket_find(bucket, h);
        if (e) {
                /* Room for one more failure while tat stays within the
                 * burst: tat - now <= (burst - 1) * interval. */
                uint64_t allowed_until = now_usec + (uint64_t) (rule->burst - 1) * rule->interval_usec;

                if (e->tat_usec > allowed_until) {
                        uint64_t w = e->tat_usec - allowed_until;

                        wait = (unsigned) MIN((w + USEC_PER_SEC - 1) / USEC_PER_SEC, (uint64_t) UINT32_MAX);
                        first = !e->refusing;
                        e->refusing = true;
                } else if (e->refusing)
                        e->refusing = false;
        }
        pthread_mutex_unlock(lock);

        if (ret_first)
                *ret_first = first;
        return wait;
}

void limiter_fail(Limiter *l, LimitKind kind, const char *key, uint64_t now_usec) {
        const LimitRule *rule;
        pthread_mutex_t *lock;
        LimitEntry *bucket, *e;
        uint64_t h, full;

        assert(kind >= 0 && kind < _LIMIT_KIND_MAX);
        if (!l || !key)
                return;
        rule = &l->options.rules[kind];
        if (rule->burst == 0)
                return;
        h = key_hash(l, kind, key);
        bucket = bucket_of(l, h, &lock);
        /* Failures past an empty bucket (attempts that raced a check, or
         * came through a door that does not check) are not counted on:
         * a key waits at most one interval after its last failure. */
        full = now_usec + (uint64_t) rule->burst * rule->interval_usec;

        pthread_mutex_lock(lock);
        e = bucket_find(bucket, h) ?: bucket_take(l, bucket, h, now_usec);
        e->tat_usec = MIN(MAX(e->tat_usec, now_usec) + rule->interval_usec, MAX(full, e->tat_usec));
        pthread_mutex_unlock(lock);
}
