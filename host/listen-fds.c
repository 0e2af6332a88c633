/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "listen-fds.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <systemd/sd-daemon.h>

#include "escape.h"
#include "log.h"
#include "macro.h"

struct ListenFds {
        int n;
        int *fds;               /* -EBADF once taken */
        char **names;           /* "unknown" where the manager gave none */
};

int listen_fds_receive(ListenFds **ret) {
        _cleanup_(strv_freep) char **names = NULL;
        ListenFds *l;
        int n;

        /* Unset: a program we might start must not think these are its. */
        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to read the sockets handed over by the service manager: %m");

        l = calloc(1, sizeof(ListenFds));
        if (!l)
                return log_oom();
        if (n > 0) {
                l->fds = calloc(n, sizeof(int));
                if (!l->fds) {
                        free(l);
                        return log_oom();
                }
                for (int i = 0; i < n; i++)
                        l->fds[i] = SD_LISTEN_FDS_START + i;
                l->names = TAKE_PTR(names);
                l->n = n;
                log_debug("The service manager handed over %d socket(s).", n);
        }
        *ret = l;
        return 0;
}

/* The path a Unix socket is bound to, into buf; false when it has none
 * (abstract or unbound) or isn't one. */
static bool socket_path(int fd, char *buf, size_t size) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);

        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0 || sa.sun_family != AF_UNIX ||
            len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] == '\0')
                return false;
        snprintf(buf, size, "%.*s", (int) (len - offsetof(struct sockaddr_un, sun_path)), sa.sun_path);
        return true;
}

int listen_fds_take(ListenFds *l, const char *name, const char *path) {
        char bound[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 1];
        int i, fd, flags;

        if (!l || l->n == 0)
                return -ENOENT;

        /* By name first: the units name their sockets, and a name says what
         * the socket is for even when its path is not the configured one. */
        for (i = 0; i < l->n; i++)
                if (l->fds[i] >= 0 && streq(l->names[i], name))
                        break;
        if (i == l->n)
                for (i = 0; i < l->n; i++)
                        if (l->fds[i] >= 0 && socket_path(l->fds[i], bound, sizeof(bound)) && streq(bound, path))
                                break;
        if (i == l->n)
                return -ENOENT;

        fd = TAKE_FD(l->fds[i]);
        if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
                safe_close(fd);
                return log_error_errno(-EINVAL,
                                       "The socket \"%s\" handed over by the service manager is not a listening "
                                       "Unix stream socket: check ListenStream= in its unit.",
                                       ESC(l->names[i]));
        }
        if (!socket_path(fd, bound, sizeof(bound)))
                snprintf(bound, sizeof(bound), "(no path)");
        /* Clients find the socket by its path: say so when the unit and the
         * configuration disagree, rather than serve a path nobody asks. */
        if (!streq(bound, path))
                log_warning("The socket \"%s\" from the service manager is bound to %s, the configuration says %s: "
                            "serving %s.", ESC(l->names[i]), ESC(bound), ESC(path), ESC(bound));

        /* systemd hands sockets over blocking (NonBlocking=no); the loop
         * must never wait in accept() for a client that went away. */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                int r = log_error_errno(-errno, "Failed to make the socket %s non-blocking: %m", ESC(bound));
                safe_close(fd);
                return r;
        }
        log_debug("Serving the socket %s handed over as \"%s\".", ESC(bound), ESC(l->names[i]));
        return fd;
}

void listen_fds_close_unused(ListenFds *l) {
        if (!l)
                return;
        for (int i = 0; i < l->n; i++)
                if (l->fds[i] >= 0) {
                        log_warning("Closing the socket \"%s\" handed over by the service manager: no part of "
                                    "tesserad serves it.", ESC(l->names[i]));
                        l->fds[i] = safe_close(l->fds[i]);
                }
}

ListenFds *listen_fds_free(ListenFds *l) {
        if (!l)
                return NULL;
        for (int i = 0; i < l->n; i++)
                safe_close(l->fds[i]);
        strv_free(l->names);
        free(l->fds);
        free(l);
        return NULL;
}
