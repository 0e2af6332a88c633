# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fake tesserad lookup socket that answers what a test tells it to:
garbage, truncated or oversized frames, silence, wrong entries, or
descriptors that are not a proper cache. It speaks lib/wire's framing so
that the broken parts are exactly the ones a test means."""

import os
import socket
import struct
import threading
import time
import fcntl

MAGIC = 0x54535731
REPLY_USERS, REPLY_GROUPS, REPLY_GIDS, REPLY_NOTFOUND = 0x0201, 0x0202, 0x0203, 0x0204
TAG_CACHE, TAG_USER, TAG_GROUP, TAG_GID = 5, 6, 7, 8


def field(tag, data):
    return struct.pack(">HI", tag, len(data)) + data


def u32(tag, v):
    return field(tag, struct.pack(">I", v))


def u64(tag, v):
    return field(tag, struct.pack(">Q", v))


def message(mtype, payload, version=1, magic=MAGIC, length=None):
    if length is None:
        length = len(payload)
    return struct.pack(">IHHI", magic, version, mtype, length) + payload


def user_entry(name=b"alice", uid=200000, gid=200000, gecos=b"Alice", home=b"/home/alice", shell=b"/bin/sh"):
    return field(TAG_USER, field(1, name) + u32(2, uid) + u32(3, gid) + field(4, gecos) + field(5, home) +
                 field(6, shell))


def memfd(content, seal):
    fd = os.memfd_create("fake-cache", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, content)
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    return fd


# Each mode: a function (conn) -> None that reads the request and answers.
def read_request(conn):
    head = conn.recv(12)
    if len(head) < 12:
        return None
    _, _, mtype, length = struct.unpack(">IHHI", head)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return mtype, body


def answer(reply, fds=()):
    def run(conn):
        if read_request(conn) is None:
            return
        if fds:
            made = [f() for f in fds]
            socket.send_fds(conn, [reply[:1]], made)
            for fd in made:
                os.close(fd)
            conn.sendall(reply[1:])
        else:
            conn.sendall(reply)
    return run


def hang(conn):
    read_request(conn)
    time.sleep(3)


def drip(conn):
    read_request(conn)
    reply = message(REPLY_USERS, user_entry())
    for b in reply:
        try:
            conn.send(bytes([b]))
        except OSError:
            return
        time.sleep(0.01)


def close_at_once(conn):
    pass


def truncated(conn):
    read_request(conn)
    reply = message(REPLY_USERS, user_entry())
    conn.sendall(reply[:len(reply) // 2])


def valid_image_unsealed():
    # Not a real image: the module must refuse it for the missing seals alone.
    return memfd(b"\0" * 4096, seal=False)


def garbage_image_sealed():
    return memfd(os.urandom(4096), seal=True)


MODES = {
    "garbage": answer(os.urandom(64)),
    "bad-magic": answer(message(REPLY_USERS, user_entry(), magic=0x12345678)),
    "bad-version": answer(message(REPLY_USERS, user_entry(), version=99)),
    "oversized": answer(message(REPLY_USERS, b"", length=64 * 1024 * 1024)),
    "truncated": truncated,
    "hang": hang,
    "drip": drip,
    "close": close_at_once,
    "notfound": answer(message(REPLY_NOTFOUND, b"")),
    "wrong-name": answer(message(REPLY_USERS, user_entry(name=b"mallory"))),
    "colon-in-field": answer(message(REPLY_USERS, user_entry(gecos=b"x:0:0:root"))),
    "newline-in-name": answer(message(REPLY_USERS, user_entry(name=b"alice\nroot"))),
    "field-past-end": answer(message(REPLY_USERS, field(TAG_USER, field(1, b"alice"))[:-2] + b"\xff\xff\xff\xff")),
    "missing-uid": answer(message(REPLY_USERS, field(TAG_USER, field(1, b"alice") + u32(3, 1)))),
    "wrong-type": answer(message(REPLY_GIDS, user_entry())),
    "empty-users": answer(message(REPLY_USERS, b"")),
    "good": answer(message(REPLY_USERS, user_entry())),
    "unsealed-cache": answer(message(REPLY_USERS, user_entry() + u64(TAG_CACHE, 4096)), fds=[valid_image_unsealed]),
    "garbage-cache": answer(message(REPLY_USERS, user_entry() + u64(TAG_CACHE, 4096)), fds=[garbage_image_sealed]),
    "many-fds": answer(message(REPLY_USERS, user_entry() + u64(TAG_CACHE, 4096)),
                       fds=[garbage_image_sealed] * 5),
    "fd-unasked": answer(message(REPLY_USERS, user_entry()), fds=[garbage_image_sealed]),
}


class FakeDaemon:
    """Listens on path and answers every connection in the given mode."""

    def __init__(self, path, mode):
        self.path = path
        self.mode = MODES[mode]
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        if os.path.exists(path):
            os.unlink(path)
        self.sock.bind(path)
        self.sock.listen(64)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        try:
            self.mode(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        if os.path.exists(self.path):
            os.unlink(self.path)
