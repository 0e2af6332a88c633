/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The lookup protocol of nss.sock, on top of lib/wire: the message types,
 * the tags, the encoder of entries and the one decoder both sides use.
 * libc only, no allocation, no logging: the NSS module links this.
 *
 * A client sends one request and reads one reply, then may send the next
 * on the same connection:
 *
 *   USER_BY_NAME  NAME          -> USERS (one entry) | NOTFOUND | ERROR
 *   USER_BY_UID   ID            -> USERS (one entry) | NOTFOUND | ERROR
 *   GROUP_BY_NAME NAME          -> GROUPS (one entry) | NOTFOUND | ERROR
 *   GROUP_BY_GID  ID            -> GROUPS (one entry) | NOTFOUND | ERROR
 *   INITGROUPS    NAME          -> GIDS | NOTFOUND | ERROR
 *   LIST_USERS    CURSOR        -> USERS (0..n entries, CURSOR if more)
 *   LIST_GROUPS   CURSOR        -> GROUPS (0..n entries, CURSOR if more)
 *
 * Every request may carry WANT_CACHE: the client has no valid memory cache
 * and asks for the daemon's. The reply then carries CACHE and the cache's
 * descriptor rides along with the first byte (SCM_RIGHTS).
 *
 * An entry is one field (USER or GROUP) whose content is itself a field
 * list (tags UF_* / GF_*). The memory cache (nss-cache.h) stores entries in
 * exactly this encoding, so the module has one decoder for both paths. */

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Requests and replies are small; a group with thousands of members is the
 * largest thing we send. Both sides refuse anything larger. */
#define NSS_MAX_REQUEST 4096
#define NSS_MAX_REPLY (1024 * 1024)

/* Longest single field in an entry (a path, a GECOS) and longest name. */
#define NSS_MAX_FIELD 4096
#define NSS_MAX_NAME 256

enum {
        NSS_REQ_USER_BY_NAME = 0x0101,
        NSS_REQ_USER_BY_UID = 0x0102,
        NSS_REQ_GROUP_BY_NAME = 0x0103,
        NSS_REQ_GROUP_BY_GID = 0x0104,
        NSS_REQ_INITGROUPS = 0x0105,
        NSS_REQ_LIST_USERS = 0x0106,
        NSS_REQ_LIST_GROUPS = 0x0107,

        NSS_REPLY_USERS = 0x0201,
        NSS_REPLY_GROUPS = 0x0202,
        NSS_REPLY_GIDS = 0x0203,
        NSS_REPLY_NOTFOUND = 0x0204,
        NSS_REPLY_ERROR = 0x0205,
};

/* Message-level tags. */
enum {
        NSS_TAG_NAME = 1,         /* str: a user or group name */
        NSS_TAG_ID = 2,           /* u32: a uid or gid */
        NSS_TAG_CURSOR = 3,       /* u64: where a listing goes on */
        NSS_TAG_WANT_CACHE = 4,   /* u32 1: send the memory cache along */
        NSS_TAG_CACHE = 5,        /* u64: size of the cache whose fd came along */
        NSS_TAG_USER = 6,         /* nested: one passwd entry */
        NSS_TAG_GROUP = 7,        /* nested: one group entry */
        NSS_TAG_GID = 8,          /* u32: one gid of INITGROUPS */
        NSS_TAG_ERRNO = 9,        /* u32: why the daemon could not answer */
};

/* Fields of a USER entry. */
enum {
        NSS_UF_NAME = 1,          /* str, required */
        NSS_UF_UID = 2,           /* u32, required */
        NSS_UF_GID = 3,           /* u32, required */
        NSS_UF_GECOS = 4,         /* str */
        NSS_UF_DIR = 5,           /* str */
        NSS_UF_SHELL = 6,         /* str */
        NSS_UF_GROUP = 7,         /* u32, repeated: supplementary gids (cache only) */
        NSS_UF_HIDE_AFTER = 8,    /* u64: CLOCK_REALTIME µs when the account expires (cache only) */
};

/* Fields of a GROUP entry. */
enum {
        NSS_GF_NAME = 1,          /* str, required */
        NSS_GF_GID = 2,           /* u32, required */
        NSS_GF_MEMBER = 3,        /* str, repeated */
        NSS_GF_HIDE_AFTER = 8,    /* u64, as NSS_UF_HIDE_AFTER (cache only) */
};

/* A string inside a message: not NUL-terminated, validated. */
typedef struct NssStr {
        const char *p;
        uint32_t n;
} NssStr;

typedef struct NssUserView {
        NssStr name, gecos, dir, shell;
        uint32_t uid, gid;
        uint64_t hide_after_usec;   /* 0: never */
        const uint8_t *fields, *end; /* the entry, to walk the repeated fields again */
        size_t n_groups;
} NssUserView;

typedef struct NssGroupView {
        NssStr name;
        uint32_t gid;
        uint64_t hide_after_usec;
        const uint8_t *fields, *end;
        size_t n_members;
        size_t members_size;        /* bytes of all member names with their NULs */
} NssGroupView;

/* Decodes the content of a USER / GROUP field. Checks that the required
 * fields are there exactly once, that every string is free of NUL, ':',
 * control characters (and ',' for names) and within its limit. -EBADMSG
 * for anything else; unknown tags are skipped. */
int nss_decode_user(const void *data, size_t len, NssUserView *ret);
int nss_decode_group(const void *data, size_t len, NssGroupView *ret);

/* Walks the repeated fields of a decoded entry: 1 and the value, 0 at
 * the end. *state starts at 0. */
int nss_user_next_group(const NssUserView *v, size_t *state, uint32_t *ret_gid);
int nss_group_next_member(const NssGroupView *v, size_t *state, NssStr *ret);

/* Copies an entry into a caller's struct and buffer as glibc wants it:
 * every string inside buf, gr_mem aligned and NULL-terminated. -ERANGE
 * when buf is too small (nothing else is returned then). */
int nss_pack_passwd(const NssUserView *v, struct passwd *pw, char *buf, size_t buflen);
int nss_pack_group(const NssGroupView *v, struct group *gr, char *buf, size_t buflen);

/* Compares a view string with a C string. */
bool nss_str_eq(NssStr s, const char *c);

/* Encoders of entries, for the daemon and the cache writer: append one
 * nested USER / GROUP field to w. Strings are NUL-terminated C strings;
 * the daemon validates them before (the decoder refuses bad ones). */
typedef struct NssUserEntry {
        const char *name, *gecos, *dir, *shell;
        uint32_t uid, gid;
        const uint32_t *groups;
        size_t n_groups;
        uint64_t hide_after_usec;
} NssUserEntry;

typedef struct NssGroupEntry {
        const char *name;
        uint32_t gid;
        const char *const *members;
        size_t n_members;
        uint64_t hide_after_usec;
} NssGroupEntry;

/* Writes the entry's fields (not the enclosing field) to w. */
void nss_encode_user_fields(WireWriter *w, const NssUserEntry *e);
void nss_encode_group_fields(WireWriter *w, const NssGroupEntry *e);
/* Appends a whole USER / GROUP field. */
void nss_put_user(WireWriter *w, const NssUserEntry *e);
void nss_put_group(WireWriter *w, const NssGroupEntry *e);

/* Requests as the daemon reads them. */
typedef struct NssRequest {
        uint16_t type;
        char name[NSS_MAX_NAME + 1];
        bool has_name, has_id;
        uint32_t id;
        uint64_t cursor;
        bool want_cache;
} NssRequest;

/* Decodes a whole request message; -EBADMSG for an unknown type, a missing
 * or repeated key, or a bad name. */
int nss_request_parse(const void *msg, size_t len, NssRequest *ret);
