/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/events.c: change events reach inline subscribers before publish
 * returns, and main-loop subscribers on the loop's thread, in order, from
 * any number of publishing threads. */

#include <pthread.h>

#include "events.h"
#include "test-util.h"

#define THREADS 4
#define PER_THREAD 2000

typedef struct Seen {
        pthread_mutex_t lock;
        unsigned inline_count;
        unsigned main_count;
        int64_t last_id[THREADS];     /* per publishing thread: ids must rise */
        bool out_of_order;
        bool wrong_thread;
        pthread_t main_thread;
        char last_name[32];
} Seen;

static void on_inline(const ChangeEvent *e, void *userdata) {
        Seen *s = userdata;

        pthread_mutex_lock(&s->lock);
        s->inline_count++;
        pthread_mutex_unlock(&s->lock);
}

static void on_main(const ChangeEvent *e, void *userdata) {
        Seen *s = userdata;
        int t = (int) e->tenant_id;

        if (!pthread_equal(pthread_self(), s->main_thread))
                s->wrong_thread = true;
        if (t >= 0 && t < THREADS) {
                if (e->id <= s->last_id[t])
                        s->out_of_order = true;
                s->last_id[t] = e->id;
        }
        s->main_count++;
        snprintf(s->last_name, sizeof(s->last_name), "%s", e->name ?: "");
}

typedef struct Publisher {
        EventBus *bus;
        int index;
} Publisher;

static void *publish_many(void *arg) {
        Publisher *p = arg;

        for (int i = 1; i <= PER_THREAD; i++) {
                char name[16];

                snprintf(name, sizeof(name), "u%d-%d", p->index, i);
                event_bus_publish(p->bus, &(ChangeEvent) { .kind = CHANGE_USER, .op = CHANGE_UPDATED,
                                                           .tenant_id = p->index, .id = i, .name = name });
        }
        return NULL;
}

static int stop_when_done(sd_event_source *s, uint64_t usec, void *userdata) {
        Seen *seen = userdata;

        if (seen->main_count >= THREADS * PER_THREAD)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        return sd_event_source_set_time_relative(s, 1000) < 0 ? -EIO : 0;
}

START_TEST(test_threads_and_order) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(event_bus_freep) EventBus *bus = NULL;
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self() };
        pthread_t threads[THREADS];
        Publisher pubs[THREADS];
        sd_event_source *timer = NULL;

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(event_bus_new(event, &bus), 0);
        ck_assert_int_eq(event_bus_subscribe(bus, EVENT_DELIVER_INLINE, on_inline, &seen), 0);
        ck_assert_int_eq(event_bus_subscribe(bus, EVENT_DELIVER_MAIN_LOOP, on_main, &seen), 0);

        for (int i = 0; i < THREADS; i++) {
                pubs[i] = (Publisher) { bus, i };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, publish_many, &pubs[i]), 0);
        }
        ck_assert_int_ge(sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, 1000, 0, stop_when_done, &seen), 0);
        ck_assert_int_ge(sd_event_source_set_enabled(timer, SD_EVENT_ON), 0);
        ck_assert_int_ge(sd_event_loop(event), 0);
        for (int i = 0; i < THREADS; i++)
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        sd_event_source_unref(timer);

        ck_assert_uint_eq(seen.inline_count, THREADS * PER_THREAD);
        ck_assert_uint_eq(seen.main_count, THREADS * PER_THREAD);
        ck_assert(!seen.out_of_order);
        ck_assert(!seen.wrong_thread);
}
END_TEST

START_TEST(test_inline_before_return_and_copies) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(event_bus_freep) EventBus *bus = NULL;
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self() };
        char name[8] = "alice";

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(event_bus_new(event, &bus), 0);
        ck_assert_int_eq(event_bus_subscribe(bus, EVENT_DELIVER_INLINE, on_inline, &seen), 0);
        ck_assert_int_eq(event_bus_subscribe(bus, EVENT_DELIVER_MAIN_LOOP, on_main, &seen), 0);

        event_bus_publish(bus, &(ChangeEvent) { .kind = CHANGE_USER, .op = CHANGE_CREATED, .tenant_id = -1,
                                                .name = name });
        /* Inline: already seen. Main loop: not before the loop runs. */
        ck_assert_uint_eq(seen.inline_count, 1);
        ck_assert_uint_eq(seen.main_count, 0);
        /* The queued event holds its own copy of the strings. */
        strcpy(name, "mallory");
        ck_assert_int_ge(sd_event_run(event, 0), 0);
        ck_assert_uint_eq(seen.main_count, 1);
        ck_assert_str_eq(seen.last_name, "alice");
        /* Nothing more is delivered twice. */
        ck_assert_int_ge(sd_event_run(event, 0), 0);
        ck_assert_uint_eq(seen.main_count, 1);
}
END_TEST

START_TEST(test_free_drops_the_rest) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        EventBus *bus = NULL;
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self() };

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(event_bus_new(event, &bus), 0);
        ck_assert_int_eq(event_bus_subscribe(bus, EVENT_DELIVER_MAIN_LOOP, on_main, &seen), 0);
        event_bus_publish(bus, &(ChangeEvent) { .kind = CHANGE_GROUP, .op = CHANGE_DELETED, .tenant_id = -1 });
        event_bus_publish(bus, &(ChangeEvent) { .kind = CHANGE_GROUP, .op = CHANGE_DELETED, .tenant_id = -1 });
        /* The loop never ran: nobody is told, nothing leaks. */
        event_bus_free(bus);
        ck_assert_uint_eq(seen.main_count, 0);
}
END_TEST

/* At shutdown, once nobody publishes: what is queued is delivered at once,
 * in order, without the loop. */
START_TEST(test_flush_delivers_the_rest) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(event_bus_freep) EventBus *bus = NULL;
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self() };

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(event_bus_new(event, &bus), 0);
        ck_assert_int_eq(event_bus_subscribe(bus, EVENT_DELIVER_MAIN_LOOP, on_main, &seen), 0);
        event_bus_publish(bus, &(ChangeEvent) { .kind = CHANGE_USER, .op = CHANGE_UPDATED, .tenant_id = 0, .id = 1,
                                                .name = "first" });
        event_bus_publish(bus, &(ChangeEvent) { .kind = CHANGE_USER, .op = CHANGE_UPDATED, .tenant_id = 0, .id = 2,
                                                .name = "last" });
        event_bus_flush(bus);
        ck_assert_uint_eq(seen.main_count, 2);
        ck_assert(!seen.out_of_order);
        ck_assert_str_eq(seen.last_name, "last");
        /* Delivered once: the loop finds nothing more. */
        ck_assert_int_ge(sd_event_run(event, 0), 0);
        ck_assert_uint_eq(seen.main_count, 2);
        event_bus_flush(bus);
        ck_assert_uint_eq(seen.main_count, 2);
        event_bus_flush(NULL);
}
END_TEST

START_TEST(test_subscribe_limits) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(event_bus_freep) EventBus *bus = NULL;
        Seen seen = {};
        int r = 0;

        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(event_bus_new(event, &bus), 0);
        ck_assert_int_eq(event_bus_subscribe(bus, EVENT_DELIVER_INLINE, NULL, &seen), -EINVAL);
        ck_assert_int_eq(event_bus_subscribe(bus, 7, on_inline, &seen), -EINVAL);
        for (int i = 0; i < 64 && r >= 0; i++)
                r = event_bus_subscribe(bus, EVENT_DELIVER_INLINE, on_inline, &seen);
        ck_assert_int_eq(r, -E2BIG);
        ck_assert_str_eq(change_kind_to_string(CHANGE_LOCKOUT), "lockout");
        ck_assert_str_eq(change_op_to_string(CHANGE_DELETED), "deleted");
        ck_assert_ptr_null(change_kind_to_string(_CHANGE_KIND_MAX));
}
END_TEST

static Suite *events_suite(void) {
        Suite *s = suite_create("events");
        TCase *tc = tcase_create("events");

        tcase_add_test(tc, test_threads_and_order);
        tcase_add_test(tc, test_inline_before_return_and_copies);
        tcase_add_test(tc, test_free_drops_the_rest);
        tcase_add_test(tc, test_flush_delivers_the_rest);
        tcase_add_test(tc, test_subscribe_limits);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(events_suite());
}
