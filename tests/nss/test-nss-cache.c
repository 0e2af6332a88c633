/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The memory cache format (lib/nss-cache.c) and the entry codec
 * (lib/nss-proto.c) without a daemon: build an image, find every entry by
 * every key, invalidate it, let its heartbeat go stale, and corrupt it in
 * every byte and at every length: lookups must then fail cleanly, never
 * read outside the image (the ASan build checks that) nor crash.
 *
 * With --write-seeds DIR it writes the fuzzers' seed inputs instead. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nss-cache.h"
#include "nss-proto.h"

static unsigned passed, failed;

#define CHECK(expr)                                                                     \
        do {                                                                            \
                if (expr)                                                               \
                        passed++;                                                       \
                else {                                                                  \
                        failed++;                                                       \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                }                                                                       \
        } while (0)

static const uint32_t alice_groups[] = { 200001, 200002 };
static const char *const devs_members[] = { "alice", "bob" };

static NssUserEntry users[] = {
        { .name = "alice", .uid = 200000, .gid = 200000, .gecos = "Alice", .dir = "/home/alice", .shell = "/bin/bash",
          .groups = alice_groups, .n_groups = 2 },
        { .name = "bob", .uid = 200003, .gid = 200003, .gecos = "", .dir = "/home/bob", .shell = "/bin/sh" },
        { .name = "dave@globex", .uid = 400000, .gid = 400000, .gecos = "D", .dir = "/home/dave", .shell = "/bin/sh",
          .hide_after_usec = 1 },
};
static NssGroupEntry groups[] = {
        { .name = "devs", .gid = 200001, .members = devs_members, .n_members = 2 },
        { .name = "ops", .gid = 200002 },
        { .name = "alice", .gid = 200000 },
};

static void *build(size_t *ret_size, unsigned n_extra) {
        NssCacheBuilder *b = nss_cache_builder_new();
        void *image;
        size_t size;

        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                CHECK(nss_cache_builder_add_user(b, &users[i]) == 0);
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                CHECK(nss_cache_builder_add_group(b, &groups[i]) == 0);
        for (unsigned i = 0; i < n_extra; i++) {
                char name[32];
                snprintf(name, sizeof(name), "user%u", i);
                CHECK(nss_cache_builder_add_user(b, &(NssUserEntry) { .name = name, .uid = 300000 + i,
                                                                       .gid = 300000 + i, .dir = "/", .shell = "/" }) == 0);
        }
        size = nss_cache_builder_size(b);
        image = calloc(1, size);
        nss_cache_builder_write(b, image, 42, true);
        nss_cache_heartbeat(image, 1000);
        nss_cache_builder_free(b);
        *ret_size = size;
        return image;
}

static void test_find(void) {
        size_t size;
        void *image = build(&size, 1000);
        NssUserView uv;
        NssGroupView gv;
        uint64_t seq;
        char buf[256];
        struct passwd pw;
        struct group gr;
        size_t state = 0;
        uint32_t gid;

        CHECK(nss_cache_verify(image, size) == 0);
        CHECK(nss_cache_begin(image, 2000, &seq) == 0 && seq == 42);
        CHECK(nss_cache_is_complete(image));

        CHECK(nss_cache_find_user_by_name(image, size, "alice", &uv) == 1);
        CHECK(nss_pack_passwd(&uv, &pw, buf, sizeof(buf)) == 0);
        CHECK(strcmp(pw.pw_name, "alice") == 0 && pw.pw_uid == 200000 && strcmp(pw.pw_dir, "/home/alice") == 0);
        CHECK(strcmp(pw.pw_passwd, "x") == 0 && strcmp(pw.pw_gecos, "Alice") == 0);
        CHECK(uv.n_groups == 2);
        CHECK(nss_user_next_group(&uv, &state, &gid) == 1 && gid == 200001);
        CHECK(nss_user_next_group(&uv, &state, &gid) == 1 && gid == 200002);
        CHECK(nss_user_next_group(&uv, &state, &gid) == 0);
        CHECK(nss_cache_find_user_by_uid(image, size, 200003, &uv) == 1 && nss_str_eq(uv.name, "bob"));
        CHECK(nss_cache_find_user_by_uid(image, size, 300999, &uv) == 1 && nss_str_eq(uv.name, "user999"));
        CHECK(nss_cache_find_user_by_name(image, size, "user500", &uv) == 1 && uv.uid == 300500);
        CHECK(nss_cache_find_user_by_name(image, size, "dave@globex", &uv) == 1 && uv.hide_after_usec == 1);
        CHECK(nss_cache_find_user_by_name(image, size, "carol", &uv) == 0);
        CHECK(nss_cache_find_user_by_name(image, size, "alic", &uv) == 0);
        CHECK(nss_cache_find_user_by_uid(image, size, 200001, &uv) == 0);

        CHECK(nss_cache_find_group_by_name(image, size, "devs", &gv) == 1 && gv.gid == 200001 && gv.n_members == 2);
        CHECK(nss_pack_group(&gv, &gr, buf + 1, sizeof(buf) - 1) == 0);
        CHECK(strcmp(gr.gr_mem[0], "alice") == 0 && strcmp(gr.gr_mem[1], "bob") == 0 && !gr.gr_mem[2]);
        CHECK(((uintptr_t) gr.gr_mem) % sizeof(char *) == 0);
        CHECK(nss_cache_find_group_by_gid(image, size, 200000, &gv) == 1 && nss_str_eq(gv.name, "alice"));
        CHECK(nss_cache_find_group_by_gid(image, size, 200003, &gv) == 0);

        /* Too small a buffer: ERANGE, at every size below the need. */
        CHECK(nss_cache_find_user_by_name(image, size, "alice", &uv) == 1);
        for (size_t n = 0; n < 36; n++)
                CHECK(nss_pack_passwd(&uv, &pw, buf, n) == -ERANGE);

        /* Invalidation: a reader that began before sees it at the end. */
        CHECK(nss_cache_begin(image, 2000, &seq) == 0);
        nss_cache_invalidate(image);
        CHECK(!nss_cache_still_valid(image, seq));
        CHECK(nss_cache_begin(image, 2000, &seq) == -ESTALE);
        free(image);

        /* A daemon that stopped stamping its heartbeat. */
        image = build(&size, 0);
        CHECK(nss_cache_begin(image, 1000 + NSS_CACHE_STALE_USEC, &seq) == 0);
        CHECK(nss_cache_begin(image, 1001 + NSS_CACHE_STALE_USEC, &seq) == -ESTALE);
        nss_cache_heartbeat(image, 5000000000ULL);
        CHECK(nss_cache_begin(image, 5000000001ULL, &seq) == 0);
        free(image);
}

/* Looks everything up in a possibly corrupt image of exactly size bytes. */
static unsigned probe_all(const void *image, size_t size) {
        static const char *const names[] = { "alice", "bob", "devs", "ops", "dave@globex", "nobody" };
        static const uint32_t ids[] = { 200000, 200001, 200002, 200003, 400000, 1 };
        unsigned found = 0;
        uint64_t seq;

        if (nss_cache_verify(image, size) < 0 || nss_cache_begin(image, 1000, &seq) < 0)
                return 0;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                NssUserView uv;
                NssGroupView gv;
                char buf[512];
                struct passwd pw;
                struct group gr;

                if (nss_cache_find_user_by_name(image, size, names[i], &uv) > 0 &&
                    nss_pack_passwd(&uv, &pw, buf, sizeof(buf)) == 0)
                        found += strcmp(pw.pw_name, names[i]) == 0;
                if (nss_cache_find_user_by_uid(image, size, ids[i], &uv) > 0 &&
                    nss_pack_passwd(&uv, &pw, buf, sizeof(buf)) == 0)
                        found += pw.pw_uid == ids[i];
                if (nss_cache_find_group_by_name(image, size, names[i], &gv) > 0 &&
                    nss_pack_group(&gv, &gr, buf, sizeof(buf)) == 0)
                        found += strcmp(gr.gr_name, names[i]) == 0;
                if (nss_cache_find_group_by_gid(image, size, ids[i], &gv) > 0 &&
                    nss_pack_group(&gv, &gr, buf, sizeof(buf)) == 0)
                        found += gr.gr_gid == ids[i];
        }
        return found;
}

static void test_corruption(void) {
        size_t size;
        void *image = build(&size, 0);
        unsigned ok = 0;

        /* Truncated at every length: refused by the size check. */
        for (size_t n = 0; n < size; n++) {
                void *copy = malloc(n ? n : 1);
                memcpy(copy, image, n);
                CHECK(probe_all(copy, n) == 0);
                free(copy);
        }
        /* Every byte set to every interesting value: whatever is found must
         * be the key asked for (the matchers compare), and nothing crashes. */
        for (size_t i = 0; i < size; i++) {
                static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, ':', '\n' };
                for (size_t v = 0; v < sizeof(values); v++) {
                        uint8_t *copy = malloc(size);
                        memcpy(copy, image, size);
                        copy[i] = values[v];
                        probe_all(copy, size);
                        free(copy);
                        ok++;
                }
        }
        CHECK(ok == size * 7);
        CHECK(probe_all(image, size) > 0);
        free(image);
}

static void test_codec(void) {
        uint8_t buf[1024];
        WireWriter w;
        WireReader r;
        WireField f;
        NssRequest q;
        size_t len;

        wire_writer_init(&w, buf, sizeof(buf), NSS_REQ_USER_BY_NAME);
        wire_put_str(&w, NSS_TAG_NAME, "alice@globex");
        wire_put_u32(&w, NSS_TAG_WANT_CACHE, 1);
        CHECK(wire_writer_finish(&w, &len) == 0);
        CHECK(nss_request_parse(buf, len, &q) == 0 && strcmp(q.name, "alice@globex") == 0 && q.want_cache);
        CHECK(nss_request_parse(buf, len - 1, &q) < 0);

        /* A name with a ':' or a newline is no name. */
        wire_writer_init(&w, buf, sizeof(buf), NSS_REQ_USER_BY_NAME);
        wire_put_str(&w, NSS_TAG_NAME, "root:x");
        CHECK(wire_writer_finish(&w, &len) == 0);
        CHECK(nss_request_parse(buf, len, &q) == -EBADMSG);

        /* No key, or two. */
        wire_writer_init(&w, buf, sizeof(buf), NSS_REQ_USER_BY_UID);
        CHECK(wire_writer_finish(&w, &len) == 0);
        CHECK(nss_request_parse(buf, len, &q) == -EBADMSG);
        wire_writer_init(&w, buf, sizeof(buf), NSS_REQ_USER_BY_UID);
        wire_put_u32(&w, NSS_TAG_ID, 1);
        wire_put_u32(&w, NSS_TAG_ID, 2);
        CHECK(wire_writer_finish(&w, &len) == 0);
        CHECK(nss_request_parse(buf, len, &q) == -EBADMSG);

        /* Nested entries, a reply with one user. */
        wire_writer_init(&w, buf, sizeof(buf), NSS_REPLY_USERS);
        nss_put_user(&w, &users[0]);
        CHECK(wire_writer_finish(&w, &len) == 0);
        CHECK(wire_reader_init(&r, buf, len, NSS_MAX_REPLY) == 0);
        CHECK(wire_next(&r, &f) == 1 && f.tag == NSS_TAG_USER);
        {
                NssUserView v;
                CHECK(nss_decode_user(f.data, f.len, &v) == 0 && v.uid == 200000 && nss_str_eq(v.shell, "/bin/bash"));
                /* A repeated name is refused. */
        }
        CHECK(wire_next(&r, &f) == 0);

        /* An entry that does not fit the writer: overflow, not a torn field. */
        wire_writer_init(&w, buf, 40, NSS_REPLY_USERS);
        nss_put_user(&w, &users[0]);
        CHECK(wire_writer_finish(&w, &len) == -ENOBUFS);
}

static int write_file(const char *dir, const char *name, const void *data, size_t n) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f || fwrite(data, 1, n, f) != n) {
                perror(path);
                return 1;
        }
        fclose(f);
        return 0;
}

static int write_seeds(const char *root) {
        char dir[4096];
        uint8_t buf[2048];
        WireWriter w;
        size_t len, size;
        void *image;
        int r = 0;

        snprintf(dir, sizeof(dir), "%s/nss-cache", root);
        mkdir(dir, 0755);
        image = build(&size, 3);
        r |= write_file(dir, "image", image, size);
        free(image);

        snprintf(dir, sizeof(dir), "%s/nss-proto", root);
        mkdir(dir, 0755);
        wire_writer_init(&w, buf, sizeof(buf), NSS_REQ_USER_BY_NAME);
        wire_put_str(&w, NSS_TAG_NAME, "alice");
        wire_put_u32(&w, NSS_TAG_WANT_CACHE, 1);
        wire_writer_finish(&w, &len);
        r |= write_file(dir, "request-user", buf, len);
        wire_writer_init(&w, buf, sizeof(buf), NSS_REQ_LIST_GROUPS);
        wire_put_u64(&w, NSS_TAG_CURSOR, 200001);
        wire_writer_finish(&w, &len);
        r |= write_file(dir, "request-list", buf, len);
        wire_writer_init(&w, buf, sizeof(buf), NSS_REPLY_USERS);
        nss_put_user(&w, &users[0]);
        nss_put_user(&w, &users[2]);
        wire_put_u64(&w, NSS_TAG_CURSOR, 400001);
        wire_writer_finish(&w, &len);
        r |= write_file(dir, "reply-users", buf, len);
        wire_writer_init(&w, buf, sizeof(buf), NSS_REPLY_GROUPS);
        nss_put_group(&w, &groups[0]);
        nss_put_group(&w, &groups[1]);
        wire_writer_finish(&w, &len);
        r |= write_file(dir, "reply-groups", buf, len);

        snprintf(dir, sizeof(dir), "%s/wire", root);
        mkdir(dir, 0755);
        wire_writer_init(&w, buf, sizeof(buf), 7);
        wire_put_str(&w, 1, "hello");
        wire_put_u32(&w, 2, 42);
        wire_put_u64(&w, 3, 1ULL << 40);
        wire_put_bytes(&w, 4, "\0\1\2", 3);
        wire_writer_finish(&w, &len);
        r |= write_file(dir, "fields", buf, len);
        return r;
}

int main(int argc, char **argv) {
        if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
                return write_seeds(argv[2]);
        test_codec();
        test_find();
        test_corruption();
        printf("%u passed, %u failed\n", passed, failed);
        return failed == 0 ? 0 : 1;
}
