/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/mail/mail.c and mail-sender.c: queueing inside a transaction,
 * what mail_queue() refuses, and delivery (into a folder, on the test's
 * thread): sent, retried with back-off, failed for good and audited. The
 * SMTP relay is tested against a real server in tests/integration. */

#include <dirent.h>
#include <sys/stat.h>

#include "mail.h"
#include "mail-smtp.h"
#include "store-mail.h"
#include "test-util.h"
#include "time-util.h"

#define SEC INT64_C(1000000)
#define LINK "https://id.example.com/t/acme/verify?token=sEcReTtOkEn"

static char *dir, *spool;
static Manager *m;
static TenantRecord *acme;

static void setup(void) {
        static const uint8_t key[SECRET_KEY_SIZE] = { 7, 7, 7 };
        IdRange range;

        dir = test_mkdtemp();
        ck_assert_int_ge(asprintf(&spool, "%s/outbox", dir), 0);
        m = test_manager_new();
        m->config->mail_from = strdup("noreply@example.com");
        m->config->mail_outbox_directory = strdup(spool);
        m->config->default_tenant = strdup("acme");
        m->config->mail_retry_initial = 10;
        m->config->mail_retry_max = 40;
        m->config->mail_max_attempts = 3;
        ck_assert_int_eq(secret_key_from_bytes(key, &m->secret_key), 0);
        ck_assert_int_eq(mail_new(m, &m->mail), 0);
        ck_assert(mail_enabled(m));

        manager_id_range(m, &range);
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_tenant_create(m->store, "acme", "Acme Corp", &range, &acme), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
}

static void teardown(void) {
        acme = tenant_record_unref(acme);
        m = manager_free(m);
        test_rm_rf(dir);
        dir = (free(dir), NULL);
        spool = (free(spool), NULL);
}

static MailMessage verify_mail(const char *recipient) {
        return (MailMessage) {
                .template = MAIL_TEMPLATE_VERIFY_EMAIL,
                .tenant = "acme",
                .tenant_name = "Acme Corp",
                .recipient = recipient,
                .user = "Alice",
                .link = LINK,
                .expires_sec = 86400,
        };
}

static int64_t queue(const MailMessage *msg) {
        TesseraError e = {};
        int64_t id = 0;

        ck_assert_msg(mail_queue(m, m->store, msg, &id, &e) == 0, "%s", tessera_error_message(&e));
        ck_assert_int_gt(id, 0);
        return id;
}

static uint64_t count(OutboxState state) {
        uint64_t n = 0;

        ck_assert_int_eq(store_outbox_count(m->store, state, &n), 0);
        return n;
}

static OutboxMail get(int64_t id) {
        OutboxMail o = {};

        ck_assert_int_eq(store_outbox_get(m->store, id, &o), 0);
        return o;
}

/* The names of the files in the spool folder, sorted, NULL-terminated. */
static char **spooled(void) {
        struct dirent **entries = NULL;
        char **l;
        int n = scandir(spool, &entries, NULL, alphasort), k = 0;

        ck_assert_int_ge(n, 0);
        l = calloc((size_t) n + 1, sizeof(char *));
        ck_assert_ptr_nonnull(l);
        for (int i = 0; i < n; i++) {
                if (entries[i]->d_name[0] != '.')
                        l[k++] = strdup(entries[i]->d_name);
                free(entries[i]);
        }
        free(entries);
        return l;
}

static char *read_file(const char *path) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(getdelim(&buf, &n, '\0', f), 0);
        return buf;
}

static bool blob_contains(const uint8_t *p, size_t n, const char *s) {
        return memmem(p, n, s, strlen(s)) != NULL;
}

START_TEST(test_queue_commits_with_its_change) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        TesseraError e = {};
        MailMessage msg = verify_mail("alice@example.org");
        int64_t id = 0;

        /* The caller's change fails after queueing: the mail goes with it. */
        ck_assert_int_eq(change_begin(m->store, &txn, &e), 0);
        ck_assert_int_eq(mail_queue(m, m->store, &msg, &id, &e), 0);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 1);
        store_rollback(TAKE_PTR(txn));
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 0);

        /* It commits: the mail is there. */
        ck_assert_int_eq(change_begin(m->store, &txn, &e), 0);
        ck_assert_int_eq(mail_queue(m, m->store, &msg, &id, &e), 0);
        ck_assert_int_eq(change_commit(&txn, &test_admin, "user.create", "acme", "alice", NULL, &e), 0);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 1);
}
END_TEST

START_TEST(test_queued_row) {
        _cleanup_(outbox_mail_done) OutboxMail o = {};
        MailMessage msg = verify_mail("alice@example.org");
        int64_t id = queue(&msg);

        o = get(id);
        ck_assert_str_eq(o.tenant, "acme");
        ck_assert_str_eq(o.template_name, "verify-email");
        ck_assert_str_eq(o.recipient, "alice@example.org");
        ck_assert_str_eq(o.sender_name, "Acme Corp");
        ck_assert_str_eq(o.subject, "Confirm your e-mail address for Acme Corp");
        ck_assert_int_eq(o.state, OUTBOX_QUEUED);
        ck_assert(strlen(o.message_id) > strlen("@example.com"));
        ck_assert_str_eq(o.message_id + strlen(o.message_id) - strlen(".tessera@example.com"), ".tessera@example.com");
        /* The single-use link is in neither body as stored. */
        ck_assert_ptr_nonnull(o.body_text);
        ck_assert_ptr_nonnull(o.body_html);
        ck_assert(!blob_contains(o.body_text, o.body_text_len, "sEcReTtOkEn"));
        ck_assert(!blob_contains(o.body_html, o.body_html_len, "sEcReTtOkEn"));
        ck_assert(!blob_contains(o.body_text, o.body_text_len, "Hello"));
}
END_TEST

START_TEST(test_bad_input_refused) {
        static const char *const recipients[] = {
                "alice@example.org\r\nBcc: everyone@example.net",
                "alice@example.org\n",
                "alice@example.org, bob@example.org",
                "Alice <alice@example.org>",
                "älice@example.org",
                "not-an-address",
                "",
        };
        static const char *const links[] = {
                "javascript:alert(1)",
                "https://example.com/\"><script>",
                "https://example.com/a b",
                "https://example.com/\r\nBcc: x@example.net",
                "ftp://example.com/",
        };
        MailMessage msg;
        TesseraError e = {};

        for (size_t i = 0; i < ELEMENTSOF(recipients); i++) {
                msg = verify_mail(recipients[i]);
                e = (TesseraError) {};
                ck_assert_int_eq(mail_queue(m, m->store, &msg, NULL, &e), -EINVAL);
                ck_assert_ptr_nonnull(strstr(e.message, "is not an e-mail address tessera can send to"));
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                msg = verify_mail("alice@example.org");
                msg.link = links[i];
                e = (TesseraError) {};
                ck_assert_msg(mail_queue(m, m->store, &msg, NULL, &e) == -EINVAL, "link %zu", i);
        }
        msg = verify_mail("alice@example.org");
        msg.user = "Alice\r\nBcc: x@example.net";
        e = (TesseraError) {};
        ck_assert_int_eq(mail_queue(m, m->store, &msg, NULL, &e), -EINVAL);
        msg = verify_mail("alice@example.org");
        msg.tenant_name = "Acme\nBcc: x@example.net";
        e = (TesseraError) {};
        ck_assert_int_eq(mail_queue(m, m->store, &msg, NULL, &e), -EINVAL);
        msg = verify_mail("alice@example.org");
        msg.template = _MAIL_TEMPLATE_MAX;
        e = (TesseraError) {};
        ck_assert_int_eq(mail_queue(m, m->store, &msg, NULL, &e), -EINVAL);

        ck_assert_uint_eq(count(OUTBOX_QUEUED), 0);
}
END_TEST

START_TEST(test_not_configured) {
        TesseraError e = {};
        MailMessage msg = verify_mail("alice@example.org");

        m->mail = mail_free(m->mail);
        m->config->mail_outbox_directory = (free(m->config->mail_outbox_directory), NULL);
        ck_assert_int_eq(mail_new(m, &m->mail), 0);
        ck_assert(!mail_enabled(m));
        ck_assert_int_eq(mail_queue(m, m->store, &msg, NULL, &e), -EOPNOTSUPP);
        ck_assert_ptr_nonnull(strstr(e.message, "[mail] relay"));
}
END_TEST

START_TEST(test_deliver_into_folder) {
        _cleanup_(strv_freep) char **files = NULL;
        _cleanup_free_ char *path = NULL, *eml = NULL;
        _cleanup_(outbox_mail_done) OutboxMail o = {};
        MailMessage msg = verify_mail("alice@example.org");
        MailDelivery d;
        MailCounters c;
        int64_t id = queue(&msg);
        int64_t now = now_realtime_usec();

        mail_delivery(m, &d);
        ck_assert_int_eq(mail_deliver_due(&d, m->store, now), 0);

        files = spooled();
        ck_assert_ptr_nonnull(files[0]);
        ck_assert_ptr_null(files[1]);
        ck_assert_int_ge(asprintf(&path, "%s/%s", spool, files[0]), 0);
        eml = read_file(path);
        ck_assert_ptr_nonnull(strstr(eml, "\r\nSubject: Confirm your e-mail address for Acme Corp\r\n"));
        ck_assert_ptr_nonnull(strstr(eml, "\r\nFrom: \"Acme Corp\" <noreply@example.com>\r\n"));
        ck_assert_ptr_nonnull(strstr(eml, "\r\nTo: <alice@example.org>\r\n"));
        ck_assert_ptr_nonnull(strstr(eml, "token=3DsEcReTtOkEn"));

        o = get(id);
        ck_assert_int_eq(o.state, OUTBOX_SENT);
        ck_assert_uint_eq(o.attempts, 1);
        ck_assert_ptr_null(o.body_text);
        ck_assert_uint_eq(test_audit_count(m->store, "mail.sent", "alice@example.org", AUDIT_SUCCESS), 1);
        mail_get_counters(m, &c);
        ck_assert_uint_eq(c.sent, 1);
        ck_assert_uint_eq(c.deferred, 0);
        ck_assert_uint_eq(c.failed, 0);

        /* Nothing is due any more; nothing goes out twice. */
        ck_assert_int_eq(mail_deliver_due(&d, m->store, now + 3600 * SEC), 0);
        strv_free(files);
        files = spooled();
        ck_assert_ptr_null(files[1]);
}
END_TEST

START_TEST(test_retry_then_fail_for_good) {
        _cleanup_(outbox_mail_done) OutboxMail o = {};
        MailMessage msg = verify_mail("alice@example.org");
        MailDelivery d;
        MailCounters c;
        AuditEvent *events = NULL;
        size_t n = 0;
        int64_t id = queue(&msg), now = now_realtime_usec(), next;

        /* A folder that is a file: every attempt fails. */
        mail_delivery(m, &d);
        d.outbox_directory = "/dev/null";

        ck_assert_int_eq(mail_deliver_due(&d, m->store, now), 0);
        o = get(id);
        ck_assert_int_eq(o.state, OUTBOX_QUEUED);
        ck_assert_uint_eq(o.attempts, 1);
        /* 10 s, less up to half. */
        ck_assert_int_ge(o.next_attempt_usec, now + 5 * SEC);
        ck_assert_int_le(o.next_attempt_usec, now + 10 * SEC);
        ck_assert_ptr_nonnull(strstr(o.last_error, "/dev/null"));
        ck_assert_ptr_nonnull(o.body_text);
        next = o.next_attempt_usec;
        outbox_mail_done(&o);

        /* Not before its time. */
        ck_assert_int_eq(mail_deliver_due(&d, m->store, next - 1), 0);
        o = get(id);
        ck_assert_uint_eq(o.attempts, 1);
        outbox_mail_done(&o);

        ck_assert_int_eq(mail_deliver_due(&d, m->store, next), 0);
        o = get(id);
        ck_assert_uint_eq(o.attempts, 2);
        /* Doubled: 20 s, less up to half. */
        ck_assert_int_ge(o.next_attempt_usec, next + 10 * SEC);
        ck_assert_int_le(o.next_attempt_usec, next + 20 * SEC);
        next = o.next_attempt_usec;
        outbox_mail_done(&o);

        /* The third of three attempts: given up, audited, bodies wiped. */
        ck_assert_int_eq(mail_deliver_due(&d, m->store, next), 0);
        o = get(id);
        ck_assert_int_eq(o.state, OUTBOX_FAILED);
        ck_assert_uint_eq(o.attempts, 3);
        ck_assert_ptr_null(o.body_text);
        events = test_audit_events(m->store, "mail.failed", "alice@example.org", &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(events[0].result, AUDIT_ERROR);
        ck_assert_str_eq(events[0].channel, "mail");
        ck_assert_str_eq(events[0].tenant, "acme");
        ck_assert_ptr_nonnull(strstr(events[0].details, "\"attempts\":3"));
        ck_assert_ptr_nonnull(strstr(events[0].details, "/dev/null"));
        audit_event_array_free(events, n);

        mail_get_counters(m, &c);
        ck_assert_uint_eq(c.sent, 0);
        ck_assert_uint_eq(c.deferred, 2);
        ck_assert_uint_eq(c.failed, 1);
}
END_TEST

START_TEST(test_other_key_fails_at_once) {
        static const uint8_t other[SECRET_KEY_SIZE] = { 9, 9, 9 };
        _cleanup_(secret_key_freep) SecretKey *k = NULL;
        _cleanup_(outbox_mail_done) OutboxMail o = {};
        MailMessage msg = verify_mail("alice@example.org");
        MailDelivery d;
        int64_t id = queue(&msg);

        /* Bodies sealed under another key never open: no point retrying. */
        ck_assert_int_eq(secret_key_from_bytes(other, &k), 0);
        mail_delivery(m, &d);
        d.key = k;
        ck_assert_int_eq(mail_deliver_due(&d, m->store, now_realtime_usec()), 0);
        o = get(id);
        ck_assert_int_eq(o.state, OUTBOX_FAILED);
        ck_assert_uint_eq(o.attempts, 1);
        ck_assert_ptr_nonnull(strstr(o.last_error, "does not open"));
}
END_TEST

START_TEST(test_send_test_policy_and_audit) {
        _cleanup_(outbox_mail_done) OutboxMail o = {};
        TesseraError e = {};
        int64_t id = 0;

        /* Not for ordinary callers: refused and recorded, nothing queued. */
        ck_assert_int_eq(mail_send_test(m, m->store, &test_nobody, "acme", "alice@example.org", &id, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "mail.test", "alice@example.org", AUDIT_DENIED), 1);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 0);

        e = (TesseraError) {};
        ck_assert_int_eq(mail_send_test(m, m->store, &test_admin, "nosuch", "alice@example.org", &id, &e), -ENOENT);
        e = (TesseraError) {};
        ck_assert_int_eq(mail_send_test(m, m->store, &test_admin, "acme", "alice@example.org\nBcc: x@y.z", &id, &e),
                         -EINVAL);
        ck_assert_uint_eq(test_audit_count(m->store, "mail.test", NULL, AUDIT_INVALID), 2);
        ck_assert_uint_eq(count(OUTBOX_QUEUED), 0);

        /* The host's default tenant when none is given. */
        e = (TesseraError) {};
        ck_assert_int_eq(mail_send_test(m, m->store, &test_admin, "", "alice@example.org", &id, &e), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "mail.test", "alice@example.org", AUDIT_SUCCESS), 1);
        o = get(id);
        ck_assert_str_eq(o.template_name, "test");
        ck_assert_str_eq(o.subject, "Test mail from Acme Corp");
}
END_TEST

START_TEST(test_relay_loopback) {
        ck_assert(mail_relay_is_loopback("smtp://localhost"));
        ck_assert(mail_relay_is_loopback("smtp://LocalHost:2525"));
        ck_assert(mail_relay_is_loopback("smtp://127.0.0.1:25"));
        ck_assert(mail_relay_is_loopback("smtp://127.3.2.1/helo.example.com"));
        ck_assert(mail_relay_is_loopback("smtp://[::1]:25"));
        /* Only what the URL says counts: a name is not loopback, whatever
         * it resolves to. */
        ck_assert(!mail_relay_is_loopback("smtp://relay.example.com"));
        ck_assert(!mail_relay_is_loopback("smtp://localhost.example.com"));
        ck_assert(!mail_relay_is_loopback("smtp://127.0.0.1.example.com"));
        ck_assert(!mail_relay_is_loopback("smtp://128.0.0.1"));
        ck_assert(!mail_relay_is_loopback("smtp://127.1"));
        ck_assert(!mail_relay_is_loopback("smtp://[::2]"));
        ck_assert(!mail_relay_is_loopback("smtp://[::1:1]"));
        ck_assert(!mail_relay_is_loopback("localhost"));
}
END_TEST

int main(void) {
        Suite *s = suite_create("mail");
        TCase *tc = tcase_create("core");

        log_set_max_level(LOG_WARNING);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_queue_commits_with_its_change);
        tcase_add_test(tc, test_queued_row);
        tcase_add_test(tc, test_bad_input_refused);
        tcase_add_test(tc, test_not_configured);
        tcase_add_test(tc, test_deliver_into_folder);
        tcase_add_test(tc, test_retry_then_fail_for_good);
        tcase_add_test(tc, test_other_key_fails_at_once);
        tcase_add_test(tc, test_send_test_policy_and_audit);
        tcase_add_test(tc, test_relay_loopback);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
