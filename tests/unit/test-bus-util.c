/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dbus/bus-util.c: the record cache of the D-Bus objects, keyed by
 * Manager.generation; the text that goes into replies. */

#include <stdlib.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "names.h"
#include "test-util.h"

/* A load that counts its calls and hands out a new record each time; with
 * bump set, a change commits on "another thread" while it reads. */
typedef struct Loads {
        Manager *manager;
        unsigned count;
        bool bump;
} Loads;

static Loads loads;

static int count_load(Manager *m, const char *path, void **ret) {
        int *record = malloc(sizeof(int));

        ck_assert_ptr_nonnull(record);
        *record = (int) ++loads.count;
        if (loads.bump)
                atomic_fetch_add(&m->generation, 1);
        *ret = record;
        return 0;
}

static int missing_load(Manager *m, const char *path, void **ret) {
        return -ENOENT;
}

static int unreachable_load(Manager *m, const char *path, void **ret) {
        return -ENOTCONN;         /* the store's "the database server is away" */
}

static void *free_record(void *p) {
        free(p);
        return NULL;
}

static BusFace *face_new(void) {
        BusFace *f = calloc(1, sizeof(BusFace));

        ck_assert_ptr_nonnull(f);
        f->manager = calloc(1, sizeof(Manager));
        ck_assert_ptr_nonnull(f->manager);
        loads = (Loads) { .manager = f->manager };
        return f;
}

static void face_free(BusFace *f) {
        free(f->user_cache.path);
        free(f->user_cache.record);
        free(f->manager);
        free(f);
}

static int find(BusFace *f, const char *path) {
        void *found = NULL;
        int r = bus_find_cached(f, &f->user_cache, path, count_load, free_record, &found, NULL);

        if (r > 0)
                return *(int *) found;
        return r;
}

START_TEST(test_cache_hit_until_a_change) {
        BusFace *f = face_new();

        ck_assert_int_eq(find(f, "/a"), 1);
        ck_assert_int_eq(find(f, "/a"), 1);        /* cached */
        ck_assert_int_eq(find(f, "/b"), 2);        /* another object */
        ck_assert_int_eq(find(f, "/b"), 2);
        atomic_fetch_add(&f->manager->generation, 1);
        ck_assert_int_eq(find(f, "/b"), 3);        /* a change: loaded again */
        ck_assert_int_eq(find(f, "/b"), 3);
        face_free(f);
}
END_TEST

/* A change that commits while the record is read may or may not be in
 * what was read: the record must not count as current afterwards. */
START_TEST(test_change_during_load_is_not_missed) {
        BusFace *f = face_new();

        loads.bump = true;
        ck_assert_int_eq(find(f, "/a"), 1);
        loads.bump = false;
        ck_assert_int_eq(find(f, "/a"), 2);
        ck_assert_int_eq(find(f, "/a"), 2);
        face_free(f);
}
END_TEST

START_TEST(test_no_object) {
        BusFace *f = face_new();
        void *found = NULL;

        ck_assert_int_eq(bus_find_cached(f, &f->user_cache, "/gone", missing_load, free_record, &found, NULL), 0);
        ck_assert_ptr_null(found);
        face_free(f);
}
END_TEST

/* sd-bus names a find callback's bare errno System.Error.ENOTCONN: the
 * store away must reach the caller as our Busy, saying so. */
START_TEST(test_store_away_is_busy) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        BusFace *f = face_new();
        void *found = NULL;

        ck_assert_int_eq(bus_find_cached(f, &f->user_cache, "/away", unreachable_load, free_record, &found, &error),
                         -ENOTCONN);
        ck_assert_ptr_null(found);
        ck_assert_str_eq(error.name, TESSERA_ERROR_BUSY);
        ck_assert_ptr_nonnull(strstr(error.message, "cannot reach its database"));
        face_free(f);
}
END_TEST

START_TEST(test_text_is_utf8) {
        char *buf = NULL;

        /* Valid text goes out as it is, without a copy. */
        const char *ok = "ada@acme \xc3\xa9\n";
        ck_assert_ptr_eq(bus_text(ok, &buf), ok);
        ck_assert_ptr_null(buf);
        ck_assert_str_eq(bus_text(NULL, &buf), "");
        ck_assert_ptr_null(buf);

        /* A character cut in half, and bytes that never were UTF-8. */
        ck_assert_str_eq(bus_text("a\xc3@acme", &buf), "a\\xc3@acme");
        ck_assert(utf8_is_valid(buf));
        free(buf);
        ck_assert_str_eq(bus_text("\xff", &buf), "\\xff");
        free(buf);
        /* Long enough that every byte needs its escape: nothing is cut. */
        char bad[600];
        memset(bad, 0xfe, sizeof(bad) - 1);
        bad[sizeof(bad) - 1] = '\0';
        ck_assert_uint_eq(strlen(bus_text(bad, &buf)), 4 * (sizeof(bad) - 1));
        ck_assert(utf8_is_valid(buf));
        free(buf);
}
END_TEST

START_TEST(test_qualified_target) {
        char name[128] = "a", *t = NULL;

        for (int i = 0; i < 40; i++)
                strcat(name, "\xc3\xa9");          /* é: the 64th byte falls inside one */
        ck_assert_int_eq(qualified_target(name, "acme", &t), 0);
        ck_assert(utf8_is_valid(t));
        ck_assert_uint_eq(strlen(t), 1 + 31 * 2 + strlen("@acme"));
        ck_assert(strncmp(t, name, 63) == 0);
        free(t);

        ck_assert_int_eq(qualified_target("ada", "acme", &t), 0);
        ck_assert_str_eq(t, "ada@acme");
        free(t);
        memset(name, 'n', 100);
        name[100] = '\0';
        ck_assert_int_eq(qualified_target(name, "acme", &t), 0);
        ck_assert_uint_eq(strlen(t), 64 + strlen("@acme"));
        free(t);
}
END_TEST

static Suite *bus_util_suite(void) {
        Suite *s = suite_create("bus-util");
        TCase *tc = tcase_create("record cache");

        tcase_add_test(tc, test_cache_hit_until_a_change);
        tcase_add_test(tc, test_change_during_load_is_not_missed);
        tcase_add_test(tc, test_no_object);
        tcase_add_test(tc, test_store_away_is_busy);
        suite_add_tcase(s, tc);

        tc = tcase_create("text");
        tcase_add_test(tc, test_text_is_utf8);
        tcase_add_test(tc, test_qualified_target);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(bus_util_suite());
}
