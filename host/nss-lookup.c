/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-lookup.h"

#include "log.h"
#include "names.h"
#include "time-util.h"

int nss_name_resolve(const Config *c, const char *shown, char name[static NAME_MAX_LEN + 1],
                     char tenant[static TENANT_SLUG_MAX_LEN + 1]) {
        if (split_qualified_name(shown, name, tenant) < 0)
                return -ENOENT;
        if (tenant[0] == '\0') {
                if (!c->default_tenant)
                        return -ENOENT;
                strcpy(tenant, c->default_tenant);   /* a valid slug: fits */
                return 0;
        }
        /* The default tenant's users have bare names only: one name per account. */
        if (c->default_tenant && streq(tenant, c->default_tenant))
                return -ENOENT;
        STRV_FOREACH(t, c->tenants)
                if (streq(*t, tenant))
                        return 0;
        return -ENOENT;
}

const char *nss_name_show(const Config *c, const char *name, const char *tenant, char *buf, size_t size) {
        int n;

        if (!config_tenant_visible(c, tenant))
                return NULL;
        if (c->default_tenant && streq(c->default_tenant, tenant))
                n = snprintf(buf, size, "%s", name);
        else
                n = snprintf(buf, size, "%s@%s", name, tenant);
        return n < 0 || (size_t) n >= size ? NULL : buf;
}

bool nss_user_hidden(const UserRecord *u, int64_t now_usec, uint64_t *ret_hide_after) {
        if (u->disabled || u->locked_until_usec == LOCKED_INDEFINITELY)
                return true;
        if (u->expires_usec > 0 && u->expires_usec <= now_usec)
                return true;
        if (ret_hide_after)
                *ret_hide_after = u->expires_usec > 0 ? (uint64_t) u->expires_usec : 0;
        return false;
}

/* Writes a USER entry for u if the host shows it: 1, or 0 when hidden. */
static int put_user(const Config *c, const UserRecord *u, int64_t now, WireWriter *w) {
        char shown[NSS_MAX_NAME + 1];
        uint64_t hide_after;

        if (nss_user_hidden(u, now, &hide_after) || !nss_name_show(c, u->name, u->tenant, shown, sizeof(shown)))
                return 0;
        nss_put_user(w, &(NssUserEntry) {
                .name = shown,
                .uid = u->uid,
                .gid = u->gid,
                .gecos = u->real_name,
                .dir = u->home,
                .shell = u->shell,
        });
        return 1;
}

/* Writes a GROUP entry: 1, or 0 when the host does not show it (another
 * tenant, or the user-private group of a hidden user). */
static int put_group(const Config *c, Store *s, const GroupRecord *g, int64_t now, WireWriter *w) {
        _cleanup_(strv_freep) char **members = NULL;
        _cleanup_free_ char *shown_members = NULL;
        _cleanup_free_ const char **list = NULL;
        char shown[NSS_MAX_NAME + 1];
        size_t n, off = 0;
        int r;

        if (!nss_name_show(c, g->name, g->tenant, shown, sizeof(shown)))
                return 0;
        if (g->private_user_id != 0) {
                _cleanup_(user_record_unrefp) UserRecord *u = NULL;

                /* Debian's user-private groups list no members. */
                r = store_lookup_user_by_id(s, g->private_user_id, &u);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                if (nss_user_hidden(u, now, NULL))
                        return 0;
                nss_put_group(w, &(NssGroupEntry) { .name = shown, .gid = g->gid });
                return 1;
        }

        r = store_group_members(s, g->id, &members);
        if (r < 0)
                return r;
        n = strv_length(members);
        list = calloc(n + 1, sizeof(char *));
        shown_members = malloc((n + 1) * (NSS_MAX_NAME + 1));
        if (!list || !shown_members)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *m = nss_name_show(c, members[i], g->tenant, shown_members + off, NSS_MAX_NAME + 1);
                if (!m)
                        return -EINVAL;
                list[i] = m;
                off += strlen(m) + 1;
        }
        nss_put_group(w, &(NssGroupEntry) { .name = shown, .gid = g->gid, .members = list, .n_members = n });
        return 1;
}

static int answer_user(const Config *c, Store *s, const NssRequest *q, int64_t now, WireWriter *w) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        int r;

        if (q->type == NSS_REQ_USER_BY_NAME) {
                if (nss_name_resolve(c, q->name, name, tenant) < 0)
                        return 0;
                r = store_lookup_user(s, tenant, name, &u);
        } else
                r = store_lookup_user_by_uid(s, q->id, &u);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return put_user(c, u, now, w);
}

static int answer_group(const Config *c, Store *s, const NssRequest *q, int64_t now, WireWriter *w) {
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        int r;

        if (q->type == NSS_REQ_GROUP_BY_NAME) {
                if (nss_name_resolve(c, q->name, name, tenant) < 0)
                        return 0;
                r = store_lookup_group(s, tenant, name, &g);
        } else
                r = store_lookup_group_by_gid(s, q->id, &g);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return put_group(c, s, g, now, w);
}

static int answer_initgroups(const Config *c, Store *s, const NssRequest *q, int64_t now, WireWriter *w) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ uint32_t *gids = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        size_t n;
        int r;

        if (nss_name_resolve(c, q->name, name, tenant) < 0)
                return 0;
        r = store_lookup_user(s, tenant, name, &u);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (nss_user_hidden(u, now, NULL))
                return 0;
        r = store_lookup_user_gids(s, u->id, &gids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                wire_put_u32(w, NSS_TAG_GID, gids[i]);
        return 1;
}

/* One page of a listing. Entries that do not fit the reply end the page
 * early; the cursor then points at the first one left out. */
static int answer_list_users(const Config *c, Store *s, const NssRequest *q, int64_t now, WireWriter *w) {
        UserRecord **users = NULL;
        size_t n = 0, i;
        uint64_t next = 0;
        int r;

        if (q->cursor > UINT32_MAX)
                return 1;   /* past every uid: the end */
        r = store_lookup_users(s, q->cursor, NSS_LIST_USERS_PAGE, &users, &n);
        if (r < 0)
                return r;
        for (i = 0; i < n; i++) {
                size_t before = w->len;

                put_user(c, users[i], now, w);
                if (w->overflow) {
                        w->overflow = false;
                        w->len = before;
                        break;
                }
        }
        if (i < n)
                next = users[i]->uid == q->cursor ? (uint64_t) users[i]->uid + 1 : users[i]->uid;
        else if (n == NSS_LIST_USERS_PAGE)
                next = (uint64_t) users[n - 1]->uid + 1;
        if (next > 0)
                wire_put_u64(w, NSS_TAG_CURSOR, next);
        user_record_array_free(users, n);
        return 1;
}

static int answer_list_groups(const Config *c, Store *s, const NssRequest *q, int64_t now, WireWriter *w) {
        GroupRecord **groups = NULL;
        size_t n = 0, i;
        uint64_t next = 0;
        int r = 0;

        if (q->cursor > UINT32_MAX)
                return 1;
        r = store_lookup_groups(s, q->cursor, NSS_LIST_GROUPS_PAGE, &groups, &n);
        if (r < 0)
                return r;
        for (i = 0; i < n; i++) {
                size_t before = w->len;

                r = put_group(c, s, groups[i], now, w);
                if (r < 0)
                        break;
                if (w->overflow) {
                        w->overflow = false;
                        w->len = before;
                        /* A group too large for any reply is skipped, not
                         * allowed to stop the listing for good. */
                        if (i == 0 && groups[i]->gid == q->cursor) {
                                log_warning("Group %s@%s has too many members for a listing; skipped.",
                                            groups[i]->name, groups[i]->tenant);
                                i++;
                        }
                        break;
                }
        }
        if (r >= 0) {
                if (i < n)
                        next = groups[i]->gid;
                else if (n == NSS_LIST_GROUPS_PAGE)
                        next = (uint64_t) groups[n - 1]->gid + 1;
                if (next > 0 && next <= q->cursor)
                        next = q->cursor + 1;
                if (next > 0)
                        wire_put_u64(w, NSS_TAG_CURSOR, next);
        }
        group_record_array_free(groups, n);
        return r < 0 ? r : 1;
}

int nss_lookup_answer(const Config *c, Store *s, const NssRequest *q, WireWriter *w) {
        int64_t now = now_realtime_usec();
        int r;

        switch (q->type) {
        case NSS_REQ_USER_BY_NAME:
        case NSS_REQ_USER_BY_UID:
                w->type = NSS_REPLY_USERS;
                r = answer_user(c, s, q, now, w);
                break;
        case NSS_REQ_GROUP_BY_NAME:
        case NSS_REQ_GROUP_BY_GID:
                w->type = NSS_REPLY_GROUPS;
                r = answer_group(c, s, q, now, w);
                break;
        case NSS_REQ_INITGROUPS:
                w->type = NSS_REPLY_GIDS;
                r = answer_initgroups(c, s, q, now, w);
                break;
        case NSS_REQ_LIST_USERS:
                w->type = NSS_REPLY_USERS;
                r = answer_list_users(c, s, q, now, w);
                break;
        case NSS_REQ_LIST_GROUPS:
                w->type = NSS_REPLY_GROUPS;
                r = answer_list_groups(c, s, q, now, w);
                break;
        default:
                r = -EBADMSG;
        }
        if (r == 0) {
                wire_writer_init(w, w->buf, w->cap, NSS_REPLY_NOTFOUND);
                return 0;
        }
        if (r > 0 && w->overflow)
                r = -ENOBUFS;
        if (r < 0) {
                wire_writer_init(w, w->buf, w->cap, NSS_REPLY_ERROR);
                wire_put_u32(w, NSS_TAG_ERRNO, (uint32_t) -r);
                return r;
        }
        return 0;
}
