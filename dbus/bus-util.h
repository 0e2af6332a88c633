/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the object types of the D-Bus face. */

#include <systemd/sd-bus.h>

#include "bus-face.h"
#include "bus-names.h"
#include "change.h"

/* Who sent a message, from the bus's credentials. Plain data, so that
 * asynchronous work can copy it. */
typedef struct BusCaller {
        int64_t uid;
        bool admin_group;         /* root, or a member of [daemon] admin_group */
        char sender[256];
} BusCaller;
int bus_caller_get(BusFace *f, sd_bus_message *msg, BusCaller *ret);

/* The Principal for core operations; it points into c. */
static inline Principal bus_caller_principal(const BusCaller *c) {
        return principal_local("dbus", (uid_t) c->uid, c->admin_group, c->sender);
}

/* Both at once: the caller into c, its Principal into ret. */
static inline int bus_caller_actor(BusFace *f, sd_bus_message *msg, BusCaller *c, Principal *ret) {
        int r = bus_caller_get(f, msg, c);
        if (r >= 0)
                *ret = bus_caller_principal(c);
        return r;
}

/* A table entry for bus_read_attributes(): the a{sv} key, its D-Bus type
 * ('s', 'u', 'b', 't', or 'a' for "as") and where to store it: const char **,
 * uint32_t *, int * (0/1), int64_t * or char *** (a new list the caller
 * frees). Strings are borrowed from the message. */
typedef struct BusAttribute {
        const char *name;
        char type;
        void *dest;
} BusAttribute;

/* Reads an a{sv} argument, refusing unknown keys, keys given twice and
 * values of the wrong type with a message that names the key. */
int bus_read_attributes(sd_bus_message *msg, const BusAttribute *table, size_t n, TesseraError *e);
/* The same, telling which were given: bit i of *ret_seen for table[i]. */
int bus_read_attributes_seen(sd_bus_message *msg, const BusAttribute *table, size_t n, uint64_t *ret_seen,
                             TesseraError *e);

/* Converts a core error into the D-Bus error and returns its code, so a
 * handler can "return bus_reply_tessera_error(error, &e);". */
int bus_reply_tessera_error(sd_bus_error *error, const TesseraError *e);

/* Object paths: /org/tessera/Identity1/{tenant/T, user/T/N, group/T/N},
 * each label escaped with sd_bus_path_encode. */
int bus_tenant_path(const char *slug, char **ret);
int bus_user_path(const char *tenant, const char *name, char **ret);
int bus_group_path(const char *tenant, const char *name, char **ret);

/* The work of a D-Bus find callback: the cached record for path while no
 * change was committed since it was loaded (Manager.generation), or one
 * that load gets from the store (-ENOENT when there is no such object),
 * then cached. Returns 1 with *found set (borrowed), 0 for no object;
 * a failure to read the store is set in error under our own name (sd-bus
 * would name an errno of a find callback System.Error.*: the store away,
 * -ENOTCONN, must reach the caller as Busy). */
typedef int (*BusLoadFunc)(Manager *m, const char *path, void **ret);
int bus_find_cached(BusFace *f, BusRecordCache *c, const char *path, BusLoadFunc load, void *(*unref)(void *),
                    void **found, sd_bus_error *error);

/* Text for a D-Bus string: sd-bus refuses what is not UTF-8, and one
 * record that holds such bytes (an audit target cut inside a character
 * by an older version, say) must not make a whole reply fail. Returns s
 * when it is UTF-8, else a copy with the stray bytes escaped ("\xNN")
 * in *buf, which the caller frees; "" for NULL and for want of memory. */
const char *bus_text(const char *s, char **buf);


/* Getters for the common property types, reading the field at the
 * vtable's offset in the record (sd-bus adds it to userdata). */
int bus_property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error);
int bus_property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error);
int bus_property_get_usec(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error);
int bus_property_get_uint32(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error);
int bus_property_get_strv(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* Replies with an array of object paths. */
int bus_reply_paths(sd_bus_message *msg, char **paths);
/* The same, then a string (a list's next cursor). */
int bus_reply_paths_and_string(sd_bus_message *msg, char **paths, const char *s);

