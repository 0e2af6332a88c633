/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"

extern const BusObjectType bus_user_type;

/* Emits PropertiesChanged for the user's object. */
void bus_user_send_changed(Manager *m, const UserRecord *u);
