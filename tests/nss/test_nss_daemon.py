# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesserad's lookup socket spoken to directly (no module), so that it runs
in the sanitizer build too: answers, limits, bad clients, and the memory
cache handed out and invalidated before a change is acknowledged."""

import mmap
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tessera_env import Tessera  # noqa: E402
from fake_daemon import field, u32, u64, message  # noqa: E402

REQ_USER_BY_NAME, REQ_USER_BY_UID, REQ_GROUP_BY_NAME, REQ_GROUP_BY_GID, REQ_INITGROUPS, REQ_LIST_USERS, \
    REQ_LIST_GROUPS = range(0x0101, 0x0108)
REPLY_USERS, REPLY_GROUPS, REPLY_GIDS, REPLY_NOTFOUND, REPLY_ERROR = range(0x0201, 0x0206)
TAG_NAME, TAG_ID, TAG_CURSOR, TAG_WANT_CACHE, TAG_CACHE, TAG_USER, TAG_GROUP, TAG_GID = range(1, 9)


def fields(payload):
    out = []
    while payload:
        tag, n = struct.unpack(">HI", payload[:6])
        out.append((tag, payload[6:6 + n]))
        payload = payload[6 + n:]
    return out


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(path)

    def ask(self, mtype, *flds, want_fd=False):
        self.s.sendall(message(mtype, b"".join(flds)))
        fds = []
        if want_fd:
            head, fds, _, _ = socket.recv_fds(self.s, 12, 4)
            head += recv_exact(self.s, 12 - len(head))
        else:
            head = recv_exact(self.s, 12)
        magic, version, rtype, n = struct.unpack(">IHHI", head)
        assert magic == 0x54535731 and version == 1
        return rtype, fields(recv_exact(self.s, n)), fds

    def close(self):
        self.s.close()


def entry(data):
    return {tag: value for tag, value in fields(data)}


class TestLookupSocket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"], config_extra="[nss]\nmax_connections = 8\n")
        cls.t.start()
        try:
            for args in [("tenant", "create", "acme"), ("tenant", "create", "globex"), ("user", "add", "alice"),
                         ("user", "add", "bob@globex"), ("group", "add", "devs"),
                         ("group", "add-member", "devs", "alice")]:
                cls.t.ctl(*args, check=True)
        except BaseException:
            cls.t.close()
            raise
        cls.sock = cls.t.nss_socket

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def test_lookups(self):
        c = Client(self.sock)
        try:
            rtype, f, _ = c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"alice"))
            self.assertEqual(rtype, REPLY_USERS)
            e = entry(f[0][1])
            self.assertEqual(e[1], b"alice")
            uid = struct.unpack(">I", e[2])[0]
            # The same connection serves the next request.
            rtype, f, _ = c.ask(REQ_USER_BY_UID, u32(TAG_ID, uid))
            self.assertEqual((rtype, entry(f[0][1])[1]), (REPLY_USERS, b"alice"))
            rtype, f, _ = c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"bob@globex"))
            self.assertEqual(entry(f[0][1])[1], b"bob@globex")
            self.assertEqual(c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"nobody"))[0], REPLY_NOTFOUND)
            self.assertEqual(c.ask(REQ_USER_BY_UID, u32(TAG_ID, 0))[0], REPLY_NOTFOUND)
            rtype, f, _ = c.ask(REQ_GROUP_BY_NAME, field(TAG_NAME, b"devs"))
            self.assertEqual(rtype, REPLY_GROUPS)
            self.assertEqual([v for t, v in fields(f[0][1]) if t == 3], [b"alice"])
            rtype, f, _ = c.ask(REQ_INITGROUPS, field(TAG_NAME, b"alice"))
            self.assertEqual(rtype, REPLY_GIDS)
            self.assertEqual(len([v for t, v in f if t == TAG_GID]), 1)
            # Listings in pages: everything from cursor 0, then nothing past
            # the last uid.
            rtype, f, _ = c.ask(REQ_LIST_USERS, u64(TAG_CURSOR, 0))
            self.assertEqual([entry(v)[1] for t, v in f if t == TAG_USER], [b"alice", b"bob@globex"])
            rtype, f, _ = c.ask(REQ_LIST_USERS, u64(TAG_CURSOR, uid + 1))
            self.assertEqual([entry(v)[1] for t, v in f if t == TAG_USER], [b"bob@globex"])
            rtype, f, _ = c.ask(REQ_LIST_GROUPS, u64(TAG_CURSOR, 1 << 40))
            self.assertEqual((rtype, f), (REPLY_GROUPS, []))
        finally:
            c.close()

    def test_pipelined_requests(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.sock)
        s.sendall(message(REQ_USER_BY_NAME, field(TAG_NAME, b"alice")) * 3)
        for _ in range(3):
            _, _, _, n = struct.unpack(">IHHI", recv_exact(s, 12))
            recv_exact(s, n)
        s.close()

    def test_bad_clients_are_dropped(self):
        bad = [os.urandom(64), struct.pack(">IHHI", 0x54535731, 1, REQ_USER_BY_NAME, 1 << 20),
               message(0x7777, b""), message(REQ_USER_BY_NAME, b""),
               message(REQ_USER_BY_NAME, field(TAG_NAME, b"a:b")),
               message(REQ_USER_BY_NAME, field(TAG_NAME, b"x" * 300)),
               message(REQ_USER_BY_UID, u32(TAG_ID, 1) + u32(TAG_ID, 2)),
               message(REQ_USER_BY_NAME, struct.pack(">HI", TAG_NAME, 100) + b"alice")]
        for payload in bad:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(self.sock)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(100), b"", payload[:20])
            s.close()
        # The daemon still serves.
        c = Client(self.sock)
        self.assertEqual(c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"alice"))[0], REPLY_USERS)
        c.close()

    def test_connection_limit(self):
        idle = [Client(self.sock) for _ in range(8)]
        try:
            # Make sure the daemon accepted all of them.
            for c in idle:
                self.assertEqual(c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"alice"))[0], REPLY_USERS)
            extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            extra.settimeout(30)
            extra.connect(self.sock)
            # Refused at once: closed without an answer, not left waiting.
            start = time.monotonic()
            try:
                extra.sendall(message(REQ_USER_BY_NAME, field(TAG_NAME, b"alice")))
                self.assertEqual(extra.recv(100), b"")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assertLess(time.monotonic() - start, 5)
            extra.close()
        finally:
            for c in idle:
                c.close()
        # Slots free again once clients leave.
        deadline = time.monotonic() + 10
        while True:
            c = Client(self.sock)
            try:
                if c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"alice"))[0] == REPLY_USERS:
                    break
            except (ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise
            finally:
                c.close()

    def get_cache(self):
        """The cache fd and size; right after a change there is none until
        the daemon rebuilt it (lookups then go by the socket)."""
        c = Client(self.sock)
        deadline = time.monotonic() + 10
        try:
            while True:
                rtype, f, fds = c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"alice"), u32(TAG_WANT_CACHE, 1),
                                      want_fd=True)
                if fds:
                    self.assertEqual(len(fds), 1)
                    return fds[0], struct.unpack(">Q", dict(f)[TAG_CACHE])[0]
                self.assertNotIn(TAG_CACHE, dict(f))
                self.assertLess(time.monotonic(), deadline, "no cache published")
                time.sleep(0.02)
        finally:
            c.close()

    def test_cache_invalidated_before_acknowledgement(self):
        fd, size = self.get_cache()
        try:
            self.assertEqual(os.fstat(fd).st_size, size)
            import fcntl
            seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
            self.assertTrue(seals & fcntl.F_SEAL_SHRINK and seals & fcntl.F_SEAL_GROW)
            # Nobody but the daemon may write it.
            with self.assertRaises(OSError):
                os.pwrite(fd, b"x", 0)
            m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
            try:
                magic, _, seq = struct.unpack("=IIQ", m[:16])
                self.assertEqual(magic, 0x544E5343)
                self.assertEqual(seq % 2, 0)
                # The change is acknowledged when tesseractl returns: by then
                # the image this process holds must already be invalid.
                self.t.ctl("user", "lock", "alice", check=True)
                self.assertEqual(struct.unpack("=Q", m[8:16])[0] % 2, 1)
            finally:
                m.close()
        finally:
            os.close(fd)
            self.t.ctl("user", "unlock", "alice", check=True)
        # And the socket already answers with the change... and a new cache
        # comes, valid.
        c = Client(self.sock)
        try:
            self.t.ctl("user", "lock", "alice", check=True)
            self.assertEqual(c.ask(REQ_USER_BY_NAME, field(TAG_NAME, b"alice"))[0], REPLY_NOTFOUND)
            self.t.ctl("user", "unlock", "alice", check=True)
        finally:
            c.close()
        fd, size = self.get_cache()
        os.close(fd)


if __name__ == "__main__":
    unittest.main(verbosity=2)
