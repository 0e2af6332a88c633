#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The admin view of users on D-Bus and in tesseractl: Tenant.SearchUsers
(a page of users by a prefix of the name or e-mail address, state, role and
creation time, continued after an opaque cursor) and `tesseractl user list`
with its search options, against the real daemon on a private bus. The
same core operation as GET /api/v1/tenants/{tenant}/users."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import Tessera  # noqa: E402

DEST = "org.tessera.Identity1"
TENANT = "org.tessera.Identity1.Tenant"
PATH = "/org/tessera/Identity1/tenant/acme"


class UserSearchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme").start()
        cls.addClassCleanup(cls.t.close)
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "other", check=True)
        for name, extra in (("ann", ["--role", "admin"]), ("amy", []), ("bob", ["--email", "Bob@Example.com"]),
                            ("dan", []), ("lou", []), ("abe", [])):
            t.ctl("user", "add", f"{name}@acme", *extra, check=True)
        t.ctl("user", "add", "alf@other", check=True)
        t.ctl("user", "disable", "dan@acme", check=True)
        t.ctl("user", "lock", "lou@acme", check=True)

    def names(self, *args, code=0):
        p = self.t.ctl("--json", "user", "list", "--tenant", "acme", *args)
        self.assertEqual(p.returncode, code, p.stderr)
        return [u["name"] for u in json.loads(p.stdout)] if code == 0 else p.stderr

    def search(self, filters, limit, cursor="", ok=True):
        args = [str(len(filters))]
        for key, (sig, value) in filters.items():
            args += [key, sig, str(value)]
        p = self.t.busctl("--json=short", "call", DEST, PATH, TENANT, "SearchUsers", "a{sv}us", *args, str(limit),
                          cursor)
        if not ok:
            self.assertNotEqual(p.returncode, 0, p.stdout)
            return p.stderr
        self.assertEqual(p.returncode, 0, p.stderr)
        paths, next_cursor = json.loads(p.stdout)["data"]
        return [path.rsplit("/", 1)[1] for path in paths], next_cursor

    def test_cli_filters(self):
        self.assertEqual(self.names(), ["abe", "amy", "ann", "bob", "dan", "lou"])
        self.assertEqual(self.names("--search", "a"), ["abe", "amy", "ann"])
        self.assertEqual(self.names("--search", "BOB@EXAMPLE"), ["bob"])
        self.assertEqual(self.names("--search", "zz"), [])
        self.assertEqual(self.names("--state", "disabled"), ["dan"])
        self.assertEqual(self.names("--state", "locked"), ["lou"])
        self.assertEqual(self.names("--state", "active"), ["abe", "amy", "ann", "bob"])
        self.assertEqual(self.names("--role", "admin"), ["ann"])
        self.assertEqual(self.names("--limit", "2"), ["abe", "amy"])
        self.assertEqual(self.names("--sort", "created"), ["ann", "amy", "bob", "dan", "lou", "abe"])
        self.assertEqual(self.names("--created-before", "2000-01-01"), [])
        self.assertEqual(self.names("--created-after", "2000-01-01T00:00:00Z", "--search", "a"),
                         ["abe", "amy", "ann"])
        # The table has the same users.
        p = self.t.ctl("user", "list", "--tenant", "acme", "--search", "a", check=True)
        self.assertEqual([line.split()[0] for line in p.stdout.splitlines()[1:]], ["abe", "amy", "ann"])

    def test_cli_bad_input(self):
        self.assertIn("active, disabled, locked or expired", self.names("--state", "asleep", code=5))
        self.assertIn("--created-after", self.names("--created-after", "yesterday", code=2))
        self.assertIn("--limit", self.names("--limit", "0", code=2))

    def test_dbus_pages(self):
        seen, cursor, pages = [], "", 0
        while True:
            page, cursor = self.search({}, 2, cursor)
            seen += page
            pages += 1
            if not cursor:
                break
        self.assertEqual(seen, ["abe", "amy", "ann", "bob", "dan", "lou"])
        self.assertEqual(pages, 4)      # three full pages, and the empty one that says the end
        page, cursor = self.search({"Prefix": ("s", "a"), "Sort": ("s", "created")}, 2)
        self.assertEqual(page, ["ann", "amy"])
        page, cursor = self.search({"Prefix": ("s", "a"), "Sort": ("s", "created")}, 2, cursor)
        self.assertEqual(page, ["abe"])
        self.assertEqual(cursor, "")

    def test_dbus_bad_input(self):
        _, cursor = self.search({}, 2)
        # A cursor altered, or taken to another query.
        flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
        self.assertIn("cursor", self.search({}, 2, flipped, ok=False))
        self.assertIn("cursor", self.search({"Prefix": ("s", "a")}, 2, cursor, ok=False))
        self.assertIn("Colour", self.search({"Colour": ("s", "red")}, 2, ok=False))
        self.search({"State": ("u", 1)}, 2, ok=False)
        self.search({}, 0, ok=False)
        self.search({}, 201, ok=False)
        self.search({"Prefix": ("s", "a" * 255)}, 2, ok=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
