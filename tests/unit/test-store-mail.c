/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store/store-mail.c: the mail outbox. */

#include "store-mail.h"
#include "test-pg-util.h"
#include "test-util.h"

#define T0 INT64_C(1751371200000000)
#define SEC INT64_C(1000000)

static const uint8_t text_box[] = { 1, 2, 3, 0, 4 }, html_box[] = { 9, 8, 7 };

static OutboxMail mail(const char *message_id, int64_t next_attempt_usec) {
        return (OutboxMail) {
                .tenant = (char *) "acme",
                .template_name = (char *) "verify-email",
                .recipient = (char *) "alice@example.org",
                .sender_name = (char *) "Acme Corp",
                .subject = (char *) "Confirm your e-mail address for Acme Corp",
                .message_id = (char *) message_id,
                .body_text = (uint8_t *) text_box,
                .body_text_len = sizeof(text_box),
                .body_html = (uint8_t *) html_box,
                .body_html_len = sizeof(html_box),
                .created_usec = T0,
                .next_attempt_usec = next_attempt_usec,
        };
}

static int64_t add(const char *message_id, int64_t next_attempt_usec) {
        OutboxMail m = mail(message_id, next_attempt_usec);
        int64_t id = 0;

        ck_assert_int_eq(store_outbox_add(test_store, &m, &id), 0);
        ck_assert_int_gt(id, 0);
        return id;
}

static uint64_t count(OutboxState state) {
        uint64_t n = 0;

        ck_assert_int_eq(store_outbox_count(test_store, state, &n), 0);
        return n;
}

START_TEST(test_round_trip) {
        _cleanup_(outbox_mail_done) OutboxMail m = {};
        int64_t id = add("a@example.com", 0);

        ck_assert_int_eq(store_outbox_get(test_store, id, &m), 0);
        ck_assert_int_eq(m.id, id);
        ck_assert_str_eq(m.tenant, "acme");
        ck_assert_str_eq(m.template_name, "verify-email");
        ck_assert_str_eq(m.recipient, "alice@example.org");
        ck_assert_str_eq(m.sender_name, "Acme Corp");
        ck_assert_str_eq(m.subject, "Confirm your e-mail address for Acme Corp");
        ck_assert_str_eq(m.message_id, "a@example.com");
        /* Blobs come back byte for byte, NUL included. */
        ck_assert_uint_eq(m.body_text_len, sizeof(text_box));
        ck_assert_mem_eq(m.body_text, text_box, sizeof(text_box));
        ck_assert_uint_eq(m.body_html_len, sizeof(html_box));
        ck_assert_mem_eq(m.body_html, html_box, sizeof(html_box));
        ck_assert_int_eq(m.state, OUTBOX_QUEUED);
        ck_assert_uint_eq(m.attempts, 0);
        /* Next attempt 0: due at once, when it was queued. */
        ck_assert_int_eq(m.next_attempt_usec, T0);
        ck_assert_int_eq(m.created_usec, T0);
        ck_assert_int_eq(m.finished_usec, 0);
        ck_assert_ptr_null(m.last_error);

        ck_assert_int_eq(store_outbox_get(test_store, id + 1, &m), -ENOENT);
}
END_TEST

START_TEST(test_add_refuses_incomplete_and_duplicates) {
        OutboxMail m = mail("dup@example.com", 0);

        ck_assert_int_eq(store_outbox_add(test_store, &m, NULL), 0);
        /* A message id is unique: a second mail can't pose as the first. */
        ck_assert_int_eq(store_outbox_add(test_store, &m, NULL), -EEXIST);
        m = mail("other@example.com", 0);
        m.recipient = NULL;
        ck_assert_int_eq(store_outbox_add(test_store, &m, NULL), -EINVAL);
        m = mail("other@example.com", 0);
        m.body_html = NULL;
        ck_assert_int_eq(store_outbox_add(test_store, &m, NULL), -EINVAL);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 1);
}
END_TEST

START_TEST(test_rolled_back_queue_leaves_nothing) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        OutboxMail *due = NULL;
        int64_t id = 0, next = 0;
        size_t n = 0;

        /* "User created and mail queued" in one transaction that fails:
         * no mail may stay behind. */
        ck_assert_int_eq(store_begin(test_store), 0);
        txn = test_store;
        id = add("rolled-back@example.com", 0);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 1);
        store_rollback(TAKE_PTR(txn));

        ck_assert_uint_eq(count(OUTBOX_QUEUED), 0);
        OutboxMail m = {};
        ck_assert_int_eq(store_outbox_get(test_store, id, &m), -ENOENT);
        ck_assert_int_eq(store_outbox_due(test_store, T0 + 3600 * SEC, 10, &due, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(due);
        ck_assert_int_eq(store_outbox_next_attempt(test_store, &next), -ENOENT);

        /* Committed, it is there. */
        ck_assert_int_eq(store_begin(test_store), 0);
        txn = test_store;
        id = add("committed@example.com", 0);
        ck_assert_int_eq(store_commit(TAKE_PTR(txn)), 0);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 1);
}
END_TEST

START_TEST(test_due_in_order) {
        OutboxMail *due = NULL;
        int64_t late = add("late@example.com", T0 + 60 * SEC), early = add("early@example.com", T0 + 10 * SEC);
        int64_t now_id = add("now@example.com", T0), next = 0;
        size_t n = 0;

        ck_assert_int_eq(store_outbox_next_attempt(test_store, &next), 0);
        ck_assert_int_eq(next, T0);

        ck_assert_int_eq(store_outbox_due(test_store, T0 + 10 * SEC, 10, &due, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(due[0].id, now_id);
        ck_assert_int_eq(due[1].id, early);
        outbox_mail_array_free(due, n);

        ck_assert_int_eq(store_outbox_due(test_store, T0 + 3600 * SEC, 1, &due, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(due[0].id, now_id);
        outbox_mail_array_free(due, n);

        ck_assert_int_eq(store_outbox_due(test_store, T0 - 1, 10, &due, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(due);
        (void) late;
}
END_TEST

START_TEST(test_defer_then_send) {
        _cleanup_(outbox_mail_done) OutboxMail m = {};
        OutboxMail *due = NULL;
        int64_t id = add("defer@example.com", T0), next = 0;
        size_t n = 0;

        ck_assert_int_eq(store_outbox_defer(test_store, id, T0 + 30 * SEC, "cannot reach the relay"), 0);
        ck_assert_int_eq(store_outbox_defer(test_store, id, T0 + 90 * SEC, "the relay answered SMTP 451"), 0);
        ck_assert_int_eq(store_outbox_get(test_store, id, &m), 0);
        ck_assert_int_eq(m.state, OUTBOX_QUEUED);
        ck_assert_uint_eq(m.attempts, 2);
        ck_assert_int_eq(m.next_attempt_usec, T0 + 90 * SEC);
        ck_assert_str_eq(m.last_error, "the relay answered SMTP 451");
        ck_assert_ptr_nonnull(m.body_text);
        outbox_mail_done(&m);

        /* Not due before its time. */
        ck_assert_int_eq(store_outbox_due(test_store, T0 + 89 * SEC, 10, &due, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(due);
        ck_assert_int_eq(store_outbox_next_attempt(test_store, &next), 0);
        ck_assert_int_eq(next, T0 + 90 * SEC);

        ck_assert_int_eq(store_outbox_mark_sent(test_store, id, T0 + 91 * SEC), 0);
        ck_assert_int_eq(store_outbox_get(test_store, id, &m), 0);
        ck_assert_int_eq(m.state, OUTBOX_SENT);
        ck_assert_uint_eq(m.attempts, 3);
        ck_assert_int_eq(m.finished_usec, T0 + 91 * SEC);
        ck_assert_ptr_null(m.last_error);
        /* The bodies (single-use links) are gone; what it was stays. */
        ck_assert_ptr_null(m.body_text);
        ck_assert_ptr_null(m.body_html);
        ck_assert_str_eq(m.subject, "Confirm your e-mail address for Acme Corp");

        /* Done is done: no second outcome, and nothing more is due. */
        ck_assert_int_eq(store_outbox_mark_sent(test_store, id, T0), -ENOENT);
        ck_assert_int_eq(store_outbox_defer(test_store, id, T0, "x"), -ENOENT);
        ck_assert_int_eq(store_outbox_mark_failed(test_store, id, T0, "x"), -ENOENT);
        ck_assert_int_eq(store_outbox_next_attempt(test_store, &next), -ENOENT);
        ck_assert_uint_eq(count(OUTBOX_SENT), 1);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 0);
}
END_TEST

START_TEST(test_failed_for_good) {
        _cleanup_(outbox_mail_done) OutboxMail m = {};
        int64_t id = add("fail@example.com", T0);

        ck_assert_int_eq(store_outbox_mark_failed(test_store, id, T0 + SEC, "the relay answered SMTP 550"), 0);
        ck_assert_int_eq(store_outbox_get(test_store, id, &m), 0);
        ck_assert_int_eq(m.state, OUTBOX_FAILED);
        ck_assert_uint_eq(m.attempts, 1);
        ck_assert_str_eq(m.last_error, "the relay answered SMTP 550");
        ck_assert_ptr_null(m.body_text);
        ck_assert_uint_eq(count(OUTBOX_FAILED), 1);
        ck_assert_int_eq(store_outbox_count(test_store, _OUTBOX_STATE_MAX, &(uint64_t) { 0 }), -EINVAL);
}
END_TEST

START_TEST(test_prune_keeps_queued) {
        uint64_t n = 0;
        int64_t sent = add("sent@example.com", T0), failed = add("failed@example.com", T0);
        int64_t fresh = add("fresh@example.com", T0), queued = add("queued@example.com", T0);
        OutboxMail m = {};

        ck_assert_int_eq(store_outbox_mark_sent(test_store, sent, T0), 0);
        ck_assert_int_eq(store_outbox_mark_failed(test_store, failed, T0, "x"), 0);
        ck_assert_int_eq(store_outbox_mark_sent(test_store, fresh, T0 + 100 * SEC), 0);

        ck_assert_int_eq(store_outbox_prune(test_store, T0 + 50 * SEC, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(store_outbox_get(test_store, sent, &m), -ENOENT);
        ck_assert_int_eq(store_outbox_get(test_store, failed, &m), -ENOENT);
        ck_assert_int_eq(store_outbox_get(test_store, fresh, &m), 0);
        outbox_mail_done(&m);
        /* However old, a mail still queued is never pruned. */
        ck_assert_int_eq(store_outbox_prune(test_store, T0 + 3600 * SEC, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(store_outbox_get(test_store, queued, &m), 0);
        outbox_mail_done(&m);
}
END_TEST

#define LEASE (120 * SEC)

static int claim(Store *s, int64_t now, OutboxMail *ret) {
        int r;

        ck_assert_int_eq(store_begin(s), 0);
        r = store_outbox_claim(s, now, LEASE, ret);
        if (r >= 0)
                ck_assert_int_eq(store_commit(s), 0);
        else
                store_rollback(s);
        return r;
}

START_TEST(test_claim) {
        _cleanup_(outbox_mail_done) OutboxMail m = {}, o = {};
        int64_t first = add("first@example.com", T0), second = add("second@example.com", T0 + 1), next = 0;

        /* Only in a transaction (the sender commits the claim before it sends). */
        ck_assert_int_eq(store_outbox_claim(test_store, T0 + SEC, LEASE, &m), -EINVAL);
        ck_assert_int_eq(claim(test_store, T0 - 1, &m), -ENOENT);

        ck_assert_int_eq(claim(test_store, T0 + SEC, &m), 0);
        ck_assert_int_eq(m.id, first);
        ck_assert_str_eq(m.message_id, "first@example.com");
        ck_assert_uint_eq(m.body_text_len, sizeof(text_box));
        outbox_mail_done(&m);

        if (!test_store_pg_database()) {
                /* SQLite: one tesserad, one sender; nothing is leased. */
                ck_assert_int_eq(claim(test_store, T0 + SEC, &m), 0);
                ck_assert_int_eq(m.id, first);
                return;
        }

        /* PostgreSQL: leased, the next claim takes the next mail, and the
         * leased one is due again when the lease is over. */
        ck_assert_int_eq(store_outbox_get(test_store, first, &m), 0);
        ck_assert_int_eq(m.state, OUTBOX_QUEUED);
        ck_assert_int_eq(m.next_attempt_usec, T0 + SEC + LEASE);
        outbox_mail_done(&m);
        ck_assert_int_eq(claim(test_store, T0 + SEC, &m), 0);
        ck_assert_int_eq(m.id, second);
        outbox_mail_done(&m);
        ck_assert_int_eq(claim(test_store, T0 + 2 * SEC, &m), -ENOENT);
        ck_assert_int_eq(store_outbox_next_attempt(test_store, &next), 0);
        ck_assert_int_eq(next, T0 + SEC + LEASE);
        ck_assert_int_eq(claim(test_store, T0 + SEC + LEASE, &m), 0);
        ck_assert_int_eq(m.id, first);
        outbox_mail_done(&m);
        /* The outcome ends the lease. */
        ck_assert_int_eq(store_outbox_mark_sent(test_store, first, T0 + 3 * SEC), 0);

        /* Two senders (two connections, as two tesserad): while one holds
         * its claim uncommitted, the other passes over that mail, without
         * waiting (FOR UPDATE SKIP LOCKED), to the next one. */
        _cleanup_free_ char *url = test_pg_database_url(test_store_pg_database());
        _cleanup_(store_closep) Store *other = NULL;
        int64_t third = add("third@example.com", T0 + 2);

        ck_assert_int_eq(store_open(&(StoreConfig) { .backend = STORE_BACKEND_POSTGRESQL, .url = url }, &other), 0);
        ck_assert_int_eq(store_begin(test_store), 0);
        /* third is the longest due (at T0 + 2; second's lease ended later). */
        ck_assert_int_eq(store_outbox_claim(test_store, T0 + 2 * LEASE, LEASE, &m), 0);
        ck_assert_int_eq(m.id, third);
        ck_assert_int_eq(claim(other, T0 + 2 * LEASE, &o), 0);
        ck_assert_int_eq(o.id, second);
        ck_assert_int_eq(store_commit(test_store), 0);
        ck_assert_int_eq(claim(other, T0 + 2 * LEASE, &m), -ENOENT);
}
END_TEST

START_TEST(test_state_names) {
        for (OutboxState s = 0; s < _OUTBOX_STATE_MAX; s++)
                ck_assert_int_eq(outbox_state_from_string(outbox_state_to_string(s)), s);
        ck_assert_int_eq(outbox_state_from_string("Sent"), _OUTBOX_STATE_INVALID);
        ck_assert_ptr_null(outbox_state_to_string(_OUTBOX_STATE_MAX));
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_add_refuses_incomplete_and_duplicates);
        tcase_add_test(tc, test_rolled_back_queue_leaves_nothing);
        tcase_add_test(tc, test_due_in_order);
        tcase_add_test(tc, test_defer_then_send);
        tcase_add_test(tc, test_failed_for_good);
        tcase_add_test(tc, test_prune_keeps_queued);
        tcase_add_test(tc, test_claim);
}

int main(void) {
        Suite *suite = suite_create("store-mail");
        TCase *tc;

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "outbox", add_tests);
        tc = tcase_create("names");
        tcase_add_test(tc, test_state_names);
        suite_add_tcase(suite, tc);
        return test_run_suite(suite);
}
