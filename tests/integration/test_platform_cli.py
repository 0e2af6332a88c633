#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesseractl operator add|list|remove and entitlement get|set against the
real tesserad on a private bus, and their D-Bus methods (Manager's
AddOperator, ListOperators, RemoveOperator; Tenant's GetEntitlements,
SetEntitlements): output for people and for programs (--json), the TOTP
seed shown once and never stored in the clear, exit codes and messages
for bad input and for callers that may not (each refusal audited), and
the limits set here enforced on the next user made."""

import base64
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import NOBODY, Tessera, require_root  # noqa: E402

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_DENIED, EXIT_REFUSED = 2, 3, 4, 5
PASSWORD = "operators keep the lights on"


class PlatformCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("tenant", "create", "globex", check=True)

    def ctl(self, *args, code=0, **kw):
        p = self.t.ctl(*args, **kw)
        self.assertEqual(p.returncode, code, f"tesseractl {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        return p

    def ctl_json(self, *args, **kw):
        return json.loads(self.ctl("--json", *args, **kw).stdout)

    def count(self, sql):
        return int(self.t.sqlite(sql)[0][0])

    # -- operators ---------------------------------------------------------

    def test_operator_add_list_remove(self):
        made = self.ctl_json("operator", "add", "olga", "--email", "olga@platform.example", "--password-stdin",
                             input=PASSWORD + "\n")
        self.assertEqual((made["name"], made["email"]), ("olga", "olga@platform.example"))
        secret = made["totp_secret"]
        self.assertEqual(len(base64.b32decode(secret + "=" * (-len(secret) % 8))), 20)
        self.assertTrue(made["totp_uri"].startswith("otpauth://totp/"))
        self.assertIn("secret=" + secret, made["totp_uri"])
        # Stored sealed, the password hashed: neither in the clear.
        row = self.t.sqlite(f"SELECT {self.t.sql_hex('totp_secret_box')}, password_hash FROM operators WHERE name = 'olga'")[0]
        self.assertNotIn(base64.b32decode(secret + "=" * (-len(secret) % 8)).hex().upper(), row[0])
        self.assertTrue(row[1].startswith("$"))
        self.assertNotIn(PASSWORD, row[1])

        p = self.ctl("operator", "add", "otto", "--email", "otto@platform.example", "--password-stdin",
                     input=PASSWORD + "\n")
        self.assertIn("Added operator otto.", p.stdout)
        self.assertIn("not\nshown again", p.stdout)
        self.assertRegex(p.stdout, r"Secret: +[A-Z2-7]{32}")

        listed = self.ctl_json("operator", "list")
        self.assertEqual([(o["name"], o["email"]) for o in listed],
                         [("olga", "olga@platform.example"), ("otto", "otto@platform.example")])
        self.assertTrue(all(o["created_usec"] > 0 and o["last_signin_usec"] == 0 for o in listed))
        table = self.ctl("operator", "list").stdout
        self.assertRegex(table, r"NAME +EMAIL +CREATED +LAST SIGN-IN")
        self.assertRegex(table, r"otto +otto@platform.example")

        # Over D-Bus, by name: the secret is never listed.
        r = self.t.gdbus("/org/tessera/Identity1", "org.tessera.Identity1.Manager.ListOperators", check=True)
        self.assertIn("'olga', 'olga@platform.example'", r.stdout)
        self.assertNotIn(secret, r.stdout)

        self.ctl("operator", "remove", "otto")
        self.assertEqual([o["name"] for o in self.ctl_json("operator", "list")], ["olga"])
        p = self.ctl("operator", "remove", "otto", code=EXIT_NOT_FOUND)
        self.assertIn("No operator is named 'otto'", p.stderr)
        self.assertEqual(self.count("SELECT count(*) FROM audit_events WHERE action = 'operator.remove' "
                                    "AND target = 'operator:otto' AND result = 'success'"), 1)

    def test_operator_bad_input(self):
        p = self.ctl("operator", "add", "Bad Name", "--email", "x@example.com", "--password-stdin",
                     input=PASSWORD + "\n", code=EXIT_REFUSED)
        self.assertIn("not a valid operator name", p.stderr)
        p = self.ctl("operator", "add", "nomail", "--email", "not-an-address", "--password-stdin",
                     input=PASSWORD + "\n", code=EXIT_REFUSED)
        self.assertIn("not a valid e-mail address", p.stderr)
        self.ctl("operator", "add", "nomail", "--password-stdin", input=PASSWORD + "\n", code=EXIT_USAGE)
        self.ctl("operator", "add", "twice", "--email", "t@example.com", "--password-stdin", input=PASSWORD + "\n")
        p = self.ctl("operator", "add", "twice", "--email", "t@example.com", "--password-stdin",
                     input=PASSWORD + "\n", code=EXIT_REFUSED)
        self.assertIn("already exists", p.stderr)
        self.ctl("operator", "add", code=EXIT_USAGE)
        self.ctl("operator", "list", "extra", code=EXIT_USAGE)
        self.assertEqual(self.count("SELECT count(*) FROM operators WHERE name IN ('nomail', 'Bad Name')"), 0)
        self.assertEqual(self.count("SELECT count(*) FROM operators WHERE name = 'twice'"), 1)

    def test_unprivileged_caller(self):
        require_root(self)
        before = self.count("SELECT coalesce(sum(count), 0) FROM audit_events WHERE action = 'operator.manage' "
                            "AND result = 'denied'")
        p = self.ctl("operator", "add", "evil", "--email", "e@example.com", "--password-stdin",
                     input=PASSWORD + "\n", user=NOBODY, code=EXIT_DENIED)
        self.assertIn("Only root and the tessera admin group manage operators.", p.stderr)
        self.ctl("operator", "list", user=NOBODY, code=EXIT_DENIED)
        self.ctl("operator", "remove", "olga", user=NOBODY, code=EXIT_DENIED)
        p = self.ctl("entitlement", "set", "acme", "--max-users", "1", user=NOBODY, code=EXIT_DENIED)
        # Anybody on the host may read a tenant's plan, as its members may.
        self.assertIn("max_users", self.ctl("--json", "entitlement", "get", "acme", user=NOBODY).stdout)
        self.assertEqual(self.count("SELECT coalesce(sum(count), 0) FROM audit_events WHERE action = "
                                    "'operator.manage' AND result = 'denied'"), before + 3)
        self.assertEqual(self.count("SELECT count(*) FROM operators WHERE name = 'evil'"), 0)

    # -- entitlements ------------------------------------------------------

    def test_entitlement_get_set(self):
        got = self.ctl_json("entitlement", "get", "globex")
        self.assertEqual((got["tenant"], got["max_users"], got["max_applications"], got["features"]),
                         ("globex", None, None, []))
        got = self.ctl_json("entitlement", "set", "globex", "--max-users", "3", "--feature", "sso",
                            "--feature", "audit-export")
        self.assertEqual((got["max_users"], got["max_applications"], got["features"]), (3, None, ["audit-export", "sso"]))
        # What is not given stays.
        got = self.ctl_json("entitlement", "set", "globex", "--max-applications", "2")
        self.assertEqual((got["max_users"], got["max_applications"], got["features"]), (3, 2, ["audit-export", "sso"]))
        text = self.ctl("entitlement", "get", "--tenant", "globex").stdout
        self.assertRegex(text, r"Max users: +3")
        self.assertRegex(text, r"Features: +audit-export sso")

        # Enforced on the next user.
        for name in ("a", "b", "c"):
            self.ctl("user", "add", f"{name}@globex")
        p = self.ctl("user", "add", "d@globex", code=EXIT_REFUSED)
        self.assertIn("limit of 3 users", p.stderr)
        got = self.ctl_json("entitlement", "set", "globex", "--max-users", "none", "--no-features")
        self.assertEqual((got["max_users"], got["features"]), (None, []))
        self.ctl("user", "add", "d@globex")

        # Over D-Bus: -1 is none.
        r = self.t.gdbus("/org/tessera/Identity1/tenant/globex", "org.tessera.Identity1.Tenant.SetEntitlements",
                         "int64 10", "int64 -1", "['beta']", check=True)
        self.assertIn("(int64 10, int64 -1, ['beta']", r.stdout)

    def test_entitlement_bad_input(self):
        self.ctl("entitlement", "set", "acme", "--max-users", "-3", code=EXIT_USAGE)
        self.ctl("entitlement", "set", "acme", "--max-users", "lots", code=EXIT_USAGE)
        self.ctl("entitlement", "get", code=EXIT_USAGE)
        self.ctl("entitlement", "get", "initech", code=EXIT_NOT_FOUND)
        p = self.ctl("entitlement", "set", "acme", "--feature", "Not Valid", code=EXIT_REFUSED)
        self.assertIn("is not a feature name", p.stderr)
        r = self.t.gdbus("/org/tessera/Identity1/tenant/acme", "org.tessera.Identity1.Tenant.SetEntitlements",
                         "int64 -5", "int64 -1", "@as []")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("OutOfRange", r.stderr)
        self.assertEqual(self.ctl_json("entitlement", "get", "acme")["features"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
