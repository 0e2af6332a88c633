/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a listening socket on the main loop does when accept() fails for
 * want of descriptors or memory. The connection stays in the backlog and
 * the socket stays readable, so accepting again at once would spin (and
 * log) as fast as the CPU goes; instead the socket is left alone for a
 * moment, as systemd and nginx do, and the trouble is logged once in a
 * while, not once per attempt. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#define ACCEPT_PAUSE_USEC (250 * 1000ULL)

typedef struct AcceptPause AcceptPause;

/* resume is called when the pause is over: it turns the listening source
 * back on (or leaves it off, when the door is at its limit anyway). what
 * names the socket in the log. */
typedef void (*AcceptResumeFunc)(void *userdata);
int accept_pause_new(sd_event *event, const char *what, AcceptResumeFunc resume, void *userdata,
                     AcceptPause **ret);
AcceptPause *accept_pause_free(AcceptPause *p);

/* For the errno of a failed accept4() (positive). Out of descriptors or
 * memory: turns listen off, arms the pause and returns true. Anything else:
 * false, and the caller goes on as before. */
bool accept_pause_on_error(AcceptPause *p, sd_event_source *listen, int error);
