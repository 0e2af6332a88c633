/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One entry per object type of the D-Bus tree: its interface, vtable,
 * where it lives and how its objects are found and listed. */

#include <systemd/sd-bus.h>

#include "bus-face.h"

typedef struct BusObjectType {
        const char *interface;
        const sd_bus_vtable *vtable;
        const char *path;             /* the object (manager) or the fallback prefix */
        sd_bus_object_find_t find;    /* NULL for the single manager object */
        sd_bus_node_enumerator_t enumerate;
} BusObjectType;
