/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Manager.ListSessions(a{sv} filter) -> a(tsssssssutt): id, tenant, user,
 * kind, service, tty, remote host, remote user, pid, opened, closed (µs;
 * 0 while open), newest first. Filter keys: Tenant, User (NAME or
 * NAME@TENANT), OpenOnly, Limit. Users may list their own sessions. */
int bus_manager_method_list_sessions(sd_bus_message *msg, void *userdata, sd_bus_error *error);
