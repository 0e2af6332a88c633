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
        STORE_BACKEND_POSTGRESQL,     /* a server (or a primary and its standbys), over libpq */
        _STORE_BACKEND_MAX,
        _STORE_BACKEND_INVALID = -EINVAL,
} StoreBackend;

typedef struct StoreConfig {
        StoreBackend backend;

        /* SQLite: the database file (absolute). NULL until
         * store_config_finish() fills in the default; ":memory:" (tests
         * only) gives every connection a private, empty database. */
        char *path;

        /* PostgreSQL: a libpq connection URI or key=value string,
         * several hosts allowed (with target_session_attrs=read-write
         * libpq picks the primary). It never holds the password (the
         * configuration refuses one): that comes from password_file or,
         * when that is not set, the systemd credential
         * tessera.store-password, read at each connect, never on a
         * command line or in a message. */
        char *url;
        char *password_file;
} StoreConfig;

/* The systemd credential (LoadCredential=, in $CREDENTIALS_DIRECTORY)
 * the PostgreSQL password is read from when [store] password_file is not
 * set. */
#define STORE_PASSWORD_CREDENTIAL "tessera.store-password"

const char *store_backend_to_string(StoreBackend b);
StoreBackend store_backend_from_string(const char *s);

/* Fills in the settings the configuration left out, from the daemon's
 * state directory (SQLite: tessera.db in it), and checks the backend's
 * settings: -EINVAL when one it needs is missing (PostgreSQL: url),
 * -EBADMSG when url is not one libpq reads, -EPERM when url holds a
 * password. */
int store_config_finish(StoreConfig *c, const char *state_directory);
/* The PostgreSQL password: from password_file, else the systemd
 * credential; *ret NULL when neither is there (libpq may then use
 * another way: a client certificate, peer, ~/.pgpass). -EPERM for a file
 * anyone may read. The caller wipes and frees it (erase_and_freep). */
int store_config_read_password(const StoreConfig *c, char **ret);
/* What the configuration connects to, for messages ("sqlite
 * /var/lib/tessera/tessera.db"; never a secret a backend may have).
 * -EINVAL before store_config_finish(). */
int store_config_describe(const StoreConfig *c, char **ret);
/* Copies src into *dst (which must be empty). */
int store_config_copy(StoreConfig *dst, const StoreConfig *src);
/* Frees the settings; c itself stays (it is usually a member). */
void store_config_done(StoreConfig *c);
