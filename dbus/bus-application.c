/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Applications (OAuth clients) on the bus: /org/tessera/Identity1/
 * application/TENANT/NAME with org.tessera.Identity1.Application, and the
 * Tenant methods that create and list them and rotate signing keys. */

#include "bus-application.h"

#include <stddef.h>
#include <stdlib.h>

#include "application.h"
#include "bus-errors.h"
#include "bus-util.h"
#include "names.h"
#include "key-set.h"
#include "store-oidc.h"
#include "tenant.h"
#include "time-util.h"

int bus_application_path(const char *tenant, const char *name, char **ret) {
        return sd_bus_path_encode_many(ret, TESSERA_BUS_APPLICATION_PREFIX "/%/%", tenant, name);
}

static int application_load(Manager *m, const char *path, void **ret) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_free_ char *tenant = NULL, *name = NULL;
        int r;

        r = sd_bus_path_decode_many(path, TESSERA_BUS_APPLICATION_PREFIX "/%/%", &tenant, &name);
        if (r <= 0 || !valid_tenant_slug(tenant) || !valid_user_name(name))
                return -ENOENT;
        r = store_tenant_get(m->store, tenant, &t);
        if (r < 0)
                return r;
        return store_application_get(m->store, t->id, name, (ApplicationRecord **) ret);
}

static int application_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                            sd_bus_error *error) {
        BusFace *f = userdata;
        return bus_find_cached(f, &f->application_cache, path, application_load,
                               (void *(*)(void *)) application_record_unref, found, error);
}

static int paths_of(ApplicationRecord **apps, size_t n, char ***ret) {
        _cleanup_(strv_freep) char **l = calloc(n + 1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = bus_application_path(apps[i]->tenant, apps[i]->name, &l[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int application_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        ApplicationRecord **apps = NULL;
        size_t n = 0;
        int r;

        r = store_application_list(m->store, 0, &apps, &n);
        if (r < 0)
                return r;
        r = paths_of(apps, n, nodes);
        application_record_array_free(apps, n);
        return r < 0 ? r : 1;
}

static int property_get_alg(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", jwt_alg_to_string(*(JwtAlg *) userdata) ?: "");
}

static int property_get_confidential(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ApplicationRecord *a = userdata;
        return sd_bus_message_append(reply, "b", (int) !a->public_client);
}

/* Reads the attributes of CreateApplication and Update. */
static int read_spec(sd_bus_message *msg, ApplicationSpec *spec, TesseraError *e) {
        const char *alg = NULL;
        const BusAttribute attrs[] = {
                { "RedirectUris", 'a', &spec->redirect_uris },
                { "PostLogoutRedirectUris", 'a', &spec->post_logout_redirect_uris },
                { "Grants", 'a', &spec->grants },
                { "Scopes", 'a', &spec->scopes },
                { "AllowedOrigins", 'a', &spec->allowed_origins },
                { "Public", 'b', &spec->public_client },
                { "FirstParty", 'b', &spec->first_party },
                { "PkceOptional", 'b', &spec->pkce_optional },
                { "SigningAlgorithm", 's', &alg },
        };
        int r;

        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), e);
        if (r < 0)
                return r;
        if (alg) {
                spec->signing_alg = jwt_alg_from_string(alg);
                if (spec->signing_alg < 0)
                        return tessera_error_set(e, -EINVAL, "Unknown signing algorithm '%.16s'; use RS256 or ES256.", alg);
        }
        return 0;
}

static void application_spec_done(ApplicationSpec *spec) {
        strv_free(spec->redirect_uris);
        strv_free(spec->post_logout_redirect_uris);
        strv_free(spec->grants);
        strv_free(spec->scopes);
        strv_free(spec->allowed_origins);
}

int bus_tenant_method_create_application(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(application_spec_done) ApplicationSpec spec = APPLICATION_SPEC_INIT;
        _cleanup_(erase_and_freep) char *secret = NULL;
        _cleanup_free_ char *path = NULL, *target = NULL;
        const char *name;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        if (qualified_target(name, t->slug, &target) < 0)
                return -ENOMEM;
        r = change_authorize(m->store, &a, POLICY_APPLICATION_CREATE, policy_target_tenant(t->id), t->slug, target, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = read_spec(msg, &spec, &e);
        if (r < 0) {
                change_audit_failure(m->store, &a, "application.create", t->slug, target, &e);
                return bus_reply_tessera_error(error, &e);
        }

        r = application_create(m, m->store, &a, t, name, &spec, &app, &secret, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_application_path(app->tenant, app->name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "os", path, strempty(secret));
}

int bus_tenant_method_list_applications(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(strv_freep) char **paths = NULL;
        ApplicationRecord **apps = NULL;
        size_t n = 0;
        int r;

        r = store_application_list(m->store, t->id, &apps, &n);
        if (r < 0)
                return r;
        r = paths_of(apps, n, &paths);
        application_record_array_free(apps, n);
        if (r < 0)
                return r;
        return bus_reply_paths(msg, paths);
}

typedef struct RotateRequest {
        Manager *manager;
        sd_bus_message *msg;
        BusCaller caller;
        int64_t tenant_id;
        SigningKeyBatch *batch;
        int result;
} RotateRequest;

static void rotate_request_free(RotateRequest *req) {
        sd_bus_message_unref(req->msg);
        signing_key_batch_free(req->batch);
        free(req);
}

/* On a worker: RSA key generation takes up to a second. */
static void rotate_work(void *userdata) {
        RotateRequest *req = userdata;
        req->result = signing_key_batch_make(req->manager, req->tenant_id, &req->batch);
}

static void rotate_done(void *userdata) {
        RotateRequest *req = userdata;
        Manager *m = req->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(strv_freep) char **kids = NULL;
        Principal a = bus_caller_principal(&req->caller);
        TesseraError e = {};
        int r;

        r = store_tenant_get_by_id(m->store, req->tenant_id, &t);
        if (r < 0)
                tessera_error_set(&e, r, r == -ENOENT ? "The tenant was deleted meanwhile." : "Failed to look up the tenant.");
        else if (req->result < 0)
                r = tessera_error_set(&e, req->result, "Failed to make new signing keys.");
        else
                r = signing_keys_rotate(m, m->store, &a, t, req->batch, &kids, &e);

        if (r < 0) {
                bus_reply_tessera_error(&error, &e);
                (void) sd_bus_reply_method_error(req->msg, &error);
        } else if (sd_bus_message_new_method_return(req->msg, &reply) >= 0 &&
                   sd_bus_message_append_strv(reply, kids) >= 0)
                (void) sd_bus_send(NULL, reply, NULL);
        rotate_request_free(req);
}

int bus_tenant_method_rotate_signing_keys(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        RotateRequest *req;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        /* Before any work is done for the caller. */
        r = change_authorize(m->store, &a, POLICY_SIGNING_KEY_ROTATE, policy_target_tenant(t->id), t->slug, t->slug, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);

        req = calloc(1, sizeof(RotateRequest));
        if (!req)
                return -ENOMEM;
        *req = (RotateRequest) { .manager = m, .msg = sd_bus_message_ref(msg), .caller = c, .tenant_id = t->id };
        r = worker_pool_submit(m->workers, rotate_work, rotate_done, req);
        if (r < 0) {
                rotate_request_free(req);
                tessera_error_set(&e, r, "The workers are busy; try again in a moment.");
                return bus_reply_tessera_error(error, &e);
        }
        return 1;
}

int bus_tenant_method_list_signing_keys(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        StoredSigningKey *keys = NULL;
        size_t n = 0;
        int r;

        /* Every key still published; the private parts never leave. */
        r = store_signing_key_list(m->store, t->id, now_realtime_usec() - signing_keys_publish_usec(m), &keys, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sstt)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(sstt)", keys[i].kid, jwt_alg_to_string(keys[i].alg) ?: "",
                                          (uint64_t) keys[i].created_usec, (uint64_t) keys[i].retired_usec);
        stored_signing_key_array_free(keys, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_manager_method_get_application(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_free_ char *path = NULL;
        const char *tenant, *name;
        TesseraError e = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &tenant, &name);
        if (r < 0)
                return r;
        r = application_lookup(m, m->store, tenant, name, &app, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_application_path(app->tenant, app->name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(application_record_unrefp) ApplicationRecord *app = application_record_ref(userdata);
        _cleanup_(application_spec_done) ApplicationSpec spec = APPLICATION_SPEC_INIT;
        _cleanup_free_ char *target = application_qualified_name(app);
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        if (!target)
                return -ENOMEM;
        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = change_authorize(m->store, &a, POLICY_APPLICATION_UPDATE,
                             (PolicyTarget) { .tenant_id = app->tenant_id, .application_id = app->id, .uid = -1 },
                             app->tenant, target, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = read_spec(msg, &spec, &e);
        if (r < 0) {
                change_audit_failure(m->store, &a, "application.update", app->tenant, target, &e);
                return bus_reply_tessera_error(error, &e);
        }
        r = application_update(m, m->store, &a, app, &spec, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_rotate_secret(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(application_record_unrefp) ApplicationRecord *app = application_record_ref(userdata);
        _cleanup_(erase_and_freep) char *secret = NULL;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = application_rotate_secret(m, m->store, &a, app, &secret, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, "s", secret);
}

static int method_delete(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(application_record_unrefp) ApplicationRecord *app = application_record_ref(userdata);
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = application_delete(m, m->store, &a, app, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable application_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", bus_property_get_string, offsetof(ApplicationRecord, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Tenant", "s", bus_property_get_string, offsetof(ApplicationRecord, tenant), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ClientId", "s", bus_property_get_string, offsetof(ApplicationRecord, client_id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Public", "b", bus_property_get_bool, offsetof(ApplicationRecord, public_client), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Confidential", "b", property_get_confidential, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("FirstParty", "b", bus_property_get_bool, offsetof(ApplicationRecord, first_party), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PkceOptional", "b", bus_property_get_bool, offsetof(ApplicationRecord, pkce_optional), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RedirectUris", "as", bus_property_get_strv, offsetof(ApplicationRecord, redirect_uris), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PostLogoutRedirectUris", "as", bus_property_get_strv, offsetof(ApplicationRecord, post_logout_redirect_uris), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Grants", "as", bus_property_get_strv, offsetof(ApplicationRecord, grants), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Scopes", "as", bus_property_get_strv, offsetof(ApplicationRecord, scopes), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AllowedOrigins", "as", bus_property_get_strv, offsetof(ApplicationRecord, allowed_origins), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SigningAlgorithm", "s", property_get_alg, offsetof(ApplicationRecord, signing_alg), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SecretChangedTime", "t", bus_property_get_usec, offsetof(ApplicationRecord, secret_changed_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CreatedTime", "t", bus_property_get_usec, offsetof(ApplicationRecord, created_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ChangedTime", "t", bus_property_get_usec, offsetof(ApplicationRecord, changed_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", attributes), SD_BUS_NO_RESULT, method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RotateSecret", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", client_secret), method_rotate_secret,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectType bus_application_type = {
        .interface = TESSERA_IFACE_APPLICATION,
        .vtable = application_vtable,
        .path = TESSERA_BUS_APPLICATION_PREFIX,
        .find = application_find,
        .enumerate = application_enumerate,
};
