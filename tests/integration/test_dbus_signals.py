#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus signals come from the core's change events: a change made through
any door (a lockout after failed passwords on the PAM socket or failed
sign-ins on the web, a password set at PAM chauthtok, a backup code spent
at a login, a D-Bus call) is signalled on its object, and exactly once;
a change of one object that changes another's properties (a deleted group,
its members' Groups; a deleted user, its groups' Members) is signalled on
both.

The listener is `gdbus monitor`, an ordinary client of the bus that
subscribes to the daemon's signals as any client would. After the changes
a test makes, it makes one more, on a marker tenant, and reads up to that
one's signal: the daemon announces changes in the order they were made, so
every signal of the changes before is in by then, and nothing is waited for
by the clock."""

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402
from test_pam_socket import (AUTH_FAILED, AUTHENTICATE, CHAUTHTOK, FLAG_ADMIN_CHANGE, OK, T_CODE,  # noqa: E402
                             T_FLAGS, T_NEW_PASSWORD, T_PASSWORD, T_STATUS, T_TEXT, T_USER, field, message,
                             read_reply)

DEST = "org.tessera.Identity1"
ROOT = "/org/tessera/Identity1"
IFACE = "org.tessera.Identity1."
PASSWORD = "correct horse battery"
FAILURES = 3                   # [auth] lockout_failures below
WAIT = 60                      # seconds; generous for sanitizer builds

SIGNAL_LINE = re.compile(r"^(/\S*): ([\w.]+)\.(\w+) \((.*)\)$")


class Signal:
    def __init__(self, path, member, args):
        self.member = member
        self.args = args
        # The object it is about: the sender's object for PropertiesChanged,
        # the first argument for InterfacesAdded and InterfacesRemoved.
        m = re.match(r"objectpath '([^']+)'", args)
        self.object = m.group(1) if m else path

    def __repr__(self):
        return f"{self.member} {self.object} {self.args[:200]}"

    def prop(self, name):
        """The text of a property's value in the signal, or None."""
        m = re.search(r"'" + name + r"': <([^>]*)>", self.args)
        return m.group(1) if m else None


class SignalWatch:
    """gdbus monitor on the daemon's name, read on a thread of its own."""

    def __init__(self, t):
        self.t = t
        self.marks = 0
        self.lines = queue.Queue()
        self.proc = subprocess.Popen(["gdbus", "monitor", "--system", "--dest", DEST], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=t.env())
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        # gdbus subscribes first and asks who owns the name second, on one
        # connection: once it prints the owner, the bus has our match rule.
        self.next_line(lambda line: "is owned by" in line)

    def read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, wanted):
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError("gdbus monitor printed nothing for a minute") from None
            if line is None:
                raise AssertionError("gdbus monitor exited")
            if wanted(line):
                return line

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()

    def signals(self):
        """The signals of every change made so far (and not read before):
        makes one more change, on the marker tenant, and returns what came
        before its signal."""
        self.marks += 1
        mark = f"mark {self.marks}"
        self.t.busctl("call", DEST, ROOT + "/tenant/mark", IFACE + "Tenant", "Update", "a{sv}", "1",
                      "DisplayName", "s", mark, check=True)
        seen = []
        while True:
            m = SIGNAL_LINE.match(self.next_line(lambda line: SIGNAL_LINE.match(line) is not None))
            s = Signal(m.group(1), m.group(3), m.group(4))
            if s.object == ROOT + "/tenant/mark":
                if s.member == "PropertiesChanged" and f"'{mark}'" in s.args:
                    return seen
                continue
            seen.append(s)


def user_path(name):
    return f"{ROOT}/user/acme/{name}"


def group_path(name):
    return f"{ROOT}/group/acme/{name}"


class SignalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme",
                        config_extra=f"[auth]\nlockout_failures = {FAILURES}\nlockout_time = 600\n").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("tenant", "create", "mark", check=True)
        cls.web = json.loads(cls.t.ctl("--json", "app", "create", "web@acme", "--redirect-uri",
                                       "https://app.example/cb", "--first-party", check=True).stdout)

    def setUp(self):
        self.watch = SignalWatch(self.t)
        self.addCleanup(self.watch.close)

    def add_user(self, name):
        self.t.ctl("user", "add", f"{name}@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        self.watch.signals()      # not this test's business

    def of(self, signals, obj):
        return [s for s in signals if s.object == obj]

    def assert_locked(self, signals, name):
        changed = self.of(signals, user_path(name))
        self.assertEqual([s.member for s in changed], ["PropertiesChanged"], signals)
        self.assertEqual(changed[0].prop("State"), "'locked'", changed[0])
        self.assertRegex(changed[0].prop("LockedUntil"), r"^uint64 [1-9]\d*$")

    # -- changes made through other doors ---------------------------------------

    def test_pam_lockout(self):
        self.add_user("pamlock")
        for _ in range(FAILURES):
            with self.t_socket() as s:
                s.sendall(message(AUTHENTICATE, field(T_USER, "pamlock"), field(T_PASSWORD, "wrong password")))
                self.assertEqual(read_reply(s)[T_STATUS], AUTH_FAILED)
        self.assert_locked(self.watch.signals(), "pamlock")

    def test_web_sign_in_lockout(self):
        self.add_user("weblock")
        app = self.web
        browser = Client(self.t.base_url)
        _, challenge = pkce_pair()
        page = browser.get("/t/acme/authorize?" + "&".join(f"{k}={v}" for k, v in {
            "client_id": app["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
            "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}.items()))
        self.assertEqual(page.status, 200, page.text[:300])
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        for _ in range(FAILURES):
            r = browser.post("/t/acme/login", form={**form, "login": "weblock", "password": "wrong password"})
            self.assertEqual(r.status, 401, r.text[:300])
        self.assert_locked(self.watch.signals(), "weblock")

    def test_pam_password_change(self):
        self.add_user("pampw")
        before = self.t.busctl("get-property", DEST, user_path("pampw"), IFACE + "User", "PasswordChangedTime",
                               check=True).stdout.split()[-1]
        with self.t_socket() as s:
            s.sendall(message(CHAUTHTOK, field(T_USER, "pampw"), field(T_NEW_PASSWORD, "a new passphrase"),
                              field(T_FLAGS, FLAG_ADMIN_CHANGE)))
            self.assertEqual(read_reply(s)[T_STATUS], OK)
        changed = self.of(self.watch.signals(), user_path("pampw"))
        self.assertEqual([s.member for s in changed], ["PropertiesChanged"], changed)
        self.assertNotEqual(changed[0].prop("PasswordChangedTime"), f"uint64 {before}")

    # -- changes made on the bus: one signal each, not two -----------------------

    def test_bus_changes_signalled_once(self):
        t = self.t
        t.ctl("user", "add", "once@acme", check=True)
        signals = self.watch.signals()
        self.assertEqual([(s.member, s.object) for s in signals],
                         [("InterfacesAdded", user_path("once")), ("InterfacesAdded", ROOT + "/group/acme/once")])

        user, group, app = user_path("once"), ROOT + "/group/acme/team", ROOT + "/application/acme/web"
        steps = [
            ("User.Update", lambda: t.ctl("user", "set", "once@acme", "--real-name", "Once More", check=True),
             [user], lambda s: self.assertEqual(s[0].prop("RealName"), "'Once More'")),
            ("User.Lock", lambda: t.ctl("user", "lock", "once@acme", check=True), [user],
             lambda s: self.assertEqual(s[0].prop("State"), "'locked'")),
            ("User.SetPassword", lambda: t.ctl("user", "passwd", "once@acme", "--password-stdin",
                                               input="another passphrase\n", check=True), [user],
             lambda s: self.assertEqual(s[0].prop("HasPassword"), "true")),
            ("Tenant.CreateGroup", lambda: t.ctl("group", "add", "team@acme", check=True), [group],
             lambda s: self.assertEqual(s[0].member, "InterfacesAdded")),
            # The group's members and the member's groups: one signal each.
            ("Group.AddMember", lambda: t.ctl("group", "add-member", "team@acme", "once", check=True),
             [group, user], lambda s: self.assertEqual(s[1].prop("Groups"), "['team']")),
            ("Application.RotateSecret", lambda: t.ctl("app", "rotate-secret", "web@acme", check=True), [app],
             lambda s: self.assertIsNotNone(s[0].prop("SecretChangedTime"))),
        ]
        for what, change, objects, check in steps:
            with self.subTest(what):
                change()
                signals = self.watch.signals()
                self.assertEqual([s.object for s in signals], objects, signals)
                check(signals)

    def test_delete_removes_user_and_private_group(self):
        self.add_user("gone")
        self.t.ctl("user", "delete", "gone@acme", check=True)
        signals = self.watch.signals()
        self.assertEqual([(s.member, s.object) for s in signals],
                         [("InterfacesRemoved", user_path("gone")), ("InterfacesRemoved", ROOT + "/group/acme/gone")])
        self.assertIn(IFACE + "User", signals[0].args)
        self.assertIn(IFACE + "Group", signals[1].args)

    def test_backup_code_login(self):
        """A backup code spent at a PAM login leaves one fewer: the user's
        BackupCodesLeft changes, and the bus says so."""
        self.add_user("backup")
        secret = json.loads(self.t.ctl("--json", "user", "totp", "enroll", "backup@acme", check=True).stdout)["secret"]
        code = subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, text=True,
                              check=True).stdout.strip()
        codes = json.loads(self.t.ctl("--json", "user", "totp", "confirm", "backup@acme", code,
                                      check=True).stdout)["backup_codes"]
        self.watch.signals()      # the enrollment's
        with self.t_socket() as s:
            s.sendall(message(AUTHENTICATE, field(T_USER, "backup"), field(T_PASSWORD, PASSWORD),
                              field(T_CODE, codes[0])))
            reply = read_reply(s)
        self.assertEqual(reply[T_STATUS], OK, reply)
        self.assertIn(f"{len(codes) - 1} left", reply.get(T_TEXT, b"").decode())
        changed = self.of(self.watch.signals(), user_path("backup"))
        self.assertEqual([s.member for s in changed], ["PropertiesChanged"], changed)
        # BackupCodesLeft is private: invalidated, its value not sent.
        self.assertRegex(changed[0].args, r"\[[^\]]*'BackupCodesLeft'[^\]]*\]$")
        left = self.t.busctl("get-property", DEST, user_path("backup"), IFACE + "User", "BackupCodesLeft",
                             check=True).stdout.split()
        self.assertEqual(left, ["u", str(len(codes) - 1)])

    def test_group_delete_changes_members_groups(self):
        for name in ("member1", "member2"):
            self.add_user(name)
        self.t.ctl("group", "add", "crew@acme", check=True)
        for name in ("member1", "member2"):
            self.t.ctl("group", "add-member", "crew@acme", name, check=True)
        self.watch.signals()
        self.t.ctl("group", "delete", "crew@acme", check=True)
        signals = self.watch.signals()
        self.assertEqual(sorted((s.member, s.object) for s in signals),
                         [("InterfacesRemoved", group_path("crew")),
                          ("PropertiesChanged", user_path("member1")),
                          ("PropertiesChanged", user_path("member2"))], signals)
        for s in signals:
            if s.member == "PropertiesChanged":
                self.assertEqual(s.prop("Groups"), "@as []", s)

    def test_user_delete_changes_groups_members(self):
        self.add_user("leaver")
        self.add_user("stayer")
        for group in ("red", "blue"):
            self.t.ctl("group", "add", f"{group}@acme", check=True)
            for name in ("leaver", "stayer"):
                self.t.ctl("group", "add-member", f"{group}@acme", name, check=True)
        self.watch.signals()
        self.t.ctl("user", "delete", "leaver@acme", check=True)
        signals = self.watch.signals()
        self.assertEqual(sorted((s.member, s.object) for s in signals),
                         [("InterfacesRemoved", group_path("leaver")),
                          ("InterfacesRemoved", user_path("leaver")),
                          ("PropertiesChanged", group_path("blue")),
                          ("PropertiesChanged", group_path("red"))], signals)
        for s in signals:
            if s.member == "PropertiesChanged":
                self.assertEqual(s.prop("Members"), "['stayer']", s)

    def t_socket(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        s.connect(self.t.pam_socket)
        return s


if __name__ == "__main__":
    unittest.main(verbosity=2)
