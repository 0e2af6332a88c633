/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Change events: the core announces every committed change once, whichever
 * door asked for it and on whichever thread it ran, and the faces subscribe:
 * the D-Bus face turns events into signals, the NSS memory cache drops what
 * it published, caches of the HTTP threads reload. The core never calls a
 * face; a face never learns of a change any other way.
 *
 * Two kinds of subscribers:
 *   - inline ones run on the publishing thread, before events_publish()
 *     returns, so before the change is acknowledged to whoever asked (the
 *     NSS cache: a lookup right after "created" must see the user). They
 *     must be thread-safe and quick.
 *   - main-loop ones run later on the main thread, in publishing order
 *     (sd-bus is not thread-safe: the D-Bus face emits from there). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "records.h"

typedef enum ChangeKind {
        CHANGE_TENANT,
        CHANGE_USER,              /* attributes, password, role, state, groups */
        CHANGE_GROUP,             /* attributes or members */
        CHANGE_APPLICATION,
        CHANGE_SIGNING_KEYS,      /* a tenant's key set */
        CHANGE_LOCKOUT,           /* a user locked or freed by failed attempts */
        CHANGE_HOST_SESSION,      /* a host login opened or closed */
        CHANGE_SSO_SESSION,       /* a browser session started or ended */
        CHANGE_TOTP,              /* a user's second factor enrolled or removed, a backup code spent */
        CHANGE_UPSTREAM_PROVIDER, /* a tenant's upstream identity provider added, changed or deleted */
        /* Anything may have changed (another instance's changes may have
         * been missed: change-feed.h): whoever caches drops everything. */
        CHANGE_EVERYTHING,
        _CHANGE_KIND_MAX,
} ChangeKind;

typedef enum ChangeOp {
        CHANGE_CREATED,
        CHANGE_UPDATED,
        CHANGE_DELETED,
        _CHANGE_OP_MAX,
} ChangeOp;

/* What changed. Strings are copied when an event is queued for the main
 * loop; an inline subscriber must copy what it keeps. */
typedef struct ChangeEvent {
        ChangeKind kind;
        ChangeOp op;
        int64_t tenant_id;
        const char *tenant;       /* slug */
        int64_t id;               /* the record's id (user, group, application, session) */
        const char *name;         /* user, group or application name */
        uint32_t unix_id;         /* uid or gid, when the record has one */
        /* Made by another instance on the same database (change-feed.h):
         * announced here, never sent on to the other instances again. */
        bool remote;
} ChangeEvent;

/* The events of the records every face shows. */
static inline ChangeEvent change_event_tenant(const TenantRecord *t, ChangeOp op) {
        return (ChangeEvent) { .kind = CHANGE_TENANT, .op = op, .tenant_id = t->id, .tenant = t->slug, .id = t->id,
                               .name = t->slug };
}

static inline ChangeEvent change_event_user(ChangeKind kind, const UserRecord *u, ChangeOp op) {
        return (ChangeEvent) { .kind = kind, .op = op, .tenant_id = u->tenant_id, .tenant = u->tenant, .id = u->id,
                               .name = u->name, .unix_id = u->uid };
}

static inline ChangeEvent change_event_group(const GroupRecord *g, ChangeOp op) {
        return (ChangeEvent) { .kind = CHANGE_GROUP, .op = op, .tenant_id = g->tenant_id, .tenant = g->tenant,
                               .id = g->id, .name = g->name, .unix_id = g->gid };
}

typedef struct EventBus EventBus;
typedef void (*ChangeFunc)(const ChangeEvent *e, void *userdata);

typedef enum EventDelivery {
        EVENT_DELIVER_INLINE,
        EVENT_DELIVER_MAIN_LOOP,
} EventDelivery;

/* The bus delivers main-loop events on event (the main thread's loop). */
int event_bus_new(sd_event *event, EventBus **ret);
/* Frees, dropping what the loop did not deliver: once the loop has stopped
 * nobody listens (the faces are gone). */
EventBus *event_bus_free(EventBus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventBus *, event_bus_free);

/* Subscribe before anything is published (at start-up, on the main thread).
 * A subscriber stays subscribed: it must live until no thread publishes
 * any more (main() stops the faces after the threads that publish). */
int event_bus_subscribe(EventBus *b, EventDelivery delivery, ChangeFunc func, void *userdata);

/* From any thread, after the change committed: runs the inline
 * subscribers, queues the event for the main loop. An event
 * that can't be queued for want of memory is logged and dropped: the
 * change itself is committed and every inline subscriber saw it. */
void event_bus_publish(EventBus *b, const ChangeEvent *e);

/* On the main thread, once no thread publishes any more (at shutdown, after
 * the workers finished what they had): delivers what is queued to the
 * main-loop subscribers now, as the loop would have, so that the faces
 * announce the last changes before they go. */
void event_bus_flush(EventBus *b);

const char *change_kind_to_string(ChangeKind k);
const char *change_op_to_string(ChangeOp o);
/* The reverse: -EINVAL for a name of no kind or operation. */
int change_kind_from_string(const char *s);
int change_op_from_string(const char *s);
