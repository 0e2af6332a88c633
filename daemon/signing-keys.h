/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tenant's set of JWT signing keys: one active RS256 and one active ES256
 * key, created on first use; rotation retires them (they stay published in
 * the JWKS until every token they signed has expired) and makes new ones.
 * Private keys are sealed with the master key before they reach the store. */

#include <jansson.h>

#include "actor.h"
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

/* Retires the active keys and makes new ones; audited. */
int signing_keys_rotate(Manager *m, Store *s, const Actor *a, const TenantRecord *t, char ***ret_kids,
                        TesseraError *e);
