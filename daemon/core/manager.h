/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The core's state hangs off the Manager: configuration, the store, the
 * worker pool, keys, limits, and the change events the faces subscribe
 * to. It is owned by the main thread; other threads (workers, HTTP) see
 * only what is marked as shared. The Manager knows no face: main() starts
 * the faces on it (daemon/main.c), and they learn of changes through the
 * event bus. */

#include <pthread.h>
#include <stdatomic.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "error.h"
#include "events.h"
#include "fd-budget.h"
#include "metrics-core.h"
#include "records.h"
#include "secret-box.h"
#include "store-change-feed.h"
#include "store-pool.h"
#include "store.h"
#include "workers.h"

typedef struct AuditRetention AuditRetention;
typedef struct Limiter Limiter;
typedef struct Mail Mail;
typedef struct UpstreamClient UpstreamClient;
typedef struct UpstreamFlows UpstreamFlows;

typedef struct Manager {
        Config *config;
        sd_event *event;
        /* Every connection to the store comes from here ([store]); other
         * threads take theirs (store_pool_thread()) or a dedicated one. */
        StorePool *store_pool;
        Store *store;             /* the main thread's connection, the pool's */
        WorkerPool *workers;

        /* Set up by manager_start() and read-only afterwards, so that any
         * thread may use them: the key that seals secrets at rest, and a
         * hash no password matches, checked for unknown users so that
         * they cost the time a real user costs. */
        SecretKey *secret_key;
        char *dummy_hash;
        /* Failed authentications per address and client (limiter.h):
         * thread-safe, shared by every door. */
        Limiter *limiter;
        /* Requests for account mails (forgot, verification) per address
         * and per account: every request counts, not only failures. */
        Limiter *mail_limiter;

        /* Prunes the audit trail on a thread of its own. */
        AuditRetention *audit_retention;

        /* Templates, the outbox's sender thread, its counters (mail.h). */
        Mail *mail;
        /* The HTTP face's public base URL, set once as it starts listening
         * (NULL: no HTTP server): what links mailed through other doors
         * (an invitation made over D-Bus) point at. */
        char *public_url;

        /* The failures of names that are no user (auth-lockout.h): shared
         * by every thread, behind its own lock. */
        struct UnknownLockouts *unknown_lockouts;

        /* The descriptor limit and its split between the doors. */
        FdBudget fd_budget;

        /* Every committed change is announced here once (events.h). */
        EventBus *events;
        /* The changes of the other instances on a shared database
         * (change-feed.h); NULL on SQLite. */
        StoreChangeFeed *change_feed;

        /* What /metrics shows (metrics.h): the core's own families here,
         * the faces declare theirs as they start. Made by manager_new(),
         * counted into from any thread. */
        Metrics *metrics;
        CoreMetrics core_metrics;

        /* Upstream identity providers (upstream-client.h): the one
         * client, with its caches; thread-safe, used by the HTTP threads.
         * The sign-ins in flight are in the store (upstream-flow.h). */
        UpstreamClient *upstream_client;

        /* Bumped whenever a tenant's signing keys change. */
        _Atomic uint64_t keys_generation;
        /* Held while a tenant's first keys are made (signing_keys_ensure()). */
        pthread_mutex_t keys_lock;

        /* Bumped after every committed change of a record (manager_changed()),
         * from any thread: caches keyed by it (the HTTP threads' tenants and
         * applications, the D-Bus objects' records) reload. */
        _Atomic uint64_t generation;
} Manager;

int manager_new(Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Plans descriptors, creates directories, opens the store, makes the event
 * loop, the event bus and the workers: everything the faces need. */
int manager_start(Manager *m);
/* Runs the main loop until SIGTERM/SIGINT. */
int manager_run(Manager *m);
/* Stops announcing the changes of other instances, lets the work on the
 * pool finish and stops it: before the faces whose requests that work
 * answers, and that subscribe to the changes, go away. */
void manager_stop_workers(Manager *m);

/* Announces a committed change, from any thread, before it is acknowledged
 * to whoever asked for it: inline subscribers (the NSS memory cache) have
 * seen it when this returns, and, unless it is remote, it was sent to the
 * other instances on the database (change-feed.h). */
void manager_changed(Manager *m, ChangeEvent e);

/* The ID range of the configuration, for the store. */
void manager_id_range(const Manager *m, IdRange *ret);
