#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Resource abuse against the real daemon: HTTP connections up to the
descriptor budget, descriptors running out under the host sockets, slow
clients and a flood of requests; the lookup (NSS) and authentication (PAM)
sockets must answer throughout, since host logins depend on them.

The daemon runs with a small descriptor limit (as LimitNOFILE= would set
it), so that the budget is reached after a few hundred connections."""

import os
import re
import resource
import socket
import struct
import sys
import threading
import time
import unittest
import http.client
import json

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nss"))
from tessera_env import Tessera  # noqa: E402
from fake_daemon import field, message  # noqa: E402  (lib/wire.c's framing)

PASSWORD = "correct horse"
NOFILE = 400
# NSS: requests and replies of the lookup socket (nss_tessera(8)).
NSS_USER_BY_NAME, NSS_REPLY_USERS, NSS_TAG_NAME = 0x0101, 0x0201, 1
# PAM: requests, tags and statuses of the authentication socket.
PAM_LOOKUP, PAM_AUTHENTICATE = 1, 2
PAM_T_USER, PAM_T_PASSWORD, PAM_T_SERVICE, PAM_T_STATUS = 1, 2, 5, 0x100
PAM_OK = 0


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the daemon")
        data += chunk
    return data


def read_frame(s):
    _, _, mtype, n = struct.unpack(">IHHI", recv_exact(s, 12))
    return mtype, recv_exact(s, n)


def nss_getpwnam(path, name, timeout=5):
    """The reply type of a user lookup on the lookup socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(message(NSS_USER_BY_NAME, field(NSS_TAG_NAME, name.encode())))
        return read_frame(s)[0]


def pam_field(tag, value):
    return struct.pack(">HI", tag, len(value)) + value.encode()


def pam_status(payload):
    while payload:
        tag, n = struct.unpack(">HI", payload[:6])
        if tag == PAM_T_STATUS:
            return struct.unpack(">I", payload[6:6 + n])[0]
        payload = payload[6 + n:]
    return None


def pam_ask(path, mtype, *fields, timeout=10):
    """The status of one request on the authentication socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(message(mtype, b"".join(fields)))
        return pam_status(read_frame(s)[1])


def http_open(port, source="127.0.0.1", timeout=1.0):
    """Connects from source and asks for /healthz, keeping the connection
    alive. Returns (answer, socket): the answer's first bytes, b"" when the
    server closed the connection unanswered, None when no answer came within
    timeout (the server is not taking it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = s.recv(4096)
    except socket.timeout:
        answer = None
    except ConnectionError:
        answer = b""
    return answer, s


def cpu_ticks(pid, tid=None):
    """utime + stime of a process (or of one of its threads), in clock ticks."""
    with open(f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def raise_own_limit():
    """This test holds hundreds of sockets itself."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))


class HostSocketsMixin:
    def assertHostSocketsAnswer(self, t, why):
        """A lookup and a password check on the host sockets, as getent and
        login would make them."""
        try:
            self.assertEqual(nss_getpwnam(t.nss_socket, "alice"), NSS_REPLY_USERS, why)
        except OSError as e:
            self.fail(f"the lookup socket did not answer {why}: {e!r}")
        try:
            self.assertEqual(pam_ask(t.pam_socket, PAM_LOOKUP, pam_field(PAM_T_USER, "alice")), PAM_OK, why)
            self.assertEqual(pam_ask(t.pam_socket, PAM_AUTHENTICATE, pam_field(PAM_T_USER, "alice"),
                                     pam_field(PAM_T_PASSWORD, PASSWORD), pam_field(PAM_T_SERVICE, "abuse-test")),
                             PAM_OK, why)
        except OSError as e:
            self.fail(f"the authentication socket did not answer {why}: {e!r}")


class DescriptorTest(unittest.TestCase, HostSocketsMixin):
    """A daemon with NOFILE descriptors and the default limit per address.
    Its request deadline is long: connections that are held stay."""

    @classmethod
    def setUpClass(cls):
        raise_own_limit()
        cls.t = Tessera(nofile=NOFILE,
                        config_extra="[nss]\nmax_connections = 32\n[pam]\nmax_connections = 16\n",
                        http_extra="threads = 2\nrequest_timeout = 120\n").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("user", "add", "alice@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        cls.app = json.loads(cls.t.ctl("--json", "app", "create", "svc@acme", "--grant", "client_credentials",
                                       check=True).stdout)
        # The tenant's first signing keys are made on a worker (RSA, up to
        # a second of CPU): let that be over before CPU time is measured.
        deadline = time.monotonic() + 60
        while "Created signing keys for tenant" not in cls.t.log() and time.monotonic() < deadline:
            time.sleep(0.05)

    def budget(self):
        m = re.search(r"Descriptors: limit (\d+); HTTP connections (\d+)", self.t.log())
        return (int(m.group(1)), int(m.group(2))) if m else (None, None)

    def test_a_no_spin_when_descriptors_run_out(self):
        # First, while the daemon holds no client's descriptor that could
        # close meanwhile and make room.
        pid = self.t.daemon.pid
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        # As if something else had taken every descriptor: the limit is
        # lowered to the lowest free descriptor number, so that no new one
        # can be opened (the limit bounds the number, not the count).
        used = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
        lowest_free = next(n for n in range(len(used) + 1) if n not in used)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free, hard))
        restored = False

        def restore():
            if not restored:
                resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        self.addCleanup(restore)
        log_before = len(self.t.log().splitlines())

        # A lookup and a login wait in the backlogs of the host sockets.
        nss = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        pam = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(nss.close)
        self.addCleanup(pam.close)
        nss.connect(self.t.nss_socket)
        pam.connect(self.t.pam_socket)
        nss.sendall(message(NSS_USER_BY_NAME, field(NSS_TAG_NAME, b"alice")))
        pam.sendall(message(PAM_LOOKUP, pam_field(PAM_T_USER, "alice")))
        time.sleep(0.3)

        # A second of it: the daemon waits, it does not spin; nor does its
        # main loop, which serves both sockets.
        before, main_before = cpu_ticks(pid), cpu_ticks(pid, pid)
        time.sleep(1.0)
        used = (cpu_ticks(pid) - before) / os.sysconf("SC_CLK_TCK")
        main_used = (cpu_ticks(pid, pid) - main_before) / os.sysconf("SC_CLK_TCK")
        self.assertLess(main_used, 0.1, f"tesserad's main loop used {main_used:.2f} s of CPU in 1 s at EMFILE")
        self.assertLess(used, 0.25, f"tesserad used {used:.2f} s of CPU in 1 s at EMFILE")

        new_lines = self.t.log().splitlines()[log_before:]
        about = [line for line in new_lines if "accept" in line.lower()]
        # One line per socket, not one per attempt.
        self.assertEqual(len(about), 2, "\n".join(new_lines[:20]))
        self.assertTrue(all("Too many open files" in line for line in about), about)

        # Descriptors back: the waiting clients are served.
        restore()
        restored = True
        nss.settimeout(5)
        pam.settimeout(5)
        self.assertEqual(read_frame(nss)[0], NSS_REPLY_USERS)
        self.assertEqual(pam_status(read_frame(pam)[1]), PAM_OK)
        self.assertHostSocketsAnswer(self.t, "after descriptors came back")

    def test_b_http_cannot_starve_host_sockets(self):
        limit, budget = self.budget()
        log_before = len(self.t.log())
        held, waiting = [], None
        self.addCleanup(lambda: [s.close() for s in held + ([waiting] if waiting else [])])

        # As many connections as the budget allows (or, without one, until
        # one is not served within a second), from a few addresses (each
        # may hold 128); the next one waits in the backlog.
        while len(held) < (budget or 2 * NOFILE):
            answer, s = http_open(self.t.http_port, f"127.0.0.{10 + len(held) // 100}", timeout=10 if budget else 1)
            if answer is None:
                waiting = s
                break
            self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:100])
            held.append(s)
        if waiting is None:
            answer, waiting = http_open(self.t.http_port, "127.0.0.20", timeout=1.5)
            self.assertIsNone(answer, f"the HTTP server took more connections than its budget ({budget})")

        # HTTP is at its limit: the host sockets still answer, several at once.
        self.assertHostSocketsAnswer(self.t, f"with {len(held)} HTTP connections open")
        lookups = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(16)]
        for s in lookups:
            s.settimeout(5)
            s.connect(self.t.nss_socket)
            s.sendall(message(NSS_USER_BY_NAME, field(NSS_TAG_NAME, b"alice")))
        for s in lookups:
            self.assertEqual(read_frame(s)[0], NSS_REPLY_USERS)
            s.close()

        # The limit is the budget, and it holds: no descriptor ran out.
        self.assertEqual(limit, NOFILE)
        self.assertEqual(len(held), budget, self.t.log()[-3000:])
        self.assertNotIn("Too many open files", self.t.log()[log_before:])

        # One closes: the one waiting in the backlog is served.
        held.pop().close()
        waiting.settimeout(10)
        self.assertTrue(waiting.recv(4096).startswith(b"HTTP/1.1 200"))

    def test_c_flood_gets_no_server_errors(self):
        statuses, failures, stop = [], [], threading.Event()
        port = self.t.http_port
        # One address opens all the connections it can and sends nothing...
        idle = []
        self.addCleanup(lambda: [s.close() for s in idle])
        for _ in range(NOFILE):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.5", 0))
            s.connect(("127.0.0.1", port))
            idle.append(s)

        paths = ["/healthz", "/readyz", "/t/acme/.well-known/openid-configuration", "/t/acme/jwks", "/nope"]
        token = "grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}".format(**self.app)

        def client(keep_alive, n):
            conn = None
            i = n
            while not stop.is_set():
                i += 1
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                    if i % 4 == 0:
                        conn.request("POST", "/t/acme/token", body=token,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
                    else:
                        conn.request("GET", paths[i % len(paths)])
                    r = conn.getresponse()
                    r.read()
                    statuses.append(r.status)
                except (OSError, http.client.HTTPException) as e:
                    failures.append(repr(e))
                    conn.close()
                    conn = None
                if not keep_alive and conn is not None:
                    conn.close()
                    conn = None
            if conn is not None:
                conn.close()

        # ...while others ask all they can, on kept-alive and new connections.
        threads = [threading.Thread(target=client, args=(n % 2 == 0, n)) for n in range(16)]
        for th in threads:
            th.start()
        try:
            time.sleep(1)
            self.assertHostSocketsAnswer(self.t, "during the flood")
            time.sleep(2)
        finally:
            stop.set()
            for th in threads:
                th.join()
        self.assertGreater(len(statuses), 100)
        self.assertEqual([s for s in statuses if s >= 500], [])
        self.assertEqual(failures, [])
        self.assertNotIn("Internal error", self.t.log())
        # libmicrohttpd logs each connection it refuses: a few lines, not
        # one per refused connection.
        self.assertLessEqual(self.t.log().count("libmicrohttpd: Server reached connection limit"), 10)

class SlowClientTest(unittest.TestCase, HostSocketsMixin):
    """Clients that send their request a byte at a time, from one address."""

    TIMEOUT = 3
    PER_ADDRESS = 16

    @classmethod
    def setUpClass(cls):
        raise_own_limit()
        cls.t = Tessera(nofile=NOFILE,
                        config_extra="[nss]\nmax_connections = 32\n[pam]\nmax_connections = 16\n",
                        http_extra=f"threads = 2\nrequest_timeout = {cls.TIMEOUT}\n"
                                   f"connections_per_address = {cls.PER_ADDRESS}\n").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("user", "add", "alice@acme", "--password-stdin", input=PASSWORD + "\n", check=True)

    def test_slow_requests_cut_off_at_the_deadline(self):
        port = self.t.http_port
        slow, refused = [], []
        started = time.monotonic()
        # More than one address may hold: the rest is closed at once.
        for _ in range(self.PER_ADDRESS + 4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            slow.append(s)
        self.addCleanup(lambda: [s.close() for s in slow])

        closed_at, dripped = {}, 0
        # A byte of the request head from each, every 0.25 s (far within
        # the idle timeout of 30 s), until the server closes them.
        deadline = started + self.TIMEOUT + 10
        while len(closed_at) < len(slow) and time.monotonic() < deadline:
            for s in slow:
                if s in closed_at:
                    continue
                try:
                    if s.recv(4096) == b"":
                        closed_at[s] = time.monotonic() - started
                        continue
                except BlockingIOError:
                    pass
                except ConnectionError:
                    closed_at[s] = time.monotonic() - started
                    continue
                try:
                    s.send(b"GET /healthz HTTP/1.1\r\nX-Slow: "[dripped:dripped + 1] or b"a")
                except (BlockingIOError, ConnectionError):
                    pass
            dripped += 1
            # Another client is served all the while.
            if dripped % 4 == 0:
                answer, s = http_open(port, "127.0.0.1", timeout=5)
                s.close()
                self.assertTrue(answer and answer.startswith(b"HTTP/1.1 200"), f"/healthz at {dripped / 4} s")
            time.sleep(0.25)

        times = sorted(closed_at.values())
        self.assertEqual(len(times), len(slow), "slow connections still open after the deadline")
        # The ones over the per-address limit went at once, unanswered...
        self.assertTrue(all(x < 1.0 for x in times[:len(slow) - self.PER_ADDRESS]), times)
        # ...the others at the deadline, dripping or not.
        held = times[len(slow) - self.PER_ADDRESS:]
        self.assertTrue(all(self.TIMEOUT - 0.5 <= x <= self.TIMEOUT + 5 for x in held), held)
        self.assertHostSocketsAnswer(self.t, "after the slow clients")
        self.assertRegex(self.t.log(), r"Closed \d+ HTTP connections that did not send a whole request within 3 s")

    def test_per_address_limit_leaves_others_alone(self):
        port = self.t.http_port
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        for _ in range(self.PER_ADDRESS):
            answer, s = http_open(port, "127.0.0.3")
            held.append(s)
            self.assertTrue(answer and answer.startswith(b"HTTP/1.1 200"))
        # One more from there: closed unanswered; from elsewhere: served.
        answer, s = http_open(port, "127.0.0.3", timeout=5)
        held.append(s)
        self.assertEqual(answer, b"")
        answer, s = http_open(port, "127.0.0.4", timeout=5)
        held.append(s)
        self.assertTrue(answer and answer.startswith(b"HTTP/1.1 200"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
