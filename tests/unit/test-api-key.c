/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/oauth/api-key.c and store-api-key.c: a key's shape, its making
 * (scopes from the policy, application binding, only by administrators,
 * nothing half-written), its check (keyed digest, revocation, expiry,
 * rotation with an overlap), on a real SQLite store. */

#include "api-key.h"
#include "secret-box.h"
#include "test-oauth-env.h"
#include "time-util.h"

#define SEC ((int64_t) USEC_PER_SEC)

static OAuthTestEnv env;
static Principal root;

static void setup(void) {
        oauth_test_env_init(&env);
        root = principal_local("test", 0, false, NULL);
}

static void teardown(void) {
        oauth_test_env_done(&env);
}

static size_t n_keys(void) {
        ApiKeyRecord **keys = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_api_key_page(env.m->store, env.acme->id, 0, 200, &keys, &n), 0);
        api_key_record_array_free(keys, n);
        return n;
}

static ApiKeyRecord *make(const ApiKeySpec *spec, char **ret_text) {
        ApiKeyRecord *k = NULL;
        TesseraError e = {};

        ck_assert_msg(api_key_create(env.m, env.m->store, &root, env.acme, spec, &k, ret_text, &e) == 0, "%s",
                      e.message);
        return k;
}

START_TEST(test_parse) {
        char env_[API_KEY_ENV_MAX + 1], id[API_KEY_ID_LEN + 1];
        ApiKeyKind kind;
        const char *secret = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_0123";

        ck_assert_uint_eq(strlen(secret), 43);
        {
                _cleanup_free_ char *ok = NULL;
                ck_assert_int_ge(asprintf(&ok, "tsk_prod_0123456789abcdef_%s", secret), 0);
                ck_assert_int_eq(api_key_parse(ok, &kind, env_, id), 0);
                ck_assert_int_eq(kind, API_KEY_SECRET);
                ck_assert_str_eq(env_, "prod");
                ck_assert_str_eq(id, "0123456789abcdef");
        }
        static const char *const bad[] = {
                "", "tsk_", "tsk_prod_", "xsk_prod_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_0123",
                "tsk__0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_0123",
                "tsk_Prod_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_0123",
                "tsk_prod_0123456789ABCDEF_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_0123",
                "tsk_prod_0123456789abcde_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_01234",
                "tsk_prod_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_012",
                "tsk_prod_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_01234",
                "tsk_prod_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_01.3",
                "tsk_averyveryverylongenv_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_0123",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(api_key_parse(bad[i], &kind, env_, id) == -EINVAL, "%s", bad[i]);
        ck_assert_int_eq(api_key_parse(NULL, &kind, env_, id), -EINVAL);
}
END_TEST

START_TEST(test_secret_key) {
        static char *scopes[] = { "tessera:users:read", "tessera:groups:write", NULL };
        ApiKeySpec spec = { .kind = API_KEY_SECRET, .env = "dev", .name = "ci", .scopes = scopes };
        _cleanup_(erase_and_freep) char *text = NULL;
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = make(&spec, &text), *got = NULL;
        uint8_t d[SECRET_DIGEST_SIZE];
        int64_t now = now_realtime_usec();
        Principal p;

        ck_assert(strneq(text, "tsk_dev_", 8));
        ck_assert_str_eq(k->scopes, "tessera:users:read tessera:groups:write");
        ck_assert_str_eq(k->tenant, "acme");
        ck_assert_str_eq(api_key_state(k, now), "active");
        /* Stored: the HMAC of the text under the master key, not the text. */
        ck_assert_int_eq(secret_key_digest(env.m->secret_key, "api-key", text, strlen(text), d), 0);
        ck_assert(memcmp(d, k->digest, sizeof(d)) == 0);

        ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, text, now, &got), 0);
        ck_assert_int_eq(got->id, k->id);
        p = api_key_principal(got, "test", NULL, "key");
        ck_assert_int_eq(p.kind, PRINCIPAL_API_KEY);
        ck_assert_int_eq(p.tenant_id, env.acme->id);
        ck_assert(principal_has_scope(&p, "tessera:users:read"));
        ck_assert(principal_has_scope(&p, "tessera:groups:read"));
        ck_assert(!principal_has_scope(&p, "tessera:users:write"));

        /* One character off, another id, another kind: no key. */
        {
                _cleanup_free_ char *t = strdup(text);
                ApiKeyRecord *none = NULL;

                t[strlen(t) - 1] = t[strlen(t) - 1] == 'A' ? 'B' : 'A';
                ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, t, now, &none), -EKEYREJECTED);
                strcpy(t, text);
                t[1] = 'p';
                ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, t, now, &none), -EKEYREJECTED);
                strcpy(t, text);
                memcpy(t + 8, "ffffffffffffffff", 16);
                ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, t, now, &none), -EKEYREJECTED);
                ck_assert_ptr_null(none);
        }
}
END_TEST

START_TEST(test_bad_specs_write_nothing) {
        static char *unknown[] = { "tessera:users:admin", NULL }, *openid[] = { "openid", NULL },
                    *twice[] = { "tessera:users:read", "tessera:users:read", NULL },
                    *ok[] = { "tessera:users:read", NULL };
        const struct {
                ApiKeySpec spec;
                int error;
        } cases[] = {
                { { .kind = API_KEY_SECRET, .scopes = unknown }, -EINVAL },
                { { .kind = API_KEY_SECRET, .scopes = openid }, -EINVAL },
                { { .kind = API_KEY_SECRET, .scopes = twice }, -EINVAL },
                { { .kind = API_KEY_SECRET }, -EINVAL },
                { { .kind = API_KEY_SECRET, .scopes = ok, .env = "PROD" }, -EINVAL },
                { { .kind = API_KEY_SECRET, .scopes = ok, .env = "" }, -EINVAL },
                { { .kind = API_KEY_SECRET, .scopes = ok, .lifetime_sec = 59 }, -ERANGE },
                { { .kind = API_KEY_SECRET, .scopes = ok, .application = "nope" }, -EINVAL },
                { { .kind = API_KEY_PUBLISHABLE }, -EINVAL },
                { { .kind = API_KEY_PUBLISHABLE, .application = "spa", .scopes = ok }, -EINVAL },
                /* globex's application is no application of acme. */
                { { .kind = API_KEY_PUBLISHABLE, .application = "other" }, -EINVAL },
                { { .kind = _API_KEY_KIND_MAX, .scopes = ok }, -EINVAL },
        };
        Principal nobody = principal_local("test", 65534, false, NULL);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ApiKeyRecord *k = NULL;
                char *text = NULL;
                TesseraError e = {};

                ck_assert_msg(api_key_create(env.m, env.m->store, &root, env.acme, &cases[i].spec, &k, &text, &e) ==
                                      cases[i].error,
                              "case %zu: %s", i, e.message);
                ck_assert(e.message[0]);
                ck_assert_ptr_null(k);
                ck_assert_ptr_null(text);
        }
        {
                ApiKeySpec spec = { .kind = API_KEY_SECRET, .scopes = ok };
                ApiKeyRecord *k = NULL;
                TesseraError e = {};

                ck_assert_int_eq(api_key_create(env.m, env.m->store, &nobody, env.acme, &spec, &k, NULL, &e), -EACCES);
        }
        ck_assert_uint_eq(n_keys(), 0);
}
END_TEST

START_TEST(test_publishable_key) {
        ApiKeySpec spec = { .kind = API_KEY_PUBLISHABLE, .application = "spa" };
        _cleanup_(erase_and_freep) char *text = NULL;
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = make(&spec, &text), *got = NULL;
        Principal p;

        ck_assert(strneq(text, "tpk_prod_", 9));
        ck_assert_str_eq(k->application, "spa");
        ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, text, now_realtime_usec(), &got), 0);
        p = api_key_principal(got, "test", NULL, "key");
        ck_assert_int_eq(p.kind, PRINCIPAL_PUBLISHABLE_KEY);
        ck_assert_int_eq(p.application_id, env.spa->id);
        ck_assert_ptr_null(p.scopes);
}
END_TEST

START_TEST(test_expiry_revocation_rotation) {
        static char *scopes[] = { "tessera:users:read", NULL };
        ApiKeySpec spec = { .kind = API_KEY_SECRET, .scopes = scopes, .lifetime_sec = 3600, .name = "svc" };
        _cleanup_(erase_and_freep) char *text = NULL, *new_text = NULL, *third = NULL;
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = make(&spec, &text), *n = NULL, *cur = NULL, *m = NULL,
                                                     *got = NULL;
        int64_t now = now_realtime_usec();
        TesseraError e = {};

        /* Expiry is the key's own: from its lifetime. */
        ck_assert_int_eq(k->expires_usec, k->created_usec + 3600 * SEC);
        ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, text, k->expires_usec + 1, &got), -EKEYEXPIRED);

        /* Rotation with an overlap: both work until it ends. */
        ck_assert_int_eq(api_key_rotate(env.m, env.m->store, &root, k, 100, &n, &new_text, &e), 0);
        ck_assert_str_eq(n->scopes, k->scopes);
        ck_assert_str_eq(n->name, "svc");
        ck_assert_int_eq(n->expires_usec - n->created_usec, 3600 * SEC);
        ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, text, now, &got), 0);
        got = api_key_record_free(got);
        ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, text, now + 101 * SEC, &got), -EKEYREVOKED);
        ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, new_text, now + 101 * SEC, &got), 0);
        got = api_key_record_free(got);
        ck_assert_int_eq(store_api_key_get_by_key_id(env.m->store, k->key_id, &cur), 0);
        ck_assert_str_eq(cur->replaced_by, n->key_id);
        ck_assert_str_eq(api_key_state(cur, now), "rotating");
        /* A rotated key is not rotated again, nor beyond the overlap's limit. */
        ck_assert_int_eq(api_key_rotate(env.m, env.m->store, &root, cur, 0, &m, &third, &e), -EALREADY);
        e = (TesseraError) {};
        ck_assert_int_eq(api_key_rotate(env.m, env.m->store, &root, n, API_KEY_OVERLAP_MAX_SEC + 1, &m, &third, &e),
                         -ERANGE);
        ck_assert_ptr_null(m);

        /* Revocation: at once, once. */
        e = (TesseraError) {};
        ck_assert_int_eq(api_key_revoke(env.m, env.m->store, &root, n, &e), 0);
        ck_assert_int_eq(api_key_authenticate(env.m, env.m->store, new_text, now_realtime_usec(), &got), -EKEYREVOKED);
        got = api_key_record_free(got);
        ck_assert_int_eq(store_api_key_get_by_key_id(env.m->store, n->key_id, &got), 0);
        ck_assert_int_eq(api_key_revoke(env.m, env.m->store, &root, got, &e), -EALREADY);
}
END_TEST

START_TEST(test_lookup_is_per_tenant) {
        static char *scopes[] = { "tessera:users:read", NULL };
        ApiKeySpec spec = { .kind = API_KEY_SECRET, .scopes = scopes };
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = make(&spec, NULL), *got = NULL;
        char id[API_KEY_ID_LEN + 5];
        TesseraError e = {};

        ck_assert_int_eq(api_key_lookup(env.m->store, env.acme, api_key_public_id(k, id), &got, &e), 0);
        got = api_key_record_free(got);
        ck_assert_int_eq(api_key_lookup(env.m->store, env.globex, id, &got, &e), -ENOENT);
        ck_assert_int_eq(api_key_lookup(env.m->store, env.acme, k->key_id, &got, &e), -ENOENT);
        ck_assert_int_eq(api_key_lookup(env.m->store, env.acme, "key_", &got, &e), -ENOENT);
        ck_assert_ptr_null(got);
        /* Its use, recorded once and never backwards. */
        ck_assert_int_eq(store_api_key_touch(env.m->store, k->id, 1000), 0);
        ck_assert_int_eq(store_api_key_touch(env.m->store, k->id, 500), 0);
        ck_assert_int_eq(store_api_key_get_by_key_id(env.m->store, k->key_id, &got), 0);
        ck_assert_int_eq(got->last_used_usec, 1000);
}
END_TEST

int main(void) {
        Suite *s = suite_create("api-key");
        TCase *tc = tcase_create("api-key");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_parse);
        tcase_add_test(tc, test_secret_key);
        tcase_add_test(tc, test_bad_specs_write_nothing);
        tcase_add_test(tc, test_publishable_key);
        tcase_add_test(tc, test_expiry_revocation_rotation);
        tcase_add_test(tc, test_lookup_is_per_tenant);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
