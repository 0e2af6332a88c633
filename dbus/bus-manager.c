/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"

#include <stdlib.h>

#include "bus-application.h"
#include "bus-errors.h"
#include "bus-group.h"
#include "bus-mail.h"
#include "bus-session.h"
#include "bus-tenant.h"
#include "bus-user.h"
#include "bus-util.h"
#include "group.h"
#include "log.h"
#include "names.h"
#include "key-set.h"
#include "tenant.h"
#include "user.h"

static const BusObjectType *const object_types[] = {
        &bus_manager_type,
        &bus_tenant_type,
        &bus_user_type,
        &bus_group_type,
        &bus_application_type,
};

static int caller_actor(Manager *m, sd_bus_message *msg, BusCaller *c, Principal *ret) {
        int r = bus_caller_get(m, msg, c);
        if (r >= 0)
                *ret = bus_caller_principal(c);
        return r;
}

/* Replies with the path of a looked-up record, or the lookup's error after
 * recording it. */
static int reply_lookup(Manager *m, sd_bus_message *msg, const char *action, const char *target, int r, char *path,
                        const TesseraError *e, sd_bus_error *error) {
        _cleanup_free_ char *p = path;

        if (r < 0) {
                BusCaller c;
                Principal a;
                if (caller_actor(m, msg, &c, &a) >= 0)
                        change_audit_failure(m->store, &a, action, NULL, target, e);
                return bus_reply_tessera_error(error, e);
        }
        return sd_bus_reply_method_return(msg, "o", p);
}

static int method_create_tenant(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_free_ char *path = NULL;
        const char *slug, *display_name;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "ss", &slug, &display_name);
        if (r < 0)
                return r;
        r = caller_actor(m, msg, &c, &a);
        if (r < 0)
                return r;

        r = tenant_create(m, m->store, &a, slug, display_name, &t, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);

        r = bus_tenant_path(t->slug, &path);
        if (r < 0)
                return r;
        (void) sd_bus_emit_interfaces_added(m->bus, path, TESSERA_IFACE_TENANT, NULL);
        /* Its first token request would otherwise wait for RSA key
         * generation. */
        signing_keys_prepare(m, t->id);
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_list_tenants(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(strv_freep) char **paths = NULL;
        int r = bus_tenant_paths(userdata, &paths);

        return r < 0 ? r : bus_reply_paths(msg, paths);
}

static int method_get_tenant(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        const char *slug;
        char *path = NULL;
        TesseraError e = {};
        int r;

        r = sd_bus_message_read(msg, "s", &slug);
        if (r < 0)
                return r;
        r = tenant_lookup(m, m->store, slug, &t, &e);
        if (r >= 0 && bus_tenant_path(t->slug, &path) < 0)
                return -ENOMEM;
        return reply_lookup(m, msg, "tenant.lookup", slug, r, path, &e, error);
}

static int reply_user(Manager *m, sd_bus_message *msg, const char *target, int r, const UserRecord *u,
                      const TesseraError *e, sd_bus_error *error) {
        char *path = NULL;

        if (r >= 0 && bus_user_path(u->tenant, u->name, &path) < 0)
                return -ENOMEM;
        return reply_lookup(m, msg, "user.lookup", target, r, path, e, error);
}

static int method_find_user_by_name(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const char *tenant, *name;
        TesseraError e = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &tenant, &name);
        if (r < 0)
                return r;
        r = user_lookup(m, m->store, tenant, name, &u, &e);
        return reply_user(m, msg, name, r, u, &e, error);
}

static int method_find_user_by_uid(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        char target[32];
        TesseraError e = {};
        uint32_t uid;
        int r;

        r = sd_bus_message_read(msg, "u", &uid);
        if (r < 0)
                return r;
        snprintf(target, sizeof(target), "uid %u", uid);
        r = store_user_get_by_uid(m->store, uid, &u);
        if (r < 0)
                tessera_error_set(&e, r, r == -ENOENT ? "No tessera user has UID %u." : "Failed to look up UID %u.", uid);
        return reply_user(m, msg, target, r, u, &e, error);
}

static int reply_group(Manager *m, sd_bus_message *msg, const char *target, int r, const GroupRecord *g,
                       const TesseraError *e, sd_bus_error *error) {
        char *path = NULL;

        if (r >= 0 && bus_group_path(g->tenant, g->name, &path) < 0)
                return -ENOMEM;
        return reply_lookup(m, msg, "group.lookup", target, r, path, e, error);
}

static int method_find_group_by_name(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        const char *tenant, *name;
        TesseraError e = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &tenant, &name);
        if (r < 0)
                return r;
        r = group_lookup(m, m->store, tenant, name, &g, &e);
        return reply_group(m, msg, name, r, g, &e, error);
}

static int method_find_group_by_gid(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        char target[32];
        TesseraError e = {};
        uint32_t gid;
        int r;

        r = sd_bus_message_read(msg, "u", &gid);
        if (r < 0)
                return r;
        snprintf(target, sizeof(target), "gid %u", gid);
        r = store_group_get_by_gid(m->store, gid, &g);
        if (r < 0)
                tessera_error_set(&e, r, r == -ENOENT ? "No tessera group has GID %u." : "Failed to look up GID %u.", gid);
        return reply_group(m, msg, target, r, g, &e, error);
}

static int method_list_audit_events(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        AuditFilter f = {};
        uint32_t limit = 0;
        int64_t after = 0;
        const BusAttribute attrs[] = {
                { "Tenant", 's', &f.tenant },
                { "Target", 's', &f.target },
                { "Action", 's', &f.action },
                { "AfterId", 't', &after },
                { "Limit", 'u', &limit },
        };
        AuditEvent *events = NULL;
        TesseraError e = {};
        size_t n = 0;
        BusCaller c;
        Principal a;
        int r;

        r = caller_actor(m, msg, &c, &a);
        if (r < 0)
                return r;
        /* The trail names who did what: administrators only. */
        r = change_authorize(m->store, &a, POLICY_AUDIT_READ, POLICY_TARGET_NONE, NULL, NULL, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        f.after_id = after;
        f.limit = limit == 0 ? 1000 : MIN(limit, 10000u);

        r = store_audit_list(m->store, &f, &events, &n);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ttsxssssssstt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const AuditEvent *ev = &events[i];
                /* Repeats counted on one event (audit.h): how many, and the last. */
                r = sd_bus_message_append(reply, "(ttsxssssssstt)", (uint64_t) ev->id, (uint64_t) ev->time_usec,
                                          strempty(ev->channel), ev->actor_uid, strempty(ev->actor),
                                          strempty(ev->action), strempty(ev->tenant), strempty(ev->target),
                                          audit_result_to_string(ev->result), strempty(ev->details),
                                          strempty(ev->remote), ev->count, (uint64_t) ev->last_usec);
        }
        audit_event_array_free(events, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", TESSERA_VERSION);
}

static int property_get_default_tenant(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", strempty(m->config->default_tenant));
}

static int property_get_tenants(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append_strv(reply, m->config->tenants);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DefaultTenant", "s", property_get_default_tenant, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HostTenants", "as", property_get_tenants, 0, SD_BUS_VTABLE_PROPERTY_CONST),

        SD_BUS_METHOD_WITH_ARGS("CreateTenant", SD_BUS_ARGS("s", slug, "s", display_name), SD_BUS_RESULT("o", tenant),
                                method_create_tenant, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTenants", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", tenants), method_list_tenants,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetTenant", SD_BUS_ARGS("s", slug), SD_BUS_RESULT("o", tenant), method_get_tenant,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("FindUserByName", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", user),
                                method_find_user_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("FindUserByUid", SD_BUS_ARGS("u", uid), SD_BUS_RESULT("o", user),
                                method_find_user_by_uid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("FindGroupByName", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", group),
                                method_find_group_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("FindGroupByGid", SD_BUS_ARGS("u", gid), SD_BUS_RESULT("o", group),
                                method_find_group_by_gid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetApplication", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", application),
                                bus_manager_method_get_application, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListAuditEvents", SD_BUS_ARGS("a{sv}", filter),
                                SD_BUS_RESULT("a(ttsxssssssstt)", events), method_list_audit_events,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListSessions", SD_BUS_ARGS("a{sv}", filter),
                                SD_BUS_RESULT("a(tsssssssutt)", sessions), bus_manager_method_list_sessions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SendTestMail", SD_BUS_ARGS("s", tenant, "s", recipient), SD_BUS_RESULT("t", id),
                                bus_manager_method_send_test_mail, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectType bus_manager_type = {
        .interface = TESSERA_IFACE_MANAGER,
        .vtable = manager_vtable,
        .path = TESSERA_BUS_PATH,
};

/* sd-bus turns away calls with wrong argument types, to unknown members or
 * to objects that don't exist before our handlers run; record those too. */
static const char *check_call(Manager *m, sd_bus_message *msg, const BusObjectType *type) {
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
            type->find(sd_bus_message_get_bus(msg), path, type->interface, m, &found, NULL) <= 0)
                return "no such object";
        return NULL;
}

static int audit_filter(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *interface = sd_bus_message_get_interface(msg), *problem = "unknown interface";
        _cleanup_free_ char *details = NULL;
        BusCaller c;
        Principal a;

        if (!sd_bus_message_is_method_call(msg, NULL, NULL) || !interface ||
            strncmp(interface, TESSERA_BUS_NAME ".", strlen(TESSERA_BUS_NAME ".")) != 0)
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(object_types); i++)
                if (streq(interface, object_types[i]->interface)) {
                        problem = check_call(m, msg, object_types[i]);
                        break;
                }
        if (!problem || caller_actor(m, msg, &c, &a) < 0)
                return 0;

        /* Member and path are bus-validated, but keep the record short. */
        if (asprintf(&details, "{\"error\":\"%s\",\"call\":\"%.128s.%.64s\",\"path\":\"%.256s\"}", problem, interface,
                     strempty(sd_bus_message_get_member(msg)), strempty(sd_bus_message_get_path(msg))) < 0)
                details = NULL;
        (void) change_audit(m->store, &a, "bus.call", NULL, sd_bus_message_get_path(msg), AUDIT_INVALID, details);
        return 0;   /* let sd-bus send its standard error */
}

static int bus_connect(Manager *m) {
        int r;

        if (m->config->bus_address) {
                r = sd_bus_new(&m->bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_address(m->bus, m->config->bus_address);
                if (r < 0)
                        return log_error_errno(r, "Invalid bus address '%s': %m", m->config->bus_address);
                (void) sd_bus_set_bus_client(m->bus, true);
                (void) sd_bus_set_description(m->bus, "tesserad");
                r = sd_bus_start(m->bus);
        } else
                r = sd_bus_open_system_with_description(&m->bus, "tesserad");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        return 0;
}

int bus_connect_and_register(Manager *m) {
        int r;

        r = bus_errors_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus error names: %m");

        r = bus_connect(m);
        if (r < 0)
                return r;

        r = sd_bus_add_filter(m->bus, NULL, audit_filter, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install the bus filter: %m");

        r = sd_bus_add_object_manager(m->bus, NULL, TESSERA_BUS_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");

        for (size_t i = 0; i < ELEMENTSOF(object_types); i++) {
                const BusObjectType *t = object_types[i];

                if (t->find)
                        r = sd_bus_add_fallback_vtable(m->bus, NULL, t->path, t->interface, t->vtable, t->find, m);
                else
                        r = sd_bus_add_object_vtable(m->bus, NULL, t->path, t->interface, t->vtable, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to register %s: %m", t->interface);
                if (t->enumerate) {
                        r = sd_bus_add_node_enumerator(m->bus, NULL, t->path, t->enumerate, m);
                        if (r < 0)
                                return log_error_errno(r, "Failed to add the node enumerator of %s: %m", t->interface);
                }
        }

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = sd_bus_request_name(m->bus, TESSERA_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "%s is already taken: is another tesserad running?", TESSERA_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire %s: %m", TESSERA_BUS_NAME);
        return 0;
}
