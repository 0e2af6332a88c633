#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesseractl invitation (create, list, resend, revoke; text and --json)
and the Tenant interface's invitation methods on D-Bus, against the real
daemon on a private bus, with mail written to the development outbox
folder: the mailed link is accepted over the JSON API, the same core as
the D-Bus methods. Exit codes and D-Bus errors for bad input (an unknown
role, a bad address, an unknown or malformed id, a second invitation to one
address) and for callers without the right (not the admin group)."""

import email
import email.policy
import glob
import json
import os
import re
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import NOBODY, Tessera  # noqa: E402

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_DENIED, EXIT_REFUSED = 2, 3, 4, 5
PASSWORD = "correct horse battery"
TENANT_PATH = "/org/tessera/Identity1/tenant/acme"
LINK = re.compile(r"https?://\S+/t/acme/accept-invitation\?token=([A-Za-z0-9_-]+)")


class InvitationCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme", config_extra="[mail]\nfrom = tessera@example.com\n"
                                                              "outbox_directory = {outbox}\n")
        cls.outbox = os.path.join(cls.t.dir, "outbox")
        cls.t.config_extra = cls.t.config_extra.replace("{outbox}", cls.outbox)
        cls.t.start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", "--display-name", "Acme Inc", check=True)

    def ctl(self, *args, code=0, **kw):
        p = self.t.ctl(*args, **kw)
        self.assertEqual(p.returncode, code, f"tesseractl {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        return p

    def ctl_json(self, *args, **kw):
        return json.loads(self.ctl("--json", *args, **kw).stdout)

    def mails_to(self, address):
        out = []
        for path in sorted(glob.glob(os.path.join(self.outbox, "*.eml"))):
            with open(path, "rb") as f:
                m = email.message_from_bytes(f.read(), policy=email.policy.default)
            if m["To"].addresses[0].addr_spec == address:
                out.append(m)
        return out

    def token_for(self, address, n):
        """The token of the n-th mail to address, once it is written."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            mails = self.mails_to(address)
            if len(mails) >= n:
                text = mails[n - 1].get_body(("plain",)).get_content()
                return LINK.search(text).group(1)
            time.sleep(0.05)
        self.fail(f"no mail {n} to {address} in {self.outbox}")

    def accept(self, token, name):
        req = urllib.request.Request(
            self.t.base_url + "/api/v1/tenants/acme/auth/accept-invitation",
            data=json.dumps({"token": token, "name": name, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_create_list_resend_revoke(self):
        j = self.ctl_json("invitation", "create", "ann@example.org", "--role", "admin", "--tenant", "acme")
        self.assertRegex(j["id"], r"^inv_\d+$")
        self.assertEqual((j["email"], j["role"]), ("ann@example.org", "admin"))
        self.assertGreater(j["expires_usec"], time.time() * 1e6 + 6 * 86400e6)
        first = self.token_for("ann@example.org", 1)
        listed = self.ctl_json("invitation", "list", "--tenant", "acme")
        mine = [i for i in listed if i["id"] == j["id"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["email"], mine[0]["role"], mine[0]["invited_by"]),
                         ("ann@example.org", "admin", "uid 0"))
        table = self.ctl("invitation", "list", "--tenant", "acme").stdout
        self.assertIn("ann@example.org", table)
        self.assertIn("INVITED BY", table)
        # A resend mails a new link; the first stops working.
        r = self.ctl_json("invitation", "resend", j["id"], "--tenant", "acme")
        self.assertEqual(r["id"], j["id"])
        second = self.token_for("ann@example.org", 2)
        self.assertNotEqual(first, second)
        self.assertEqual(self.accept(first, "ann")[0], 400)
        status, body = self.accept(second, "ann")
        self.assertEqual(status, 201, body)
        self.assertEqual(body["user"]["role"], "admin")
        self.assertEqual(self.ctl_json("user", "show", "ann@acme")["role"], "admin")
        # Accepted: no longer listed, nothing to revoke or resend.
        self.assertNotIn(j["id"], [i["id"] for i in self.ctl_json("invitation", "list", "--tenant", "acme")])
        p = self.ctl("invitation", "revoke", j["id"], "--tenant", "acme", code=EXIT_NOT_FOUND)
        self.assertIn("no pending invitation", p.stderr)
        self.ctl("invitation", "resend", j["id"], "--tenant", "acme", code=EXIT_NOT_FOUND)

        k = self.ctl_json("invitation", "create", "bob@example.org", "--tenant", "acme")
        self.assertEqual(k["role"], "member")
        token = self.token_for("bob@example.org", 1)
        p = self.ctl("invitation", "revoke", k["id"], "--tenant", "acme")
        self.assertIn(f"Revoked {k['id']}", p.stdout)
        self.assertEqual(self.accept(token, "bob")[0], 400)
        audit = self.ctl_json("audit", "list", "--action", "invitation.revoke")
        self.assertTrue(any(e.get("target") == "bob@example.org" for e in audit), audit)

    def test_bad_input(self):
        p = self.ctl("invitation", "create", "carl@example.org", "--role", "king", "--tenant", "acme",
                     code=EXIT_REFUSED)
        self.assertIn("Unknown role", p.stderr)
        p = self.ctl("invitation", "create", "not-an-address", "--tenant", "acme", code=EXIT_REFUSED)
        self.assertIn("not a valid e-mail address", p.stderr)
        self.ctl("invitation", "create", "dup@example.org", "--tenant", "acme")
        p = self.ctl("invitation", "create", "DUP@example.org", "--tenant", "acme", code=EXIT_REFUSED)
        self.assertIn("pending invitation", p.stderr)
        self.ctl("invitation", "revoke", "inv_999999", "--tenant", "acme", code=EXIT_NOT_FOUND)
        self.ctl("invitation", "revoke", "nonsense", "--tenant", "acme", code=EXIT_NOT_FOUND)
        self.ctl("invitation", "list", code=EXIT_USAGE)
        self.ctl("invitation", "create", "--tenant", "acme", code=EXIT_USAGE)
        self.ctl("invitation", "list", "--tenant", "nope", code=EXIT_NOT_FOUND)
        self.assertEqual(len(self.mails_to("carl@example.org")), 0)

    def test_refused_without_the_admin_group(self):
        for args in (("invitation", "create", "eve@example.org", "--tenant", "acme"),
                     ("invitation", "list", "--tenant", "acme"),
                     ("invitation", "revoke", "inv_1", "--tenant", "acme")):
            with self.subTest(args=args):
                self.ctl(*args, user=NOBODY, code=EXIT_DENIED)
        audit = self.ctl_json("audit", "list", "--action", "invitation.create")
        self.assertTrue(any(e.get("result") == "denied" for e in audit), audit)

    def test_dbus(self):
        out = self.t.busctl("call", "org.tessera.Identity1", TENANT_PATH,
                            "org.tessera.Identity1.Tenant", "CreateInvitation", "ss", "dan@example.org", "owner")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r'^st "inv_\d+" \d+')
        out = self.t.busctl("call", "org.tessera.Identity1", TENANT_PATH,
                            "org.tessera.Identity1.Tenant", "CreateInvitation", "ss", "x@example.org", "king")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("Unknown role", out.stderr + out.stdout)
        out = self.t.gdbus(TENANT_PATH, "org.tessera.Identity1.Tenant.CreateInvitation", "x@example.org", "king")
        self.assertIn("org.tessera.Identity1.Error.InvalidArgument", out.stderr + out.stdout)
        out = self.t.busctl("call", "org.tessera.Identity1", TENANT_PATH,
                            "org.tessera.Identity1.Tenant", "RevokeInvitation", "s", "inv_0")
        self.assertNotEqual(out.returncode, 0)
        out = self.t.gdbus(TENANT_PATH, "org.tessera.Identity1.Tenant.RevokeInvitation", "inv_0")
        self.assertIn("org.tessera.Identity1.Error.NotFound", out.stderr + out.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
