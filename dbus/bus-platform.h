/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus doors to the platform's operators (operator.h) and a tenant's
 * entitlements (entitlement.h); their vtable entries are in
 * bus-manager.c and bus-tenant.c. */

#include <systemd/sd-bus.h>

int bus_manager_method_add_operator(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_list_operators(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_remove_operator(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_get_entitlements(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_set_entitlements(sd_bus_message *msg, void *userdata, sd_bus_error *error);
