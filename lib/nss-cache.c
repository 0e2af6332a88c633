/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: names are chosen by administrators, not by whoever asks, so a
 * keyed hash buys nothing here; FNV is short and fast for short keys. */
uint32_t nss_cache_hash_name(const char *s, size_t n) {
        uint32_t h = UINT32_C(2166136261);

        for (size_t i = 0; i < n; i++) {
                h ^= (uint8_t) s[i];
                h *= UINT32_C(16777619);
        }
        return h;
}

/* IDs of one tenant are dense: mix them so they spread over the table. */
uint32_t nss_cache_hash_id(uint32_t id) {
        id ^= id >> 16;
        id *= UINT32_C(0x7feb352d);
        id ^= id >> 15;
        id *= UINT32_C(0x846ca68b);
        id ^= id >> 16;
        return id;
}

/* --- writing --- */

typedef struct BuilderKey {
        uint32_t name_hash, id_hash;
        uint32_t offset;          /* of the record, relative to the records area */
} BuilderKey;

struct NssCacheBuilder {
        uint8_t *records;
        size_t records_len, records_cap;
        BuilderKey *keys[2];      /* users, groups */
        size_t n_keys[2], keys_cap[2];
        uint8_t *scratch;
        size_t scratch_cap;
};

NssCacheBuilder *nss_cache_builder_new(void) {
        return calloc(1, sizeof(NssCacheBuilder));
}

void nss_cache_builder_free(NssCacheBuilder *b) {
        if (!b)
                return;
        free(b->records);
        free(b->keys[0]);
        free(b->keys[1]);
        free(b->scratch);
        free(b);
}

static size_t table_slots(size_t n) {
        /* At most half full: probes stay short and there is always an
         * empty slot to end a miss. */
        size_t s = 8;
        while (s < 2 * n)
                s *= 2;
        return s;
}

static size_t align8(size_t n) {
        return (n + 7) & ~(size_t) 7;
}

/* The image size with `extra_records` more bytes of records and one more
 * key of kind `extra_kind` (-1: none). */
static size_t size_with(const NssCacheBuilder *b, int extra_kind, size_t extra_records) {
        size_t n = align8(sizeof(NssCacheHeader));

        for (int k = 0; k < 2; k++)
                n += 2 * table_slots(b->n_keys[k] + (k == extra_kind)) * sizeof(NssCacheSlot);
        return n + align8(b->records_len + extra_records);
}

size_t nss_cache_builder_size(const NssCacheBuilder *b) {
        return size_with(b, -1, 0);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
        size_t c = *cap ? *cap : 16;
        void *np;

        if (need <= *cap)
                return 0;
        while (c < need)
                c *= 2;
        np = realloc(*p, c * elem);
        if (!np)
                return -ENOMEM;
        *p = np;
        *cap = c;
        return 0;
}

/* Encodes an entry into the scratch buffer, growing it as needed. */
static int encode(NssCacheBuilder *b, bool user, const void *e, const uint8_t **ret, size_t *ret_len) {
        size_t cap = b->scratch_cap ? b->scratch_cap : 4096;

        for (;;) {
                WireWriter w;
                size_t len;

                if (cap > b->scratch_cap) {
                        uint8_t *n = realloc(b->scratch, cap);
                        if (!n)
                                return -ENOMEM;
                        b->scratch = n;
                        b->scratch_cap = cap;
                }
                wire_writer_init(&w, b->scratch, cap, 0);
                if (user)
                        nss_encode_user_fields(&w, e);
                else
                        nss_encode_group_fields(&w, e);
                if (wire_writer_finish(&w, &len) == 0) {
                        *ret = b->scratch + WIRE_HEADER_SIZE;
                        *ret_len = len - WIRE_HEADER_SIZE;
                        return 0;
                }
                if (cap >= NSS_MAX_REPLY)
                        return -E2BIG;
                cap *= 2;
        }
}

static int add(NssCacheBuilder *b, int kind, const char *name, uint32_t id, const void *entry) {
        const uint8_t *data;
        size_t len, rec, total;
        uint32_t l32;
        int e;

        e = encode(b, kind == 0, entry, &data, &len);
        if (e < 0)
                return e;
        rec = 4 + len;
        total = size_with(b, kind, rec + 3);
        if (total > NSS_CACHE_MAX_SIZE)
                return -E2BIG;

        e = grow((void **) &b->records, &b->records_cap, b->records_len + rec + 3, 1);
        if (e < 0)
                return e;
        e = grow((void **) &b->keys[kind], &b->keys_cap[kind], b->n_keys[kind] + 1, sizeof(BuilderKey));
        if (e < 0)
                return e;

        l32 = (uint32_t) len;
        memcpy(b->records + b->records_len, &l32, 4);
        memcpy(b->records + b->records_len + 4, data, len);
        b->keys[kind][b->n_keys[kind]++] = (BuilderKey) {
                .name_hash = nss_cache_hash_name(name, strlen(name)),
                .id_hash = nss_cache_hash_id(id),
                .offset = (uint32_t) b->records_len,
        };
        b->records_len += rec;
        /* Records start 4-aligned so their length reads are aligned. */
        while (b->records_len % 4)
                b->records[b->records_len++] = 0;
        return 0;
}

int nss_cache_builder_add_user(NssCacheBuilder *b, const NssUserEntry *e) {
        return add(b, 0, e->name, e->uid, e);
}

int nss_cache_builder_add_group(NssCacheBuilder *b, const NssGroupEntry *e) {
        return add(b, 1, e->name, e->gid, e);
}

static void fill_table(uint8_t *image, uint32_t table_off, size_t n_slots, const BuilderKey *keys, size_t n,
                       bool by_id, uint32_t records_offset) {
        NssCacheSlot *slots = (NssCacheSlot *) (void *) (image + table_off);
        size_t mask = n_slots - 1;

        for (size_t k = 0; k < n; k++) {
                uint32_t h = by_id ? keys[k].id_hash : keys[k].name_hash;
                size_t i = h & mask;

                while (slots[i].offset != 0)
                        i = (i + 1) & mask;
                slots[i] = (NssCacheSlot) { .hash = h, .offset = records_offset + keys[k].offset };
        }
}

void nss_cache_builder_write(const NssCacheBuilder *b, void *buf, uint64_t seq, bool complete) {
        uint8_t *image = buf;
        NssCacheHeader *h = buf;
        size_t off = align8(sizeof(NssCacheHeader));

        *h = (NssCacheHeader) {
                .magic = NSS_CACHE_MAGIC,
                .version = NSS_CACHE_VERSION,
                .seq = seq,
                .size = nss_cache_builder_size(b),
                .flags = complete ? NSS_CACHE_COMPLETE : 0,
        };
        for (int t = 0; t < _NSS_CACHE_TABLE_MAX; t++) {
                size_t n = table_slots(b->n_keys[t / 2]);
                h->tables[t].offset = (uint32_t) off;
                h->tables[t].n_slots = (uint32_t) n;
                off += n * sizeof(NssCacheSlot);
        }
        h->records_offset = (uint32_t) off;
        h->records_size = (uint32_t) align8(b->records_len);
        if (b->records_len > 0)
                memcpy(image + off, b->records, b->records_len);

        for (int t = 0; t < _NSS_CACHE_TABLE_MAX; t++)
                fill_table(image, h->tables[t].offset, h->tables[t].n_slots, b->keys[t / 2], b->n_keys[t / 2],
                           t % 2 == 1, h->records_offset);
}

void nss_cache_invalidate(void *image) {
        NssCacheHeader *h = image;
        uint64_t s = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);

        if (!(s & 1))
                __atomic_store_n(&h->seq, s + 1, __ATOMIC_RELEASE);
}

void nss_cache_heartbeat(void *image, uint64_t now_monotonic_usec) {
        NssCacheHeader *h = image;
        __atomic_store_n(&h->heartbeat_usec, now_monotonic_usec, __ATOMIC_RELEASE);
}

/* --- reading --- */

static bool range_ok(size_t size, uint64_t off, uint64_t len) {
        return off <= size && len <= size - off;
}

int nss_cache_verify(const void *image, size_t size) {
        const NssCacheHeader *h = image;

        if (!image || size < sizeof(NssCacheHeader) || size > NSS_CACHE_MAX_SIZE)
                return -EBADMSG;
        if (h->magic != NSS_CACHE_MAGIC || h->version != NSS_CACHE_VERSION || h->size != size)
                return -EBADMSG;
        if (h->records_offset < sizeof(NssCacheHeader) || !range_ok(size, h->records_offset, h->records_size))
                return -EBADMSG;
        for (int t = 0; t < _NSS_CACHE_TABLE_MAX; t++) {
                uint32_t n = h->tables[t].n_slots, off = h->tables[t].offset;
                if (n == 0 || (n & (n - 1)) || off % 4 || off < sizeof(NssCacheHeader) ||
                    !range_ok(size, off, (uint64_t) n * sizeof(NssCacheSlot)))
                        return -EBADMSG;
        }
        return 0;
}

int nss_cache_begin(const void *image, uint64_t now_monotonic_usec, uint64_t *ret_seq) {
        const NssCacheHeader *h = image;
        uint64_t seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
        uint64_t beat = __atomic_load_n(&h->heartbeat_usec, __ATOMIC_RELAXED);

        if (seq & 1)
                return -ESTALE;
        if (now_monotonic_usec > beat && now_monotonic_usec - beat > NSS_CACHE_STALE_USEC)
                return -ESTALE;
        *ret_seq = seq;
        return 0;
}

bool nss_cache_still_valid(const void *image, uint64_t seq) {
        const NssCacheHeader *h = image;

        /* Orders the reads of the record before the second read of seq. */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        return __atomic_load_n(&h->seq, __ATOMIC_RELAXED) == seq;
}

bool nss_cache_is_complete(const void *image) {
        const NssCacheHeader *h = image;
        return h->flags & NSS_CACHE_COMPLETE;
}

/* The record a slot points at, checked against the records area. */
static int record_at(const void *image, size_t size, uint32_t off, const uint8_t **ret, uint32_t *ret_len) {
        const NssCacheHeader *h = image;
        uint64_t start = h->records_offset, end = start + h->records_size;
        uint32_t len;

        if (end > size || off < start || off % 4 || (uint64_t) off + 4 > end)
                return -EBADMSG;
        memcpy(&len, (const uint8_t *) image + off, 4);
        if (len > end - off - 4)
                return -EBADMSG;
        *ret = (const uint8_t *) image + off + 4;
        *ret_len = len;
        return 0;
}

typedef int (*MatchFunc)(const uint8_t *data, uint32_t len, const void *key, void *view);

static int find(const void *image, size_t size, int table, uint32_t hash, MatchFunc match, const void *key,
                void *view) {
        const NssCacheHeader *h = image;
        uint32_t n = h->tables[table].n_slots, off = h->tables[table].offset;
        const NssCacheSlot *slots;

        /* Verified at mapping time; checked again since it costs nothing. */
        if (n == 0 || (n & (n - 1)) || off % 4 || !range_ok(size, off, (uint64_t) n * sizeof(NssCacheSlot)))
                return -EBADMSG;
        slots = (const NssCacheSlot *) (const void *) ((const uint8_t *) image + off);

        for (uint32_t probe = 0, i = hash & (n - 1); probe < n; probe++, i = (i + 1) & (n - 1)) {
                NssCacheSlot s = slots[i];
                const uint8_t *data;
                uint32_t len;
                int e;

                if (s.offset == 0)
                        return 0;
                if (s.hash != hash)
                        continue;
                e = record_at(image, size, s.offset, &data, &len);
                if (e < 0)
                        return e;
                e = match(data, len, key, view);
                if (e != 0)
                        return e;
        }
        return 0;
}

static int match_user_name(const uint8_t *data, uint32_t len, const void *key, void *view) {
        if (nss_decode_user(data, len, view) < 0)
                return -EBADMSG;
        return nss_str_eq(((NssUserView *) view)->name, key);
}

static int match_user_uid(const uint8_t *data, uint32_t len, const void *key, void *view) {
        if (nss_decode_user(data, len, view) < 0)
                return -EBADMSG;
        return ((NssUserView *) view)->uid == *(const uint32_t *) key;
}

static int match_group_name(const uint8_t *data, uint32_t len, const void *key, void *view) {
        if (nss_decode_group(data, len, view) < 0)
                return -EBADMSG;
        return nss_str_eq(((NssGroupView *) view)->name, key);
}

static int match_group_gid(const uint8_t *data, uint32_t len, const void *key, void *view) {
        if (nss_decode_group(data, len, view) < 0)
                return -EBADMSG;
        return ((NssGroupView *) view)->gid == *(const uint32_t *) key;
}

int nss_cache_find_user_by_name(const void *image, size_t size, const char *name, NssUserView *ret) {
        return find(image, size, NSS_CACHE_USER_BY_NAME, nss_cache_hash_name(name, strlen(name)), match_user_name,
                    name, ret);
}

int nss_cache_find_user_by_uid(const void *image, size_t size, uint32_t uid, NssUserView *ret) {
        return find(image, size, NSS_CACHE_USER_BY_UID, nss_cache_hash_id(uid), match_user_uid, &uid, ret);
}

int nss_cache_find_group_by_name(const void *image, size_t size, const char *name, NssGroupView *ret) {
        return find(image, size, NSS_CACHE_GROUP_BY_NAME, nss_cache_hash_name(name, strlen(name)),
                    match_group_name, name, ret);
}

int nss_cache_find_group_by_gid(const void *image, size_t size, uint32_t gid, NssGroupView *ret) {
        return find(image, size, NSS_CACHE_GROUP_BY_GID, nss_cache_hash_id(gid), match_group_gid, &gid, ret);
}
