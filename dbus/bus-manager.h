/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-names.h"
#include "bus-object.h"

extern const BusObjectType bus_manager_type;
