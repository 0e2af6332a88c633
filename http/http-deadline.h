/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The deadline for receiving a whole request. libmicrohttpd's own timeout
 * is an idle timeout: every byte restarts it, so a client that sends its
 * head a byte every few seconds would hold the connection for ever, and a
 * few hundred of them hold every connection there is. Here each connection
 * gets [http] request_timeout seconds from its accept (or from its last
 * reply, for the next request on a kept-alive connection) to deliver the
 * request line, the headers and the body; a thread of its own shuts down
 * the socket of one that did not, and libmicrohttpd then closes it as it
 * closes any connection whose peer went away. */

#include <microhttpd.h>

typedef struct HttpDeadlines HttpDeadlines;

/* Starts the thread that enforces timeout_usec. */
int http_deadlines_new(uint64_t timeout_usec, HttpDeadlines **ret);
/* Stops it; every connection must be closed already. */
HttpDeadlines *http_deadlines_free(HttpDeadlines *d);

/* From MHD_OPTION_NOTIFY_CONNECTION: a connection was accepted (its clock
 * starts) or is about to be closed (it must be forgotten before its
 * descriptor is). socket_context is MHD's slot for the connection. */
void http_deadline_connection(HttpDeadlines *d, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code);

/* The request is in (or answered before it was): stop the clock. */
void http_deadline_stop(HttpDeadlines *d, struct MHD_Connection *c);
/* The reply went out and the connection waits for its next request. */
void http_deadline_restart(HttpDeadlines *d, struct MHD_Connection *c);
