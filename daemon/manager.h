/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* All daemon state hangs off the Manager. It is owned by the main thread;
 * other threads (workers, HTTP) see only what is marked as shared. */

#include <stdatomic.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "error.h"
#include "records.h"
#include "secret-box.h"
#include "store.h"
#include "workers.h"

typedef struct HttpServer HttpServer;

/* A record loaded for a D-Bus object path, kept while the data it came from
 * has not changed, so that GetAll reads the store once, not per property. */
typedef struct BusRecordCache {
        char *path;
        void *record;
        void *(*unref)(void *record);
        uint64_t generation;
} BusRecordCache;

typedef struct Manager {
        Config *config;
        sd_event *event;
        sd_bus *bus;
        Store *store;             /* the main thread's connection */
        WorkerPool *workers;
        char *database_path;

        /* The key that seals secrets at rest (outside the database);
         * read-only once started, so every thread may use it. */
        SecretKey *secret_key;

        /* HTTP and the OpenID provider, with threads of their own. */
        HttpServer *http;

        /* Bumped whenever a tenant's signing keys change. */
        _Atomic uint64_t keys_generation;

        /* Bumped after every committed change, from any thread. */
        _Atomic uint64_t generation;

        BusRecordCache tenant_cache, user_cache, group_cache, application_cache;

        /* The credentials of the last D-Bus message asked about, so that one
         * call that reads several private properties asks the bus once. */
        struct {
                char sender[256];
                uint64_t cookie;
                int64_t uid;
                bool is_admin;
        } bus_caller_cache;
} Manager;

int manager_new(Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Creates directories, opens the store, starts the workers and connects to
 * the bus. */
int manager_start(Manager *m);
/* Tells systemd we are ready and runs the main loop until SIGTERM/SIGINT. */
int manager_run(Manager *m);

/* Called after a change to users, groups or tenants was committed. */
void manager_data_changed(Manager *m);

/* The ID range of the configuration, for the store. */
void manager_id_range(const Manager *m, IdRange *ret);

/* The policy for new passwords (length, not the user name), shared by every
 * channel that sets one. */
int manager_check_password_policy(const Manager *m, const char *user, const char *password, TesseraError *e);
