/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mail-spool.h"

#include <fcntl.h>
#include <inttypes.h>
#include <time.h>

#include "macro.h"
#include "time-util.h"

static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

static int fail(char **ret_error, int r, const char *what, const char *path) {
        if (asprintf(ret_error, "%s %s: %s", what, path, strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

int mail_spool_write(const char *directory, int64_t id, int64_t created_usec, const char *message, size_t len,
                     char **ret_path, char **ret_error) {
        _cleanup_free_ char *path = NULL, *temporary = NULL;
        _cleanup_(closep) int fd = -EBADF, dir_fd = -EBADF;
        time_t t = (time_t) (created_usec / (int64_t) USEC_PER_SEC);
        char stamp[32];
        struct tm tm;
        int r;

        if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
                return fail(ret_error, -EINVAL, "Invalid time for", directory);
        if (asprintf(&path, "%s/%s-%" PRId64 ".eml", directory, stamp, id) < 0 ||
            asprintf(&temporary, "%s/.%s-%" PRId64 ".eml.tmp", directory, stamp, id) < 0)
                return -ENOMEM;

        /* The bodies hold links with single-use tokens: the owner's only. */
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return fail(ret_error, -errno, "Failed to create", temporary);
        r = write_all(fd, message, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(temporary);
                return fail(ret_error, r, "Failed to write", temporary);
        }
        if (rename(temporary, path) < 0) {
                r = -errno;
                (void) unlink(temporary);
                return fail(ret_error, r, "Failed to rename the mail to", path);
        }
        dir_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0)
                (void) fsync(dir_fd);

        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}
