/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-face.h"

#include <stdlib.h>

#include "bus-application.h"
#include "bus-errors.h"
#include "bus-group.h"
#include "bus-manager.h"
#include "bus-signals.h"
#include "bus-tenant.h"
#include "bus-user.h"
#include "bus-util.h"
#include "log.h"

static const BusObjectType *const object_types[] = {
        &bus_manager_type,
        &bus_tenant_type,
        &bus_user_type,
        &bus_group_type,
        &bus_application_type,
};

BusFace *bus_face_from_slot(sd_bus *bus) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
}

static void record_cache_clear(BusRecordCache *c) {
        if (c->record && c->unref)
                c->unref(c->record);
        free(c->path);
        *c = (BusRecordCache) {};
}

BusFace *bus_face_free(BusFace *f) {
        if (!f)
                return NULL;
        if (f->bus) {
                /* The last replies and signals go out before we leave. */
                (void) sd_bus_flush(f->bus);
                f->bus = sd_bus_flush_close_unref(f->bus);
        }
        record_cache_clear(&f->tenant_cache);
        record_cache_clear(&f->user_cache);
        record_cache_clear(&f->group_cache);
        record_cache_clear(&f->application_cache);
        free(f);
        return NULL;
}

/* sd-bus turns away calls with wrong argument types, to unknown members or
 * to objects that don't exist before our handlers run; record those too. */
static const char *check_call(BusFace *f, sd_bus_message *msg, const BusObjectType *type) {
        const char *member = sd_bus_message_get_member(msg), *path = sd_bus_message_get_path(msg);
        const char *signature = sd_bus_message_get_signature(msg, true);
        const sd_bus_vtable *v;

        for (v = type->vtable; v->type != _SD_BUS_VTABLE_END; v++)
                if (v->type == _SD_BUS_VTABLE_METHOD && member && streq(v->x.method.member, member))
                        break;
        if (v->type == _SD_BUS_VTABLE_END)
                return "unknown method";
        if (!streq(strempty(signature), strempty(v->x.method.signature)))
                return "wrong argument types";

        if (!type->find)
                return path && streq(path, type->path) ? NULL : "no such object";

        void *found = NULL;
        size_t n = strlen(type->path);
        if (!path || strncmp(path, type->path, n) != 0 || path[n] != '/' ||
            type->find(sd_bus_message_get_bus(msg), path, type->interface, f, &found, NULL) <= 0)
                return "no such object";
        return NULL;
}

static int audit_filter(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        BusFace *f = userdata;
        const char *interface = sd_bus_message_get_interface(msg), *problem = "unknown interface";
        _cleanup_free_ char *details = NULL;
        BusCaller c;
        Principal a;

        if (!sd_bus_message_is_method_call(msg, NULL, NULL) || !interface ||
            strncmp(interface, TESSERA_BUS_NAME ".", strlen(TESSERA_BUS_NAME ".")) != 0)
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(object_types); i++)
                if (streq(interface, object_types[i]->interface)) {
                        problem = check_call(f, msg, object_types[i]);
                        break;
                }
        if (!problem || bus_caller_actor(f, msg, &c, &a) < 0)
                return 0;

        /* Member and path are bus-validated, but keep the record short. */
        if (asprintf(&details, "{\"error\":\"%s\",\"call\":\"%.128s.%.64s\",\"path\":\"%.256s\"}", problem, interface,
                     strempty(sd_bus_message_get_member(msg)), strempty(sd_bus_message_get_path(msg))) < 0)
                details = NULL;
        (void) change_audit(f->manager->store, &a, "bus.call", NULL, sd_bus_message_get_path(msg), AUDIT_INVALID,
                            details);
        return 0;   /* let sd-bus send its standard error */
}

static int bus_connect(const Config *config, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (config->bus_address) {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return log_error_errno(r, "Failed to allocate a bus connection: %m");
                r = sd_bus_set_address(bus, config->bus_address);
                if (r < 0)
                        return log_error_errno(r, "Invalid bus address '%s': %m", config->bus_address);
                (void) sd_bus_set_bus_client(bus, true);
                (void) sd_bus_set_description(bus, "tesserad");
                r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system_with_description(&bus, "tesserad");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        *ret = TAKE_PTR(bus);
        return 0;
}

static int register_objects(BusFace *f) {
        int r;

        r = sd_bus_add_filter(f->bus, NULL, audit_filter, f);
        if (r < 0)
                return log_error_errno(r, "Failed to install the bus filter: %m");

        r = sd_bus_add_object_manager(f->bus, NULL, TESSERA_BUS_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");

        for (size_t i = 0; i < ELEMENTSOF(object_types); i++) {
                const BusObjectType *t = object_types[i];

                if (t->find)
                        r = sd_bus_add_fallback_vtable(f->bus, NULL, t->path, t->interface, t->vtable, t->find, f);
                else
                        r = sd_bus_add_object_vtable(f->bus, NULL, t->path, t->interface, t->vtable, f);
                if (r < 0)
                        return log_error_errno(r, "Failed to register %s: %m", t->interface);
                if (t->enumerate) {
                        r = sd_bus_add_node_enumerator(f->bus, NULL, t->path, t->enumerate, f);
                        if (r < 0)
                                return log_error_errno(r, "Failed to add the node enumerator of %s: %m", t->interface);
                }
        }
        return 0;
}

int bus_face_start(Manager *m, BusFace **ret) {
        _cleanup_(bus_face_freep) BusFace *f = NULL;
        int r;

        r = bus_errors_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus error names: %m");

        f = calloc(1, sizeof(BusFace));
        if (!f)
                return log_oom();
        f->manager = m;

        r = bus_connect(m->config, &f->bus);
        if (r < 0)
                return r;
        r = register_objects(f);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(f->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = sd_bus_request_name(f->bus, TESSERA_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "%s is already taken: is another tesserad running?", TESSERA_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire %s: %m", TESSERA_BUS_NAME);

        /* Last, so that a face that failed to start was never subscribed
         * (the event bus keeps its subscribers). No change is missed: calls
         * on the bus wait for the main loop, and the other doors that make
         * changes (HTTP, PAM) open after this one (main.c). */
        r = event_bus_subscribe(m->events, EVENT_DELIVER_MAIN_LOOP, bus_signals_on_change, f);
        if (r < 0)
                return log_error_errno(r, "Failed to follow changes for the bus signals: %m");

        *ret = TAKE_PTR(f);
        return 0;
}
