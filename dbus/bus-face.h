/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face: the connection to the system bus, the object tree on it,
 * and what the face keeps for itself (record caches, the last caller's
 * credentials). main() starts it on the Manager and frees it; the core
 * knows nothing of it and tells it of changes through the event bus
 * (events.h), which it turns into signals (bus-signals.c). Every vtable is
 * registered with the BusFace as userdata: handlers of the single objects
 * get it as their userdata, those of fallback vtables (whose userdata is
 * the object's record) from the slot, bus_face_from_slot(). */

#include <systemd/sd-bus.h>

#include "manager.h"

/* A record loaded for a D-Bus object path, kept while the data it came from
 * has not changed (Manager.generation), so that GetAll reads the store
 * once, not per property. */
typedef struct BusRecordCache {
        char *path;
        void *record;
        void *(*unref)(void *record);
        uint64_t generation;
} BusRecordCache;

typedef struct BusFace {
        Manager *manager;
        sd_bus *bus;

        BusRecordCache tenant_cache, user_cache, group_cache, application_cache;

        /* The credentials of the last message asked about, so that one
         * call that reads several private properties asks the bus once. */
        struct {
                char sender[256];
                uint64_t cookie;
                int64_t uid;
                bool admin_group;
        } caller_cache;
} BusFace;

/* Connects to the system bus (or [daemon] bus_address), registers the
 * object tree, follows the core's change events and takes the name
 * org.tessera.Identity1. */
int bus_face_start(Manager *m, BusFace **ret);

/* Flushes what is queued for the bus and closes the connection. Call it
 * once nothing replies or announces on the bus any more: after the
 * workers stopped (their done callbacks reply to D-Bus callers) and the
 * last change events were delivered (event_bus_flush()). */
BusFace *bus_face_free(BusFace *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusFace *, bus_face_free);

/* The face that registered the vtable now running. */
BusFace *bus_face_from_slot(sd_bus *bus);
