/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libnss_tessera.so.2: tessera's users and groups as Unix accounts.
 *
 * glibc's contract, for every lookup: NSS_STATUS_SUCCESS with the entry
 * copied into the caller's buffer; NSS_STATUS_NOTFOUND (errno ENOENT) for
 * a name or ID we don't have; NSS_STATUS_TRYAGAIN with ERANGE when the
 * buffer is too small (glibc retries with a larger one and we must then
 * give the same answer); NSS_STATUS_UNAVAIL when tesserad cannot be asked,
 * within a bounded time, so that the next source (or none) decides.
 *
 * The memory cache answers first; the socket when it has no answer. The
 * caller's errno is left as it was: glibc reads our error from *errnop. */

#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "names.h"
#include "nss-client.h"
#include "nss-mcache.h"
#include "nss-proto.h"

#define NSS_EXPORT __attribute__((visibility("default")))

/* Declared here: glibc has no header for the module side. */
NSS_EXPORT enum nss_status _nss_tessera_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                                   int *errnop);
NSS_EXPORT enum nss_status _nss_tessera_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                                   int *errnop);
NSS_EXPORT enum nss_status _nss_tessera_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
                                                   int *errnop);
NSS_EXPORT enum nss_status _nss_tessera_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                                   int *errnop);
NSS_EXPORT enum nss_status _nss_tessera_initgroups_dyn(const char *user, gid_t group, long int *start,
                                                       long int *size, gid_t **groupsp, long int limit,
                                                       int *errnop);
NSS_EXPORT enum nss_status _nss_tessera_setpwent(int stayopen);
NSS_EXPORT enum nss_status _nss_tessera_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop);
NSS_EXPORT enum nss_status _nss_tessera_endpwent(void);
NSS_EXPORT enum nss_status _nss_tessera_setgrent(int stayopen);
NSS_EXPORT enum nss_status _nss_tessera_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop);
NSS_EXPORT enum nss_status _nss_tessera_endgrent(void);

/* Tenants' ID ranges start at 1000 or above (the daemon refuses less):
 * system accounts never cost a round trip. */
#define NSS_MIN_ID 1000

/* glibc passes &errno as errnop. The caller's errno is restored after
 * everything we called, and only a failure writes *errnop, last. */
static enum nss_status finish(enum nss_status st, int saved_errno, int err, int *errnop) {
        errno = saved_errno;
        if (st != NSS_STATUS_SUCCESS)
                *errnop = err;
        return st;
}

/* Runs one entry point's implementation with the caller's errno kept:
 *
 *     int saved = errno, err = 0;
 *     enum nss_status st = impl(args..., &err);
 *     return finish(st, saved, err, errnop);
 *
 * A macro, so that each entry point below stays one line whatever its
 * arguments; errnop must be in scope. The status is taken in a statement
 * of its own before err is read: in finish(impl(..., &err), saved, err,
 * errnop) the order in which the arguments are evaluated is unspecified,
 * and err could be read before impl has set it. */
#define WRAP(impl, ...)                                                         \
        ({                                                                      \
                int _saved_ = errno, _err_ = 0;                                 \
                enum nss_status _st_ = impl(__VA_ARGS__, &_err_);               \
                finish(_st_, _saved_, _err_, errnop);                           \
        })

/* Only names that tesserad can have are asked about: "name" or
 * "name@tenant", with the daemon's rules for both parts. */
static bool plausible_name(const char *name) {
        char n[NAME_MAX_LEN + 1], t[TENANT_SLUG_MAX_LEN + 1];
        return name && split_qualified_name(name, n, t) >= 0;
}

static enum nss_status fail(int e, int *errnop) {
        /* -ENOENT from the daemon's side is a plain "no such entry". */
        if (e == -ERANGE) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        *errnop = e < 0 ? -e : ENOENT;
        return NSS_STATUS_UNAVAIL;
}

static enum nss_status notfound(int *errnop) {
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
}

/* Builds and sends a request; returns the reply (caller frees) and its
 * reader positioned at the payload. Installs a cache passed along. */
static int call(uint16_t type, const char *name, const uint32_t *id, const uint64_t *cursor, uint8_t **ret_msg,
                WireReader *ret_reader) {
        uint8_t req[NSS_MAX_NAME + 128];
        uint8_t *reply = NULL;
        size_t len, reply_len;
        bool want_cache = nss_mcache_wanted();
        int cache_fd = -EBADF, e;
        uint64_t cache_size = 0;
        WireWriter w;
        WireReader r;
        WireField f;

        wire_writer_init(&w, req, sizeof(req), type);
        if (name)
                wire_put_str(&w, NSS_TAG_NAME, name);
        if (id)
                wire_put_u32(&w, NSS_TAG_ID, *id);
        if (cursor)
                wire_put_u64(&w, NSS_TAG_CURSOR, *cursor);
        if (want_cache)
                wire_put_u32(&w, NSS_TAG_WANT_CACHE, 1);
        e = wire_writer_finish(&w, &len);
        if (e < 0)
                return e;

        e = nss_client_call(req, len, want_cache, &reply, &reply_len, &cache_fd);
        if (e < 0)
                return e;
        e = wire_reader_init(&r, reply, reply_len, NSS_MAX_REPLY);
        if (e < 0) {
                free(reply);
                safe_close(cache_fd);
                return e;
        }
        if (cache_fd >= 0) {
                WireReader scan = r;
                while (wire_next(&scan, &f) > 0)
                        if (f.tag == NSS_TAG_CACHE && wire_field_u64(&f, &cache_size) >= 0)
                                break;
                if (cache_size > 0)
                        nss_mcache_install(cache_fd, cache_size);
                else
                        safe_close(cache_fd);
        }
        *ret_msg = reply;
        *ret_reader = r;
        return 0;
}

/* The first entry field of a reply of the expected type: 1 (found), 0 for
 * NOTFOUND, negative for errors and anything unexpected. */
static int first_entry(WireReader *r, uint16_t want_type, uint16_t want_tag, WireField *ret) {
        WireField f;
        int e;

        if (r->type == NSS_REPLY_NOTFOUND)
                return 0;
        if (r->type == NSS_REPLY_ERROR)
                return -EIO;
        if (r->type != want_type)
                return -EBADMSG;
        while ((e = wire_next(r, &f)) > 0)
                if (f.tag == want_tag) {
                        *ret = f;
                        return 1;
                }
        return e < 0 ? e : -EBADMSG;   /* a USERS reply to a lookup has one entry */
}

static enum nss_status lookup_user(uint16_t type, const char *name, uint32_t uid, struct passwd *pw, char *buf,
                                   size_t buflen, int *errnop) {
        _cleanup_free_ uint8_t *msg = NULL;
        NssUserView v;
        WireReader r;
        WireField f;
        int e;

        e = call(type, name, name ? NULL : &uid, NULL, &msg, &r);
        if (e < 0)
                return fail(e, errnop);
        e = first_entry(&r, NSS_REPLY_USERS, NSS_TAG_USER, &f);
        if (e == 0)
                return notfound(errnop);
        if (e < 0 || nss_decode_user(f.data, f.len, &v) < 0)
                return fail(-EBADMSG, errnop);
        /* The daemon answers what was asked, or we don't believe it. */
        if (name ? !nss_str_eq(v.name, name) : v.uid != uid)
                return fail(-EBADMSG, errnop);
        if (nss_pack_passwd(&v, pw, buf, buflen) < 0)
                return fail(-ERANGE, errnop);
        return NSS_STATUS_SUCCESS;
}

static enum nss_status lookup_group(uint16_t type, const char *name, uint32_t gid, struct group *gr, char *buf,
                                    size_t buflen, int *errnop) {
        _cleanup_free_ uint8_t *msg = NULL;
        NssGroupView v;
        WireReader r;
        WireField f;
        int e;

        e = call(type, name, name ? NULL : &gid, NULL, &msg, &r);
        if (e < 0)
                return fail(e, errnop);
        e = first_entry(&r, NSS_REPLY_GROUPS, NSS_TAG_GROUP, &f);
        if (e == 0)
                return notfound(errnop);
        if (e < 0 || nss_decode_group(f.data, f.len, &v) < 0)
                return fail(-EBADMSG, errnop);
        if (name ? !nss_str_eq(v.name, name) : v.gid != gid)
                return fail(-EBADMSG, errnop);
        if (nss_pack_group(&v, gr, buf, buflen) < 0)
                return fail(-ERANGE, errnop);
        return NSS_STATUS_SUCCESS;
}

/* Maps a cache result; -1 means "ask the daemon". */
static int from_cache(int r, int *errnop) {
        switch (r) {
        case MCACHE_FOUND:
                return NSS_STATUS_SUCCESS;
        case MCACHE_NOTFOUND:
                return notfound(errnop);
        case MCACHE_ERANGE:
                return fail(-ERANGE, errnop);
        default:
                return -1;
        }
}

/* Asks the daemon; when it answers with an error (it could not read its
 * store: PostgreSQL away) but handed over its memory image with the reply
 * (nss-server.c does with every reply), the image answers: the daemon
 * hands out only an image that is valid, one that every change makes
 * invalid before it is acknowledged, so it holds nothing stale. A process
 * of its own per lookup (getent, a login) has no image before its first
 * call: this is how it still resolves the accounts the daemon knew. */
#define FROM_DAEMON_OR_ITS_CACHE(lookup, cache_lookup)                          \
        ({                                                                      \
                enum nss_status _st_ = (lookup);                                \
                if (_st_ == NSS_STATUS_UNAVAIL) {                               \
                        int _c_ = from_cache(cache_lookup, errnop);             \
                        if (_c_ >= 0)                                           \
                                _st_ = (enum nss_status) _c_;                   \
                }                                                               \
                _st_;                                                           \
        })

static enum nss_status getpwnam_r_impl(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                        int *errnop) {
        int r;

        if (nss_bypassed())
                return fail(-ENOTCONN, errnop);
        if (!plausible_name(name))
                return notfound(errnop);
        r = from_cache(nss_mcache_getpwnam(name, pw, buf, buflen), errnop);
        if (r >= 0)
                return r;
        return FROM_DAEMON_OR_ITS_CACHE(lookup_user(NSS_REQ_USER_BY_NAME, name, 0, pw, buf, buflen, errnop),
                                        nss_mcache_getpwnam(name, pw, buf, buflen));
}

static enum nss_status getpwuid_r_impl(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop) {
        int r;

        if (nss_bypassed())
                return fail(-ENOTCONN, errnop);
        if (uid < NSS_MIN_ID || uid == (uid_t) -1)
                return notfound(errnop);
        r = from_cache(nss_mcache_getpwuid(uid, pw, buf, buflen), errnop);
        if (r >= 0)
                return r;
        return FROM_DAEMON_OR_ITS_CACHE(lookup_user(NSS_REQ_USER_BY_UID, NULL, uid, pw, buf, buflen, errnop),
                                        nss_mcache_getpwuid(uid, pw, buf, buflen));
}

static enum nss_status getgrnam_r_impl(const char *name, struct group *gr, char *buf, size_t buflen,
                                        int *errnop) {
        int r;

        if (nss_bypassed())
                return fail(-ENOTCONN, errnop);
        if (!plausible_name(name))
                return notfound(errnop);
        r = from_cache(nss_mcache_getgrnam(name, gr, buf, buflen), errnop);
        if (r >= 0)
                return r;
        return FROM_DAEMON_OR_ITS_CACHE(lookup_group(NSS_REQ_GROUP_BY_NAME, name, 0, gr, buf, buflen, errnop),
                                        nss_mcache_getgrnam(name, gr, buf, buflen));
}

static enum nss_status getgrgid_r_impl(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop) {
        int r;

        if (nss_bypassed())
                return fail(-ENOTCONN, errnop);
        if (gid < NSS_MIN_ID || gid == (gid_t) -1)
                return notfound(errnop);
        r = from_cache(nss_mcache_getgrgid(gid, gr, buf, buflen), errnop);
        if (r >= 0)
                return r;
        return FROM_DAEMON_OR_ITS_CACHE(lookup_group(NSS_REQ_GROUP_BY_GID, NULL, gid, gr, buf, buflen, errnop),
                                        nss_mcache_getgrgid(gid, gr, buf, buflen));
}

/* --- initgroups --- */

typedef struct GidList {
        gid_t skip;               /* the primary group: glibc adds it itself */
        long int *start, *size, limit;
        gid_t **groupsp;
} GidList;

static int gid_list_add(uint32_t gid, void *userdata) {
        GidList *l = userdata;

        if (gid == l->skip)
                return 0;
        for (long int i = 0; i < *l->start; i++)
                if ((*l->groupsp)[i] == gid)
                        return 0;
        if (*l->start == *l->size) {
                long int n;
                gid_t *p;

                if (l->limit > 0 && *l->size >= l->limit)
                        return 0;   /* full: glibc asked for no more */
                n = *l->size > 0 ? *l->size * 2 : 16;
                if (l->limit > 0 && n > l->limit)
                        n = l->limit;
                p = realloc(*l->groupsp, (size_t) n * sizeof(gid_t));
                if (!p)
                        return -ENOMEM;
                *l->groupsp = p;
                *l->size = n;
        }
        (*l->groupsp)[(*l->start)++] = gid;
        return 0;
}

static enum nss_status initgroups_dyn_impl(const char *user, gid_t group, long int *start, long int *size,
                                            gid_t **groupsp, long int limit, int *errnop) {
        _cleanup_free_ uint8_t *msg = NULL;
        GidList l = { .skip = group, .start = start, .size = size, .limit = limit, .groupsp = groupsp };
        WireReader r;
        WireField f;
        int e, add_error;

        if (nss_bypassed())
                return fail(-ENOTCONN, errnop);
        if (!plausible_name(user))
                return notfound(errnop);

        e = nss_mcache_initgroups(user, gid_list_add, &l, &add_error);
        if (add_error < 0) {
                *errnop = -add_error;
                return NSS_STATUS_TRYAGAIN;
        }
        if (e == MCACHE_FOUND)
                return NSS_STATUS_SUCCESS;
        if (e == MCACHE_NOTFOUND)
                return notfound(errnop);

        e = call(NSS_REQ_INITGROUPS, user, NULL, NULL, &msg, &r);
        if (e < 0)
                return fail(e, errnop);
        if (r.type == NSS_REPLY_NOTFOUND)
                return notfound(errnop);
        if (r.type != NSS_REPLY_GIDS)
                return fail(-EBADMSG, errnop);
        /* Validate the whole reply before changing the caller's list. */
        {
                WireReader check = r;
                while ((e = wire_next(&check, &f)) > 0) {
                        uint32_t g;
                        if (f.tag == NSS_TAG_GID && wire_field_u32(&f, &g) < 0)
                                return fail(-EBADMSG, errnop);
                }
                if (e < 0)
                        return fail(-EBADMSG, errnop);
        }
        while (wire_next(&r, &f) > 0) {
                uint32_t g;
                if (f.tag != NSS_TAG_GID || wire_field_u32(&f, &g) < 0)
                        continue;
                e = gid_list_add(g, &l);
                if (e < 0) {
                        *errnop = -e;
                        return NSS_STATUS_TRYAGAIN;
                }
        }
        return NSS_STATUS_SUCCESS;
}

/* --- enumeration ---
 *
 * Listings come in batches from the daemon, each with a cursor where the
 * next one starts. glibc serializes set/get/end*ent per database; our own
 * lock only guards against callers that don't (nss_wrapper, direct
 * callers) and is a try-lock for the same fork reason as elsewhere. */

typedef struct EntState {
        uint8_t *msg;
        WireReader r;             /* at the next entry of the batch */
        uint64_t cursor;
        bool more;
} EntState;

static pthread_mutex_t ent_lock = PTHREAD_MUTEX_INITIALIZER;
static EntState pw_ent = { .more = true }, gr_ent = { .more = true };

/* Batches the daemon may return empty (all filtered) before we give up for
 * this call; it always makes progress, so this only bounds a broken one. */
#define ENT_MAX_EMPTY_BATCHES 64

static void ent_reset(EntState *s) {
        free(s->msg);
        *s = (EntState) { .more = true };
}

static enum nss_status ent_set(EntState *s) {
        /* free() keeps errno (glibc >= 2.33): nothing else here touches it. */
        if (pthread_mutex_trylock(&ent_lock) != 0)
                return NSS_STATUS_UNAVAIL;
        ent_reset(s);
        pthread_mutex_unlock(&ent_lock);
        return NSS_STATUS_SUCCESS;
}

static enum nss_status ent_end(EntState *s) {
        return ent_set(s);
}

/* The next entry field of the listing into *ret: 1, 0 at the end, or a
 * negative errno. Does not consume it: *ret_next is where to go on. */
static int ent_peek(EntState *s, uint16_t list_type, uint16_t reply_type, uint16_t entry_tag, WireField *ret,
                    const uint8_t **ret_next) {
        for (int batches = 0; batches <= ENT_MAX_EMPTY_BATCHES; batches++) {
                WireReader r;
                WireField f;
                bool has_cursor = false;
                uint64_t cursor = 0;
                int e;

                if (s->msg) {
                        while ((e = wire_next(&s->r, &f)) > 0)
                                if (f.tag == entry_tag) {
                                        *ret = f;
                                        *ret_next = s->r.p;
                                        /* Step back: consumed only on success. */
                                        s->r.p = f.data - WIRE_FIELD_HEADER_SIZE;
                                        return 1;
                                }
                        if (e < 0)
                                return e;
                        free(s->msg);
                        s->msg = NULL;
                }
                if (!s->more)
                        return 0;

                e = call(list_type, NULL, NULL, &s->cursor, &s->msg, &r);
                if (e < 0)
                        return e;
                if (r.type != reply_type) {
                        free(s->msg);
                        s->msg = NULL;
                        return -EBADMSG;
                }
                /* The cursor may come anywhere in the batch. */
                {
                        WireReader scan = r;
                        while ((e = wire_next(&scan, &f)) > 0)
                                if (f.tag == NSS_TAG_CURSOR && wire_field_u64(&f, &cursor) >= 0)
                                        has_cursor = true;
                        if (e < 0 || (has_cursor && cursor <= s->cursor)) {
                                /* A cursor that does not advance would loop forever. */
                                free(s->msg);
                                s->msg = NULL;
                                return -EBADMSG;
                        }
                }
                s->more = has_cursor;
                s->cursor = cursor;
                s->r = r;
        }
        return -EBADMSG;
}

enum nss_status _nss_tessera_setpwent(int stayopen) {
        return ent_set(&pw_ent);
}

enum nss_status _nss_tessera_endpwent(void) {
        return ent_end(&pw_ent);
}

static enum nss_status getpwent_r_impl(struct passwd *pw, char *buf, size_t buflen, int *errnop) {
        enum nss_status st;
        const uint8_t *next;
        NssUserView v;
        WireField f;
        int e;

        if (nss_bypassed())
                return fail(-ENOTCONN, errnop);
        if (pthread_mutex_trylock(&ent_lock) != 0)
                return fail(-EBUSY, errnop);
        e = ent_peek(&pw_ent, NSS_REQ_LIST_USERS, NSS_REPLY_USERS, NSS_TAG_USER, &f, &next);
        if (e == 0)
                st = notfound(errnop);
        else if (e < 0 || nss_decode_user(f.data, f.len, &v) < 0) {
                ent_reset(&pw_ent);
                pw_ent.more = false;      /* a broken listing ends here */
                st = fail(e < 0 ? e : -EBADMSG, errnop);
        } else if (nss_pack_passwd(&v, pw, buf, buflen) < 0)
                st = fail(-ERANGE, errnop);
        else {
                pw_ent.r.p = next;
                st = NSS_STATUS_SUCCESS;
        }
        pthread_mutex_unlock(&ent_lock);
        return st;
}

enum nss_status _nss_tessera_setgrent(int stayopen) {
        return ent_set(&gr_ent);
}

enum nss_status _nss_tessera_endgrent(void) {
        return ent_end(&gr_ent);
}

static enum nss_status getgrent_r_impl(struct group *gr, char *buf, size_t buflen, int *errnop) {
        enum nss_status st;
        const uint8_t *next;
        NssGroupView v;
        WireField f;
        int e;

        if (nss_bypassed())
                return fail(-ENOTCONN, errnop);
        if (pthread_mutex_trylock(&ent_lock) != 0)
                return fail(-EBUSY, errnop);
        e = ent_peek(&gr_ent, NSS_REQ_LIST_GROUPS, NSS_REPLY_GROUPS, NSS_TAG_GROUP, &f, &next);
        if (e == 0)
                st = notfound(errnop);
        else if (e < 0 || nss_decode_group(f.data, f.len, &v) < 0) {
                ent_reset(&gr_ent);
                gr_ent.more = false;
                st = fail(e < 0 ? e : -EBADMSG, errnop);
        } else if (nss_pack_group(&v, gr, buf, buflen) < 0)
                st = fail(-ERANGE, errnop);
        else {
                gr_ent.r.p = next;
                st = NSS_STATUS_SUCCESS;
        }
        pthread_mutex_unlock(&ent_lock);
        return st;
}

/* --- the exported entry points --- */

enum nss_status _nss_tessera_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                        int *errnop) {
        return WRAP(getpwnam_r_impl, name, pw, buf, buflen);
}

enum nss_status _nss_tessera_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop) {
        return WRAP(getpwuid_r_impl, uid, pw, buf, buflen);
}

enum nss_status _nss_tessera_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
                                        int *errnop) {
        return WRAP(getgrnam_r_impl, name, gr, buf, buflen);
}

enum nss_status _nss_tessera_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop) {
        return WRAP(getgrgid_r_impl, gid, gr, buf, buflen);
}

enum nss_status _nss_tessera_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
                                            gid_t **groupsp, long int limit, int *errnop) {
        return WRAP(initgroups_dyn_impl, user, group, start, size, groupsp, limit);
}

enum nss_status _nss_tessera_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop) {
        return WRAP(getpwent_r_impl, pw, buf, buflen);
}

enum nss_status _nss_tessera_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop) {
        return WRAP(getgrent_r_impl, gr, buf, buflen);
}
