/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.AddOperator, ListOperators, RemoveOperator and
 * Tenant.GetEntitlements, SetEntitlements: thin doors to the core. */

#include "bus-platform.h"

#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "entitlement.h"
#include "operator.h"
#include "password-job.h"

/* An AddOperator call waiting for its password's hash. */
typedef struct AddOperator {
        Manager *manager;
        sd_bus_message *call;
        BusCaller caller;         /* the principal's strings live here */
        char *name, *email;
} AddOperator;

static void add_operator_free(AddOperator *a) {
        if (!a)
                return;
        sd_bus_message_unref(a->call);
        free(a->name);
        free(a->email);
        free(a);
}

static void add_operator_hashed(PasswordJob *j, void *userdata) {
        AddOperator *a = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(erase_and_freep) char *secret = NULL;
        _cleanup_free_ char *uri = NULL;
        Principal p = bus_caller_principal(&a->caller);
        TesseraError e = {};
        int r;

        if (j->hash_result < 0)
                r = tessera_error_set(&e, j->hash_result, "Failed to hash the password.");
        else
                r = operator_add(a->manager, a->manager->store, &p, a->name, a->email, j->new_hash, &secret, &uri, &e);
        if (r < 0) {
                bus_reply_tessera_error(&error, &e);
                (void) sd_bus_reply_method_error(a->call, &error);
        } else
                (void) sd_bus_reply_method_return(a->call, "ss", secret, uri);
        password_job_free(j);
        add_operator_free(a);
}

int bus_manager_method_add_operator(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        const char *name, *email, *password;
        _cleanup_(password_job_freep) PasswordJob *j = NULL;
        AddOperator *a = NULL;
        TesseraError e = {};
        Principal p;
        BusCaller c;
        int r;

        r = sd_bus_message_read(msg, "sss", &name, &email, &password);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &p);
        if (r < 0)
                return r;
        /* Refused before any hashing: a caller that may not gains no work
         * of ours. The core asks again when it adds. */
        r = change_authorize(m->store, &p, POLICY_OPERATOR_MANAGE, POLICY_TARGET_NONE, NULL, "operator", &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        if (isempty(password)) {
                tessera_error_set(&e, -EINVAL, "An operator needs a password.");
                return bus_reply_tessera_error(error, &e);
        }

        j = password_job_new();
        a = calloc(1, sizeof(AddOperator));
        if (!j || !a || !(j->new_password = strdup(password)) || !(a->name = strdup(name)) ||
            !(a->email = strdup(email))) {
                add_operator_free(a);
                return -ENOMEM;
        }
        *a = (AddOperator) { .manager = m, .call = sd_bus_message_ref(msg), .caller = c, .name = a->name,
                             .email = a->email };
        j->prefix = m->config->hash_prefix;
        j->cost = m->config->hash_cost;
        j->done = add_operator_hashed;
        j->userdata = a;
        r = password_job_submit(m->workers, j);
        if (r < 0) {
                add_operator_free(a);
                tessera_error_set(&e, r, "tesserad is busy; try again.");
                return bus_reply_tessera_error(error, &e);
        }
        TAKE_PTR(j);
        return 1;
}

int bus_manager_method_list_operators(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        OperatorRecord *list = NULL;
        TesseraError e = {};
        size_t n = 0;
        Principal p;
        BusCaller c;
        int r;

        r = bus_caller_actor(f, msg, &c, &p);
        if (r < 0)
                return r;
        r = operator_list(m, m->store, &p, &list, &n, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sstt)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(sstt)", list[i].name, list[i].email,
                                          (uint64_t) list[i].created_usec, (uint64_t) list[i].last_signin_usec);
        operator_record_array_free(list, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_manager_method_remove_operator(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        const char *name;
        TesseraError e = {};
        Principal p;
        BusCaller c;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &p);
        if (r < 0)
                return r;
        r = operator_remove(m, m->store, &p, name, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int reply_entitlements(sd_bus_message *msg, const Entitlements *x) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "xx", x->max_users, x->max_applications);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, x->features ?: (char *[]) { NULL });
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", (uint64_t) x->changed_usec);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The limits on D-Bus: -1 is none. */
int bus_tenant_method_get_entitlements(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(entitlements_done) Entitlements x = {};
        TesseraError e = {};
        Principal p;
        BusCaller c;
        int r;

        r = bus_caller_actor(f, msg, &c, &p);
        if (r < 0)
                return r;
        r = entitlements_get(m, m->store, &p, t, &x, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return reply_entitlements(msg, &x);
}

int bus_tenant_method_set_entitlements(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(entitlements_done) Entitlements stored = {};
        _cleanup_(strv_freep) char **features = NULL;
        int64_t max_users, max_applications;
        TesseraError e = {};
        Principal p;
        BusCaller c;
        int r;

        r = sd_bus_message_read(msg, "xx", &max_users, &max_applications);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &features);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &p);
        if (r < 0)
                return r;
        r = entitlements_set(m, m->store, &p, t,
                             &(Entitlements) { .max_users = max_users, .max_applications = max_applications,
                                               .features = features },
                             &stored, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return reply_entitlements(msg, &stored);
}
