/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core/password-reset.c, email-verification.c and account-token.c: the
 * account flows by mail without HTTP. Mails go into a folder and the
 * token is read back from the delivered mail, as a person would. Reset:
 * the same for unknown accounts (no mail, audited as such), single use,
 * expiry, another tenant's token, the password policy keeping the token,
 * every SSO session ended, audited. Verification: single use, the
 * address it went to, verified already. The limits per address and per
 * account. */

#include <dirent.h>

#include "email-verification.h"
#include "limiter.h"
#include "mail.h"
#include "password-reset.h"
#include "password.h"
#include "db-sqlite.h"
#include "store-internal.h"
#include "store-mail.h"
#include "store-oidc.h"
#include "test-auth-util.h"

#define BASE_URL "https://id.example.com"
#define NEW_PASSWORD "a brand new passphrase"

static Manager *m;
static char *dir, *spool;
static TenantRecord *acme, *globex;
static UserRecord *alice;
static Principal anonymous;

static void setup(void) {
        IdRange range;
        UserRecord changed;

        dir = test_mkdtemp();
        ck_assert_int_ge(asprintf(&spool, "%s/outbox", dir), 0);
        m = auth_test_manager_new();
        ck_assert_int_ge(sd_event_new(&m->event), 0);
        ck_assert_int_eq(worker_pool_new(m->event, 1, 4, &m->workers), 0);
        m->config->mail_from = strdup("noreply@example.com");
        m->config->mail_outbox_directory = strdup(spool);
        ck_assert_int_eq(mail_new(m, &m->mail), 0);

        alice = auth_test_user(m, "alice", "the old passphrase");
        ck_assert_int_eq(store_tenant_get(m->store, "acme", &acme), 0);
        manager_id_range(m, &range);
        range.min += 1000000;
        range.max += 1000000;
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_tenant_create(m->store, "globex", "Globex", &range, &globex), 0);
        changed = *alice;
        changed.email = (char *) "alice@example.org";
        ck_assert_int_eq(store_user_update(m->store, &changed), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
        alice = user_record_unref(alice);
        ck_assert_int_eq(store_user_get(m->store, acme->id, "alice", &alice), 0);
        anonymous = principal_anonymous("http", "192.0.2.1");
}

static void teardown(void) {
        alice = user_record_unref(alice);
        acme = tenant_record_unref(acme);
        globex = tenant_record_unref(globex);
        m = manager_free(m);
        test_rm_rf(dir);
        dir = (free(dir), NULL);
        spool = (free(spool), NULL);
}

/* Runs the work a "forgot" handed over, as the batch writer does. */
static void run_write(BatchWrite *w) {
        int r;

        ck_assert_int_eq(store_begin(m->store), 0);
        r = w->write(m->store, w->userdata);
        if (r < 0)
                store_rollback(m->store);
        else
                ck_assert_int_eq(store_commit(m->store), 0);
        w->done(r, w->done_userdata ?: w->userdata);
        ck_assert_int_eq(r, 0);
}

static void forgot(const char *email) {
        BatchWrite *w = NULL;
        TesseraError e = {};
        unsigned wait = 0;

        ck_assert_msg(password_reset_request(m, m->store, &anonymous, acme, email, BASE_URL, &wait, &w, &e) == 0, "%s",
                      tessera_error_message(&e));
        ck_assert_ptr_nonnull(w);
        run_write(w);
}

static size_t queued_mails(void) {
        uint64_t n = 0;

        ck_assert_int_eq(store_outbox_count(m->store, OUTBOX_QUEUED, &n), 0);
        return (size_t) n;
}

/* Delivers what is queued into the folder and returns the token of the
 * one mail delivered (from its quoted-printable text, as a mail reader
 * shows it), which must lead to page. */
static char *mailed_token(const char *page) {
        struct dirent **entries = NULL;
        _cleanup_free_ char *path = NULL, *eml = NULL, *prefix = NULL;
        MailDelivery d;
        char *token, *p, *q;
        size_t n = 0;
        int k;

        mail_delivery(m, &d);
        ck_assert_int_eq(mail_deliver_due(&d, m->store, now_realtime_usec()), 0);
        k = scandir(spool, &entries, NULL, alphasort);
        ck_assert_int_ge(k, 1);
        for (int i = 0; i < k; i++) {
                if (!path && entries[i]->d_name[0] != '.')
                        ck_assert_int_ge(asprintf(&path, "%s/%s", spool, entries[i]->d_name), 0);
                free(entries[i]);
        }
        free(entries);
        ck_assert_ptr_nonnull(path);
        {
                _cleanup_(fclosep) FILE *f = fopen(path, "re");
                ck_assert_ptr_nonnull(f);
                ck_assert_int_ge(getdelim(&eml, &n, '\0', f), 0);
        }
        ck_assert_int_eq(unlink(path), 0);
        /* Undo the soft line breaks and "=3D". */
        for (p = q = eml; *p;) {
                if (strneq(p, "=\r\n", 3))
                        p += 3;
                else if (strneq(p, "=3D", 3)) {
                        *q++ = '=';
                        p += 3;
                } else
                        *q++ = *p++;
        }
        *q = '\0';
        ck_assert_int_ge(asprintf(&prefix, BASE_URL "/t/acme/%s?token=", page), 0);
        p = strstr(eml, prefix);
        ck_assert_msg(p, "no link to %s in:\n%s", page, eml);
        p += strlen(prefix);
        token = strndup(p, strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"));
        ck_assert_uint_eq(strlen(token), 43);
        return token;
}

static int reset(const TenantRecord *t, const char *token, const char *password) {
        TesseraError e = {};
        unsigned wait = 0;

        return password_reset_confirm(m, m->store, &anonymous, t, token, password, &wait, NULL, &e);
}

static int64_t make_session(const char *sid) {
        SsoSession sess = { .tenant_id = acme->id, .user_id = alice->id, .auth_time_usec = 1,
                            .expires_usec = INT64_MAX };
        uint8_t cookie[TOKEN_DIGEST_SIZE];
        int64_t id = 0;

        snprintf(sess.sid, sizeof(sess.sid), "%s", sid);
        snprintf(sess.amr, sizeof(sess.amr), "pwd");
        token_digest(sid, cookie);
        ck_assert_int_eq(store_sso_session_create(m->store, &sess, cookie, &id), 0);
        return id;
}

START_TEST(test_reset_sets_password_and_ends_sessions) {
        _cleanup_free_ char *token = NULL;
        _cleanup_(user_record_unrefp) UserRecord *after = NULL;
        int64_t s1 = make_session("sid-one"), s2 = make_session("sid-two");
        SsoSession sess;

        forgot("Alice@Example.org");
        ck_assert_uint_eq(queued_mails(), 1);
        token = mailed_token("reset-password");
        /* Only the digest is stored. */
        ck_assert_int_eq(auth_test_audit_count(m, "auth.forgot", AUDIT_SUCCESS), 1);

        ck_assert_int_eq(reset(acme, token, NEW_PASSWORD), 0);
        after = auth_test_reload(m, alice);
        ck_assert_int_eq(password_verify(NEW_PASSWORD, after->password_hash), 1);
        ck_assert_int_gt(after->password_changed_usec, alice->password_changed_usec);
        ck_assert_int_eq(store_sso_session_get_by_id(m->store, acme->id, s1, &sess), 0);
        ck_assert_int_gt(sess.revoked_usec, 0);
        ck_assert_int_eq(store_sso_session_get_by_id(m->store, acme->id, s2, &sess), 0);
        ck_assert_int_gt(sess.revoked_usec, 0);
        ck_assert_int_eq(auth_test_audit_count(m, "auth.reset-password", AUDIT_SUCCESS), 1);

        /* Single use. */
        ck_assert_int_eq(reset(acme, token, "yet another passphrase"), -EKEYREJECTED);
        after = user_record_unref(after);
        after = auth_test_reload(m, alice);
        ck_assert_int_eq(password_verify(NEW_PASSWORD, after->password_hash), 1);
}
END_TEST

START_TEST(test_unknown_account_gets_no_mail) {
        forgot("nobody@example.org");
        ck_assert_uint_eq(queued_mails(), 0);
        ck_assert_int_eq(auth_test_audit_count(m, "auth.forgot", AUDIT_FAILURE), 1);
        ck_assert(auth_test_audit_contains(m, "{\"mail\":\"unknown\"}"));
}
END_TEST

START_TEST(test_disabled_account_gets_no_mail) {
        UserRecord changed = *alice;

        changed.disabled = true;
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_user_update(m->store, &changed), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
        forgot("alice@example.org");
        ck_assert_uint_eq(queued_mails(), 0);
        ck_assert(auth_test_audit_contains(m, "{\"mail\":\"disabled\"}"));
}
END_TEST

START_TEST(test_request_refusals) {
        BatchWrite *w = NULL;
        TesseraError e = {};
        unsigned wait = 0;

        ck_assert_int_eq(password_reset_request(m, m->store, &anonymous, acme, "no-at-sign", BASE_URL, &wait, &w, &e),
                         -EINVAL);
        ck_assert_int_eq(password_reset_request(m, m->store, &anonymous, acme, "", BASE_URL, &wait, &w, &e), -EINVAL);
        ck_assert_ptr_null(w);
        /* Without mail: said for every address alike. */
        m->mail = mail_free(m->mail);
        ck_assert_int_eq(password_reset_request(m, m->store, &anonymous, acme, "alice@example.org", BASE_URL, &wait, &w, &e),
                         -EOPNOTSUPP);
        ck_assert_int_eq(password_reset_request(m, m->store, &anonymous, acme, "nobody@example.org", BASE_URL, &wait, &w, &e),
                         -EOPNOTSUPP);
}
END_TEST

START_TEST(test_foreign_tenant_and_expiry) {
        _cleanup_free_ char *token = NULL;

        forgot("alice@example.org");
        token = mailed_token("reset-password");
        ck_assert_int_eq(reset(globex, token, NEW_PASSWORD), -EKEYREJECTED);
        /* A reset token is no verification token. */
        {
                TesseraError e = {};
                unsigned wait = 0;
                ck_assert_int_eq(email_verification_confirm(m, m->store, &anonymous, acme, token, &wait, NULL, &e),
                                 -EKEYREJECTED);
        }
        ck_assert_int_eq(reset(acme, "not a token", NEW_PASSWORD), -EKEYREJECTED);
        ck_assert_int_eq(sqlite3_exec(db_sqlite_handle(m->store->db), "UPDATE account_tokens SET expires_usec = 1", NULL, NULL, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(reset(acme, token, NEW_PASSWORD), -ETIME);
}
END_TEST

START_TEST(test_disabled_meanwhile) {
        _cleanup_free_ char *token = NULL;
        UserRecord changed = *alice;

        forgot("alice@example.org");
        token = mailed_token("reset-password");
        changed.disabled = true;
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_user_update(m->store, &changed), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
        ck_assert_int_eq(reset(acme, token, NEW_PASSWORD), -EKEYREJECTED);
}
END_TEST

START_TEST(test_weak_password_keeps_the_token) {
        _cleanup_free_ char *token = NULL;

        forgot("alice@example.org");
        token = mailed_token("reset-password");
        ck_assert_int_eq(reset(acme, token, "short"), -EINVAL);
        ck_assert_int_eq(reset(acme, token, "alice"), -EINVAL);
        ck_assert_int_eq(reset(acme, token, NEW_PASSWORD), 0);
}
END_TEST

START_TEST(test_verification) {
        _cleanup_free_ char *token = NULL;
        _cleanup_(user_record_unrefp) UserRecord *after = NULL;
        Principal self = principal_user("http", alice, "192.0.2.1");
        Principal other = self;
        TesseraError e = {};
        unsigned wait = 0;

        /* Another member may not ask for alice. */
        other.user_id = alice->id + 100;
        ck_assert_int_eq(email_verification_request(m, m->store, &other, acme, alice, BASE_URL, &wait, &e), -EACCES);

        ck_assert_msg(email_verification_request(m, m->store, &self, acme, alice, BASE_URL, &wait, &e) == 0, "%s",
                      tessera_error_message(&e));
        token = mailed_token("verify-email");
        ck_assert_int_eq(email_verification_confirm(m, m->store, &anonymous, globex, token, &wait, NULL, &e),
                         -EKEYREJECTED);
        ck_assert_int_eq(email_verification_confirm(m, m->store, &anonymous, acme, token, &wait, &after, &e), 0);
        ck_assert(after->email_verified);
        ck_assert_int_eq(email_verification_confirm(m, m->store, &anonymous, acme, token, &wait, NULL, &e),
                         -EKEYREJECTED);
        ck_assert_int_eq(auth_test_audit_count(m, "auth.verify-email", AUDIT_SUCCESS), 1);
        ck_assert_int_eq(email_verification_request(m, m->store, &self, acme, after, BASE_URL, &wait, &e), -EALREADY);
}
END_TEST

START_TEST(test_verification_of_an_old_address) {
        _cleanup_free_ char *token = NULL;
        _cleanup_(user_record_unrefp) UserRecord *after = NULL;
        Principal self = principal_user("http", alice, "192.0.2.1");
        UserRecord changed = *alice;
        TesseraError e = {};
        unsigned wait = 0;

        ck_assert_int_eq(email_verification_request(m, m->store, &self, acme, alice, BASE_URL, &wait, &e), 0);
        token = mailed_token("verify-email");
        changed.email = (char *) "alice@elsewhere.example";
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_user_update(m->store, &changed), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
        ck_assert_int_eq(email_verification_confirm(m, m->store, &anonymous, acme, token, &wait, NULL, &e),
                         -EKEYREJECTED);
        after = auth_test_reload(m, alice);
        ck_assert(!after->email_verified);
}
END_TEST

START_TEST(test_limits) {
        LimiterOptions o = {
                .rules = { [LIMIT_ADDRESS] = { 3, 3600 * USEC_PER_SEC }, [LIMIT_ACCOUNT] = { 2, 3600 * USEC_PER_SEC } },
                .max_entries = 64,
                .ipv6_prefix = 64,
        };
        Principal elsewhere = principal_anonymous("http", "192.0.2.2");
        BatchWrite *w = NULL;
        TesseraError e = {};
        unsigned wait = 0;

        ck_assert_int_eq(limiter_new(&o, &m->mail_limiter), 0);
        /* Per account, the same whether it exists or not (case folded). */
        forgot("alice@example.org");
        forgot("ALICE@example.org");
        ck_assert_int_eq(password_reset_request(m, m->store, &elsewhere, acme, "alice@example.org", BASE_URL, &wait, &w, &e),
                         -ETOOMANYREFS);
        ck_assert_uint_gt(wait, 0);
        ck_assert_ptr_null(w);
        /* Per address: the third from 192.0.2.1 passes, the fourth not. */
        forgot("nobody@example.org");
        wait = 0;
        ck_assert_int_eq(password_reset_request(m, m->store, &anonymous, acme, "other@example.org", BASE_URL, &wait, &w, &e),
                         -ETOOMANYREFS);
        ck_assert_uint_gt(wait, 0);
        ck_assert_int_eq(auth_test_audit_count(m, "auth.forgot", AUDIT_DENIED), 2);
}
END_TEST

int main(void) {
        Suite *s = suite_create("account-mail");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_reset_sets_password_and_ends_sessions);
        tcase_add_test(tc, test_unknown_account_gets_no_mail);
        tcase_add_test(tc, test_disabled_account_gets_no_mail);
        tcase_add_test(tc, test_request_refusals);
        tcase_add_test(tc, test_foreign_tenant_and_expiry);
        tcase_add_test(tc, test_disabled_meanwhile);
        tcase_add_test(tc, test_weak_password_keeps_the_token);
        tcase_add_test(tc, test_verification);
        tcase_add_test(tc, test_verification_of_an_old_address);
        tcase_add_test(tc, test_limits);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
