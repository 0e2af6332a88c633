/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"

#include <stdlib.h>

#include "bus-application.h"
#include "bus-errors.h"
#include "bus-group.h"
#include "bus-mail.h"
#include "bus-platform.h"
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

/* Replies with the path of a looked-up record, or the lookup's error after
 * recording it. */
static int reply_lookup(BusFace *f, sd_bus_message *msg, const char *action, const char *target, int r, char *path,
                        const TesseraError *e, sd_bus_error *error) {
        _cleanup_free_ char *p = path;

        if (r < 0) {
                BusCaller c;
                Principal a;
                if (bus_caller_actor(f, msg, &c, &a) >= 0)
                        change_audit_failure(f->manager->store, &a, action, NULL, target, e);
                return bus_reply_tessera_error(error, e);
        }
        return sd_bus_reply_method_return(msg, "o", p);
}

static int method_create_tenant(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
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
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;

        r = tenant_create(m, m->store, &a, slug, display_name, &t, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);

        r = bus_tenant_path(t->slug, &path);
        if (r < 0)
                return r;
        /* Its first token request would otherwise wait for RSA key
         * generation. */
        signing_keys_prepare(m, t->id);
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_list_tenants(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        _cleanup_(strv_freep) char **paths = NULL;
        int r = bus_tenant_paths(f->manager, &paths);

        return r < 0 ? r : bus_reply_paths(msg, paths);
}

static int method_get_tenant(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
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
        return reply_lookup(f, msg, "tenant.lookup", slug, r, path, &e, error);
}

static int reply_user(BusFace *f, sd_bus_message *msg, const char *target, int r, const UserRecord *u,
                      const TesseraError *e, sd_bus_error *error) {
        char *path = NULL;

        if (r >= 0 && bus_user_path(u->tenant, u->name, &path) < 0)
                return -ENOMEM;
        return reply_lookup(f, msg, "user.lookup", target, r, path, e, error);
}

static int method_get_user_by_name(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const char *tenant, *name;
        TesseraError e = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &tenant, &name);
        if (r < 0)
                return r;
        r = user_lookup(m, m->store, tenant, name, &u, &e);
        return reply_user(f, msg, name, r, u, &e, error);
}

static int method_get_user_by_uid(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
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
        return reply_user(f, msg, target, r, u, &e, error);
}

static int reply_group(BusFace *f, sd_bus_message *msg, const char *target, int r, const GroupRecord *g,
                       const TesseraError *e, sd_bus_error *error) {
        char *path = NULL;

        if (r >= 0 && bus_group_path(g->tenant, g->name, &path) < 0)
                return -ENOMEM;
        return reply_lookup(f, msg, "group.lookup", target, r, path, e, error);
}

static int method_get_group_by_name(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        const char *tenant, *name;
        TesseraError e = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &tenant, &name);
        if (r < 0)
                return r;
        r = group_lookup(m, m->store, tenant, name, &g, &e);
        return reply_group(f, msg, name, r, g, &e, error);
}

static int method_get_group_by_gid(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
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
        return reply_group(f, msg, target, r, g, &e, error);
}

static int method_list_audit_events(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        AuditFilter filter = {};
        uint32_t limit = 0;
        int64_t after = 0;
        const BusAttribute attrs[] = {
                { "Tenant", 's', &filter.tenant },
                { "Target", 's', &filter.target },
                { "Action", 's', &filter.action },
                { "AfterId", 't', &after },
                { "Limit", 'u', &limit },
        };
        AuditEvent *events = NULL;
        TesseraError e = {};
        size_t n = 0;
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        /* The trail names who did what: administrators only. */
        r = change_authorize(m->store, &a, POLICY_AUDIT_READ, POLICY_TARGET_NONE, NULL, NULL, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        filter.after_id = after;
        filter.limit = limit == 0 ? 1000 : MIN(limit, 10000u);

        r = store_audit_list(m->store, &filter, &events, &n);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ttsxssssssstt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const AuditEvent *ev = &events[i];
                /* The trail keeps what it was given; what goes on the bus
                 * must be UTF-8 (bus_text()). */
                _cleanup_free_ char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL, *b5 = NULL, *b6 = NULL,
                                    *b7 = NULL;
                /* Repeats counted on one event (audit.h): how many, and the last. */
                r = sd_bus_message_append(reply, "(ttsxssssssstt)", (uint64_t) ev->id, (uint64_t) ev->time_usec,
                                          bus_text(ev->channel, &b1), ev->actor_uid, bus_text(ev->actor, &b2),
                                          bus_text(ev->action, &b3), bus_text(ev->tenant, &b4),
                                          bus_text(ev->target, &b5), audit_result_to_string(ev->result),
                                          bus_text(ev->details, &b6), bus_text(ev->remote, &b7), ev->count,
                                          (uint64_t) ev->last_usec);
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
        BusFace *f = userdata;
        return sd_bus_message_append(reply, "s", strempty(f->manager->config->default_tenant));
}

static int property_get_tenants(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        return sd_bus_message_append_strv(reply, f->manager->config->tenants);
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
        SD_BUS_METHOD_WITH_ARGS("GetUserByName", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", user),
                                method_get_user_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetUserByUid", SD_BUS_ARGS("u", uid), SD_BUS_RESULT("o", user),
                                method_get_user_by_uid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetGroupByName", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", group),
                                method_get_group_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetGroupByGid", SD_BUS_ARGS("u", gid), SD_BUS_RESULT("o", group),
                                method_get_group_by_gid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetApplication", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", application),
                                bus_manager_method_get_application, SD_BUS_VTABLE_UNPRIVILEGED),
        /* The names of the first version, before the lookups were named
         * Get* as systemd's managers name them: kept so that no client
         * breaks, marked deprecated in the introspection data. */
        SD_BUS_METHOD_WITH_ARGS("FindUserByName", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", user),
                                method_get_user_by_name, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_DEPRECATED),
        SD_BUS_METHOD_WITH_ARGS("FindUserByUid", SD_BUS_ARGS("u", uid), SD_BUS_RESULT("o", user),
                                method_get_user_by_uid, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_DEPRECATED),
        SD_BUS_METHOD_WITH_ARGS("FindGroupByName", SD_BUS_ARGS("s", tenant, "s", name), SD_BUS_RESULT("o", group),
                                method_get_group_by_name, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_DEPRECATED),
        SD_BUS_METHOD_WITH_ARGS("FindGroupByGid", SD_BUS_ARGS("u", gid), SD_BUS_RESULT("o", group),
                                method_get_group_by_gid, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_DEPRECATED),
        SD_BUS_METHOD_WITH_ARGS("ListAuditEvents", SD_BUS_ARGS("a{sv}", filter),
                                SD_BUS_RESULT("a(ttsxssssssstt)", events), method_list_audit_events,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListSessions", SD_BUS_ARGS("a{sv}", filter),
                                SD_BUS_RESULT("a(tsssssssutt)", sessions), bus_manager_method_list_sessions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SendTestMail", SD_BUS_ARGS("s", tenant, "s", recipient), SD_BUS_RESULT("t", id),
                                bus_manager_method_send_test_mail, SD_BUS_VTABLE_UNPRIVILEGED),
        /* The platform's operators (root and the admin group): the TOTP
         * seed of a new one is in the reply, once. */
        SD_BUS_METHOD_WITH_ARGS("AddOperator", SD_BUS_ARGS("s", name, "s", email, "s", password),
                                SD_BUS_RESULT("s", totp_secret, "s", totp_uri), bus_manager_method_add_operator,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListOperators", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sstt)", operators),
                                bus_manager_method_list_operators, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveOperator", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                bus_manager_method_remove_operator, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectType bus_manager_type = {
        .interface = TESSERA_IFACE_MANAGER,
        .vtable = manager_vtable,
        .path = TESSERA_BUS_PATH,
};
