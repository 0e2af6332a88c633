/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The memory cache of the lookup service: an image of every user and
 * group a host sees, written by tesserad into a sealed memfd and mapped
 * read-only by the NSS module, which then answers without a round trip.
 * Like nscd's shared database, the descriptor is handed out over the
 * lookup socket (SCM_RIGHTS); the seals (no shrinking, no growing, no
 * writes but the daemon's own mapping) mean a mapped image can never be
 * truncated under a reader (no SIGBUS) nor changed by anyone else.
 *
 * Image layout (host byte order, the image never leaves the machine):
 *
 *   header | 4 hash tables of slots | records
 *
 * A slot is {u32 hash, u32 record offset}, offset 0 = empty; tables have a
 * power-of-two size and are probed linearly. A record is a u32 length and
 * an entry in the wire encoding of nss-proto.h (the fields of a USER or
 * GROUP). Every offset and length is checked against the image before use.
 *
 * Records never change once published. The daemon invalidates an image by
 * making its sequence number odd, before it acknowledges the change that
 * made it stale, and publishes a new image. Readers take the sequence
 * number before and after copying a record (a seqlock): a record read
 * while the image was invalidated is thrown away, so no answer older than
 * an acknowledged change is ever given. The daemon also stamps a heartbeat
 * (CLOCK_MONOTONIC): an image whose daemon has died goes stale by itself. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nss-proto.h"

#define NSS_CACHE_MAGIC UINT32_C(0x544e5343)   /* "TNSC" */
#define NSS_CACHE_VERSION 1

/* The daemon stamps the heartbeat this often; readers give an image up when
 * it is older than NSS_CACHE_STALE_USEC. */
#define NSS_CACHE_HEARTBEAT_USEC (2 * 1000000ULL)
#define NSS_CACHE_STALE_USEC (10 * 1000000ULL)

/* Images hold at most this much; a larger database is published partially
 * (without NSS_CACHE_COMPLETE), and misses go to the socket. */
#define NSS_CACHE_MAX_SIZE (256u * 1024 * 1024)

enum {
        NSS_CACHE_USER_BY_NAME,
        NSS_CACHE_USER_BY_UID,
        NSS_CACHE_GROUP_BY_NAME,
        NSS_CACHE_GROUP_BY_GID,
        _NSS_CACHE_TABLE_MAX,
};

/* Every user and group the host sees is in the image: a miss is a
 * definitive "not found". */
#define NSS_CACHE_COMPLETE 0x1u

typedef struct NssCacheHeader {
        uint32_t magic;
        uint32_t version;
        uint64_t seq;             /* even: valid; odd: invalidated (atomic) */
        uint64_t heartbeat_usec;  /* CLOCK_MONOTONIC of the daemon's last stamp (atomic) */
        uint64_t size;            /* of the whole image */
        uint32_t flags;
        uint32_t records_offset, records_size;
        struct {
                uint32_t offset, n_slots;
        } tables[_NSS_CACHE_TABLE_MAX];
        uint32_t reserved[5];
} NssCacheHeader;

typedef struct NssCacheSlot {
        uint32_t hash;
        uint32_t offset;
} NssCacheSlot;

uint32_t nss_cache_hash_name(const char *s, size_t n);
uint32_t nss_cache_hash_id(uint32_t id);

/* --- writing (the daemon) --- */

typedef struct NssCacheBuilder NssCacheBuilder;

NssCacheBuilder *nss_cache_builder_new(void);
void nss_cache_builder_free(NssCacheBuilder *b);
/* Adds a USER / GROUP entry; -E2BIG once the image would pass
 * NSS_CACHE_MAX_SIZE (the image is then incomplete), -ENOMEM. */
int nss_cache_builder_add_user(NssCacheBuilder *b, const NssUserEntry *e);
int nss_cache_builder_add_group(NssCacheBuilder *b, const NssGroupEntry *e);
/* Size of the image nss_cache_builder_write() will write. */
size_t nss_cache_builder_size(const NssCacheBuilder *b);
/* Writes the image (sequence number seq, even) into buf of exactly
 * nss_cache_builder_size() bytes, zero-filled by the caller. */
void nss_cache_builder_write(const NssCacheBuilder *b, void *buf, uint64_t seq, bool complete);

/* Invalidates an image for good (its readers fall back to the socket),
 * and stamps the heartbeat. Safe from any thread. */
void nss_cache_invalidate(void *image);
void nss_cache_heartbeat(void *image, uint64_t now_monotonic_usec);

/* --- reading (the module) --- */

/* Checks a mapped image: magic, version, size, tables and the records area
 * inside it. 0 or -EBADMSG. Done once per mapping; lookups check every
 * record offset again. */
int nss_cache_verify(const void *image, size_t size);

/* The sequence number if the image is valid and its daemon alive, else
 * -ESTALE. */
int nss_cache_begin(const void *image, uint64_t now_monotonic_usec, uint64_t *ret_seq);
/* True when nothing invalidated the image since nss_cache_begin(). */
bool nss_cache_still_valid(const void *image, uint64_t seq);
bool nss_cache_is_complete(const void *image);

/* Finds an entry: 1 and the view (pointing into the image), 0 when the
 * image has none, -EBADMSG when what the table points at is not a valid
 * entry of that key. */
int nss_cache_find_user_by_name(const void *image, size_t size, const char *name, NssUserView *ret);
int nss_cache_find_user_by_uid(const void *image, size_t size, uint32_t uid, NssUserView *ret);
int nss_cache_find_group_by_name(const void *image, size_t size, const char *name, NssGroupView *ret);
int nss_cache_find_group_by_gid(const void *image, size_t size, uint32_t gid, NssGroupView *ret);
