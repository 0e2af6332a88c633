/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-client.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nss-proto.h"
#include "time-util.h"
#include "wire.h"

/* One connection kept for the next lookup, as SSSD's client does: it saves
 * a connect() and the daemon's accept per lookup. It is used only by the
 * process that opened it (a forked child gets its own) and only while the
 * descriptor number still names that socket: a program may have closed
 * "all descriptors" and reused the number for a file of its own, which we
 * must never write to. Another thread finding it busy opens a connection
 * of its own rather than waiting. */
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static int conn_fd = -1;
static pid_t conn_pid;
static dev_t conn_dev;
static ino_t conn_ino;

/* Read once per process: the environment is the process's to change, and
 * scanning it costs more than a whole cached lookup. 0: not read yet. */
static int bypass_state;

bool nss_bypassed(void) {
        int s = __atomic_load_n(&bypass_state, __ATOMIC_RELAXED);

        if (s == 0) {
                const char *e = secure_getenv("TESSERA_NSS_BYPASS");
                s = e && strcmp(e, "1") == 0 ? 2 : 1;
                __atomic_store_n(&bypass_state, s, __ATOMIC_RELAXED);
        }
        return s == 2;
}

/* The back-off after a timeout. A hung daemon (stopped, deadlocked,
 * swapping) would otherwise cost every lookup of a busy process the whole
 * deadline again: ls -l over a thousand files, a thousand times 250 ms.
 * After a lookup times out, lookups that need the socket fail at once for
 * NSS_BACKOFF_USEC; then the first one to come claims the retry by moving
 * the end forward (a compare-and-swap), asks the daemon, and clears the
 * back-off when it gets an answer, or extends it when it times out again.
 * The others keep failing fast meanwhile, so a hung daemon costs one wait
 * per process and back-off period, not one per thread.
 *
 * Only a timeout trips it: a daemon that is down refuses at once anyway,
 * and one that comes back must be asked at once. One atomic word, no
 * lock: nothing to deadlock a forked child, which inherits at most the
 * rest of a back-off (or of a retry its parent was making: it retries
 * itself once that ends). The memory cache answers before any of this. */
static uint64_t backoff_until;    /* CLOCK_MONOTONIC µs; 0: none */

/* True when this call may ask the daemon. */
static bool backoff_allows(void) {
        uint64_t until = __atomic_load_n(&backoff_until, __ATOMIC_ACQUIRE), now;

        if (until == 0)
                return true;
        now = now_monotonic_usec();
        if (now < until)
                return false;
        /* Over: the one that moves it on retries; a loser sees the new end. */
        return __atomic_compare_exchange_n(&backoff_until, &until, now + NSS_BACKOFF_USEC, false, __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE);
}

static void backoff_update(int result) {
        if (result == -ETIMEDOUT)
                __atomic_store_n(&backoff_until, now_monotonic_usec() + NSS_BACKOFF_USEC, __ATOMIC_RELEASE);
        else if (__atomic_load_n(&backoff_until, __ATOMIC_RELAXED) != 0)
                /* An answer, or a refusal that costs nothing to repeat. */
                __atomic_store_n(&backoff_until, 0, __ATOMIC_RELEASE);
}

static const char *socket_path(void) {
        const char *e = secure_getenv("TESSERA_NSS_SOCKET");
        return e && e[0] == '/' ? e : NSS_SOCKET_DEFAULT;
}

static uint64_t timeout_usec(void) {
        /* For tests and slow machines; bounded so it never means seconds
         * of a hung login by accident. */
        const char *e = secure_getenv("TESSERA_NSS_TIMEOUT_MS");
        char *end;
        unsigned long v;

        if (!e || !*e)
                return NSS_TIMEOUT_USEC_DEFAULT;
        errno = 0;
        v = strtoul(e, &end, 10);
        if (errno != 0 || *end || v == 0 || v > 5000)
                return NSS_TIMEOUT_USEC_DEFAULT;
        return (uint64_t) v * 1000;
}

static bool still_ours(int fd) {
        struct stat st;
        return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == conn_dev && st.st_ino == conn_ino;
}

static int open_connection(uint64_t deadline, int *ret_fd) {
        return wire_connect(socket_path(), deadline, ret_fd);
}

static int exchange(int fd, const void *req, size_t req_len, bool want_cache, uint64_t deadline, uint8_t **ret_reply,
                    size_t *ret_len, int *ret_cache_fd) {
        uint8_t header[WIRE_HEADER_SIZE];
        uint32_t payload;
        uint16_t type;
        uint8_t *reply;
        int passed = -EBADF, e;

        e = wire_send_all(fd, req, req_len, deadline);
        if (e < 0)
                return e;
        e = wire_recv_all_fd(fd, header, sizeof(header), deadline, &passed);
        if (e < 0)
                return e;
        if (passed >= 0 && !want_cache) {
                close(passed);
                passed = -EBADF;
        }
        e = wire_header_parse(header, NSS_MAX_REPLY, &type, &payload);
        if (e < 0)
                goto fail;
        reply = malloc(WIRE_HEADER_SIZE + (size_t) payload);
        if (!reply) {
                e = -ENOMEM;
                goto fail;
        }
        memcpy(reply, header, WIRE_HEADER_SIZE);
        e = wire_recv_all(fd, reply + WIRE_HEADER_SIZE, payload, deadline);
        if (e < 0) {
                free(reply);
                goto fail;
        }
        *ret_reply = reply;
        *ret_len = WIRE_HEADER_SIZE + (size_t) payload;
        *ret_cache_fd = passed;
        return 0;
fail:
        if (passed >= 0)
                close(passed);
        return e;
}

static int call_socket(const void *req, size_t req_len, bool want_cache, uint8_t **ret_reply, size_t *ret_len,
                       int *ret_cache_fd) {
        uint64_t deadline = wire_deadline(timeout_usec());
        int fd = -1, e;

        if (pthread_mutex_trylock(&conn_lock) == 0) {
                pid_t pid = getpid();
                bool reused = false;

                if (conn_fd >= 0) {
                        if (!still_ours(conn_fd))
                                conn_fd = -1;          /* not ours any more: forget, never close */
                        else if (conn_pid != pid) {
                                close(conn_fd);        /* our parent's, inherited over fork() */
                                conn_fd = -1;
                        } else
                                reused = true;
                }
                for (int attempt = 0; attempt < 2; attempt++) {
                        if (conn_fd < 0) {
                                struct stat st;

                                e = open_connection(deadline, &fd);
                                if (e < 0)
                                        break;
                                if (fstat(fd, &st) < 0) {
                                        e = -errno;
                                        close(fd);
                                        break;
                                }
                                conn_fd = fd;
                                conn_pid = pid;
                                conn_dev = st.st_dev;
                                conn_ino = st.st_ino;
                                reused = false;
                        }
                        e = exchange(conn_fd, req, req_len, want_cache, deadline, ret_reply, ret_len, ret_cache_fd);
                        if (e >= 0)
                                break;
                        /* After any failure the stream may hold half a reply:
                         * never reuse it. */
                        close(conn_fd);
                        conn_fd = -1;
                        /* A kept connection the daemon closed (idle, restart)
                         * is worth one more try with a fresh one. */
                        if (!reused || (e != -ECONNRESET && e != -EPIPE))
                                break;
                }
                pthread_mutex_unlock(&conn_lock);
                return e;
        }

        e = open_connection(deadline, &fd);
        if (e < 0)
                return e;
        e = exchange(fd, req, req_len, want_cache, deadline, ret_reply, ret_len, ret_cache_fd);
        close(fd);
        return e;
}

int nss_client_call(const void *req, size_t req_len, bool want_cache, uint8_t **ret_reply, size_t *ret_len,
                    int *ret_cache_fd) {
        int e;

        if (!backoff_allows())
                return -ETIMEDOUT;
        e = call_socket(req, req_len, want_cache, ret_reply, ret_len, ret_cache_fd);
        backoff_update(e);
        return e;
}
