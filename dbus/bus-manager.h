/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-names.h"
#include "bus-object.h"

extern const BusObjectType bus_manager_type;

/* Connects to the system bus (or [daemon] bus_address), registers the
 * object tree and takes the name org.tessera.Identity1. */
int bus_connect_and_register(Manager *m);
