/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store-application.c, store-oauth.c, batch-writer.c and the
 * application operations of application.c. */

#include "application.h"
#include "batch-writer.h"
#include "key-set.h"
#include "store-oidc.h"
#include "test-util.h"

static ApplicationRecord *make_app(Store *s, const TenantRecord *t, const char *name) {
        static char *const uris[] = { "https://app.example/cb", NULL };
        static char *const grants[] = { "authorization_code", "refresh_token", NULL };
        static char *const scopes[] = { "openid", "offline_access", NULL };
        ApplicationRecord a = {
                .tenant_id = t->id,
                .name = (char *) name,
                .client_id = (char *) name,
                .redirect_uris = (char **) uris,
                .grants = (char **) grants,
                .scopes = (char **) scopes,
                .signing_alg = JWT_ALG_ES256,
        }, *ret = NULL;

        ck_assert_int_eq(store_application_create(s, &a, &ret), 0);
        return ret;
}

static int64_t make_sso_session(Store *s, const TenantRecord *t, const UserRecord *u, const char *sid) {
        SsoSession sess = { .tenant_id = t->id, .user_id = u->id, .auth_time_usec = 1, .expires_usec = INT64_MAX };
        uint8_t cookie[TOKEN_DIGEST_SIZE];
        int64_t id = 0;

        snprintf(sess.sid, sizeof(sess.sid), "%s", sid);
        snprintf(sess.amr, sizeof(sess.amr), "pwd");
        token_digest(sid, cookie);
        ck_assert_int_eq(store_sso_session_create(s, &sess, cookie, &id), 0);
        return id;
}

START_TEST(test_applications) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", &test_default_range);
        _cleanup_(application_record_unrefp) ApplicationRecord *a = make_app(s, t, "web"), *b = NULL;
        ApplicationRecord **list = NULL;
        size_t n;

        ck_assert_str_eq(a->tenant, "acme");
        ck_assert(application_has_redirect_uri(a, "https://app.example/cb"));
        ck_assert(!application_has_redirect_uri(a, "https://app.example/cb/"));
        ck_assert(!application_has_redirect_uri(a, "https://app.example/CB"));
        ck_assert(application_has_grant(a, "refresh_token"));
        ck_assert(!application_has_grant(a, "client_credentials"));
        ck_assert_int_eq(a->signing_alg, JWT_ALG_ES256);

        ck_assert_int_eq(store_application_get_by_client_id(s, "web", &b), 0);
        ck_assert_int_eq(b->id, a->id);
        ck_assert_int_eq(store_application_list(s, t->id, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        application_record_array_free(list, n);
        {
                ApplicationRecord *dup = NULL;
                ck_assert_int_eq(store_application_create(s, a, &dup), -EEXIST);
        }
        ck_assert_int_eq(store_application_delete(s, a->id), 0);
        ck_assert_int_eq(store_application_delete(s, a->id), -ENOENT);
}
END_TEST

START_TEST(test_code_single_use) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", &test_default_range);
        _cleanup_(user_record_unrefp) UserRecord *u = test_user(s, t, "alice");
        _cleanup_(application_record_unrefp) ApplicationRecord *a = make_app(s, t, "web");
        AuthorizationCode c = {
                .application_id = a->id,
                .session_id = make_sso_session(s, t, u, "sid1"),
                .redirect_uri = (char *) "https://app.example/cb",
                .scope = (char *) "openid",
                .code_challenge = (char *) "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                .created_usec = 1000,
                .expires_usec = 61000,
        }, got = {};

        token_digest("the-code", c.digest);
        ck_assert_int_eq(store_code_create(s, &c), 0);
        ck_assert_int_eq(store_code_get(s, t->id, c.digest, &got), 0);
        ck_assert_str_eq(got.code_challenge, c.code_challenge);
        ck_assert_ptr_null(got.nonce);
        authorization_code_done(&got);

        /* After it expired it can't be claimed; before, exactly once. */
        ck_assert_int_eq(store_code_claim(s, t->id, c.digest, 61000, "jti-x", NULL), 0);
        ck_assert_int_eq(store_code_claim(s, t->id, c.digest, 2000, "jti-1", "fam-1"), 1);
        ck_assert_int_eq(store_code_claim(s, t->id, c.digest, 2001, "jti-2", "fam-2"), 0);
        ck_assert_int_eq(store_code_get(s, t->id, c.digest, &got), 0);
        ck_assert_str_eq(got.issued_jti, "jti-1");
        ck_assert_str_eq(got.issued_family, "fam-1");
        ck_assert_int_eq(got.used_usec, 2000);
        authorization_code_done(&got);
}
END_TEST

START_TEST(test_refresh_rotation_and_revocation) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", &test_default_range);
        _cleanup_(user_record_unrefp) UserRecord *u = test_user(s, t, "alice");
        _cleanup_(application_record_unrefp) ApplicationRecord *a = make_app(s, t, "web");
        int64_t session = make_sso_session(s, t, u, "sid1"), id1, id2;
        RefreshToken rt = {
                .family = "fam",
                .application_id = a->id,
                .session_id = session,
                .user_id = u->id,
                .scope = (char *) "openid offline_access",
                .amr = "pwd",
                .idle_expires_usec = INT64_MAX,
                .absolute_expires_usec = INT64_MAX,
        }, got = {};

        token_digest("rt-1", rt.digest);
        ck_assert_int_eq(store_refresh_create(s, &rt, &id1), 0);
        token_digest("rt-2", rt.digest);
        ck_assert_int_eq(store_refresh_create(s, &rt, &id2), 0);

        ck_assert_int_eq(store_refresh_mark_rotated(s, id1, 10), 1);
        ck_assert_int_eq(store_refresh_mark_rotated(s, id1, 11), 0);
        ck_assert_int_eq(store_refresh_get_by_id(s, t->id, id1, &got), 0);
        ck_assert_int_eq(got.rotated_usec, 10);
        ck_assert_str_eq(got.scope, "openid offline_access");
        refresh_token_done(&got);

        ck_assert_int_eq(store_refresh_family_revoked(s, "fam"), 0);
        ck_assert_int_eq(store_refresh_revoke_family(s, "fam", 20), 0);
        ck_assert_int_eq(store_refresh_family_revoked(s, "fam"), 1);
        ck_assert_int_eq(store_refresh_mark_rotated(s, id2, 21), 0);

        /* Revoking a session revokes its tokens, and tokens name it. */
        token_digest("rt-3", rt.digest);
        snprintf(rt.family, sizeof(rt.family), "fam2");
        ck_assert_int_eq(store_refresh_create(s, &rt, NULL), 0);
        ck_assert_int_eq(store_token_revoked(s, t->id, "some-jti", "sid1"), 0);
        ck_assert_int_eq(store_sso_session_revoke(s, t->id, session, 30), 0);
        ck_assert_int_eq(store_token_revoked(s, t->id, "some-jti", "sid1"), 1);
        ck_assert_int_eq(store_refresh_get(s, t->id, rt.digest, &got), 0);
        ck_assert_int_eq(got.revoked_usec, 30);
        refresh_token_done(&got);

        ck_assert_int_eq(store_revoked_token_add(s, "jti-9", 100), 0);
        ck_assert_int_eq(store_revoked_token_add(s, "jti-9", 100), 0);
        ck_assert_int_eq(store_token_revoked(s, t->id, "jti-9", NULL), 1);
        ck_assert_int_eq(store_oidc_purge(s, 200), 0);
        ck_assert_int_eq(store_token_revoked(s, t->id, "jti-9", NULL), 0);
}
END_TEST

START_TEST(test_consent) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(s, "acme", &test_default_range);
        _cleanup_(user_record_unrefp) UserRecord *u = test_user(s, t, "alice");
        _cleanup_(application_record_unrefp) ApplicationRecord *a = make_app(s, t, "web");
        _cleanup_free_ char *scope = NULL, *scope2 = NULL;

        ck_assert_int_eq(store_consent_get(s, t->id, u->id, a->id, &scope), -ENOENT);
        ck_assert_int_eq(store_consent_set(s, t->id, u->id, a->id, "openid", 1), 0);
        ck_assert_int_eq(store_consent_set(s, t->id, u->id, a->id, "openid email", 2), 0);
        ck_assert_int_eq(store_consent_get(s, t->id, u->id, a->id, &scope2), 0);
        ck_assert_str_eq(scope2, "openid email");
}
END_TEST

/* No artefact of one tenant is found by a lookup made for another: codes,
 * refresh tokens, sessions by cookie, id and sid, consents, revocation. */
START_TEST(test_tenant_isolation) {
        Store *s = test_store;
        _cleanup_(tenant_record_unrefp) TenantRecord *acme = test_tenant(s, "acme", &test_default_range),
                                                     *globex = test_tenant(s, "globex", &test_default_range);
        _cleanup_(user_record_unrefp) UserRecord *alice = test_user(s, acme, "alice"),
                                                 *gus = test_user(s, globex, "gus");
        _cleanup_(application_record_unrefp) ApplicationRecord *web = make_app(s, acme, "web"),
                                                               *gweb = make_app(s, globex, "gweb");
        int64_t session = make_sso_session(s, acme, alice, "acme-sid"), id;
        uint8_t cookie[TOKEN_DIGEST_SIZE];
        AuthorizationCode c = {
                .application_id = web->id,
                .session_id = session,
                .redirect_uri = (char *) "https://app.example/cb",
                .scope = (char *) "openid",
                .created_usec = 1000,
                .expires_usec = 61000,
        }, code = {};
        RefreshToken rt = {
                .family = "fam",
                .application_id = web->id,
                .session_id = session,
                .user_id = alice->id,
                .scope = (char *) "openid offline_access",
                .amr = "pwd",
                .idle_expires_usec = INT64_MAX,
                .absolute_expires_usec = INT64_MAX,
        }, got = {};
        SsoSession sess;
        char *scope = NULL;

        token_digest("the-code", c.digest);
        ck_assert_int_eq(store_code_create(s, &c), 0);
        ck_assert_int_eq(store_code_get(s, globex->id, c.digest, &code), -ENOENT);
        ck_assert_int_eq(store_code_claim(s, globex->id, c.digest, 2000, "jti", NULL), 0);
        ck_assert_int_eq(store_code_get(s, acme->id, c.digest, &code), 0);
        ck_assert_int_eq(code.used_usec, 0);      /* the claim in globex spent nothing */
        authorization_code_done(&code);

        token_digest("rt", rt.digest);
        ck_assert_int_eq(store_refresh_create(s, &rt, &id), 0);
        ck_assert_int_eq(store_refresh_get(s, globex->id, rt.digest, &got), -ENOENT);
        ck_assert_int_eq(store_refresh_get_by_id(s, globex->id, id, &got), -ENOENT);
        ck_assert_int_eq(store_refresh_get(s, acme->id, rt.digest, &got), 0);
        refresh_token_done(&got);

        token_digest("acme-sid", cookie);
        ck_assert_int_eq(store_sso_session_get_by_cookie(s, globex->id, cookie, &sess), -ENOENT);
        ck_assert_int_eq(store_sso_session_get_by_id(s, globex->id, session, &sess), -ENOENT);
        ck_assert_int_eq(store_sso_session_get_by_sid(s, globex->id, "acme-sid", &sess), -ENOENT);
        ck_assert_int_eq(store_sso_session_get_by_sid(s, acme->id, "acme-sid", &sess), 0);
        /* A sid of another tenant is no live session here: fail closed. */
        ck_assert_int_eq(store_token_revoked(s, globex->id, "jti", "acme-sid"), 1);
        ck_assert_int_eq(store_token_revoked(s, acme->id, "jti", "acme-sid"), 0);
        /* Revoking in the wrong tenant does nothing. */
        ck_assert_int_eq(store_sso_session_revoke(s, globex->id, session, 5), 0);
        ck_assert_int_eq(store_sso_session_get_by_id(s, acme->id, session, &sess), 0);
        ck_assert_int_eq(sess.revoked_usec, 0);
        ck_assert_int_eq(store_refresh_get(s, acme->id, rt.digest, &got), 0);
        ck_assert_int_eq(got.revoked_usec, 0);
        refresh_token_done(&got);

        /* Consents only between a user and an application of one tenant. */
        ck_assert_int_eq(store_consent_set(s, globex->id, alice->id, gweb->id, "openid", 1), -ENOENT);
        ck_assert_int_eq(store_consent_set(s, acme->id, alice->id, gweb->id, "openid", 1), -ENOENT);
        ck_assert_int_eq(store_consent_set(s, globex->id, gus->id, web->id, "openid", 1), -ENOENT);
        ck_assert_int_eq(store_consent_set(s, acme->id, alice->id, web->id, "openid", 1), 0);
        ck_assert_int_eq(store_consent_get(s, globex->id, alice->id, web->id, &scope), -ENOENT);
        ck_assert_int_eq(store_consent_get(s, acme->id, alice->id, web->id, &scope), 0);
        free(scope);
}
END_TEST

static void add_tests(TCase *tc) {
        tcase_add_test(tc, test_tenant_isolation);
        tcase_add_test(tc, test_applications);
        tcase_add_test(tc, test_code_single_use);
        tcase_add_test(tc, test_refresh_rotation_and_revocation);
        tcase_add_test(tc, test_consent);
}

/* -- the batch writer: concurrent claims of one code, exactly one wins -- */

typedef struct Claim {
        BatchWriter *w;
        int64_t tenant_id;
        const uint8_t *digest;
        int result;
} Claim;

static int claim_write(Store *s, void *userdata) {
        Claim *c = userdata;
        return store_code_claim(s, c->tenant_id, c->digest, 5, "jti", NULL);
}

static void *claim_thread(void *userdata) {
        Claim *c = userdata;
        c->result = batch_writer_run(c->w, claim_write, c);
        return NULL;
}

static int failing_write(Store *s, void *userdata) {
        AuditEvent e = { .channel = "http", .actor_uid = -1, .action = "should.vanish", .result = AUDIT_SUCCESS };
        (void) store_audit_append(s, &e);
        return -EINVAL;
}

static int audit_write(Store *s, void *userdata) {
        AuditEvent e = { .channel = "http", .actor_uid = -1, .action = "kept", .result = AUDIT_SUCCESS };
        return store_audit_append(s, &e);
}

/* The order in which writes were done, on the writer thread. */
typedef struct Sequence {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        char order[8];
        size_t n;
        uint64_t done_usec[8];
} Sequence;

typedef struct Tagged {
        BatchWrite write;
        Sequence *seq;
        char tag;
} Tagged;

static int tagged_write(Store *s, void *userdata) {
        Tagged *t = userdata;
        AuditEvent e = { .channel = "http", .actor_uid = -1, .action = "delayed", .result = AUDIT_SUCCESS };

        return t->tag == 'd' ? store_audit_append(s, &e) : 0;
}

static void tagged_done(int result, void *userdata) {
        Tagged *t = userdata;

        ck_assert_int_eq(result, 0);
        pthread_mutex_lock(&t->seq->lock);
        t->seq->done_usec[t->seq->n] = now_monotonic_usec();
        t->seq->order[t->seq->n++] = t->tag;
        pthread_cond_broadcast(&t->seq->changed);
        pthread_mutex_unlock(&t->seq->lock);
}

static void wait_done(Sequence *seq, size_t n) {
        pthread_mutex_lock(&seq->lock);
        while (seq->n < n)
                pthread_cond_wait(&seq->changed, &seq->lock);
        pthread_mutex_unlock(&seq->lock);
}

/* A write with a delay joins a batch no earlier than its delay, while
 * writes without one go on; draining commits it without waiting. */
START_TEST(test_batch_writer_delay) {
        _cleanup_free_ char *dir = test_mkdtemp();
        _cleanup_(store_pool_freep) StorePool *pool = test_store_pool(dir);
        _cleanup_(store_closep) Store *s = NULL;
        Sequence seq = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };
        Tagged delayed = { .seq = &seq, .tag = 'd' }, now = { .seq = &seq, .tag = 'n' },
               late = { .seq = &seq, .tag = 'l' };
        BatchWriter *w = NULL;
        uint64_t queued;

        ck_assert_int_eq(store_pool_open(pool, &s), 0);
        ck_assert_int_eq(batch_writer_new(pool, &w), 0);
        delayed.write = (BatchWrite) { .write = tagged_write, .userdata = &delayed, .done = tagged_done,
                                       .delay_usec = 300 * 1000 };
        now.write = (BatchWrite) { .write = tagged_write, .userdata = &now, .done = tagged_done };
        queued = now_monotonic_usec();
        ck_assert_int_eq(batch_writer_queue(w, &delayed.write), 0);
        ck_assert_int_eq(batch_writer_queue(w, &now.write), 0);
        wait_done(&seq, 2);
        ck_assert(memcmp(seq.order, "nd", 2) == 0);
        /* A lower bound, the contract: not before its delay. */
        ck_assert_uint_ge(seq.done_usec[1] - queued, 300 * 1000);
        ck_assert_uint_eq(test_audit_count(s, "delayed", NULL, -1), 1);

        /* Stopping does not wait out a delay, and loses nothing. */
        late.write = (BatchWrite) { .write = tagged_write, .userdata = &late, .done = tagged_done,
                                    .delay_usec = 3600 * USEC_PER_SEC };
        ck_assert_int_eq(batch_writer_queue(w, &late.write), 0);
        batch_writer_drain(w);
        ck_assert_uint_eq(seq.n, 3);
        ck_assert_int_eq(seq.order[2], 'l');
        batch_writer_free(w);
        test_rm_rf(dir);
}
END_TEST

START_TEST(test_batch_writer) {
        _cleanup_free_ char *dir = test_mkdtemp();
        _cleanup_(store_pool_freep) StorePool *pool = test_store_pool(dir);
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(application_record_unrefp) ApplicationRecord *a = NULL;
        AuthorizationCode c = { .redirect_uri = (char *) "x", .scope = (char *) "openid", .expires_usec = 1000 };
        BatchWriter *w = NULL;
        Claim claims[16];
        pthread_t threads[16];
        int wins = 0;

        ck_assert_int_eq(store_pool_open(pool, &s), 0);
        t = test_tenant(s, "acme", &test_default_range);
        u = test_user(s, t, "alice");
        a = make_app(s, t, "web");
        c.application_id = a->id;
        c.session_id = make_sso_session(s, t, u, "sid");
        token_digest("code", c.digest);
        ck_assert_int_eq(store_code_create(s, &c), 0);

        ck_assert_int_eq(batch_writer_new(pool, &w), 0);
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                claims[i] = (Claim) { .w = w, .tenant_id = t->id, .digest = c.digest };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, claim_thread, &claims[i]), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                pthread_join(threads[i], NULL);
                ck_assert_int_ge(claims[i].result, 0);
                wins += claims[i].result;
        }
        ck_assert_int_eq(wins, 1);

        /* A failing write undoes only itself. */
        ck_assert_int_eq(batch_writer_run(w, failing_write, NULL), -EINVAL);
        ck_assert_int_eq(batch_writer_run(w, audit_write, NULL), 0);
        batch_writer_free(w);
        ck_assert_uint_eq(test_audit_count(s, "should.vanish", NULL, -1), 0);
        ck_assert_uint_eq(test_audit_count(s, "kept", NULL, -1), 1);
        test_rm_rf(dir);
}
END_TEST

/* -- application operations ------------------------------------------------ */

static Manager *manager_with_key(void) {
        static const uint8_t raw[SECRET_KEY_SIZE] = { 7 };
        Manager *m = test_manager_new();
        ck_assert_int_eq(secret_key_from_bytes(raw, &m->secret_key), 0);
        return m;
}

START_TEST(test_application_operations) {
        _cleanup_(manager_freep) Manager *m = manager_with_key();
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(m->store, "acme", &test_default_range);
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL, *pub = NULL, *again = NULL;
        _cleanup_(erase_and_freep) char *secret = NULL, *secret2 = NULL, *none = NULL;
        char *uris[] = { (char *) "https://app.example/cb", NULL };
        char *bad_uris[] = { (char *) "http://evil.example/cb", NULL };
        char *cc[] = { (char *) "client_credentials", NULL };
        ApplicationSpec spec = APPLICATION_SPEC_INIT;
        TesseraError e = {};

        /* Not an administrator: refused and audited. */
        spec.redirect_uris = uris;
        ck_assert_int_eq(application_create(m, m->store, &test_nobody, t, "web", &spec, &app, &secret, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "application.create", "web@acme", AUDIT_DENIED), 1);

        /* Validation. */
        e = (TesseraError) {};
        spec.redirect_uris = bad_uris;
        ck_assert_int_eq(application_create(m, m->store, &test_admin, t, "web", &spec, &app, &secret, &e), -EINVAL);
        ck_assert(strstr(e.message, "redirect URI"));
        e = (TesseraError) {};
        spec.redirect_uris = NULL;
        ck_assert_int_eq(application_create(m, m->store, &test_admin, t, "web", &spec, &app, &secret, &e), -EINVAL);
        e = (TesseraError) {};
        spec.grants = cc;
        spec.public_client = 1;
        ck_assert_int_eq(application_create(m, m->store, &test_admin, t, "svc", &spec, &app, &secret, &e), -EINVAL);
        e = (TesseraError) {};
        spec = (ApplicationSpec) APPLICATION_SPEC_INIT;
        spec.redirect_uris = uris;
        ck_assert_int_eq(application_create(m, m->store, &test_admin, t, "Bad Name", &spec, &app, &secret, &e), -EINVAL);

        /* A confidential client gets a secret that verifies; only its digest is kept. */
        e = (TesseraError) {};
        ck_assert_int_eq(application_create(m, m->store, &test_admin, t, "web", &spec, &app, &secret, &e), 0);
        ck_assert_ptr_nonnull(secret);
        ck_assert(application_verify_secret(m, app, secret));
        ck_assert(!application_verify_secret(m, app, "wrong"));
        ck_assert(!application_verify_secret(m, app, NULL));
        {
                char sql_secret_in_db[256];
                snprintf(sql_secret_in_db, sizeof(sql_secret_in_db), "%s", secret);
                ck_assert_uint_eq(test_audit_count(m->store, "application.create", "web@acme", AUDIT_SUCCESS), 1);
        }

        /* Rotation: the old secret stops working. */
        ck_assert_int_eq(application_rotate_secret(m, m->store, &test_admin, app, &secret2, &e), 0);
        ck_assert_int_eq(store_application_get(m->store, t->id, "web", &again), 0);
        ck_assert(application_verify_secret(m, again, secret2));
        ck_assert(!application_verify_secret(m, again, secret));

        /* A public client has none and can't rotate one. */
        spec.public_client = 1;
        ck_assert_int_eq(application_create(m, m->store, &test_admin, t, "spa", &spec, &pub, &none, &e), 0);
        ck_assert_ptr_null(none);
        ck_assert(!application_verify_secret(m, pub, ""));
        e = (TesseraError) {};
        ck_assert_int_eq(application_rotate_secret(m, m->store, &test_admin, pub, &none, &e), -EINVAL);

        ck_assert_int_eq(application_delete(m, m->store, &test_admin, pub, &e), 0);
}
END_TEST

START_TEST(test_signing_key_rotation) {
        _cleanup_(manager_freep) Manager *m = manager_with_key();
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(m->store, "acme", &test_default_range);
        _cleanup_(key_set_freep) KeySet *ks = NULL, *ks2 = NULL;
        _cleanup_(signing_key_batch_freep) SigningKeyBatch *batch = NULL;
        _cleanup_(strv_freep) char **kids = NULL;
        json_auto_t *jwks = NULL;
        TesseraError e = {};

        ck_assert_int_eq(signing_keys_load(m, m->store, t->id, &ks), 0);
        ck_assert_ptr_nonnull(key_set_active(ks, JWT_ALG_RS256));
        ck_assert_ptr_nonnull(key_set_active(ks, JWT_ALG_ES256));
        ck_assert_uint_eq(ks->n, 2);

        ck_assert_int_eq(signing_key_batch_make(m, t->id, &batch), 0);
        ck_assert_int_eq(signing_keys_rotate(m, m->store, &test_nobody, t, batch, &kids, &e), -EACCES);
        e = (TesseraError) {};
        ck_assert_int_eq(signing_keys_rotate(m, m->store, &test_admin, t, batch, &kids, &e), 0);
        ck_assert_int_eq(signing_keys_load(m, m->store, t->id, &ks2), 0);
        /* New keys sign; the old ones still verify what they signed. */
        ck_assert_uint_eq(ks2->n, 4);
        ck_assert_str_eq(key_set_active(ks2, JWT_ALG_RS256)->kid, kids[0]);
        ck_assert_str_ne(key_set_active(ks2, JWT_ALG_RS256)->kid, key_set_active(ks, JWT_ALG_RS256)->kid);
        ck_assert_ptr_nonnull(key_set_find(ks2, key_set_active(ks, JWT_ALG_ES256)->kid));

        ck_assert_int_eq(signing_keys_jwks(m, m->store, t->id, &jwks), 0);
        ck_assert_uint_eq(json_array_size(json_object_get(jwks, "keys")), 4);
        /* The private key never appears in the JWKS. */
        for (size_t i = 0; i < 4; i++)
                ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(jwks, "keys"), i), "d"));
}
END_TEST

START_TEST(test_signing_keys_made_ahead) {
        _cleanup_(manager_freep) Manager *m = manager_with_key();
        _cleanup_(tenant_record_unrefp) TenantRecord *t = test_tenant(m->store, "acme", &test_default_range);
        _cleanup_(signing_key_batch_freep) SigningKeyBatch *first = NULL, *late = NULL;
        _cleanup_(key_set_freep) KeySet *ks = NULL, *ks2 = NULL;

        /* Made ahead on a worker, installed on the main loop: they become
         * the tenant's keys... */
        ck_assert_int_eq(signing_key_batch_make(m, t->id, &first), 0);
        ck_assert_int_eq(signing_key_batch_make(m, t->id, &late), 0);
        ck_assert_int_eq(signing_keys_install_missing(m, m->store, first), 0);
        ck_assert_int_eq(signing_keys_load(m, m->store, t->id, &ks), 0);
        ck_assert_uint_eq(ks->n, 2);
        /* ...and a second batch arriving later changes nothing. */
        ck_assert_int_eq(signing_keys_install_missing(m, m->store, late), 0);
        ck_assert_int_eq(signing_keys_load(m, m->store, t->id, &ks2), 0);
        ck_assert_uint_eq(ks2->n, 2);
        ck_assert_str_eq(key_set_active(ks2, JWT_ALG_ES256)->kid, key_set_active(ks, JWT_ALG_ES256)->kid);
}
END_TEST

/* -- a tenant's first keys, asked for by several threads at once (every
 * HTTP thread does at its first request): each gets them, and one pair is
 * made, not one per thread. */

typedef struct KeyLoader {
        Manager *m;
        int64_t tenant_id;
        TestGate *gate;
        int result;
} KeyLoader;

static void *load_keys_thread(void *userdata) {
        KeyLoader *l = userdata;
        _cleanup_(key_set_freep) KeySet *ks = NULL;
        Store *s = NULL;

        /* As an HTTP thread does: its own connection, closed as it ends. */
        l->result = store_pool_thread(l->m->store_pool, &s);
        if (l->result < 0)
                return NULL;
        test_gate_work(l->gate);
        l->result = signing_keys_load(l->m, s, l->tenant_id, &ks);
        if (l->result >= 0 && (!key_set_active(ks, JWT_ALG_RS256) || !key_set_active(ks, JWT_ALG_ES256)))
                l->result = -ENOKEY;
        return NULL;
}

START_TEST(test_signing_keys_first_use) {
        _cleanup_free_ char *dir = test_mkdtemp();
        _cleanup_(manager_freep) Manager *m = manager_with_key();
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        StoredSigningKey *keys = NULL;
        KeyLoader loaders[4];
        pthread_t threads[4];
        TestGate gate;
        size_t n = 0;

        test_manager_use_dir(m, dir);
        t = test_tenant(m->store, "acme", &test_default_range);

        test_gate_init(&gate);
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                loaders[i] = (KeyLoader) { .m = m, .tenant_id = t->id, .gate = &gate };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, load_keys_thread, &loaders[i]), 0);
        }
        test_gate_open(&gate);
        for (size_t i = 0; i < ELEMENTSOF(threads); i++) {
                pthread_join(threads[i], NULL);
                ck_assert_int_eq(loaders[i].result, 0);
        }
        test_gate_destroy(&gate);

        ck_assert_int_eq(store_signing_key_list(m->store, t->id, INT64_MAX, &keys, &n), 0);
        ck_assert_uint_eq(n, 2);
        stored_signing_key_array_free(keys, n);
        m->store_pool = store_pool_free(m->store_pool);
        m->store = NULL;
        test_rm_rf(dir);
}
END_TEST

int main(void) {
        Suite *suite = suite_create("store-oidc");
        TCase *tc;

        log_set_max_level(LOG_WARNING);
        test_add_store_tcases(suite, "oidc", add_tests);
        tc = tcase_create("batch-writer");
        tcase_add_test(tc, test_batch_writer);
        tcase_add_test(tc, test_batch_writer_delay);
        suite_add_tcase(suite, tc);
        tc = tcase_create("operations");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_application_operations);
        tcase_add_test(tc, test_signing_key_rotation);
        tcase_add_test(tc, test_signing_keys_made_ahead);
        tcase_add_test(tc, test_signing_keys_first_use);
        suite_add_tcase(suite, tc);
        return test_run_suite(suite);
}
