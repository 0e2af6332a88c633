/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Manager.SendTestMail(s tenant, s recipient) -> t id: queues the "test"
 * mail, so that an administrator sees [mail] work end to end. */
int bus_manager_method_send_test_mail(sd_bus_message *msg, void *userdata, sd_bus_error *error);
