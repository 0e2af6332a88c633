/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where and how the store keeps its data: the [store] section of
 * tesserad.conf. The rest of the daemon hands this to the store
 * (store_pool_new(), store_open()) and never names a database itself, so
 * that another backend can take SQLite's place by configuration alone.
 * Each backend reads the settings that are its own. */

#include <errno.h>

typedef enum StoreBackend {
        STORE_BACKEND_SQLITE,         /* one file, WAL; a connection per thread */
        _STORE_BACKEND_MAX,
        _STORE_BACKEND_INVALID = -EINVAL,
} StoreBackend;

typedef struct StoreConfig {
        StoreBackend backend;

        /* SQLite: the database file (absolute). NULL until
         * store_config_finish() fills in the default; ":memory:" (tests
         * only) gives every connection a private, empty database. */
        char *path;
} StoreConfig;

const char *store_backend_to_string(StoreBackend b);
StoreBackend store_backend_from_string(const char *s);

/* Fills in the settings the configuration left out, from the daemon's
 * state directory (SQLite: tessera.db in it). */
int store_config_finish(StoreConfig *c, const char *state_directory);
/* What the configuration connects to, for messages ("sqlite
 * /var/lib/tessera/tessera.db"; never a secret a backend may have).
 * -EINVAL before store_config_finish(). */
int store_config_describe(const StoreConfig *c, char **ret);
/* Copies src into *dst (which must be empty). */
int store_config_copy(StoreConfig *dst, const StoreConfig *src);
/* Frees the settings; c itself stays (it is usually a member). */
void store_config_done(StoreConfig *c);
