/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-object.h"

extern const BusObjectType bus_group_type;

void bus_group_send_changed(Manager *m, const GroupRecord *g);
