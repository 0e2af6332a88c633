/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-cache.h"

#include <stdio.h>
#include <string.h>

#include "manager.h"
#include "store-oidc.h"

void oauth_cache_done(OAuthCache *c) {
        for (size_t i = 0; i < ELEMENTSOF(c->tenants); i++)
                tenant_record_unref(c->tenants[i].tenant);
        for (size_t i = 0; i < ELEMENTSOF(c->apps); i++)
                application_record_unref(c->apps[i].app);
        for (size_t i = 0; i < ELEMENTSOF(c->keys); i++)
                key_set_free(c->keys[i]);
        for (size_t i = 0; i < ELEMENTSOF(c->verified); i++)
                json_decref(c->verified[i].claims);
        explicit_bzero(c, sizeof(*c));
}

int oauth_cache_tenant(OAuthCache *c, Manager *m, Store *s, const char *slug, TenantRecord **ret) {
        /* Read before the store: a change committed after this reads again. */
        uint64_t gen = atomic_load(&m->generation);
        size_t slot;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(c->tenants); i++)
                if (c->tenants[i].tenant && c->tenants[i].generation == gen &&
                    streq(c->tenants[i].tenant->slug, slug)) {
                        *ret = tenant_record_ref(c->tenants[i].tenant);
                        return 0;
                }
        /* No store (the thread could not connect): the database is away. */
        r = s ? store_tenant_get(s, slug, ret) : -ENOTCONN;
        if (r == -ENOTCONN || r == -ECONNRESET)
                /* The database is away (a restart, a failover): the tenant
                 * as this thread last read it, whatever changed since (no
                 * change commits while the store is away), so that what
                 * needs no store still answers (the discovery document,
                 * the JWKS); anything the request goes on to write fails
                 * on its own with the store's error. */
                for (size_t i = 0; i < ELEMENTSOF(c->tenants); i++)
                        if (c->tenants[i].tenant && streq(c->tenants[i].tenant->slug, slug)) {
                                *ret = tenant_record_ref(c->tenants[i].tenant);
                                return 0;
                        }
        if (r < 0)
                return r;
        slot = c->next_tenant++ % ELEMENTSOF(c->tenants);
        tenant_record_unref(c->tenants[slot].tenant);
        c->tenants[slot].tenant = tenant_record_ref(*ret);
        c->tenants[slot].generation = gen;
        return 0;
}

static int find_application(OAuthCache *c, Manager *m, Store *s, const char *client_id, ApplicationRecord **ret) {
        uint64_t gen = atomic_load(&m->generation);
        size_t slot;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(c->apps); i++)
                if (c->apps[i].app && c->apps[i].generation == gen && streq(c->apps[i].app->client_id, client_id)) {
                        *ret = application_record_ref(c->apps[i].app);
                        return 0;
                }
        r = store_application_get_by_client_id(s, client_id, ret);
        if (r < 0)
                return r;
        slot = c->next_app++ % ELEMENTSOF(c->apps);
        application_record_unref(c->apps[slot].app);
        c->apps[slot].app = application_record_ref(*ret);
        c->apps[slot].generation = gen;
        return 0;
}

int oauth_cache_application(OAuthCache *c, Manager *m, Store *s, int64_t tenant_id, const char *client_id,
                            ApplicationRecord **ret) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        int r;

        r = find_application(c, m, s, client_id, &app);
        if (r < 0)
                return r;
        /* Client ids are unique across tenants; an application is known
         * only in its own. */
        if (app->tenant_id != tenant_id)
                return -ENOENT;
        *ret = TAKE_PTR(app);
        return 0;
}

int oauth_cache_keys(OAuthCache *c, Manager *m, Store *s, int64_t tenant_id, KeySet **ret) {
        uint64_t gen = atomic_load(&m->keys_generation);
        KeySet *ks;
        size_t slot;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(c->keys); i++)
                if (c->keys[i] && c->keys[i]->tenant_id == tenant_id) {
                        if (c->keys[i]->generation == gen) {
                                *ret = c->keys[i];
                                return 0;
                        }
                        c->keys[i] = key_set_free(c->keys[i]);
                }

        r = signing_keys_load(m, s, tenant_id, &ks);
        if (r < 0)
                return r;
        slot = c->next_keys++ % ELEMENTSOF(c->keys);
        key_set_free(c->keys[slot]);
        c->keys[slot] = ks;
        *ret = ks;
        return 0;
}

json_t *oauth_cache_verified_find(OAuthCache *c, const KeySet *ks, const uint8_t digest[static 32]) {
        for (size_t i = 0; i < ELEMENTSOF(c->verified); i++)
                if (c->verified[i].claims && c->verified[i].tenant_id == ks->tenant_id &&
                    c->verified[i].generation == ks->generation && memeq_consttime(c->verified[i].digest, digest, 32))
                        return json_incref(c->verified[i].claims);
        return NULL;
}

void oauth_cache_verified_add(OAuthCache *c, const KeySet *ks, const uint8_t digest[static 32], json_t *claims) {
        size_t slot = c->next_verified++ % ELEMENTSOF(c->verified);

        json_decref(c->verified[slot].claims);
        memcpy(c->verified[slot].digest, digest, 32);
        c->verified[slot].tenant_id = ks->tenant_id;
        c->verified[slot].generation = ks->generation;
        c->verified[slot].claims = json_incref(claims);
}

bool oauth_cache_secret_known(OAuthCache *c, const ApplicationRecord *app, const uint8_t presented[static 32]) {
        /* A hit needs the same stored digest: a rotated secret misses. */
        for (size_t i = 0; i < ELEMENTSOF(c->secrets); i++)
                if (c->secrets[i].app_id == app->id &&
                    memeq_consttime(c->secrets[i].stored, app->secret_digest, sizeof(app->secret_digest)) &&
                    memeq_consttime(c->secrets[i].presented, presented, 32))
                        return true;
        return false;
}

void oauth_cache_secret_add(OAuthCache *c, const ApplicationRecord *app, const uint8_t presented[static 32]) {
        size_t slot = c->next_secret++ % ELEMENTSOF(c->secrets);

        c->secrets[slot].app_id = app->id;
        memcpy(c->secrets[slot].stored, app->secret_digest, sizeof(app->secret_digest));
        memcpy(c->secrets[slot].presented, presented, 32);
}

bool oauth_cache_subject_find(OAuthCache *c, const UserRecord *u, char out[static 64]) {
        for (size_t i = 0; i < ELEMENTSOF(c->subjects); i++)
                if (c->subjects[i].user_id == u->id && c->subjects[i].created_usec == u->created_usec) {
                        memcpy(out, c->subjects[i].sub, sizeof(c->subjects[i].sub));
                        return true;
                }
        return false;
}

void oauth_cache_subject_add(OAuthCache *c, const UserRecord *u, const char *sub) {
        size_t slot = c->next_subject++ % ELEMENTSOF(c->subjects);

        c->subjects[slot].user_id = u->id;
        c->subjects[slot].created_usec = u->created_usec;
        snprintf(c->subjects[slot].sub, sizeof(c->subjects[slot].sub), "%s", sub);
}
