/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"

/* Methods of the Tenant interface that concern its API keys (api-key.h);
 * their vtable entries are in bus-tenant.c. */
int bus_tenant_method_create_api_key(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_list_api_keys(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_revoke_api_key(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_rotate_api_key(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* ListApiKeys' items: id, type, env, name, scopes, application ("" for
 * none), state, created, expires, revoked, last used (µs, 0: never) and the
 * successor's id ("" for none). */
#define BUS_API_KEY_SIGNATURE "(ssss" "as" "ss" "tttt" "s)"
