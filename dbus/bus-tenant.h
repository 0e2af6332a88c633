/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"

extern const BusObjectType bus_tenant_type;

/* The object paths of all tenants. */
int bus_tenant_paths(Manager *m, char ***ret);
