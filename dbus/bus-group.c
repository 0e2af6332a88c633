/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-group.h"

#include <stddef.h>
#include <stdlib.h>

#include "bus-util.h"
#include "group.h"
#include "names.h"

static int group_load(Manager *m, const char *path, void **ret) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_free_ char *tenant = NULL, *name = NULL;
        int r;

        r = sd_bus_path_decode_many(path, TESSERA_BUS_GROUP_PREFIX "/%/%", &tenant, &name);
        if (r <= 0 || !valid_tenant_slug(tenant) || !valid_group_name(name))
                return -ENOENT;
        r = store_tenant_get(m->store, tenant, &t);
        if (r < 0)
                return r;
        return store_group_get(m->store, t->id, name, (GroupRecord **) ret);
}

static int group_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        BusFace *f = userdata;
        return bus_find_cached(f, &f->group_cache, path, group_load, (void *(*)(void *)) group_record_unref, found, error);
}

int bus_group_paths(Manager *m, int64_t tenant_id, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        GroupRecord **groups = NULL;
        size_t n = 0;
        int r;

        r = store_group_list(m->store, tenant_id, &groups, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; l && i < n && r >= 0; i++)
                r = bus_group_path(groups[i]->tenant, groups[i]->name, &l[i]);
        group_record_array_free(groups, n);
        if (!l)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int group_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        BusFace *f = userdata;
        int r = bus_group_paths(f->manager, 0, nodes);
        return r < 0 ? r : 1;
}

static int property_get_members(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(bus);
        GroupRecord *g = userdata;
        _cleanup_(strv_freep) char **members = NULL;
        int r;

        r = store_group_members(f->manager->store, g->id, &members);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, members);
}

static int property_get_user_private(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        GroupRecord *g = userdata;
        return sd_bus_message_append(reply, "b", g->private_user_id != 0);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(group_record_unrefp) GroupRecord *g = group_record_ref(userdata);
        _cleanup_free_ char *target = group_qualified_name(g);
        const char *description = NULL;
        const BusAttribute attrs[] = {
                { "Description", 's', &description },
        };
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        if (!target)
                return -ENOMEM;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = change_authorize(m->store, &a, POLICY_GROUP_UPDATE, policy_target_tenant(g->tenant_id), g->tenant, target, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r < 0) {
                change_audit_failure(m->store, &a, "group.update", g->tenant, target, &e);
                return bus_reply_tessera_error(error, &e);
        }
        if (!description)
                return sd_bus_reply_method_return(msg, NULL);

        r = group_update(m, m->store, &a, g, description, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int change_member(sd_bus_message *msg, void *userdata, sd_bus_error *error, bool add) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(group_record_unrefp) GroupRecord *g = group_record_ref(userdata);
        const char *user;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &user);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;

        /* The core announces the group's and the member's change. */
        r = (add ? group_add_member : group_remove_member)(m, m->store, &a, g, user, NULL, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_add_member(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return change_member(msg, userdata, error, true);
}

static int method_remove_member(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return change_member(msg, userdata, error, false);
}

static int method_delete(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(group_record_unrefp) GroupRecord *g = group_record_ref(userdata);
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = group_delete(m, m->store, &a, g, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable group_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", bus_property_get_string, offsetof(GroupRecord, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Tenant", "s", bus_property_get_string, offsetof(GroupRecord, tenant), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Gid", "u", bus_property_get_uint32, offsetof(GroupRecord, gid), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Description", "s", bus_property_get_string, offsetof(GroupRecord, description), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UserPrivate", "b", property_get_user_private, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Members", "as", property_get_members, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CreatedTime", "t", bus_property_get_usec, offsetof(GroupRecord, created_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ChangedTime", "t", bus_property_get_usec, offsetof(GroupRecord, changed_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", attributes), SD_BUS_NO_RESULT, method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddMember", SD_BUS_ARGS("s", user), SD_BUS_NO_RESULT, method_add_member, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveMember", SD_BUS_ARGS("s", user), SD_BUS_NO_RESULT, method_remove_member, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectType bus_group_type = {
        .interface = TESSERA_IFACE_GROUP,
        .vtable = group_vtable,
        .path = TESSERA_BUS_GROUP_PREFIX,
        .find = group_find,
        .enumerate = group_enumerate,
};
