/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "key-set.h"

#include <stdlib.h>

#include "log.h"
#include "secret-box.h"
#include "store-oidc.h"
#include "time-util.h"

KeySet *key_set_free(KeySet *ks) {
        if (!ks)
                return NULL;
        for (size_t i = 0; i < ks->n; i++)
                signing_key_unref(ks->keys[i]);
        free(ks);
        return NULL;
}

SigningKey *key_set_active(const KeySet *ks, JwtAlg alg) {
        for (size_t i = 0; ks && i < ks->n; i++)
                if (ks->keys[i]->alg == alg && ks->keys[i]->retired_usec == 0)
                        return ks->keys[i];
        return NULL;
}

SigningKey *key_set_find(const KeySet *ks, const char *kid) {
        for (size_t i = 0; ks && kid && i < ks->n; i++)
                if (streq(ks->keys[i]->kid, kid))
                        return ks->keys[i];
        return NULL;
}

int64_t signing_keys_publish_usec(const Manager *m) {
        unsigned longest = MAX(m->config->oidc_access_token_lifetime, m->config->oidc_id_token_lifetime);
        return ((int64_t) longest + 60) * (int64_t) USEC_PER_SEC;
}

static void seal_context(int64_t tenant_id, const char *kid, char buf[static 128]) {
        snprintf(buf, 128, "signing-key:%" PRIi64 ":%s", tenant_id, kid);
}

/* A key generated and sealed, not yet stored. Keys are made before any
 * transaction: RSA generation takes up to a second here, and holding the
 * write lock that long stalled every commit meanwhile (the batch writer's,
 * so token requests of every tenant). */
typedef struct NewKey {
        JwtAlg alg;
        char *kid;
        char *public_jwk;
        uint8_t *sealed;
        size_t sealed_size;
} NewKey;

static void new_key_done(NewKey *k) {
        free(k->kid);
        free(k->public_jwk);
        free(k->sealed);
        *k = (NewKey) {};
}

static void new_keys_done(NewKey (*keys)[_JWT_ALG_MAX]) {
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++)
                new_key_done(&(*keys)[a]);
}

static int new_key_make(Manager *m, int64_t tenant_id, JwtAlg alg, NewKey *ret) {
        _cleanup_(signing_key_unrefp) SigningKey *k = NULL;
        _cleanup_(json_decrefp) json_t *jwk = NULL;
        _cleanup_free_ char *public_jwk = NULL, *kid = NULL;
        _cleanup_free_ uint8_t *der = NULL, *sealed = NULL;
        size_t der_n = 0, sealed_n = 0;
        char context[128];
        int r;

        r = signing_key_generate(alg, &k);
        if (r < 0)
                return log_error_errno(r, "Failed to generate a %s key: %m", jwt_alg_to_string(alg));
        r = signing_key_public_jwk(k, &jwk);
        if (r < 0)
                return r;
        public_jwk = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
        kid = strdup(k->kid);
        if (!public_jwk || !kid)
                return -ENOMEM;
        r = signing_key_private_der(k, &der, &der_n);
        if (r < 0)
                return r;
        seal_context(tenant_id, k->kid, context);
        r = secret_box_seal(m->secret_key, context, der, der_n, &sealed, &sealed_n);
        explicit_bzero(der, der_n);
        if (r < 0)
                return log_error_errno(r, "Failed to seal a signing key: %m");

        *ret = (NewKey) {
                .alg = alg,
                .kid = TAKE_PTR(kid),
                .public_jwk = TAKE_PTR(public_jwk),
                .sealed = TAKE_PTR(sealed),
                .sealed_size = sealed_n,
        };
        return 0;
}

/* Inside the caller's transaction. */
static int new_key_store(Store *s, int64_t tenant_id, const NewKey *k) {
        return store_signing_key_add(s, tenant_id,
                                     &(StoredSigningKey) {
                                             .kid = k->kid,
                                             .alg = k->alg,
                                             .public_jwk = k->public_jwk,
                                             .sealed = k->sealed,
                                             .sealed_size = k->sealed_size,
                                             .created_usec = now_realtime_usec(),
                                     });
}

static int active_algs(Store *s, int64_t tenant_id, bool have[static _JWT_ALG_MAX]) {
        StoredSigningKey *keys = NULL;
        size_t n = 0;
        int r;

        r = store_signing_key_list(s, tenant_id, INT64_MAX, &keys, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (keys[i].alg >= 0 && keys[i].retired_usec == 0)
                        have[keys[i].alg] = true;
        stored_signing_key_array_free(keys, n);
        return 0;
}

struct SigningKeyBatch {
        int64_t tenant_id;
        NewKey keys[_JWT_ALG_MAX];    /* kid NULL: none made for this algorithm */
};

SigningKeyBatch *signing_key_batch_free(SigningKeyBatch *b) {
        if (!b)
                return NULL;
        new_keys_done(&b->keys);
        free(b);
        return NULL;
}

/* Makes keys for the algorithms set in want. */
static int batch_make(Manager *m, int64_t tenant_id, const bool want[static _JWT_ALG_MAX], SigningKeyBatch **ret) {
        _cleanup_(signing_key_batch_freep) SigningKeyBatch *b = calloc(1, sizeof(SigningKeyBatch));
        int r;

        if (!b)
                return -ENOMEM;
        b->tenant_id = tenant_id;
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++)
                if (want[a]) {
                        r = new_key_make(m, tenant_id, a, &b->keys[a]);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(b);
        return 0;
}

int signing_key_batch_make(Manager *m, int64_t tenant_id, SigningKeyBatch **ret) {
        bool all[_JWT_ALG_MAX];

        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++)
                all[a] = true;
        return batch_make(m, tenant_id, all, ret);
}

int signing_keys_install_missing(Manager *m, Store *s, const SigningKeyBatch *b) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        bool have[_JWT_ALG_MAX] = {};
        unsigned n = 0;
        int r;

        /* Under the tenant's key lock: another thread, process or
         * tesserad on the same database may have made keys in the
         * meantime, and a tenant has one active key per algorithm. The
         * lock (store_lock(): an advisory lock on PostgreSQL, SQLite's
         * write lock) makes one instance install them; the others find
         * them made. */
        r = store_begin(s);
        if (r < 0)
                return r;
        txn = s;
        r = store_lock(s, STORE_LOCK_SIGNING_KEYS, b->tenant_id);
        if (r < 0)
                return r;
        r = active_algs(s, b->tenant_id, have);
        if (r < 0)
                return r;
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++)
                if (!have[a] && b->keys[a].kid) {
                        r = new_key_store(s, b->tenant_id, &b->keys[a]);
                        if (r < 0)
                                return r;
                        n++;
                }
        r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return r;
        if (n > 0) {
                atomic_fetch_add(&m->keys_generation, 1);
                manager_changed(m, (ChangeEvent) { .kind = CHANGE_SIGNING_KEYS, .op = CHANGE_CREATED,
                                                   .tenant_id = b->tenant_id });
                log_info("Created signing keys for tenant %" PRIi64 ".", b->tenant_id);
        }
        return 0;
}

static int ensure_locked(Manager *m, Store *s, int64_t tenant_id) {
        _cleanup_(signing_key_batch_freep) SigningKeyBatch *b = NULL;
        bool have[_JWT_ALG_MAX] = {}, want[_JWT_ALG_MAX];
        int r;

        /* Again: another thread may have made them while we waited. */
        r = active_algs(s, tenant_id, have);
        if (r < 0)
                return r;
        for (JwtAlg a = 0; a < _JWT_ALG_MAX; a++)
                want[a] = !have[a];
        r = batch_make(m, tenant_id, want, &b);
        if (r < 0)
                return r;
        return signing_keys_install_missing(m, s, b);
}

int signing_keys_ensure(Manager *m, Store *s, int64_t tenant_id) {
        bool have[_JWT_ALG_MAX] = {};
        int r;

        r = active_algs(s, tenant_id, have);
        if (r < 0)
                return r;
        if (have[JWT_ALG_RS256] && have[JWT_ALG_ES256])
                return 0;

        /* One thread makes them; the others (every HTTP thread asks at its
         * first request) wait here and find them made. */
        pthread_mutex_lock(&m->keys_lock);
        r = ensure_locked(m, s, tenant_id);
        pthread_mutex_unlock(&m->keys_lock);
        return r;
}

int signing_keys_load(Manager *m, Store *s, int64_t tenant_id, KeySet **ret) {
        _cleanup_(key_set_freep) KeySet *ks = NULL;
        StoredSigningKey *keys = NULL;
        size_t n = 0;
        int r;

        ks = calloc(1, sizeof(KeySet));
        if (!ks)
                return -ENOMEM;
        ks->tenant_id = tenant_id;
        /* Read the generation first: a rotation after this reloads again. */
        ks->generation = atomic_load(&m->keys_generation);

        r = signing_keys_ensure(m, s, tenant_id);
        if (r < 0)
                return r;
        r = store_signing_key_list(s, tenant_id, now_realtime_usec() - signing_keys_publish_usec(m), &keys, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n && ks->n < ELEMENTSOF(ks->keys); i++) {
                _cleanup_free_ uint8_t *der = NULL;
                SigningKey *k = NULL;
                char context[128];
                size_t der_n = 0;

                if (keys[i].alg < 0)
                        continue;
                seal_context(tenant_id, keys[i].kid, context);
                r = secret_box_open(m->secret_key, context, keys[i].sealed, keys[i].sealed_size, &der, &der_n);
                if (r < 0) {
                        log_error_errno(r, "Signing key %s of tenant %" PRIi64 " does not open with this master key; "
                                           "skipping it.", keys[i].kid, tenant_id);
                        continue;
                }
                r = signing_key_from_private_der(keys[i].alg, keys[i].kid, der, der_n, &k);
                explicit_bzero(der, der_n);
                if (r < 0) {
                        log_error_errno(r, "Signing key %s is damaged; skipping it.", keys[i].kid);
                        continue;
                }
                k->created_usec = keys[i].created_usec;
                k->retired_usec = keys[i].retired_usec;
                ks->keys[ks->n++] = k;
        }
        stored_signing_key_array_free(keys, n);

        *ret = TAKE_PTR(ks);
        return 0;
}

int signing_keys_jwks(Manager *m, Store *s, int64_t tenant_id, json_t **ret) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        StoredSigningKey *keys = NULL;
        json_t *array;
        size_t n = 0;
        int r;

        r = signing_keys_ensure(m, s, tenant_id);
        if (r < 0)
                return r;
        r = store_signing_key_list(s, tenant_id, now_realtime_usec() - signing_keys_publish_usec(m), &keys, &n);
        if (r < 0)
                return r;

        doc = json_pack("{s:[]}", "keys");
        array = doc ? json_object_get(doc, "keys") : NULL;
        for (size_t i = 0; array && i < n; i++) {
                json_t *jwk = json_loads(keys[i].public_jwk, 0, NULL);
                if (jwk)
                        json_array_append_new(array, jwk);
        }
        stored_signing_key_array_free(keys, n);
        if (!array)
                return -ENOMEM;
        *ret = TAKE_PTR(doc);
        return 0;
}

int signing_keys_rotate(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const SigningKeyBatch *b,
                        char ***ret_kids, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(strv_freep) char **kids = NULL;
        _cleanup_free_ char *details = NULL;
        int64_t now = now_realtime_usec();
        int r;

        r = change_authorize(s, a, POLICY_SIGNING_KEY_ROTATE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;

        kids = calloc(_JWT_ALG_MAX + 1, sizeof(char *));
        if (!kids)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = b->tenant_id == t->id ? 0 : -EINVAL;
        for (JwtAlg alg = 0; r >= 0 && alg < _JWT_ALG_MAX; alg++)
                if (!b->keys[alg].kid || !(kids[alg] = strdup(b->keys[alg].kid)))
                        r = b->keys[alg].kid ? -ENOMEM : -EINVAL;
        if (r >= 0)
                r = change_begin(s, &txn, e);
        /* One rotation at a time across instances (store_lock()): a second
         * one waits, then retires the keys the first one made, so that one
         * key per algorithm stays active. */
        if (r >= 0)
                r = store_lock(s, STORE_LOCK_SIGNING_KEYS, t->id);
        if (r >= 0)
                r = store_signing_key_retire_all(s, t->id, now);
        /* Keys retired so long ago that no token of theirs is left. */
        if (r >= 0)
                r = store_signing_key_prune(s, t->id, now - signing_keys_publish_usec(m));
        for (JwtAlg alg = 0; r >= 0 && alg < _JWT_ALG_MAX; alg++)
                r = new_key_store(s, t->id, &b->keys[alg]);
        if (r >= 0 && asprintf(&details, "{\"rs256\":\"%s\",\"es256\":\"%s\"}", kids[0], kids[1]) < 0)
                r = -ENOMEM;
        if (r < 0)
                r = tessera_error_set(e, r, "Failed to rotate the signing keys of tenant '%s'.", t->slug);
        else
                r = change_commit(&txn, a, "signing-key.rotate", t->slug, t->slug, details, e);
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, a, "signing-key.rotate", t->slug, t->slug, e);
                return r;
        }

        atomic_fetch_add(&m->keys_generation, 1);
        manager_changed(m, (ChangeEvent) { .kind = CHANGE_SIGNING_KEYS, .op = CHANGE_UPDATED, .tenant_id = t->id,
                                           .tenant = t->slug });
        log_info("Rotated the signing keys of tenant %s: %s (RS256), %s (ES256).", t->slug, kids[0], kids[1]);
        if (ret_kids)
                *ret_kids = TAKE_PTR(kids);
        return 0;
}

typedef struct PrepareJob {
        Manager *manager;
        int64_t tenant_id;
        SigningKeyBatch *batch;
} PrepareJob;

static void prepare_work(void *userdata) {
        PrepareJob *j = userdata;
        int r = signing_key_batch_make(j->manager, j->tenant_id, &j->batch);

        if (r < 0)
                log_warning_errno(r, "Failed to make signing keys ahead for tenant %" PRIi64 ": %m", j->tenant_id);
}

static void prepare_done(void *userdata) {
        PrepareJob *j = userdata;
        int r;

        /* The tenant may be gone by now: storing then fails on its foreign
         * key, and that is fine. */
        if (j->batch) {
                r = signing_keys_install_missing(j->manager, j->manager->store, j->batch);
                if (r < 0)
                        log_debug_errno(r, "Signing keys made ahead for tenant %" PRIi64 " not stored: %m", j->tenant_id);
        }
        signing_key_batch_free(j->batch);
        free(j);
}

void signing_keys_prepare(Manager *m, int64_t tenant_id) {
        PrepareJob *j = calloc(1, sizeof(PrepareJob));

        if (!j)
                return;
        *j = (PrepareJob) { .manager = m, .tenant_id = tenant_id };
        if (!m->workers || worker_pool_submit(m->workers, prepare_work, prepare_done, j) < 0)
                free(j);
}
