/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tenant's set of JWT signing keys: one active RS256 and one active ES256
 * key, created on first use; rotation retires them (they stay published in
 * the JWKS until every token they signed has expired) and makes new ones.
 * Private keys are sealed with the master key before they reach the store. */

#include <jansson.h>

#include "change.h"
#include "manager.h"
#include "signing-key.h"

typedef struct KeySet {
        int64_t tenant_id;
        uint64_t generation;      /* Manager.keys_generation when loaded */
        SigningKey *keys[16];     /* newest first: active ones, then retired */
        size_t n;
} KeySet;

KeySet *key_set_free(KeySet *ks);
DEFINE_TRIVIAL_CLEANUP_FUNC(KeySet *, key_set_free);

/* The active key for alg, or NULL. */
SigningKey *key_set_active(const KeySet *ks, JwtAlg alg);
/* Any published key by kid, or NULL. */
SigningKey *key_set_find(const KeySet *ks, const char *kid);

/* How long a retired key stays published: the longest token lifetime plus
 * a minute of clock skew. */
int64_t signing_keys_publish_usec(const Manager *m);

/* Makes sure the tenant has active keys, creating them if not. Safe to call
 * from several threads and processes at once. */
int signing_keys_ensure(Manager *m, Store *s, int64_t tenant_id);

/* Loads (and unseals) the tenant's published keys, creating keys first when
 * there are none. */
int signing_keys_load(Manager *m, Store *s, int64_t tenant_id, KeySet **ret);

/* The JWKS document: the public parts of every published key. */
int signing_keys_jwks(Manager *m, Store *s, int64_t tenant_id, json_t **ret);

/* New keys, one per algorithm, made and sealed but not stored yet. Making
 * them is slow (an RSA key takes up to a second): the main loop, which
 * serves NSS lookups and D-Bus, has a worker thread make them and only
 * installs them itself. */
typedef struct SigningKeyBatch SigningKeyBatch;

int signing_key_batch_make(Manager *m, int64_t tenant_id, SigningKeyBatch **ret);
SigningKeyBatch *signing_key_batch_free(SigningKeyBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(SigningKeyBatch *, signing_key_batch_free);

/* Retires the active keys and makes the batch's the new ones; audited. The
 * batch must have been made for t. */
int signing_keys_rotate(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const SigningKeyBatch *b,
                        char ***ret_kids, TesseraError *e);

/* Stores the batch's keys for the algorithms the tenant has no active key
 * for yet, and drops the others: a tenant's first keys, made ahead of its
 * first token request. */
int signing_keys_install_missing(Manager *m, Store *s, const SigningKeyBatch *b);

/* From the main loop: has a worker make the tenant's first keys and
 * installs them when done. Best effort: when the workers are busy, the
 * first request that needs keys makes them. */
void signing_keys_prepare(Manager *m, int64_t tenant_id);
