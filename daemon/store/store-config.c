/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "store-config.h"

#include <stdio.h>
#include <stdlib.h>

#include "macro.h"

/* The SQLite database in the state directory, when [store] path is not set. */
#define SQLITE_DEFAULT_FILE "tessera.db"

static const char *const backend_names[_STORE_BACKEND_MAX] = {
        [STORE_BACKEND_SQLITE] = "sqlite",
};

const char *store_backend_to_string(StoreBackend b) {
        return b >= 0 && b < _STORE_BACKEND_MAX ? backend_names[b] : NULL;
}

StoreBackend store_backend_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(backend_names); i++)
                if (streq(s, backend_names[i]))
                        return (StoreBackend) i;
        return _STORE_BACKEND_INVALID;
}

int store_config_finish(StoreConfig *c, const char *state_directory) {
        switch (c->backend) {
        case STORE_BACKEND_SQLITE: {
                size_t n;

                if (c->path)
                        return 0;
                if (isempty(state_directory))
                        return -EINVAL;
                /* "/" stays "/tessera.db", not "//tessera.db". */
                n = strlen(state_directory);
                while (n > 1 && state_directory[n - 1] == '/')
                        n--;
                if (n == 1 && state_directory[0] == '/')
                        n = 0;
                if (asprintf(&c->path, "%.*s/" SQLITE_DEFAULT_FILE, (int) n, state_directory) < 0) {
                        c->path = NULL;
                        return -ENOMEM;
                }
                return 0;
        }
        default:
                return -EINVAL;
        }
}

int store_config_describe(const StoreConfig *c, char **ret) {
        char *s;

        switch (c->backend) {
        case STORE_BACKEND_SQLITE:
                if (!c->path)
                        return -EINVAL;
                if (asprintf(&s, "sqlite %s", c->path) < 0)
                        return -ENOMEM;
                *ret = s;
                return 0;
        default:
                return -EINVAL;
        }
}

int store_config_copy(StoreConfig *dst, const StoreConfig *src) {
        StoreConfig c = { .backend = src->backend };

        if (src->path) {
                c.path = strdup(src->path);
                if (!c.path)
                        return -ENOMEM;
        }
        *dst = c;
        return 0;
}

void store_config_done(StoreConfig *c) {
        if (!c)
                return;
        c->path = (free(c->path), NULL);
}
