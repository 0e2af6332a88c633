/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The message format of tesserad's local sockets (the NSS lookup socket and
 * the PAM authentication socket): one encoder and one decoder, shared by
 * the daemon and the client modules. libc only, no allocation, no logging.
 *
 * A message is a 12-byte header and a payload:
 *
 *   u32 magic "TSW1" | u16 version | u16 type | u32 payload length
 *
 * all in network byte order. The payload is a sequence of fields:
 *
 *   u16 tag | u32 length | length bytes
 *
 * A tag may repeat (lists). Strings are sent without their NUL and may
 * not contain one. Every length is checked against the bytes actually
 * there and against the reader's limit; nothing from the other side is
 * trusted. Unknown tags are skipped by readers, so that new fields can be
 * added without a version change; a new version means an incompatible
 * change of the header or of the meaning of existing fields. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define WIRE_MAGIC UINT32_C(0x54535731)   /* "TSW1" */
#define WIRE_VERSION 1
#define WIRE_HEADER_SIZE 12
#define WIRE_FIELD_HEADER_SIZE 6
/* No message is ever larger, whatever the socket; each socket may set a
 * smaller limit. */
#define WIRE_MAX_MESSAGE (1024 * 1024)

typedef struct WireWriter {
        uint8_t *buf;
        size_t cap, len;
        uint16_t type;
        bool overflow;            /* a put did not fit: finish fails */
} WireWriter;

/* Starts a message of the given type in buf; the header is written by
 * wire_writer_finish(). */
void wire_writer_init(WireWriter *w, void *buf, size_t cap, uint16_t type);
void wire_put_u32(WireWriter *w, uint16_t tag, uint32_t v);
void wire_put_u64(WireWriter *w, uint16_t tag, uint64_t v);
void wire_put_bytes(WireWriter *w, uint16_t tag, const void *data, size_t n);
/* NULL is sent as an empty string. */
void wire_put_str(WireWriter *w, uint16_t tag, const char *s);
/* Writes the header. Returns the message length, or -ENOBUFS when a field
 * did not fit, -EINVAL when a string held no room for its content. */
int wire_writer_finish(WireWriter *w, size_t *ret_len);

typedef struct WireReader {
        const uint8_t *p, *end;
        uint16_t type;
} WireReader;

typedef struct WireField {
        uint16_t tag;
        uint32_t len;
        const uint8_t *data;
} WireField;

/* Checks a header: magic, version and a payload length of at most
 * max_message - WIRE_HEADER_SIZE. -EBADMSG for a wrong magic or a length
 * past the limit, -EPROTONOSUPPORT for another version. */
int wire_header_parse(const void *header, size_t max_message, uint16_t *ret_type, uint32_t *ret_payload_len);

/* Starts reading a whole message of len bytes (header included): the
 * header must be valid and announce exactly len - WIRE_HEADER_SIZE bytes. */
int wire_reader_init(WireReader *r, const void *buf, size_t len, size_t max_message);

/* The next field: 1 and *f set, 0 at the end, -EBADMSG when the rest of
 * the payload is not a whole field. */
int wire_next(WireReader *r, WireField *f);

/* Typed views of a field; -EBADMSG when the field has the wrong size or,
 * for strings, holds a NUL; -ENOBUFS when a string doesn't fit in size
 * bytes with its NUL. */
int wire_field_u32(const WireField *f, uint32_t *ret);
int wire_field_u64(const WireField *f, uint64_t *ret);
int wire_field_str(const WireField *f, char *buf, size_t size);

/* Blocking I/O with one overall deadline (CLOCK_MONOTONIC, in µs), which
 * interruptions by signals don't extend. Descriptors are non-blocking; the
 * functions poll. -ETIMEDOUT past the deadline, -ECONNRESET when the other
 * side closed early. Sends never raise SIGPIPE. */
int wire_connect(const char *path, uint64_t deadline_usec, int *ret_fd);
int wire_send_all(int fd, const void *buf, size_t len, uint64_t deadline_usec);
int wire_recv_all(int fd, void *buf, size_t len, uint64_t deadline_usec);
/* As wire_recv_all(), and accepts one descriptor passed along with the data
 * (SCM_RIGHTS), received close-on-exec: *ret_passed_fd is -EBADF when none
 * came. Any further descriptors are closed, never leaked. */
int wire_recv_all_fd(int fd, void *buf, size_t len, uint64_t deadline_usec, int *ret_passed_fd);
/* One non-blocking sendmsg() of buf with passed_fd attached (SCM_RIGHTS):
 * the number of bytes sent (the descriptor went with them), or a negative
 * errno (-EAGAIN when the socket is full). */
long wire_send_with_fd(int fd, const void *buf, size_t len, int passed_fd);
/* Reads one message (header and payload) into buf of size cap (at most
 * max_message is accepted); returns its length in *ret_len. */
int wire_recv_message(int fd, void *buf, size_t cap, uint64_t deadline_usec, size_t *ret_len);

/* A deadline that many µs from now, on the monotonic clock. */
static inline uint64_t wire_deadline(uint64_t timeout_usec) {
        return now_monotonic_usec() + timeout_usec;
}
