/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Change events across instances: the core's encoding of an event
 * (daemon/core/change-feed.c), and the store's change feed
 * (daemon/store/store-change-feed.c) between two feeds on one database of
 * a real PostgreSQL server (the meson test starts one with
 * tests/lib/pg_server.py): texts reach the other feed and not the sender's
 * own, and a listening session that was killed is made again and says
 * that notifications may have been missed. */

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "change-feed.h"
#include "store-change-feed.h"
#include "test-pg-util.h"
#include "test-util.h"

/* The bound on waiting for a notification: generous, for a sanitizer
 * build on a loaded machine (it comes in milliseconds). */
#define WAIT_SEC 30

START_TEST(test_encode_decode) {
        ChangeEvent e = { .kind = CHANGE_USER, .op = CHANGE_DELETED, .tenant_id = 7, .tenant = "acme", .id = 42,
                          .name = "al \"ice\"\\ \xc3\xa9", .unix_id = 4000000001u }, d;
        _cleanup_free_ char *text = NULL;
        json_t *json = NULL;

        ck_assert_int_eq(change_event_encode(&e, &text), 0);
        ck_assert_int_eq(change_event_decode(text, &d, &json), 0);
        ck_assert_int_eq(d.kind, CHANGE_USER);
        ck_assert_int_eq(d.op, CHANGE_DELETED);
        ck_assert_int_eq(d.tenant_id, 7);
        ck_assert_str_eq(d.tenant, "acme");
        ck_assert_int_eq(d.id, 42);
        ck_assert_str_eq(d.name, e.name);
        ck_assert_uint_eq(d.unix_id, 4000000001u);
        /* What comes in is another instance's, never sent on again. */
        ck_assert(d.remote);
        json_decref(json);

        /* Events without names (a key set) keep them NULL. */
        free(text);
        text = NULL;
        e = (ChangeEvent) { .kind = CHANGE_SIGNING_KEYS, .op = CHANGE_UPDATED, .tenant_id = 3 };
        ck_assert_int_eq(change_event_encode(&e, &text), 0);
        ck_assert_int_eq(change_event_decode(text, &d, &json), 0);
        ck_assert_int_eq(d.kind, CHANGE_SIGNING_KEYS);
        ck_assert_ptr_null(d.tenant);
        ck_assert_ptr_null(d.name);
        json_decref(json);
}
END_TEST

START_TEST(test_decode_refuses) {
        ChangeEvent d = { .id = 99 };
        json_t *json = NULL;

        ck_assert_int_eq(change_event_decode("", &d, &json), -EBADMSG);
        ck_assert_int_eq(change_event_decode("[1]", &d, &json), -EBADMSG);
        ck_assert_int_eq(change_event_decode("{\"k\":\"user\",\"o\":\"updated\",\"ti\":1,\"i\":2}", &d, &json),
                         -EBADMSG);
        ck_assert_int_eq(change_event_decode("{\"k\":\"user\",\"o\":\"updated\",\"ti\":1,\"i\":2,\"u\":-1}", &d,
                                             &json), -EBADMSG);
        ck_assert_int_eq(change_event_decode("{\"k\":\"user\",\"o\":\"updated\",\"ti\":1,\"i\":2,\"u\":0,\"n\":5}",
                                             &d, &json), -EBADMSG);
        /* A kind of a newer version: the caller drops everything. */
        ck_assert_int_eq(change_event_decode("{\"k\":\"wormhole\",\"o\":\"updated\",\"ti\":1,\"i\":2,\"u\":0}", &d,
                                             &json), -EOPNOTSUPP);
        /* Nothing written on failure. */
        ck_assert_int_eq(d.id, 99);
        ck_assert_ptr_null(json);
}
END_TEST

static void never_called(const char *payload, void *userdata) {
        ck_abort_msg("a feed of SQLite heard something");
}

START_TEST(test_sqlite_has_no_feed) {
        StoreConfig c = { .backend = STORE_BACKEND_SQLITE, .path = (char *) ":memory:" };
        StoreChangeFeed *f = (StoreChangeFeed *) 1;

        ck_assert_int_eq(store_change_feed_new(&c, never_called, NULL, &f), 0);
        ck_assert_ptr_null(f);
        ck_assert_int_eq(store_change_feed_send(NULL, "x"), 0);
        ck_assert_int_eq(store_change_feed_start(NULL), 0);
        ck_assert_ptr_null(store_change_feed_free(NULL));
}
END_TEST

/* What a feed's function got, for the test's thread. */
typedef struct Heard {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        char *texts[16];          /* NULL entries: "everything" */
        unsigned n;
} Heard;

static void on_text(const char *payload, void *userdata) {
        Heard *h = userdata;

        pthread_mutex_lock(&h->lock);
        ck_assert_uint_lt(h->n, ELEMENTSOF(h->texts));
        h->texts[h->n] = payload ? strdup(payload) : NULL;
        ck_assert(!payload || h->texts[h->n]);
        h->n++;
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
}

/* Waits until h holds at least n texts; the number it holds. */
static unsigned wait_heard(Heard *h, unsigned n) {
        struct timespec deadline;
        unsigned got;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += WAIT_SEC;
        pthread_mutex_lock(&h->lock);
        while (h->n < n && pthread_cond_timedwait(&h->changed, &h->lock, &deadline) == 0)
                ;
        got = h->n;
        pthread_mutex_unlock(&h->lock);
        return got;
}

static void heard_done(Heard *h) {
        for (unsigned i = 0; i < h->n; i++)
                free(h->texts[i]);
        pthread_cond_destroy(&h->changed);
        pthread_mutex_destroy(&h->lock);
}

static char *dbname, *dburl;

static void setup(void) {
        dbname = test_pg_database_new();
        dburl = test_pg_database_url(dbname);
}

static void teardown(void) {
        dburl = (free(dburl), NULL);
        test_pg_database_drop(dbname);
        dbname = (free(dbname), NULL);
}

static StoreChangeFeed *feed_new(Heard *h) {
        StoreConfig c = { .backend = STORE_BACKEND_POSTGRESQL, .url = dburl };
        StoreChangeFeed *f = NULL;

        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->changed, NULL);
        ck_assert_int_eq(store_change_feed_new(&c, on_text, h, &f), 0);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(store_change_feed_start(f), 0);
        return f;
}

START_TEST(test_two_feeds) {
        Heard ha = {}, hb = {};
        StoreChangeFeed *a = feed_new(&ha), *b = feed_new(&hb);
        char long_text[STORE_CHANGE_PAYLOAD_MAX + 2];

        ck_assert_str_ne(store_change_feed_instance(a), store_change_feed_instance(b));
        /* A's own text goes to B only; B's to A only. A's is committed
         * before B's, so A would have got it before B's if at all. */
        ck_assert_int_eq(store_change_feed_send(a, "from a: 'quoted' \"and\" \\ \xc3\xa9"), 0);
        ck_assert_int_eq(store_change_feed_send(b, "from b"), 0);
        ck_assert_uint_eq(wait_heard(&hb, 1), 1);
        ck_assert_uint_eq(wait_heard(&ha, 1), 1);
        ck_assert_str_eq(hb.texts[0], "from a: 'quoted' \"and\" \\ \xc3\xa9");
        ck_assert_str_eq(ha.texts[0], "from b");

        memset(long_text, 'x', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = '\0';
        ck_assert_int_eq(store_change_feed_send(a, long_text), -E2BIG);
        long_text[STORE_CHANGE_PAYLOAD_MAX] = '\0';
        ck_assert_int_eq(store_change_feed_send(a, long_text), 0);
        ck_assert_uint_eq(wait_heard(&hb, 2), 2);
        ck_assert_str_eq(hb.texts[1], long_text);

        store_change_feed_free(a);
        store_change_feed_free(b);
        ck_assert_uint_eq(ha.n, 1);
        heard_done(&ha);
        heard_done(&hb);
}
END_TEST

START_TEST(test_listener_killed) {
        _cleanup_free_ char *killed = NULL, *listening = NULL;
        Heard ha = {}, hb = {};
        StoreChangeFeed *a = feed_new(&ha), *b = feed_new(&hb);
        PGconn *conn = test_pg_connect(dbname);

        /* Every listening session goes. */
        killed = test_pg_query(conn, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE query = 'LISTEN tessera_change'");
        ck_assert_str_eq(killed, "2");
        /* Each feed listens again, and says that it may have missed texts. */
        ck_assert_uint_eq(wait_heard(&ha, 1), 1);
        ck_assert_uint_eq(wait_heard(&hb, 1), 1);
        ck_assert_ptr_null(ha.texts[0]);
        ck_assert_ptr_null(hb.texts[0]);
        listening = test_pg_query(conn, "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN tessera_change'");
        ck_assert_str_eq(listening, "2");
        /* And hears what comes next. */
        ck_assert_int_eq(store_change_feed_send(a, "after"), 0);
        ck_assert_uint_eq(wait_heard(&hb, 2), 2);
        ck_assert_str_eq(hb.texts[1], "after");

        /* The sending session killed: the next text goes on a new one. */
        free(killed);
        killed = test_pg_query(conn, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query "
                                     "LIKE 'SELECT pg_notify%'");
        ck_assert_str_eq(killed, "1");      /* A's: B sent nothing yet */
        ck_assert_int_eq(store_change_feed_send(a, "resent"), 0);
        ck_assert_uint_eq(wait_heard(&hb, 3), 3);
        ck_assert_str_eq(hb.texts[2], "resent");

        PQfinish(conn);
        store_change_feed_free(a);
        store_change_feed_free(b);
        heard_done(&ha);
        heard_done(&hb);
}
END_TEST

static Suite *change_feed_suite(void) {
        Suite *s = suite_create("change-feed");
        TCase *tc = tcase_create("encoding");

        tcase_add_test(tc, test_encode_decode);
        tcase_add_test(tc, test_decode_refuses);
        tcase_add_test(tc, test_sqlite_has_no_feed);
        suite_add_tcase(s, tc);

        if (!test_pg_url()) {
                fprintf(stderr, "TESSERA_TEST_STORE_URL is not set: the cases on a PostgreSQL server do not run "
                                "(meson test runs them under tests/lib/pg_server.py).\n");
                return s;
        }
        tc = tcase_create("postgresql");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_two_feeds);
        tcase_add_test(tc, test_listener_killed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(change_feed_suite());
}
