/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void safe_close_fd(int fd) {
        if (fd >= 0)
                close(fd);
}

static void put_be16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static uint16_t get_be16(const uint8_t *p) {
        return (uint16_t) ((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p) {
        return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

void wire_writer_init(WireWriter *w, void *buf, size_t cap, uint16_t type) {
        *w = (WireWriter) { .buf = buf, .cap = cap, .type = type };
        if (cap < WIRE_HEADER_SIZE)
                w->overflow = true;
        else
                w->len = WIRE_HEADER_SIZE;
}

void wire_put_bytes(WireWriter *w, uint16_t tag, const void *data, size_t n) {
        if (w->overflow)
                return;
        if (n > UINT32_MAX || w->cap - w->len < WIRE_FIELD_HEADER_SIZE ||
            w->cap - w->len - WIRE_FIELD_HEADER_SIZE < n) {
                w->overflow = true;
                return;
        }
        put_be16(w->buf + w->len, tag);
        put_be32(w->buf + w->len + 2, (uint32_t) n);
        if (n > 0)
                memcpy(w->buf + w->len + WIRE_FIELD_HEADER_SIZE, data, n);
        w->len += WIRE_FIELD_HEADER_SIZE + n;
}

void wire_put_u32(WireWriter *w, uint16_t tag, uint32_t v) {
        uint8_t b[4];
        put_be32(b, v);
        wire_put_bytes(w, tag, b, sizeof(b));
}

void wire_put_u64(WireWriter *w, uint16_t tag, uint64_t v) {
        uint8_t b[8];
        put_be32(b, (uint32_t) (v >> 32));
        put_be32(b + 4, (uint32_t) v);
        wire_put_bytes(w, tag, b, sizeof(b));
}

void wire_put_str(WireWriter *w, uint16_t tag, const char *s) {
        wire_put_bytes(w, tag, s ? s : "", s ? strlen(s) : 0);
}

int wire_writer_finish(WireWriter *w, size_t *ret_len) {
        if (w->overflow || w->len > WIRE_MAX_MESSAGE)
                return -ENOBUFS;
        put_be32(w->buf, WIRE_MAGIC);
        put_be16(w->buf + 4, WIRE_VERSION);
        put_be16(w->buf + 6, w->type);
        put_be32(w->buf + 8, (uint32_t) (w->len - WIRE_HEADER_SIZE));
        *ret_len = w->len;
        return 0;
}

int wire_header_parse(const void *header, size_t max_message, uint16_t *ret_type, uint32_t *ret_payload_len) {
        const uint8_t *h = header;
        uint32_t len;

        if (max_message > WIRE_MAX_MESSAGE)
                max_message = WIRE_MAX_MESSAGE;
        if (max_message < WIRE_HEADER_SIZE || get_be32(h) != WIRE_MAGIC)
                return -EBADMSG;
        if (get_be16(h + 4) != WIRE_VERSION)
                return -EPROTONOSUPPORT;
        len = get_be32(h + 8);
        if (len > max_message - WIRE_HEADER_SIZE)
                return -EBADMSG;
        *ret_type = get_be16(h + 6);
        *ret_payload_len = len;
        return 0;
}

int wire_reader_init(WireReader *r, const void *buf, size_t len, size_t max_message) {
        uint32_t payload;
        uint16_t type;
        int e;

        if (len < WIRE_HEADER_SIZE)
                return -EBADMSG;
        e = wire_header_parse(buf, max_message, &type, &payload);
        if (e < 0)
                return e;
        if ((size_t) payload != len - WIRE_HEADER_SIZE)
                return -EBADMSG;
        *r = (WireReader) {
                .p = (const uint8_t *) buf + WIRE_HEADER_SIZE,
                .end = (const uint8_t *) buf + len,
                .type = type,
        };
        return 0;
}

int wire_next(WireReader *r, WireField *f) {
        size_t left = (size_t) (r->end - r->p);
        uint32_t len;

        if (left == 0)
                return 0;
        if (left < WIRE_FIELD_HEADER_SIZE)
                return -EBADMSG;
        len = get_be32(r->p + 2);
        if (len > left - WIRE_FIELD_HEADER_SIZE)
                return -EBADMSG;
        *f = (WireField) { .tag = get_be16(r->p), .len = len, .data = r->p + WIRE_FIELD_HEADER_SIZE };
        r->p += WIRE_FIELD_HEADER_SIZE + len;
        return 1;
}

int wire_field_u32(const WireField *f, uint32_t *ret) {
        if (f->len != 4)
                return -EBADMSG;
        *ret = get_be32(f->data);
        return 0;
}

int wire_field_u64(const WireField *f, uint64_t *ret) {
        if (f->len != 8)
                return -EBADMSG;
        *ret = ((uint64_t) get_be32(f->data) << 32) | get_be32(f->data + 4);
        return 0;
}

int wire_field_str(const WireField *f, char *buf, size_t size) {
        if (memchr(f->data, 0, f->len))
                return -EBADMSG;
        if (size == 0 || f->len > size - 1)
                return -ENOBUFS;
        memcpy(buf, f->data, f->len);
        buf[f->len] = '\0';
        return 0;
}

/* Waits for events on fd until the deadline, restarting after signals
 * with the time that is left. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t now = now_monotonic_usec();
                int n;

                if (now >= deadline)
                        return -ETIMEDOUT;
                n = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ETIMEDOUT;
                if (p.revents & POLLNVAL)
                        return -EBADF;
                return 0;   /* readable, writable, or an error the next call reports */
        }
}

int wire_connect(const char *path, uint64_t deadline_usec, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        int fd, e;

        if (n == 0 || n >= sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, path, n + 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;

        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                /* A full listen queue gives EAGAIN on Unix sockets: the daemon
                 * is too busy, which callers treat like "not reachable". */
                e = errno;
                if (e == EINTR || e == EINPROGRESS) {
                        socklen_t sl = sizeof(e);
                        e = wait_fd(fd, POLLOUT, deadline_usec);
                        if (e == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
                                e = errno;
                        else if (e < 0)
                                e = -e;
                }
                if (e != 0) {
                        close(fd);
                        return -e;
                }
        }
        *ret_fd = fd;
        return 0;
}

int wire_send_all(int fd, const void *buf, size_t len, uint64_t deadline_usec) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        int e;
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return errno == EPIPE ? -ECONNRESET : -errno;
                        e = wait_fd(fd, POLLOUT, deadline_usec);
                        if (e < 0)
                                return e;
                        continue;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int wire_recv_all(int fd, void *buf, size_t len, uint64_t deadline_usec) {
        uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
                if (n < 0) {
                        int e;
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        e = wait_fd(fd, POLLIN, deadline_usec);
                        if (e < 0)
                                return e;
                        continue;
                }
                if (n == 0)
                        return -ECONNRESET;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Closes the descriptors of an SCM_RIGHTS message but the first, which it
 * returns (or -EBADF). */
static int take_passed_fd(struct msghdr *mh) {
        int first = -EBADF;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                size_t n;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
                        continue;
                n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int pfd;
                        memcpy(&pfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (first < 0)
                                first = pfd;
                        else
                                close(pfd);
                }
        }
        return first;
}

int wire_recv_all_fd(int fd, void *buf, size_t len, uint64_t deadline_usec, int *ret_passed_fd) {
        uint8_t *p = buf;
        int passed = -EBADF;

        while (len > 0) {
                /* Room for a few descriptors, so that a peer sending more
                 * than one cannot make us lose track of (and leak) any. */
                union {
                        struct cmsghdr align;
                        uint8_t buf[CMSG_SPACE(8 * sizeof(int))];
                } control;
                struct iovec iov = { .iov_base = p, .iov_len = len };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                int got;

                if (n < 0) {
                        int e;
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN) {
                                e = -errno;
                                safe_close_fd(passed);
                                return e;
                        }
                        e = wait_fd(fd, POLLIN, deadline_usec);
                        if (e < 0) {
                                safe_close_fd(passed);
                                return e;
                        }
                        continue;
                }
                got = take_passed_fd(&mh);
                if (got >= 0) {
                        if (passed >= 0)
                                close(got);
                        else
                                passed = got;
                }
                if (n == 0) {
                        safe_close_fd(passed);
                        return -ECONNRESET;
                }
                p += n;
                len -= (size_t) n;
        }
        *ret_passed_fd = passed;
        return 0;
}

long wire_send_with_fd(int fd, const void *buf, size_t len, int passed_fd) {
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        ssize_t n;

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &passed_fd, sizeof(int));

        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EPIPE ? -ECONNRESET : -errno;
        return (long) n;
}

int wire_recv_message(int fd, void *buf, size_t cap, uint64_t deadline_usec, size_t *ret_len) {
        uint32_t payload;
        uint16_t type;
        int e;

        if (cap < WIRE_HEADER_SIZE)
                return -ENOBUFS;
        e = wire_recv_all(fd, buf, WIRE_HEADER_SIZE, deadline_usec);
        if (e < 0)
                return e;
        e = wire_header_parse(buf, cap, &type, &payload);
        if (e < 0)
                return e;
        e = wire_recv_all(fd, (uint8_t *) buf + WIRE_HEADER_SIZE, payload, deadline_usec);
        if (e < 0)
                return e;
        *ret_len = WIRE_HEADER_SIZE + payload;
        return 0;
}
