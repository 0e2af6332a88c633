/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by pam-server.c (the socket and its connections) and
 * pam-request.c (what each request does); nothing else includes this. */

#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "auth.h"
#include "pam-proto.h"
#include "pam-server.h"

typedef struct PamConnection PamConnection;

struct PamConnection {
        PamServer *server;
        Manager *manager;
        PamConnection *prev, *next;
        int fd;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        struct ucred peer;        /* from SO_PEERCRED: who asks, whatever the request says */

        uint8_t in[PAM_PROTO_MAX_MESSAGE];
        size_t in_len;
        uint8_t out[PAM_PROTO_MAX_MESSAGE];
        size_t out_len, out_sent;
        bool close_after_reply;

        /* The request being answered, and its asynchronous state. */
        PamRequest req;
        uint16_t req_type;        /* for the metrics: 0 until a request was read */
        uint64_t req_started;     /* CLOCK_MONOTONIC ns, when it was read whole */
        bool busy;                /* work for it is on the worker pool */
        bool dead;                /* the peer went away meanwhile: free when it comes back */
        AuthAttempt *attempt;
};

/* Handles c->req: replies at once, or starts work on the worker pool and
 * replies when it is done. */
void pam_request_dispatch(PamConnection *c);

/* Sends the reply to the current request; the connection then waits for
 * the next one (or closes, after a bad request). Must be called exactly
 * once per request. */
void pam_connection_reply(PamConnection *c, const PamReply *reply);
/* Work for the request came back from the pool: false when the connection
 * is gone meanwhile (it is freed then; don't touch it). */
bool pam_connection_job_done(PamConnection *c);
