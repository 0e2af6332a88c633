/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "store-config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db-pg.h"
#include "macro.h"

/* The SQLite database in the state directory, when [store] path is not set. */
#define SQLITE_DEFAULT_FILE "tessera.db"

static const char *const backend_names[_STORE_BACKEND_MAX] = {
        [STORE_BACKEND_SQLITE] = "sqlite",
        [STORE_BACKEND_POSTGRESQL] = "postgresql",
};

/* A password is a line; a file much larger is not one. */
#define PASSWORD_MAX 1024

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
        case STORE_BACKEND_POSTGRESQL:
                return db_pg_check_url(c->url);
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
        case STORE_BACKEND_POSTGRESQL:
                /* The URL holds no password (store_config_finish()). */
                if (!c->url)
                        return -EINVAL;
                if (asprintf(&s, "postgresql %s", c->url) < 0)
                        return -ENOMEM;
                *ret = s;
                return 0;
        default:
                return -EINVAL;
        }
}

static int read_password_file(const char *path, char **ret) {
        _cleanup_(closep) int fd = -EBADF;
        char buf[PASSWORD_MAX + 1];
        struct stat st;
        ssize_t n;
        char *p;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        /* Whoever may read it knows the database's password. */
        if (st.st_mode & S_IROTH)
                return -EPERM;
        n = read(fd, buf, sizeof(buf));
        if (n < 0)
                return -errno;
        if ((size_t) n > PASSWORD_MAX) {
                explicit_bzero(buf, sizeof(buf));
                return -EFBIG;
        }
        /* One line; its newline is not part of the password. */
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        p = strndup(buf, n);
        explicit_bzero(buf, sizeof(buf));
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int store_config_read_password(const StoreConfig *c, char **ret) {
        _cleanup_free_ char *credential = NULL;
        const char *dir;
        int r;

        if (c->password_file)
                return read_password_file(c->password_file, ret);

        dir = secure_getenv("CREDENTIALS_DIRECTORY");
        if (isempty(dir)) {
                *ret = NULL;
                return 0;
        }
        if (asprintf(&credential, "%s/" STORE_PASSWORD_CREDENTIAL, dir) < 0)
                return -ENOMEM;
        r = read_password_file(credential, ret);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

int store_config_copy(StoreConfig *dst, const StoreConfig *src) {
        StoreConfig c = { .backend = src->backend };
        const struct {
                char *const *from;
                char **to;
        } strings[] = {
                { &src->path, &c.path },
                { &src->url, &c.url },
                { &src->password_file, &c.password_file },
        };

        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                if (!*strings[i].from)
                        continue;
                *strings[i].to = strdup(*strings[i].from);
                if (!*strings[i].to) {
                        store_config_done(&c);
                        return -ENOMEM;
                }
        }
        *dst = c;
        return 0;
}

void store_config_done(StoreConfig *c) {
        if (!c)
                return;
        c->path = (free(c->path), NULL);
        c->url = (free(c->url), NULL);
        c->password_file = (free(c->password_file), NULL);
}
