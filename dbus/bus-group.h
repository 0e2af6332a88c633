/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"

extern const BusObjectType bus_group_type;

/* The object paths of the groups of a tenant (0: of all tenants). */
int bus_group_paths(Manager *m, int64_t tenant_id, char ***ret);
