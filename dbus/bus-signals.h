/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The signals of the object tree, from the core's change events: whichever
 * door made a change (D-Bus, PAM, HTTP, a lockout after failed sign-ins),
 * the core announces it once and the face signals it once. Method
 * handlers never emit. */

#include "events.h"

/* An EVENT_DELIVER_MAIN_LOOP subscriber; userdata is the BusFace. */
void bus_signals_on_change(const ChangeEvent *e, void *userdata);
