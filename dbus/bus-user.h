/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"

extern const BusObjectType bus_user_type;

/* The object paths of the users of a tenant (0: of all tenants). */
int bus_user_paths(Manager *m, int64_t tenant_id, char ***ret);

/* The TOTP methods (bus-user-totp.c). */
int bus_user_method_begin_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_user_method_confirm_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_user_method_disable_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_user_method_regenerate_backup_codes(sd_bus_message *msg, void *userdata, sd_bus_error *error);
