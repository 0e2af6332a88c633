#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesseractl provider (add, list, show, set, delete; text and --json),
tesseractl user links|unlink, and the Tenant interface's provider and link
methods on D-Bus, against the real daemon on a private bus. The client
secret goes in from a file or standard input, never comes out (not in any
answer, not in clear in the SQLite files); bad input (an unknown kind, oidc
without an issuer, plain http to a host that is not loopback, a bad e-mail
domain, a name taken) gets the exit code and D-Bus error it should, and
callers outside the admin group are refused and audited.

Links are made by the sign-in flow; here a link row is written into the
database the way the flow stores one, so that listing and removing them
(and keeping the last way in) are checked through the real daemon."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import NOBODY, Tessera  # noqa: E402

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_DENIED, EXIT_REFUSED = 2, 3, 4, 5
TENANT_PATH = "/org/tessera/Identity1/tenant/acme"
IFACE = "org.tessera.Identity1.Tenant"
SECRET = "GOCSPX-s3cr3t-Wz9rT1-do-not-echo"


class ProviderCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme")
        cls.t.start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("tenant", "create", "other", check=True)
        cls.secret_file = os.path.join(cls.t.dir, "google.secret")
        with open(cls.secret_file, "w") as f:
            f.write(SECRET + "\n")

    def ctl(self, *args, code=0, **kw):
        p = self.t.ctl(*args, **kw)
        self.assertEqual(p.returncode, code, f"tesseractl {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        self.assertNotIn(SECRET, p.stdout + p.stderr)
        return p

    def ctl_json(self, *args, **kw):
        return json.loads(self.ctl("--json", *args, **kw).stdout)

    def audit(self, action):
        return self.ctl_json("audit", "list", "--action", action)

    def write_db(self, sql):
        """Writes into the running daemon's database (WAL: it waits its
        turn behind the daemon's writes)."""
        self.t.db_write(sql)

    def test_add_show_set_list_delete(self):
        j = self.ctl_json("provider", "add", "google", "--tenant", "acme", "--kind", "google",
                          "--client-id", "1234-abc.apps.googleusercontent.com",
                          "--client-secret-file", self.secret_file,
                          "--allowed-domain", "example.com", "--signup", "jit", "--link-by-email", "yes")
        self.assertEqual(j["name"], "google")
        self.assertEqual(j["kind"], "google")
        self.assertEqual(j["display_name"], "Google")
        self.assertEqual(j["client_id"], "1234-abc.apps.googleusercontent.com")
        self.assertIs(j["has_client_secret"], True)
        self.assertNotIn("client_secret", j)
        self.assertEqual(j["allowed_domains"], ["example.com"])
        self.assertEqual(j["scopes"], [])
        self.assertEqual((j["signup"], j["role"], j["link_by_email"], j["enabled"]), ("jit", "member", True, True))
        self.assertGreater(j["created_usec"], 0)

        self.assertEqual(j["callback_url"], self.t.base_url + "/t/acme/upstream/callback")
        shown = self.ctl("provider", "show", "google@acme").stdout
        self.assertIn("Callback URL:", shown)
        self.assertIn(self.t.base_url + "/t/acme/upstream/callback", shown)
        self.assertIn("Client secret:", shown)
        self.assertIn("set", shown)
        self.assertIn("example.com", shown)

        # The secret from standard input; an issuer on loopback over http.
        j = self.ctl_json("provider", "add", "corp", "--tenant", "acme", "--kind", "oidc",
                          "--issuer", "http://127.0.0.1:4444/op", "--client-id", "tessera",
                          "--client-secret-file", "-", "--scope", "openid", "--scope", "email",
                          "--display-name", "Corp SSO", input="stdin-secret\n")
        self.assertIs(j["has_client_secret"], True)
        self.assertEqual(j["issuer"], "http://127.0.0.1:4444/op")
        self.assertEqual(j["scopes"], ["openid", "email"])

        listed = self.ctl_json("provider", "list", "--tenant", "acme")
        self.assertEqual([p["name"] for p in listed], ["corp", "google"])
        table = self.ctl("provider", "list", "--tenant", "acme").stdout
        self.assertIn("Corp SSO", table)
        self.assertIn("DISPLAY NAME", table)
        self.assertEqual(self.ctl_json("provider", "list", "--tenant", "other"), [])

        # set: what is named changes, the rest stays (the secret too).
        j = self.ctl_json("provider", "set", "google", "--tenant", "acme", "--display-name", "Google Workspace",
                          "--enabled", "no", "--allowed-domain", "")
        self.assertEqual(j["display_name"], "Google Workspace")
        self.assertIs(j["enabled"], False)
        self.assertEqual(j["allowed_domains"], [])
        self.assertIs(j["has_client_secret"], True)
        # An empty secret file clears the secret.
        empty = os.path.join(self.t.dir, "empty.secret")
        open(empty, "w").close()
        j = self.ctl_json("provider", "set", "corp@acme", "--client-secret-file", empty)
        self.assertIs(j["has_client_secret"], False)

        self.assertTrue(any(e.get("target") == "google@acme" and e.get("result") == "success"
                            for e in self.audit("provider.create")))
        self.assertTrue(any(e.get("target") == "google@acme" for e in self.audit("provider.update")))

        p = self.ctl("provider", "delete", "corp@acme")
        self.assertIn("Deleted provider corp", p.stdout)
        self.ctl("provider", "show", "corp@acme", code=EXIT_NOT_FOUND)
        self.ctl("provider", "delete", "corp@acme", code=EXIT_NOT_FOUND)
        self.assertTrue(any(e.get("target") == "corp@acme" for e in self.audit("provider.delete")))
        self.ctl("provider", "delete", "google@acme")

    def test_secret_sealed_at_rest(self):
        self.ctl("provider", "add", "sealed", "--tenant", "acme", "--kind", "gitlab", "--client-id", "gl",
                 "--client-secret-file", self.secret_file)
        rows = self.t.sqlite(f"SELECT {self.t.sql_hex('client_secret_box')}, client_id FROM upstream_providers "
                             "WHERE name = 'sealed'")
        self.assertEqual(len(rows), 1)
        self.assertGreater(len(rows[0][0]), 2 * len(SECRET))
        self.assertNotIn(SECRET.encode().hex().upper(), rows[0][0])
        # Nowhere in the files either: the database, its WAL, the log.
        for name in ("tessera.db", "tessera.db-wal"):
            path = os.path.join(self.t.state_dir, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(SECRET.encode(), f.read(), path)
        self.assertNotIn(SECRET, self.t.log())
        self.ctl("provider", "delete", "sealed@acme")

    def test_bad_input(self):
        cases = [
            (("--kind", "facebook", "--client-id", "x"), "kind:"),
            (("--kind", "oidc", "--client-id", "x"), "issuer:"),
            (("--kind", "oidc", "--client-id", "x", "--issuer", "http://id.example.com"), "issuer:"),
            (("--kind", "google", "--client-id", "x", "--token-endpoint", "http://10.1.2.3/token"),
             "token_endpoint:"),
            (("--kind", "google", "--client-id", "x", "--allowed-domain", "not a domain"), "allowed_domains:"),
            (("--kind", "google", "--client-id", "x", "--allowed-domain", "example"), "allowed_domains:"),
            (("--kind", "google", "--client-id", "x", "--scope", "email"), "scopes:"),
            (("--kind", "google", "--client-id", "x", "--signup", "open"), "signup:"),
            (("--kind", "google", "--client-id", "x", "--role", "king"), "role:"),
            (("--kind", "github", "--client-id", "x", "--issuer", "https://github.com"), "issuer:"),
            (("--kind", "google"), "client_id:"),
        ]
        for args, field in cases:
            with self.subTest(args=args):
                p = self.ctl("provider", "add", "bad", "--tenant", "acme", *args, code=EXIT_REFUSED)
                self.assertIn(field, p.stderr)
        self.ctl("provider", "show", "bad@acme", code=EXIT_NOT_FOUND)
        self.assertGreaterEqual(sum(e.get("result") == "invalid" for e in self.audit("provider.create")),
                                len(cases))

        p = self.ctl("provider", "add", "Bad", "--tenant", "acme", "--kind", "google", "--client-id", "x",
                     code=EXIT_REFUSED)
        self.assertIn("not a valid provider name", p.stderr)
        self.ctl("provider", "add", "dup", "--tenant", "acme", "--kind", "google", "--client-id", "x")
        p = self.ctl("provider", "add", "dup", "--tenant", "acme", "--kind", "slack", "--client-id", "y",
                     code=EXIT_REFUSED)
        self.assertIn("has a provider 'dup' already", p.stderr)
        p = self.ctl("provider", "set", "dup@acme", "--kind", "slack", code=EXIT_USAGE)
        # The secret is never an argument.
        p = self.ctl("provider", "add", "x", "--tenant", "acme", "--kind", "google", "--client-id", "x",
                     "--client-secret", "hunter2", code=EXIT_USAGE)
        self.ctl("provider", "add", "x", "--tenant", "acme", "--client-id", "x", code=EXIT_USAGE)
        self.ctl("provider", "add", "x", "--kind", "google", "--client-id", "x", code=EXIT_USAGE)
        self.ctl("provider", "add", "x", "--tenant", "acme", "--kind", "google", "--client-id", "x",
                 "--client-secret-file", os.path.join(self.t.dir, "missing"), code=EXIT_USAGE)
        self.ctl("provider", "list", "--tenant", "nope", code=EXIT_NOT_FOUND)
        self.ctl("provider", "show", "dup@other", code=EXIT_NOT_FOUND)
        self.ctl("provider", "delete", "dup@acme")

    def test_refused_without_the_admin_group(self):
        self.ctl("provider", "add", "guarded", "--tenant", "acme", "--kind", "google", "--client-id", "x")
        for args in (("provider", "add", "eve", "--tenant", "acme", "--kind", "google", "--client-id", "x"),
                     ("provider", "list", "--tenant", "acme"),
                     ("provider", "show", "guarded@acme"),
                     ("provider", "set", "guarded@acme", "--enabled", "no"),
                     ("provider", "delete", "guarded@acme")):
            with self.subTest(args=args):
                self.ctl(*args, user=NOBODY, code=EXIT_DENIED)
        self.assertTrue(any(e.get("result") == "denied" and e.get("target") == "eve@acme"
                            for e in self.audit("provider.create")))
        self.assertTrue(self.ctl_json("provider", "show", "guarded@acme")["enabled"])
        self.ctl("provider", "delete", "guarded@acme")

    def test_dbus(self):
        out = self.t.busctl("call", "org.tessera.Identity1", TENANT_PATH, IFACE, "AddProvider", "ssa{sv}",
                            "gitlab", "gitlab", "3", "ClientId", "s", "gl-app", "ClientSecret", "s", "gl-secret",
                            "Scopes", "as", "2", "openid", "read_user", "--json=short")
        self.assertEqual(out.returncode, 0, out.stderr)
        provider = json.loads(out.stdout)["data"][0]
        self.assertEqual(provider["Name"]["data"], "gitlab")
        self.assertEqual(provider["HasClientSecret"]["data"], True)
        self.assertEqual(provider["Scopes"]["data"], ["openid", "read_user"])
        self.assertNotIn("ClientSecret", provider)
        self.assertNotIn("gl-secret", out.stdout)

        out = self.t.busctl("call", "org.tessera.Identity1", TENANT_PATH, IFACE, "ListProviders", "--json=short")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("gitlab", [p["Name"]["data"] for p in json.loads(out.stdout)["data"][0]])
        out = self.t.busctl("call", "org.tessera.Identity1", TENANT_PATH, IFACE, "SetProvider", "sa{sv}",
                            "gitlab", "1", "Enabled", "b", "false", "--json=short")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["data"][0]["Enabled"]["data"], False)

        # Errors by name.
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.AddProvider", "x", "facebook", "{'ClientId': <'c'>}")
        self.assertIn("org.tessera.Identity1.Error.InvalidArgument", out.stderr + out.stdout)
        self.assertIn("kind:", out.stderr + out.stdout)
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.AddProvider", "gitlab", "gitlab", "{'ClientId': <'c'>}")
        self.assertIn("org.tessera.Identity1.Error.AlreadyExists", out.stderr + out.stdout)
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.AddProvider", "y", "google", "{'Colour': <'red'>}")
        self.assertIn("org.tessera.Identity1.Error.InvalidArgument", out.stderr + out.stdout)
        self.assertIn("Unknown attribute 'Colour'", out.stderr + out.stdout)
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.GetProvider", "nope")
        self.assertIn("org.tessera.Identity1.Error.NotFound", out.stderr + out.stdout)
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.DeleteProvider", "gitlab")
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.DeleteProvider", "gitlab")
        self.assertIn("org.tessera.Identity1.Error.NotFound", out.stderr + out.stdout)
        # Nobody's call is refused by the daemon, not by the bus policy.
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.ListProviders", user=NOBODY)
        self.assertIn("org.tessera.Identity1.Error.AccessDenied", out.stderr + out.stdout)

    def test_user_links(self):
        self.ctl("provider", "add", "gh", "--tenant", "acme", "--kind", "github", "--client-id", "Iv1.abc")
        self.ctl("provider", "add", "gl", "--tenant", "acme", "--kind", "gitlab", "--client-id", "gl")
        self.ctl("user", "add", "linda@acme")
        self.assertEqual(self.ctl_json("user", "links", "linda@acme"), [])
        now = int(time.time() * 1e6)
        for provider, subject in (("gh", "583231"), ("gl", "77")):
            self.write_db("INSERT INTO upstream_links (tenant_id, user_id, provider_id, subject, email, username, "
                          "created_usec) SELECT u.tenant_id, u.id, p.id, '%s', 'linda@example.com', 'linda', %d "
                          "FROM users u JOIN upstream_providers p ON p.tenant_id = u.tenant_id "
                          "WHERE u.name = 'linda' AND p.name = '%s'" % (subject, now, provider))
        links = self.ctl_json("user", "links", "linda@acme")
        self.assertEqual([(l["provider"], l["subject"]) for l in links], [("gh", "583231"), ("gl", "77")])
        self.assertRegex(links[0]["id"], r"^idn_\d+$")
        self.assertEqual(links[0]["email"], "linda@example.com")
        self.assertIn("583231", self.ctl("user", "links", "linda@acme").stdout)
        self.ctl("user", "links", "linda@acme", user=NOBODY, code=EXIT_DENIED)

        # Removing: nobody else may; one may go; the last way in stays.
        self.ctl("user", "unlink", "linda@acme", links[0]["id"], user=NOBODY, code=EXIT_DENIED)
        self.ctl("user", "unlink", "linda@acme", "idn_999999", code=EXIT_NOT_FOUND)
        self.ctl("user", "unlink", "linda@acme", "583231", code=EXIT_NOT_FOUND)
        p = self.ctl("user", "unlink", "linda@acme", links[0]["id"])
        self.assertIn(f"Removed {links[0]['id']}", p.stdout)
        p = self.ctl("user", "unlink", "linda@acme", links[1]["id"], code=EXIT_DENIED)
        self.assertIn("only way", p.stderr)
        self.assertEqual([l["id"] for l in self.ctl_json("user", "links", "linda@acme")], [links[1]["id"]])
        audit = self.audit("user.unlink")
        self.assertTrue(any(e.get("target") == "linda@acme" and e.get("result") == "success" for e in audit))
        self.assertTrue(any(e.get("target") == "linda@acme" and e.get("result") == "denied" for e in audit))

        # Over D-Bus, by name.
        out = self.t.busctl("call", "org.tessera.Identity1", TENANT_PATH, IFACE, "ListUserLinks", "s", "linda")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"77"', out.stdout)
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.RemoveUserLink", "linda", links[1]["id"])
        self.assertIn("org.tessera.Identity1.Error.AccessDenied", out.stderr + out.stdout)
        out = self.t.gdbus(TENANT_PATH, f"{IFACE}.ListUserLinks", "nobody-here")
        self.assertIn("org.tessera.Identity1.Error.NotFound", out.stderr + out.stdout)

        # The provider's deletion takes its links along.
        self.ctl("provider", "delete", "gl@acme")
        self.assertEqual(self.ctl_json("user", "links", "linda@acme"), [])
        self.ctl("provider", "delete", "gh@acme")


if __name__ == "__main__":
    unittest.main(verbosity=2)
