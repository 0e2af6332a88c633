#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesserad taking its lookup and authentication sockets from the service
manager, as tessera-nss.socket and tessera-pam.socket hand them over: it
serves them without binding its own, leaves them in place when it stops,
so that requests made during a restart wait in the backlog and are
answered by the next tesserad, and refuses a socket of the wrong kind. The
test holds the listening sockets itself, as systemd does. Runs in the
sanitizer build too."""

import os
import socket
import stat
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "nss"))
sys.path.insert(0, HERE)

from tessera_env import Tessera, TesseraError  # noqa: E402
from test_nss_daemon import Client, REQ_USER_BY_NAME, REPLY_USERS, TAG_NAME  # noqa: E402
from fake_daemon import field as nss_field  # noqa: E402
import test_pam_socket as pam  # noqa: E402

# Not 0666, what tesserad gives a socket it binds itself: the unit's
# SocketMode= must be what clients find.
UNIT_MODE = 0o660


def listening_socket(path, kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(path)
    os.chmod(path, UNIT_MODE)
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    return s


class SocketActivationTest(unittest.TestCase):
    def setUp(self):
        self.t = Tessera(default_tenant="acme")
        self.addCleanup(self.t.close)
        self.t.start_bus()
        os.makedirs(self.t.runtime_dir, exist_ok=True)
        self.nss = listening_socket(self.t.nss_socket)
        self.pam = listening_socket(self.t.pam_socket)
        self.addCleanup(self.nss.close)
        self.addCleanup(self.pam.close)
        self.inodes = {p: os.stat(p).st_ino for p in (self.t.nss_socket, self.t.pam_socket)}

    def assert_sockets_untouched(self):
        for path, ino in self.inodes.items():
            st = os.stat(path)
            self.assertEqual(st.st_ino, ino, f"{path} was replaced")
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), UNIT_MODE, f"{path} got another mode")

    def add_alice(self):
        self.t.ctl("tenant", "create", "acme", check=True)
        self.t.ctl("user", "add", "alice@acme", "--password-stdin", input=pam.PASSWORD + "\n", check=True)

    def lookup_alice(self, client=None):
        c = client or Client(self.t.nss_socket)
        try:
            rtype, fields, _ = c.ask(REQ_USER_BY_NAME, nss_field(TAG_NAME, b"alice"))
            return rtype
        finally:
            if not client:
                c.close()

    def test_serves_the_sockets_handed_over_and_leaves_them(self):
        self.t.start_daemon(listen_fds=[("nss", self.nss), ("pam", self.pam)])
        self.add_alice()
        self.assert_sockets_untouched()
        self.assertEqual(self.lookup_alice(), REPLY_USERS)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.t.pam_socket)
        s.sendall(pam.message(pam.AUTHENTICATE, pam.field(pam.T_USER, "alice"),
                              pam.field(pam.T_PASSWORD, pam.PASSWORD)))
        self.assertEqual(pam.read_reply(s)[pam.T_STATUS], pam.OK)
        s.close()
        self.assertEqual(self.t.stop_daemon(), 0)
        # Still there, still ours: the next tesserad gets the same sockets.
        self.assert_sockets_untouched()

    def test_requests_made_during_a_restart_are_answered(self):
        self.t.start_daemon(listen_fds=[("nss", self.nss), ("pam", self.pam)])
        self.add_alice()
        self.assertEqual(self.t.stop_daemon(), 0)

        # tesserad is down: connections wait in the backlog of the sockets
        # we hold, with their requests, instead of being refused.
        waiting_pam = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        waiting_pam.settimeout(30)
        waiting_pam.connect(self.t.pam_socket)
        waiting_pam.sendall(pam.message(pam.AUTHENTICATE, pam.field(pam.T_USER, "alice"),
                                        pam.field(pam.T_PASSWORD, pam.PASSWORD)))
        waiting_nss = Client(self.t.nss_socket)
        waiting_nss.s.sendall(b"")   # connected: no refusal while nobody serves

        self.t.start_daemon(listen_fds=[("nss", self.nss), ("pam", self.pam)])
        self.assertEqual(pam.read_reply(waiting_pam)[pam.T_STATUS], pam.OK)
        self.assertEqual(self.lookup_alice(waiting_nss), REPLY_USERS)
        waiting_pam.close()
        waiting_nss.close()
        self.assert_sockets_untouched()

    def test_sockets_found_by_path_without_names(self):
        # systemd-socket-activate and units without FileDescriptorName=
        # give no names: the configured paths tell the sockets apart. The
        # order is the reverse of tesserad's, so that position can't do it.
        self.t.start_daemon(listen_fds=[(None, self.pam), (None, self.nss)])
        self.add_alice()
        self.assert_sockets_untouched()
        self.assertEqual(self.lookup_alice(), REPLY_USERS)

    def test_a_socket_of_the_wrong_kind_is_refused(self):
        dgram_path = os.path.join(self.t.dir, "dgram.sock")
        dgram = listening_socket(dgram_path, socket.SOCK_DGRAM)
        self.addCleanup(dgram.close)
        with self.assertRaises(TesseraError) as cm:
            self.t.start_daemon(listen_fds=[("nss", self.nss), ("pam", dgram)])
        self.assertIn("\"pam\" handed over by the service manager is not a listening Unix stream socket",
                      str(cm.exception))
        self.t.daemon.wait(10)
        self.assertEqual(self.t.daemon.returncode, 1)
        self.t.daemon = None

    def test_a_socket_nobody_serves_is_closed_with_a_warning(self):
        stray_path = os.path.join(self.t.dir, "stray.sock")
        stray = listening_socket(stray_path)
        self.addCleanup(stray.close)
        self.t.start_daemon(listen_fds=[("nss", self.nss), ("pam", self.pam), ("metrics", stray)])
        self.assertIn("Closing the socket \"metrics\" handed over by the service manager", self.t.log())
        # tesserad keeps no copy of it (but does of the ones it serves):
        # the kernel names a socket by its inode in sockfs, which fstat()
        # gives for our own descriptors.
        fd_dir = f"/proc/{self.t.daemon.pid}/fd"
        targets = {os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)}
        self.assertIn(f"socket:[{os.fstat(self.nss.fileno()).st_ino}]", targets)
        self.assertNotIn(f"socket:[{os.fstat(stray.fileno()).st_ino}]", targets)

    def test_a_socket_bound_elsewhere_is_served_with_a_warning(self):
        # The unit and tesserad.conf disagree on the path: the unit's
        # socket is what clients reach, so it is served, and the log says so.
        other = os.path.join(self.t.dir, "other-nss.sock")
        moved = listening_socket(other)
        self.addCleanup(moved.close)
        self.t.start_daemon(listen_fds=[("nss", moved), ("pam", self.pam)])
        self.assertIn(f"bound to {other}, the configuration says {self.t.nss_socket}", self.t.log())
        self.add_alice()
        self.assertEqual(self.lookup_alice(Client(other)), REPLY_USERS)


if __name__ == "__main__":
    unittest.main()
