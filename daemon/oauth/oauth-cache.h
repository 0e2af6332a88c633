/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What one thread that answers OpenID requests keeps between requests, so
 * that the hot paths (a service asking for tokens again and again, a
 * client calling userinfo with one token many times) cost little more
 * than their signature: tenants and applications as of the Manager's
 * generation, the tenants' signing keys, the access tokens whose signature
 * the thread checked (with their claims), the client secrets it checked,
 * and users' subjects. A cache belongs to one thread (the HTTP face embeds
 * one in each of its threads' context): nothing in it is locked, and the
 * reference counts of its records are that thread's. Everything that can
 * change without a new generation (the clock, revocations, sessions) is
 * checked on every request by the rules that use it. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "key-set.h"
#include "oidc-records.h"
#include "records.h"

typedef struct Manager Manager;

typedef struct OAuthCache {
        struct {
                TenantRecord *tenant;
                uint64_t generation;      /* Manager.generation when read */
        } tenants[8];
        unsigned next_tenant;

        struct {
                ApplicationRecord *app;
                uint64_t generation;
        } apps[16];
        unsigned next_app;

        KeySet *keys[8];                  /* by tenant, each as of Manager.keys_generation */
        unsigned next_keys;

        /* Access tokens this thread verified: an ECDSA verification (and
         * the JSON parsing) costs more than the rest of a userinfo
         * request. */
        struct {
                uint8_t digest[32];       /* SHA-256 of the whole token */
                int64_t tenant_id;
                uint64_t generation;      /* of the signing keys that verified it */
                json_t *claims;           /* as signed; shared, never changed */
        } verified[64];
        unsigned next_verified;

        /* Client secrets checked lately: SHA-256 of what was presented, for
         * the stored digest it matched (the keyed digest costs two HMACs). */
        struct {
                int64_t app_id;
                uint8_t stored[32];
                uint8_t presented[32];
        } secrets[16];
        unsigned next_secret;

        /* Subjects (sub) of users: a keyed digest too. */
        struct {
                int64_t user_id, created_usec;
                char sub[32];
        } subjects[32];
        unsigned next_subject;
} OAuthCache;

/* Drops everything; the cache may be used again. */
void oauth_cache_done(OAuthCache *c);

/* The tenant by slug (a new reference); -ENOENT when there is none. While
 * the store cannot reach the database (-ENOTCONN, -ECONNRESET; s may be
 * NULL for "no connection"), the record this thread read last, if any. */
int oauth_cache_tenant(OAuthCache *c, Manager *m, Store *s, const char *slug, TenantRecord **ret);
/* An application of the tenant by client id (a new reference); -ENOENT
 * for none, and for an application of another tenant. */
int oauth_cache_application(OAuthCache *c, Manager *m, Store *s, int64_t tenant_id, const char *client_id,
                            ApplicationRecord **ret);
/* The tenant's signing keys (borrowed: valid until the next call), loaded
 * (and made, the first time) when the cache has none current. */
int oauth_cache_keys(OAuthCache *c, Manager *m, Store *s, int64_t tenant_id, KeySet **ret);

/* The claims of a token verified before with the same key set, as a new
 * reference; NULL when not known. */
json_t *oauth_cache_verified_find(OAuthCache *c, const KeySet *ks, const uint8_t digest[static 32]);
void oauth_cache_verified_add(OAuthCache *c, const KeySet *ks, const uint8_t digest[static 32], json_t *claims);

/* True when presented (the SHA-256 of a secret) matched the application's
 * current stored digest before. */
bool oauth_cache_secret_known(OAuthCache *c, const ApplicationRecord *app, const uint8_t presented[static 32]);
void oauth_cache_secret_add(OAuthCache *c, const ApplicationRecord *app, const uint8_t presented[static 32]);

/* The subject of a user computed before, into out. */
bool oauth_cache_subject_find(OAuthCache *c, const UserRecord *u, char out[static 64]);
void oauth_cache_subject_add(OAuthCache *c, const UserRecord *u, const char *sub);
