/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A tenant's API keys on the bus: the Tenant methods CreateApiKey,
 * ListApiKeys, RevokeApiKey and RotateApiKey, over the same core
 * operations as the JSON API (api-key.h). A key's text is in the answer
 * of create and rotate only. */

#include "bus-api-key.h"

#include <stdlib.h>

#include "api-key.h"
#include "bus-errors.h"
#include "bus-util.h"
#include "oidc-records.h"
#include "time-util.h"

int bus_tenant_method_create_api_key(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL;
        _cleanup_(erase_and_freep) char *text = NULL;
        _cleanup_(strv_freep) char **scopes = NULL;
        const char *type = NULL, *env = NULL, *name = NULL, *application = NULL;
        int64_t lifetime = 0;
        char id[API_KEY_ID_LEN + 5];
        const BusAttribute attrs[] = {
                { "Type", 's', &type },
                { "Env", 's', &env },
                { "Name", 's', &name },
                { "Scopes", 'a', &scopes },
                { "Application", 's', &application },
                { "Lifetime", 't', &lifetime },
        };
        ApiKeySpec spec;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = change_authorize(m->store, &a, POLICY_API_KEY_CREATE, policy_target_tenant(t->id), t->slug, t->slug, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r >= 0 && type && api_key_kind_from_string(type) < 0)
                r = tessera_error_set(&e, -EINVAL, "Type is secret or publishable.");
        if (r < 0) {
                change_audit_failure(m->store, &a, "api-key.create", t->slug, t->slug, &e);
                return bus_reply_tessera_error(error, &e);
        }
        spec = (ApiKeySpec) {
                .kind = type ? api_key_kind_from_string(type) : API_KEY_SECRET,
                .env = env,
                .name = name,
                .scopes = scopes,
                .application = isempty(application) ? NULL : application,
                .lifetime_sec = lifetime,
        };
        r = api_key_create(m, m->store, &a, t, &spec, &k, &text, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, "ss", api_key_public_id(k, id), text);
}

static int append_key(sd_bus_message *reply, const ApiKeyRecord *k, int64_t now) {
        _cleanup_(strv_freep) char **scopes = NULL;
        char id[API_KEY_ID_LEN + 5], replaced_by[API_KEY_ID_LEN + 5] = "";
        int r;

        r = strv_split_spaces(k->scopes, API_KEY_MAX_SCOPES * 2, &scopes);
        if (r < 0)
                return r;
        if (k->replaced_by[0])
                snprintf(replaced_by, sizeof(replaced_by), "key_%s", k->replaced_by);
        r = sd_bus_message_open_container(reply, 'r', "ssss" "as" "ss" "tttt" "s");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "ssss", api_key_public_id(k, id), api_key_kind_to_string(k->kind), k->env,
                                  strempty(k->name));
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, scopes);
        if (r >= 0)
                r = sd_bus_message_append(reply, "sstttts", strempty(k->application), api_key_state(k, now),
                                          (uint64_t) k->created_usec, (uint64_t) k->expires_usec,
                                          (uint64_t) k->revoked_usec, (uint64_t) k->last_used_usec, replaced_by);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

int bus_tenant_method_list_api_keys(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int64_t now = now_realtime_usec(), after = 0;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = change_authorize(m->store, &a, POLICY_API_KEY_LIST, policy_target_tenant(t->id), t->slug, t->slug, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', BUS_API_KEY_SIGNATURE);
        /* Page by page (one indexed range read each), all of them. */
        while (r >= 0) {
                ApiKeyRecord **keys = NULL;
                size_t n = 0;

                r = store_api_key_page(m->store, t->id, after, 200, &keys, &n);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = append_key(reply, keys[i], now);
                if (n > 0)
                        after = keys[n - 1]->id;
                api_key_record_array_free(keys, n);
                if (n < 200)
                        break;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_tenant_method_revoke_api_key(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL;
        const char *id;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        /* Refused before the key is looked up: whether it exists is the
         * administrators' to know. */
        r = change_authorize(m->store, &a, POLICY_API_KEY_REVOKE, policy_target_tenant(t->id), t->slug, t->slug, &e);
        if (r >= 0)
                r = api_key_lookup(m->store, t, id, &k, &e);
        if (r >= 0)
                r = api_key_revoke(m, m->store, &a, k, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_tenant_method_rotate_api_key(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL, *n = NULL;
        _cleanup_(erase_and_freep) char *text = NULL;
        char new_id[API_KEY_ID_LEN + 5];
        const char *id;
        uint64_t overlap;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "st", &id, &overlap);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = change_authorize(m->store, &a, POLICY_API_KEY_ROTATE, policy_target_tenant(t->id), t->slug, t->slug, &e);
        if (r >= 0)
                r = api_key_lookup(m->store, t, id, &k, &e);
        if (r >= 0)
                r = api_key_rotate(m, m->store, &a, k, overlap > INT64_MAX ? -1 : (int64_t) overlap, &n, &text, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, "ss", api_key_public_id(n, new_id), text);
}
