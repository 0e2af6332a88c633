/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-proto.h"

#include <errno.h>
#include <string.h>

/* A field value may go into a passwd or group line: no NUL, no ':' (the
 * field separator), no control character (a newline would forge a line).
 * Names also refuse ',' (the member separator) and must not be empty. */
static int check_str(const WireField *f, bool is_name, size_t max, NssStr *ret) {
        if (f->len > max || (is_name && f->len == 0))
                return -EBADMSG;
        for (uint32_t i = 0; i < f->len; i++) {
                uint8_t c = f->data[i];
                if (c < 0x20 || c == 0x7f || c == ':' || (is_name && c == ','))
                        return -EBADMSG;
        }
        *ret = (NssStr) { .p = (const char *) f->data, .n = f->len };
        return 0;
}

static void reader_over(WireReader *r, const void *data, size_t len) {
        *r = (WireReader) { .p = data, .end = (const uint8_t *) data + len };
}

int nss_decode_user(const void *data, size_t len, NssUserView *ret) {
        NssUserView v = { .fields = data, .end = (const uint8_t *) data + len };
        unsigned seen = 0;
        WireReader r;
        WireField f;
        int e;

        reader_over(&r, data, len);
        while ((e = wire_next(&r, &f)) > 0) {
                if (f.tag >= 1 && f.tag <= 8 && f.tag != NSS_UF_GROUP) {
                        /* Every field but the group list appears at most once. */
                        if (seen & (1u << f.tag))
                                return -EBADMSG;
                        seen |= 1u << f.tag;
                }
                switch (f.tag) {
                case NSS_UF_NAME:
                        e = check_str(&f, true, NSS_MAX_NAME, &v.name);
                        break;
                case NSS_UF_UID:
                        e = wire_field_u32(&f, &v.uid);
                        break;
                case NSS_UF_GID:
                        e = wire_field_u32(&f, &v.gid);
                        break;
                case NSS_UF_GECOS:
                        e = check_str(&f, false, NSS_MAX_FIELD, &v.gecos);
                        break;
                case NSS_UF_DIR:
                        e = check_str(&f, false, NSS_MAX_FIELD, &v.dir);
                        break;
                case NSS_UF_SHELL:
                        e = check_str(&f, false, NSS_MAX_FIELD, &v.shell);
                        break;
                case NSS_UF_GROUP: {
                        uint32_t gid;
                        e = wire_field_u32(&f, &gid);
                        v.n_groups++;
                        break;
                }
                case NSS_UF_HIDE_AFTER:
                        e = wire_field_u64(&f, &v.hide_after_usec);
                        break;
                default:
                        e = 0;
                }
                if (e < 0)
                        return -EBADMSG;
        }
        if (e < 0)
                return -EBADMSG;
        if ((seen & ((1u << NSS_UF_NAME) | (1u << NSS_UF_UID) | (1u << NSS_UF_GID))) !=
            ((1u << NSS_UF_NAME) | (1u << NSS_UF_UID) | (1u << NSS_UF_GID)))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int nss_decode_group(const void *data, size_t len, NssGroupView *ret) {
        NssGroupView v = { .fields = data, .end = (const uint8_t *) data + len };
        unsigned seen = 0;
        WireReader r;
        WireField f;
        int e;

        reader_over(&r, data, len);
        while ((e = wire_next(&r, &f)) > 0) {
                if (f.tag >= 1 && f.tag <= 8 && f.tag != NSS_GF_MEMBER) {
                        if (seen & (1u << f.tag))
                                return -EBADMSG;
                        seen |= 1u << f.tag;
                }
                switch (f.tag) {
                case NSS_GF_NAME:
                        e = check_str(&f, true, NSS_MAX_NAME, &v.name);
                        break;
                case NSS_GF_GID:
                        e = wire_field_u32(&f, &v.gid);
                        break;
                case NSS_GF_MEMBER: {
                        NssStr m;
                        e = check_str(&f, true, NSS_MAX_NAME, &m);
                        v.n_members++;
                        v.members_size += m.n + 1;
                        break;
                }
                case NSS_GF_HIDE_AFTER:
                        e = wire_field_u64(&f, &v.hide_after_usec);
                        break;
                default:
                        e = 0;
                }
                if (e < 0)
                        return -EBADMSG;
        }
        if (e < 0)
                return -EBADMSG;
        if ((seen & ((1u << NSS_GF_NAME) | (1u << NSS_GF_GID))) != ((1u << NSS_GF_NAME) | (1u << NSS_GF_GID)))
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* The decoders above validated the entry; the walkers trust that and
 * only step over fields. */
static int next_field(const uint8_t *fields, const uint8_t *end, size_t *state, uint16_t tag, WireField *ret) {
        WireReader r;
        WireField f;

        if (*state > (size_t) (end - fields))
                return 0;
        reader_over(&r, fields + *state, (size_t) (end - fields) - *state);
        while (wire_next(&r, &f) > 0)
                if (f.tag == tag) {
                        *state = (size_t) (r.p - fields);
                        *ret = f;
                        return 1;
                }
        *state = (size_t) (end - fields) + 1;
        return 0;
}

int nss_user_next_group(const NssUserView *v, size_t *state, uint32_t *ret_gid) {
        WireField f;

        if (next_field(v->fields, v->end, state, NSS_UF_GROUP, &f) <= 0)
                return 0;
        return wire_field_u32(&f, ret_gid) < 0 ? 0 : 1;
}

int nss_group_next_member(const NssGroupView *v, size_t *state, NssStr *ret) {
        WireField f;

        if (next_field(v->fields, v->end, state, NSS_GF_MEMBER, &f) <= 0)
                return 0;
        *ret = (NssStr) { .p = (const char *) f.data, .n = f.len };
        return 1;
}

bool nss_str_eq(NssStr s, const char *c) {
        return strlen(c) == s.n && memcmp(s.p, c, s.n) == 0;
}

static char *copy_str(char **pos, NssStr s) {
        char *start = *pos;

        if (s.n > 0)
                memcpy(start, s.p, s.n);
        start[s.n] = '\0';
        *pos += s.n + 1;
        return start;
}

int nss_pack_passwd(const NssUserView *v, struct passwd *pw, char *buf, size_t buflen) {
        /* "x": the password lives in the daemon, never in an NSS answer. */
        static const NssStr x = { .p = "x", .n = 1 };
        size_t need = (size_t) v->name.n + v->gecos.n + v->dir.n + v->shell.n + x.n + 5;
        char *pos = buf;

        if (!buf || buflen < need)
                return -ERANGE;
        pw->pw_name = copy_str(&pos, v->name);
        pw->pw_passwd = copy_str(&pos, x);
        pw->pw_gecos = copy_str(&pos, v->gecos);
        pw->pw_dir = copy_str(&pos, v->dir);
        pw->pw_shell = copy_str(&pos, v->shell);
        pw->pw_uid = v->uid;
        pw->pw_gid = v->gid;
        return 0;
}

int nss_pack_group(const NssGroupView *v, struct group *gr, char *buf, size_t buflen) {
        static const NssStr x = { .p = "x", .n = 1 };
        uintptr_t base = (uintptr_t) buf;
        size_t align, ptrs, strings, i = 0, state = 0;
        char **mem, *pos;
        NssStr m;

        if (!buf)
                return -ERANGE;
        /* The member array comes first, aligned for char*. */
        align = (sizeof(char *) - base % sizeof(char *)) % sizeof(char *);
        if (v->n_members >= SIZE_MAX / sizeof(char *) - 1)
                return -ERANGE;
        ptrs = (v->n_members + 1) * sizeof(char *);
        strings = (size_t) v->name.n + 1 + x.n + 1 + v->members_size;
        if (buflen < align || buflen - align < ptrs || buflen - align - ptrs < strings)
                return -ERANGE;

        mem = (char **) (void *) (buf + align);
        pos = buf + align + ptrs;
        gr->gr_name = copy_str(&pos, v->name);
        gr->gr_passwd = copy_str(&pos, x);
        gr->gr_gid = v->gid;
        while (i < v->n_members && nss_group_next_member(v, &state, &m) > 0)
                mem[i++] = copy_str(&pos, m);
        mem[i] = NULL;
        gr->gr_mem = mem;
        return 0;
}

void nss_encode_user_fields(WireWriter *w, const NssUserEntry *e) {
        wire_put_str(w, NSS_UF_NAME, e->name);
        wire_put_u32(w, NSS_UF_UID, e->uid);
        wire_put_u32(w, NSS_UF_GID, e->gid);
        wire_put_str(w, NSS_UF_GECOS, e->gecos);
        wire_put_str(w, NSS_UF_DIR, e->dir);
        wire_put_str(w, NSS_UF_SHELL, e->shell);
        for (size_t i = 0; i < e->n_groups; i++)
                wire_put_u32(w, NSS_UF_GROUP, e->groups[i]);
        if (e->hide_after_usec != 0)
                wire_put_u64(w, NSS_UF_HIDE_AFTER, e->hide_after_usec);
}

void nss_encode_group_fields(WireWriter *w, const NssGroupEntry *e) {
        wire_put_str(w, NSS_GF_NAME, e->name);
        wire_put_u32(w, NSS_GF_GID, e->gid);
        for (size_t i = 0; i < e->n_members; i++)
                wire_put_str(w, NSS_GF_MEMBER, e->members[i]);
        if (e->hide_after_usec != 0)
                wire_put_u64(w, NSS_GF_HIDE_AFTER, e->hide_after_usec);
}

/* A nested field: its header first with length 0, the content, then the
 * real length patched in. */
static size_t nested_begin(WireWriter *w, uint16_t tag) {
        size_t start = w->len;
        wire_put_bytes(w, tag, NULL, 0);
        return start;
}

static void nested_end(WireWriter *w, size_t start) {
        size_t n;

        if (w->overflow)
                return;
        n = w->len - start - WIRE_FIELD_HEADER_SIZE;
        if (n > UINT32_MAX) {
                w->overflow = true;
                return;
        }
        w->buf[start + 2] = (uint8_t) (n >> 24);
        w->buf[start + 3] = (uint8_t) (n >> 16);
        w->buf[start + 4] = (uint8_t) (n >> 8);
        w->buf[start + 5] = (uint8_t) n;
}

void nss_put_user(WireWriter *w, const NssUserEntry *e) {
        size_t start = nested_begin(w, NSS_TAG_USER);
        nss_encode_user_fields(w, e);
        nested_end(w, start);
}

void nss_put_group(WireWriter *w, const NssGroupEntry *e) {
        size_t start = nested_begin(w, NSS_TAG_GROUP);
        nss_encode_group_fields(w, e);
        nested_end(w, start);
}

int nss_request_parse(const void *msg, size_t len, NssRequest *ret) {
        NssRequest q = {};
        bool has_cursor = false;
        WireReader r;
        WireField f;
        int e;

        e = wire_reader_init(&r, msg, len, NSS_MAX_REQUEST);
        if (e < 0)
                return e;
        q.type = r.type;
        if (q.type < NSS_REQ_USER_BY_NAME || q.type > NSS_REQ_LIST_GROUPS)
                return -EBADMSG;

        while ((e = wire_next(&r, &f)) > 0) {
                switch (f.tag) {
                case NSS_TAG_NAME: {
                        NssStr s;
                        if (q.has_name || check_str(&f, true, NSS_MAX_NAME, &s) < 0)
                                return -EBADMSG;
                        memcpy(q.name, s.p, s.n);
                        q.name[s.n] = '\0';
                        q.has_name = true;
                        break;
                }
                case NSS_TAG_ID:
                        if (q.has_id || wire_field_u32(&f, &q.id) < 0)
                                return -EBADMSG;
                        q.has_id = true;
                        break;
                case NSS_TAG_CURSOR:
                        if (has_cursor || wire_field_u64(&f, &q.cursor) < 0)
                                return -EBADMSG;
                        has_cursor = true;
                        break;
                case NSS_TAG_WANT_CACHE: {
                        uint32_t v;
                        if (wire_field_u32(&f, &v) < 0)
                                return -EBADMSG;
                        q.want_cache = v != 0;
                        break;
                }
                default:
                        break;  /* newer clients may send more */
                }
        }
        if (e < 0)
                return e;

        switch (q.type) {
        case NSS_REQ_USER_BY_NAME:
        case NSS_REQ_GROUP_BY_NAME:
        case NSS_REQ_INITGROUPS:
                if (!q.has_name)
                        return -EBADMSG;
                break;
        case NSS_REQ_USER_BY_UID:
        case NSS_REQ_GROUP_BY_GID:
                if (!q.has_id)
                        return -EBADMSG;
                break;
        default:
                break;
        }
        *ret = q;
        return 0;
}
