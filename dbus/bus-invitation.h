/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Methods of the Tenant interface that concern invitations (invitation.h);
 * their vtable entries are in bus-tenant.c. */
int bus_tenant_method_create_invitation(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_list_invitations(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_resend_invitation(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_tenant_method_revoke_invitation(sd_bus_message *msg, void *userdata, sd_bus_error *error);
