#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesserad's authentication socket spoken to directly, as a misbehaving or
hostile client would: malformed and oversized messages, requests that
never finish, a caller that isn't root asking about someone else, too many
connections and too much password work at once. Also the secret key's
file rules. Runs in the sanitizer build too."""

import json
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import Tessera, TesseraError, binary, require_root  # noqa: E402

MAGIC, VERSION = 0x54535731, 1
LOOKUP, AUTHENTICATE, ACCOUNT, CHAUTHTOK_CHECK, CHAUTHTOK, SESSION_OPEN, SESSION_CLOSE = range(1, 8)
REPLY = 0x100
T_USER, T_PASSWORD, T_CODE, T_NEW_PASSWORD, T_SERVICE, T_TTY, T_RHOST, T_RUSER, T_POLICY, T_FLAGS, T_SESSION = \
    range(1, 12)
T_STATUS, T_TEXT, T_NEEDS_CODE, T_LOCKED_UNTIL = 0x100, 0x101, 0x102, 0x103
OK, AUTH_FAILED, USER_UNKNOWN, LOCKED, ACCOUNT_LOCKED, ACCOUNT_DISABLED, ACCOUNT_EXPIRED, DENIED, REJECTED, BUSY, \
    ERROR, BAD_REQUEST, NEED_CODE = range(13)
FLAG_ADMIN_CHANGE, FLAG_PROBE = 1, 2
PASSWORD = "correct horse"


def field(tag, value):
    if isinstance(value, int):
        value = struct.pack(">I", value)
    elif isinstance(value, str):
        value = value.encode()
    return struct.pack(">HI", tag, len(value)) + value


def message(mtype, *fields, length=None):
    payload = b"".join(fields)
    return struct.pack(">IHHI", MAGIC, VERSION, mtype, len(payload) if length is None else length) + payload


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("closed")
        data += chunk
    return data


def read_reply(s):
    magic, version, mtype, length = struct.unpack(">IHHI", recv_exact(s, 12))
    assert (magic, version, mtype) == (MAGIC, VERSION, REPLY)
    payload, out = recv_exact(s, length), {}
    while payload:
        tag, n = struct.unpack(">HI", payload[:6])
        value, payload = payload[6:6 + n], payload[6 + n:]
        out[tag] = struct.unpack(">I", value)[0] if tag in (T_STATUS, T_NEEDS_CODE) else value
    return out


class PamSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme",
                        config_extra="[pam]\nrequest_timeout = 1\nmax_connections = 8\n").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("user", "add", "alice@acme", "--uid", "200010", "--password-stdin", input=PASSWORD + "\n",
                  check=True)
        cls.t.ctl("user", "add", "bob@acme", "--uid", "200011", "--password-stdin", input=PASSWORD + "\n",
                  check=True)

    def connect(self, path=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(path or self.t.pam_socket)
        self.addCleanup(s.close)
        return s

    def ask(self, *msg_args, s=None):
        s = s or self.connect()
        s.sendall(message(*msg_args))
        return read_reply(s)

    def assert_closed(self, s):
        # Closed with our bytes unread, a Unix socket reports a reset.
        try:
            self.assertEqual(s.recv(1), b"")
        except ConnectionResetError:
            pass

    def test_socket_mode(self):
        st = os.stat(self.t.pam_socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)

    def test_requests(self):
        r = self.ask(LOOKUP, field(T_USER, "alice"))
        self.assertEqual((r[T_STATUS], r.get(T_NEEDS_CODE, 0)), (OK, 0))
        r = self.ask(AUTHENTICATE, field(T_USER, "alice"), field(T_PASSWORD, PASSWORD), field(T_SERVICE, "raw"))
        self.assertEqual(r[T_STATUS], OK)
        r = self.ask(AUTHENTICATE, field(T_USER, "alice"), field(T_PASSWORD, "nope"))
        self.assertEqual(r[T_STATUS], AUTH_FAILED)
        r = self.ask(AUTHENTICATE, field(T_USER, "ghost"), field(T_PASSWORD, "x"))
        self.assertEqual(r[T_STATUS], USER_UNKNOWN)
        r = self.ask(ACCOUNT, field(T_USER, "alice"))
        self.assertEqual(r[T_STATUS], OK)
        r = self.ask(ACCOUNT, field(T_USER, "ghost"))
        self.assertEqual(r[T_STATUS], USER_UNKNOWN)
        # Several requests on one connection, one after the other.
        s = self.connect()
        for _ in range(3):
            self.assertEqual(self.ask(LOOKUP, field(T_USER, "bob"), s=s)[T_STATUS], OK)

    def test_malformed(self):
        cases = {
            "a tag twice": message(LOOKUP, field(T_USER, "alice"), field(T_USER, "root")),
            "a name too long": message(LOOKUP, field(T_USER, "a" * 100)),
            "a NUL in a string": message(LOOKUP, field(T_USER, "ali\0ce")),
            "a password too long": message(AUTHENTICATE, field(T_USER, "alice"), field(T_PASSWORD, "x" * 600)),
            "an unknown type": message(99, field(T_USER, "alice")),
            "a reply": message(REPLY, field(T_STATUS, 0)),
            "a bad policy": message(AUTHENTICATE, field(T_USER, "alice"), field(T_POLICY, 9)),
            "a control character in an item": message(ACCOUNT, field(T_USER, "alice"), field(T_TTY, "pts/1\n")),
            "a field past the end": message(LOOKUP, struct.pack(">HI", T_USER, 50) + b"alice"),
        }
        for what, raw in cases.items():
            with self.subTest(what):
                s = self.connect()
                s.sendall(raw)
                self.assertEqual(read_reply(s)[T_STATUS], BAD_REQUEST)
        # A header announcing more than the limit: answered and closed unread.
        s = self.connect()
        s.sendall(message(LOOKUP, length=10_000_000))
        self.assertEqual(read_reply(s)[T_STATUS], BAD_REQUEST)
        self.assert_closed(s)
        # Another magic, another version.
        s = self.connect()
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        self.assertEqual(read_reply(s)[T_STATUS], BAD_REQUEST)
        self.assert_closed(s)
        # The daemon is still fine.
        self.assertEqual(self.ask(LOOKUP, field(T_USER, "alice"))[T_STATUS], OK)

    def test_slow_client_cut_off(self):
        s = self.connect()
        s.sendall(message(LOOKUP, field(T_USER, "alice"))[:7])
        # request_timeout = 1: the connection is closed, no answer.
        self.assert_closed(s)

    def test_chauthtok_rules(self):
        # Without the current password: refused to anyone but root...
        r = self.ask(CHAUTHTOK, field(T_USER, "bob"), field(T_NEW_PASSWORD, "new secret 1"))
        self.assertEqual(r[T_STATUS], BAD_REQUEST)
        # ...and the policy speaks for itself.
        r = self.ask(CHAUTHTOK, field(T_USER, "bob"), field(T_NEW_PASSWORD, "short"), field(T_FLAGS, FLAG_ADMIN_CHANGE))
        self.assertEqual(r[T_STATUS], REJECTED)
        self.assertIn(b"at least 8", r[T_TEXT])
        r = self.ask(CHAUTHTOK, field(T_USER, "bob"), field(T_PASSWORD, "wrong"), field(T_NEW_PASSWORD, "new secret 1"))
        self.assertEqual(r[T_STATUS], AUTH_FAILED)
        r = self.ask(CHAUTHTOK, field(T_USER, "bob"), field(T_PASSWORD, PASSWORD), field(T_NEW_PASSWORD, PASSWORD))
        self.assertEqual(r[T_STATUS], REJECTED)
        r = self.ask(CHAUTHTOK_CHECK, field(T_USER, "bob"), field(T_PASSWORD, PASSWORD))
        self.assertEqual(r[T_STATUS], OK)

    def test_session_close_unknown(self):
        r = self.ask(SESSION_OPEN, field(T_USER, "bob"), field(T_SERVICE, "raw"))
        self.assertEqual(r[T_STATUS], OK)
        sid = struct.unpack(">Q", r[0x0b])[0] if 0x0b in r else 0
        self.assertGreater(sid, 0)
        r = self.ask(SESSION_CLOSE, field(T_USER, "bob"), field(T_SESSION, struct.pack(">Q", sid + 1000)))
        self.assertEqual(r[T_STATUS], ERROR)
        r = self.ask(SESSION_CLOSE, field(T_USER, "bob"), field(T_SESSION, struct.pack(">Q", sid)))
        self.assertEqual(r[T_STATUS], OK)

    def test_items_escaped_in_log(self):
        # A remote host from a DNS answer, a service name: the refusal is
        # logged with them, and they can forge no line of the log nor
        # reach the terminal reading it.
        r = self.ask(AUTHENTICATE, field(T_USER, "alice"), field(T_PASSWORD, PASSWORD),
                     field(T_SERVICE, "sshd\ntesserad[1]: notice: forged"), field(T_RHOST, "\x1b[2Jhost\u202e"))
        self.assertEqual(r[T_STATUS], BAD_REQUEST)
        # Logged before the reply went out.
        log = self.t.log()
        self.assertIn("(service sshd\\ntesserad[1]: notice: forged, tty , from \\x1b[2Jhost\\u202e, remote user )",
                      log)
        self.assertNotRegex(log, r"(?m)^tesserad\[1\]")
        self.assertNotIn("\x1b", log)

    def test_caller_rule(self):
        require_root(self)
        script = (
            "import socket, sys, struct\n"
            f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
            "from test_pam_socket import *\n"
            "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
            "user, kind = sys.argv[2], int(sys.argv[3])\n"
            "fields = [field(T_USER, user)]\n"
            "if kind == CHAUTHTOK: fields += [field(T_NEW_PASSWORD, 'new secret 1'), field(T_FLAGS, FLAG_ADMIN_CHANGE)]\n"
            "if kind == AUTHENTICATE: fields += [field(T_PASSWORD, sys.argv[4])]\n"
            "s.sendall(message(kind, *fields)); print(read_reply(s)[T_STATUS])\n")

        def as_alice(user, kind, password=PASSWORD):
            p = self.t.run([sys.executable, "-c", script, self.t.pam_socket, user, str(kind), password], user=200010,
                           check=True)
            return int(p.stdout)

        # Alice for Alice: fine. Alice for Bob: refused, password right or not.
        self.assertEqual(as_alice("alice", AUTHENTICATE), OK)
        self.assertEqual(as_alice("bob", AUTHENTICATE), DENIED)
        self.assertEqual(as_alice("bob", LOOKUP), DENIED)
        self.assertEqual(as_alice("bob", ACCOUNT), DENIED)
        self.assertEqual(as_alice("bob", SESSION_OPEN), DENIED)
        # Not root: no password change without the current password, even her own.
        self.assertEqual(as_alice("alice", CHAUTHTOK), DENIED)
        denied = self.t.ctl("--json", "audit", "list", "--target", "bob@acme", check=True).stdout
        self.assertIn('"result": "denied"', denied)
        # Users that aren't ours stay none of tessera's business for anyone.
        self.assertEqual(as_alice("nosuch", LOOKUP), USER_UNKNOWN)

    def test_totp_policy_is_the_daemons_for_callers_not_root(self):
        """A caller that is not root can't choose a weaker TOTP policy than
        the daemon's [pam] totp (required by default): carol, enrolled,
        asking for herself with totp=never still has to give a code. Root's
        programs keep the policy of their PAM configuration."""
        require_root(self)
        self.t.ctl("user", "add", "carol@acme", "--uid", "200012", "--password-stdin", input=PASSWORD + "\n",
                   check=True)
        secret = json.loads(self.t.ctl("--json", "user", "totp", "enroll", "carol@acme", check=True).stdout)["secret"]
        code = subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, text=True,
                              check=True).stdout.strip()
        self.t.ctl("user", "totp", "confirm", "carol@acme", code, check=True)
        script = (
            "import socket, sys\n"
            f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
            "from test_pam_socket import *\n"
            "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
            "policy, flags = int(sys.argv[2]), int(sys.argv[3])\n"
            "s.sendall(message(AUTHENTICATE, field(T_USER, 'carol'), field(T_PASSWORD, sys.argv[4]),\n"
            "                  field(T_POLICY, policy), field(T_FLAGS, flags)))\n"
            "print(read_reply(s)[T_STATUS])\n")
        REQUIRED, OPTIONAL, NEVER = range(3)

        def as_carol(policy, flags=0, password=PASSWORD):
            p = self.t.run([sys.executable, "-c", script, self.t.pam_socket, str(policy), str(flags), password],
                           user=200012, check=True)
            return int(p.stdout)

        def as_root(policy, flags=0):
            return self.ask(AUTHENTICATE, field(T_USER, "carol"), field(T_PASSWORD, PASSWORD), field(T_POLICY, policy),
                            field(T_FLAGS, flags))[T_STATUS]

        self.assertEqual(as_carol(NEVER), AUTH_FAILED)
        self.assertEqual(as_carol(OPTIONAL), AUTH_FAILED)
        self.assertEqual(as_carol(NEVER, FLAG_PROBE), NEED_CODE)
        events = self.t.ctl("--json", "audit", "list", "--target", "carol@acme", "--action", "auth.login",
                            check=True).stdout
        last = [e for e in json.loads(events) if e["actor_uid"] == 200012][-1]
        self.assertEqual((last["details"]["totp_policy"], last["details"]["reason"]), ("required", "code missing"))
        # Root's caller (sshd, sudo) decides: never is never.
        self.t.ctl("user", "unlock", "carol@acme", check=True)
        self.assertEqual(as_root(NEVER), OK)
        self.assertEqual(as_root(REQUIRED), AUTH_FAILED)

    def test_connection_limit(self):
        # max_connections = 8: the ninth waits in the backlog until one closes.
        held = [self.connect() for _ in range(8)]
        late = self.connect()
        late.sendall(message(LOOKUP, field(T_USER, "alice")))
        late.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            late.recv(1)
        held[0].close()
        late.settimeout(20)
        self.assertEqual(read_reply(late)[T_STATUS], OK)


class PamSocketLoadTest(unittest.TestCase):
    """Password work beyond what the pool takes is refused, not queued
    without bound; lookups on the main loop don't wait behind it."""

    def test_flood(self):
        with Tessera(default_tenant="acme",
                     daemon_extra="worker_threads = 1\nmax_queued_jobs = 2\n",
                     config_extra="[passwords]\nhash_cost = 8\n") as t:
            t.ctl("tenant", "create", "acme", check=True)
            t.ctl("user", "add", "alice@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
            results, done_order, lock = [], [], threading.Lock()

            def auth(i):
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(60)
                s.connect(t.pam_socket)
                s.sendall(message(AUTHENTICATE, field(T_USER, "alice"), field(T_PASSWORD, PASSWORD)))
                status = read_reply(s)[T_STATUS]
                s.close()
                with lock:
                    results.append(status)
                    done_order.append("auth")

            threads = [threading.Thread(target=auth, args=(i,)) for i in range(12)]
            for th in threads:
                th.start()
            # While the pool works, a D-Bus call is answered at once.
            p = t.busctl("get-property", "org.tessera.Identity1", "/org/tessera/Identity1",
                         "org.tessera.Identity1.Manager", "Version", check=True)
            with lock:
                done_order.append("dbus")
            for th in threads:
                th.join()
            self.assertIn("s ", p.stdout)
            self.assertIn(BUSY, results)
            self.assertIn(OK, results)
            self.assertEqual(set(results) - {OK, BUSY}, set())
            # The bus call did not wait for all of the hashes.
            self.assertLess(done_order.index("dbus"), len(done_order) - 1)


class SecretKeyTest(unittest.TestCase):
    def test_key_file(self):
        with Tessera(default_tenant="acme") as t:
            key = os.path.join(t.state_dir, "secret.key")
            st = os.stat(key)
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_size), (0o600, 32))
            t.stop_daemon()
            os.chmod(key, 0o644)
            with self.assertRaises(TesseraError) as cm:
                t.start_daemon()
            self.assertIn("readable by it alone", str(cm.exception))
            os.chmod(key, 0o600)
            with open(key, "ab") as f:
                f.write(b"x")
            with self.assertRaises(TesseraError) as cm:
                t.start_daemon()
            self.assertIn("exactly 32 bytes", str(cm.exception))

    def test_credential(self):
        with Tessera(default_tenant="acme") as t:
            t.stop_daemon()
            os.unlink(os.path.join(t.state_dir, "secret.key"))
            creds = os.path.join(t.dir, "credentials")
            os.makedirs(creds)
            with open(os.path.join(creds, "tessera.key"), "wb") as f:
                f.write(os.urandom(32))
            os.chmod(os.path.join(creds, "tessera.key"), 0o400)
            t.start_daemon(env={"CREDENTIALS_DIRECTORY": creds})
            self.assertFalse(os.path.exists(os.path.join(t.state_dir, "secret.key")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
