/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"

extern const BusObjectType bus_application_type;

int bus_application_path(const char *tenant, const char *name, char **ret);

/* Methods of the Tenant and Manager interfaces that concern applications
 * and signing keys; their vtable entries are in bus-tenant.c and
 * bus-manager.c. */
int bus_tenant_method_create_application(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_list_applications(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_rotate_signing_keys(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_list_signing_keys(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_get_application(sd_bus_message *msg, void *userdata, sd_bus_error *error);
