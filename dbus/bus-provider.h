/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Methods of the Tenant interface that concern upstream identity providers
 * (upstream-provider.h) and the identities linked to users
 * (upstream-link.h); their vtable entries are in bus-tenant.c. */
int bus_tenant_method_add_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_list_providers(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_get_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_set_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_delete_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_list_user_links(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_remove_user_link(sd_bus_message *msg, void *userdata, sd_bus_error *error);
