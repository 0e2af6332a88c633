#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A password reset by mail ends every session of the account, host logins
too: a host session opened through the real pam_tessera.so (libpam through
pam_wrapper, driven by pamtester) is closed in the store by the reset over
HTTP, gone from GET .../me/sessions, and the reset's audit event names it. The same for a password change over HTTP that does not keep the
other sessions (which ends them through "revoke the others"); one that
keeps them leaves the host login open."""

import email
import email.policy
import glob
import json
import os
import re
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
from tessera_env import PamServices, Tessera  # noqa: E402
from oidc_client import Client  # noqa: E402

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new staple for the horse"
API = "/api/v1/tenants/acme"
LINK = re.compile(r"/t/acme/reset-password\?token=([A-Za-z0-9_-]+)")


class ResetEndsHostSessionsTest(unittest.TestCase):
    uid = 200500

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera-reset-host-")
        cls.outbox = os.path.join(cls.dir, "outbox")
        os.makedirs(cls.outbox)
        cls.t = Tessera(default_tenant="acme",
                        config_extra=f"[auth]\nforgot_delay = 20\n"
                                     f"[mail]\nfrom = noreply@tessera.test\noutbox_directory = {cls.outbox}\n"
                                     "[limits]\nmail_address_burst = 1000\nmail_account_burst = 1000\n").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.pam = PamServices(cls.t)
        cls.pam.add("login", "auth required {module} socket={socket} nodelay",
                    "account required {module} socket={socket}",
                    "session required {module} socket={socket}")
        cls.c = Client(cls.t.base_url)

    def user(self, name):
        ResetEndsHostSessionsTest.uid += 1
        self.t.ctl("user", "add", f"{name}@acme", "--uid", str(self.uid), "--email", f"{name}@acme.example",
                   "--password-stdin", input=PASSWORD + "\n", check=True)

    def open_host_session(self, name, tty):
        """A login through pam_tessera.so: authenticate, then open the
        session (and leave it open, as a login that goes on)."""
        p = self.pam.pamtester("login", name, "authenticate", "open_session", input=PASSWORD + "\n",
                               items=(f"tty={tty}", "rhost=192.0.2.44"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def host_sessions(self, name):
        return json.loads(self.t.ctl("--json", "session", "list", f"{name}@acme", check=True).stdout)

    def signin(self, name, password):
        r = self.c.post(API + "/auth/signin", json_body={"login": name, "password": password})
        self.assertEqual(r.status, 200, r.text)
        return r.json["session"]["token"]

    def listed(self, token):
        r = self.c.get(API + "/me/sessions", headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200, r.text)
        return r.json["items"]

    def reset_token(self, address, seen):
        """The token of the reset mail to address, from the outbox folder
        the daemon's mail worker writes into."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for path in sorted(glob.glob(os.path.join(self.outbox, "*.eml"))):
                if path in seen:
                    continue
                with open(path, "rb") as f:
                    m = email.message_from_binary_file(f, policy=email.policy.default)
                found = LINK.search(m.get_body(("plain",)).get_content())
                if found and str(m["To"]) == address:
                    seen.add(path)
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no reset mail to {address} in {self.outbox}")

    def test_reset_ends_host_sessions(self):
        self.user("hank")
        self.open_host_session("hank", "pts/4")
        self.open_host_session("hank", "tty5")
        opened = self.host_sessions("hank")
        self.assertEqual([s["closed_usec"] for s in opened], [0, 0])
        before = self.listed(self.signin("hank", PASSWORD))
        self.assertEqual(sorted(i["tty"] for i in before if i["kind"] == "host"), ["pts/4", "tty5"])

        # "forgot", the mailed token, the reset: over HTTP, as a person would.
        r = self.c.post(API + "/auth/forgot", json_body={"email": "hank@acme.example"})
        self.assertEqual(r.status, 200, r.text)
        token = self.reset_token("hank@acme.example", set())
        r = self.c.post(API + "/auth/reset", json_body={"token": token, "new_password": NEW_PASSWORD})
        self.assertEqual(r.status, 200, r.text)

        # Every host login of the account is closed in the store...
        after = self.host_sessions("hank")
        self.assertEqual(len(after), 2)
        for s in after:
            self.assertGreater(s["closed_usec"], 0, s)
        # ...gone from the account's list (of a fresh sign-in)...
        items = self.listed(self.signin("hank", NEW_PASSWORD))
        self.assertEqual([i for i in items if i["kind"] == "host"], [])
        # ...and the reset's audit event says which.
        ev = json.loads(self.t.ctl("--json", "audit", "list", "--action", "auth.reset-password", "--target",
                                   "hank@acme", check=True).stdout)
        ok = [e for e in ev if e["result"] == "success"]
        self.assertEqual(len(ok), 1, ev)
        self.assertEqual(sorted(ok[0]["details"]["host_sessions"]), sorted(s["id"] for s in opened))
        # Another user's host login is not touched.
        self.user("ivan")
        self.open_host_session("ivan", "pts/8")
        self.assertEqual([s["closed_usec"] for s in self.host_sessions("ivan")], [0])

    def test_password_change_ends_host_sessions_unless_kept(self):
        self.user("jill")
        self.open_host_session("jill", "pts/6")
        token = self.signin("jill", PASSWORD)
        # Kept: the host login stays open.
        r = self.c.post(API + "/me/password", json_body={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                         "keep_other_sessions": True},
                        headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([s["closed_usec"] for s in self.host_sessions("jill")], [0])
        # Not kept: ended with the others.
        r = self.c.post(API + "/me/password", json_body={"current_password": NEW_PASSWORD, "new_password": PASSWORD},
                        headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200, r.text)
        closed = self.host_sessions("jill")
        self.assertEqual(len(closed), 1)
        self.assertGreater(closed[0]["closed_usec"], 0)
        self.assertEqual([i for i in self.listed(token) if i["kind"] == "host"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
