#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesseractl against the real tesserad on a private bus: every verb, its
output for people and for programs, exit codes and error messages."""

import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import NOBODY, Tessera, require_root  # noqa: E402

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_DENIED, EXIT_REFUSED = 2, 3, 4, 5
IVAN_UID = 200500
KATE_UID = 200600
LOCKOUT_FAILURES = 3


def wrong_client_secrets(t, tenant, n):
    """n token requests with a wrong secret for a new client of tenant, from
    one address: refusals the audit trail counts on one event."""
    import base64
    import urllib.error
    import urllib.request
    app = json.loads(t.ctl("--json", "app", "create", f"counted@{tenant}", "--grant", "client_credentials",
                           check=True).stdout)
    auth = base64.b64encode(f"{app['client_id']}:wrong".encode()).decode()
    for _ in range(n):
        req = urllib.request.Request(t.issuer(tenant) + "/token", data=b"grant_type=client_credentials",
                                     headers={"Authorization": "Basic " + auth})
        try:
            urllib.request.urlopen(req, timeout=30)
        except urllib.error.HTTPError as e:
            assert e.code == 401, e.code
    return app


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", "--display-name", "Acme Inc", check=True)
        cls.t.ctl("tenant", "create", "globex", check=True)

    def ctl(self, *args, code=0, **kw):
        p = self.t.ctl(*args, **kw)
        self.assertEqual(p.returncode, code, f"tesseractl {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        return p

    def ctl_json(self, *args, **kw):
        return json.loads(self.ctl("--json", *args, **kw).stdout)

    def test_tenant_list_and_show(self):
        tenants = {t["slug"]: t for t in self.ctl_json("tenant", "list")}
        self.assertEqual((tenants["acme"]["id_min"], tenants["acme"]["id_max"]), (200000, 399999))
        self.assertEqual((tenants["globex"]["id_min"], tenants["globex"]["id_max"]), (400000, 599999))
        self.assertEqual(tenants["acme"]["display_name"], "Acme Inc")
        out = self.ctl("tenant", "list").stdout
        self.assertRegex(out, r"acme\s+200000-399999\s+Acme Inc")
        self.assertIn("Display name: Acme Inc", self.ctl("tenant", "show", "acme").stdout)

    def test_tenant_errors(self):
        p = self.ctl("tenant", "create", "acme", code=EXIT_REFUSED)
        self.assertIn("Tenant 'acme' already exists", p.stderr)
        p = self.ctl("tenant", "create", "Bad", code=EXIT_REFUSED)
        self.assertIn("not a valid tenant name", p.stderr)
        p = self.ctl("tenant", "show", "nope", code=EXIT_NOT_FOUND)
        self.assertIn("Tenant 'nope' does not exist", p.stderr)

    def test_tenant_set_and_delete(self):
        self.ctl("tenant", "create", "initech")
        self.ctl("tenant", "set", "initech", "--display-name", "Initech LLC")
        self.assertEqual(self.ctl_json("tenant", "show", "initech")["display_name"], "Initech LLC")
        self.ctl("user", "add", "peter@initech")
        p = self.ctl("tenant", "delete", "initech", code=EXIT_REFUSED)
        self.assertIn("still has users or groups", p.stderr)
        self.ctl("user", "delete", "peter@initech")
        self.ctl("tenant", "delete", "initech")
        self.ctl("tenant", "show", "initech", code=EXIT_NOT_FOUND)

    def test_user_add_show_json(self):
        self.ctl("user", "add", "alice@acme", "--email", "alice@example.com", "--real-name", "Alice Liddell",
                 "--shell", "/bin/zsh", "--home", "/srv/alice")
        u = self.ctl_json("user", "show", "alice@acme")
        self.assertEqual(u["name"], "alice")
        self.assertEqual(u["tenant"], "acme")
        self.assertEqual(u["email"], "alice@example.com")
        self.assertFalse(u["email_verified"])
        self.assertEqual(u["real_name"], "Alice Liddell")
        self.assertEqual(u["shell"], "/bin/zsh")
        self.assertEqual(u["home_directory"], "/srv/alice")
        self.assertEqual(u["state"], "active")
        self.assertEqual(u["role"], "member")
        self.assertFalse(u["has_password"])
        self.assertGreaterEqual(u["uid"], 200000)
        self.assertLessEqual(u["uid"], 399999)
        self.assertEqual(u["gid"], u["uid"], "the user-private group has gid = uid")
        for key in u:
            self.assertEqual(key, key.lower(), "JSON keys are lower case")

        # The user-private group exists, with the user's name and ID.
        g = self.ctl_json("group", "show", "alice@acme")
        self.assertTrue(g["user_private"])
        self.assertEqual(g["gid"], u["uid"])

        text = self.ctl("user", "show", "alice@acme").stdout
        self.assertIn("alice@acme", text)
        self.assertIn("alice@example.com (not verified)", text)

    def test_user_defaults_and_bare_names(self):
        # Bare names belong to the host's default tenant (acme), --tenant
        # picks another.
        self.ctl("user", "add", "bare")
        u = self.ctl_json("user", "show", "bare@acme")
        self.assertEqual(u["home_directory"], "/home/bare")
        self.assertEqual(u["shell"], "/bin/bash")
        self.ctl("user", "add", "bare", "--tenant", "globex")
        g = self.ctl_json("user", "show", "bare", "--tenant", "globex")
        self.assertEqual(g["tenant"], "globex")
        self.assertGreaterEqual(g["uid"], 400000, "globex's slice")
        names = [x["name"] for x in self.ctl_json("user", "list", "--tenant", "globex")]
        self.assertIn("bare", names)
        self.assertEqual(names, sorted(names))

    def test_uid_allocation_and_explicit_uid(self):
        a = self.ctl_json("user", "add", "seq1@globex")["uid"]
        b = self.ctl_json("user", "add", "seq2@globex")["uid"]
        self.assertEqual(b, a + 1)
        self.ctl("user", "add", "imported@globex", "--uid", "450000")
        self.assertEqual(self.ctl_json("user", "show", "imported@globex")["uid"], 450000)
        p = self.ctl("user", "add", "outside@globex", "--uid", "200500", code=EXIT_REFUSED)
        self.assertIn("outside the ID slice", p.stderr)
        p = self.ctl("user", "add", "taken@globex", "--uid", "450000", code=EXIT_REFUSED)
        self.assertIn("already in use", p.stderr)

    def test_user_list_table(self):
        self.ctl("user", "add", "tab1@acme", "--real-name", "Tab One")
        out = self.ctl("user", "list", "--tenant", "acme").stdout
        self.assertTrue(out.startswith("NAME"))
        self.assertRegex(out, r"tab1\s+\d+\s+active\s+member\s+Tab One")

    def test_user_set(self):
        self.ctl("user", "add", "carol@acme", "--email", "carol@example.com")
        self.ctl("user", "set", "carol@acme", "--email-verified", "yes", "--role", "admin", "--shell", "/bin/sh")
        u = self.ctl_json("user", "show", "carol@acme")
        self.assertTrue(u["email_verified"])
        self.assertEqual(u["role"], "admin")
        self.assertEqual(u["shell"], "/bin/sh")
        # A new address is not verified any more.
        self.ctl("user", "set", "carol@acme", "--email", "carol@example.org")
        u = self.ctl_json("user", "show", "carol@acme")
        self.assertEqual(u["email"], "carol@example.org")
        self.assertFalse(u["email_verified"])
        self.ctl("user", "set", "carol@acme", code=EXIT_USAGE)
        p = self.ctl("user", "set", "carol@acme", "--role", "king", code=EXIT_REFUSED)
        self.assertIn("Unknown role", p.stderr)

    def test_user_bad_input(self):
        cases = [
            (["user", "add", "Bad@acme"], EXIT_USAGE, "not a valid NAME"),
            (["user", "add", "a" * 33 + "@acme"], EXIT_USAGE, "not a valid NAME"),
            (["user", "add", "x1@acme", "--shell", "bin/sh"], EXIT_REFUSED, "shell must be an absolute"),
            (["user", "add", "x2@acme", "--home", "/home/../etc"], EXIT_REFUSED, "home directory must be"),
            (["user", "add", "x3@acme", "--real-name", "a:b"], EXIT_REFUSED, "real name must be"),
            (["user", "add", "x4@acme", "--real-name", "r" * 300], EXIT_REFUSED, "real name must be"),
            (["user", "add", "x5@acme", "--email", "not-an-address"], EXIT_REFUSED, "not a valid e-mail"),
            (["user", "add", "x6@acme", "--email", "a@" + "b" * 300 + ".com"], EXIT_REFUSED, "not a valid e-mail"),
            (["user", "add", "x7@nosuchtenant"], EXIT_NOT_FOUND, "does not exist"),
            (["user", "add", "x8@acme", "--uid", "abc"], EXIT_USAGE, "--uid takes a number"),
        ]
        for args, code, message in cases:
            with self.subTest(args=args):
                p = self.ctl(*args, code=code)
                self.assertIn(message, p.stderr)
        # Nothing of the refused users was written.
        names = {u["name"] for u in self.ctl_json("user", "list", "--tenant", "acme")}
        self.assertFalse(names & {"x1", "x2", "x3", "x4", "x5", "x6", "x8"})

    def test_duplicates(self):
        self.ctl("user", "add", "dave@acme", "--email", "Dave@Example.com")
        p = self.ctl("user", "add", "dave@acme", code=EXIT_REFUSED)
        self.assertIn("User 'dave@acme' already exists", p.stderr)
        p = self.ctl("user", "add", "dave2@acme", "--email", "dave@example.COM", code=EXIT_REFUSED)
        self.assertIn("has the e-mail address", p.stderr)
        self.ctl("group", "add", "ops@acme")
        p = self.ctl("user", "add", "ops@acme", code=EXIT_REFUSED)
        self.assertIn("A group named 'ops' already exists", p.stderr)
        p = self.ctl("group", "add", "dave@acme", code=EXIT_REFUSED)
        self.assertIn("already exists", p.stderr)

    def test_passwd_lock_disable_delete(self):
        self.ctl("user", "add", "erin@acme")
        self.ctl("user", "passwd", "erin@acme", "--password-stdin", input="s3cret-passphrase\n")
        u = self.ctl_json("user", "show", "erin@acme")
        self.assertTrue(u["has_password"])
        self.assertGreater(u["password_changed_usec"], 0)
        p = self.ctl("user", "passwd", "erin@acme", "--password-stdin", input="short\n", code=EXIT_REFUSED)
        self.assertIn("at least 8 characters", p.stderr)
        p = self.ctl("user", "passwd", "erin@acme", "--password-stdin", input="erin\n", code=EXIT_REFUSED)

        self.ctl("user", "lock", "erin@acme")
        u = self.ctl_json("user", "show", "erin@acme")
        self.assertEqual(u["state"], "locked")
        self.assertGreater(u["locked_until_usec"], 0)
        self.ctl("user", "unlock", "erin@acme")
        self.assertEqual(self.ctl_json("user", "show", "erin@acme")["state"], "active")
        self.ctl("user", "disable", "erin@acme")
        self.assertEqual(self.ctl_json("user", "show", "erin@acme")["state"], "disabled")
        self.ctl("user", "enable", "erin@acme")
        self.assertEqual(self.ctl_json("user", "show", "erin@acme")["state"], "active")

        self.ctl("group", "add", "erins@acme")
        self.ctl("group", "add-member", "erins@acme", "erin")
        self.ctl("user", "delete", "erin@acme")
        self.ctl("user", "show", "erin@acme", code=EXIT_NOT_FOUND)
        self.ctl("group", "show", "erin@acme", code=EXIT_NOT_FOUND)   # its private group went too
        self.assertEqual(self.ctl_json("group", "show", "erins@acme")["members"], [])

    def test_groups(self):
        self.ctl("user", "add", "frank@acme")
        self.ctl("user", "add", "grace@acme")
        g = self.ctl_json("group", "add", "devs@acme", "--description", "Developers")
        self.assertFalse(g["user_private"])
        self.ctl("group", "add-member", "devs@acme", "frank")
        self.ctl("group", "add-member", "devs", "grace@acme")
        self.assertEqual(self.ctl_json("group", "show", "devs@acme")["members"], ["frank", "grace"])
        self.assertEqual(self.ctl_json("user", "show", "frank@acme")["groups"], ["devs"])
        p = self.ctl("group", "add-member", "devs@acme", "frank", code=EXIT_REFUSED)
        self.assertIn("already a member", p.stderr)
        p = self.ctl("group", "add-member", "devs@acme", "nobody", code=EXIT_NOT_FOUND)
        self.assertIn("does not exist", p.stderr)
        self.ctl("group", "remove-member", "devs@acme", "frank")
        p = self.ctl("group", "remove-member", "devs@acme", "frank", code=EXIT_NOT_FOUND)
        self.assertIn("not a member", p.stderr)
        self.ctl("group", "set", "devs@acme", "--description", "Dev team")
        self.assertEqual(self.ctl_json("group", "show", "devs@acme")["description"], "Dev team")
        table = self.ctl("group", "list", "--tenant", "acme").stdout
        self.assertRegex(table, r"devs\s+\d+\s+1\s+Dev team")
        p = self.ctl("group", "delete", "grace@acme", code=EXIT_REFUSED)
        self.assertIn("private group of a user", p.stderr)
        self.ctl("group", "delete", "devs@acme")
        self.ctl("group", "show", "devs@acme", code=EXIT_NOT_FOUND)
        self.assertEqual(self.ctl_json("user", "show", "grace@acme")["groups"], [])

    def test_explicit_gid(self):
        g = self.ctl_json("group", "add", "fixed@globex", "--gid", "499000")
        self.assertEqual(g["gid"], 499000)
        p = self.ctl("group", "add", "fixed2@globex", "--gid", "100", code=EXIT_REFUSED)
        self.assertIn("outside the ID slice", p.stderr)

    def test_usage_and_help(self):
        p = self.ctl("--help")
        self.assertIn("user", p.stdout)
        for obj, verb in (("tenant", "create"), ("user", "add"), ("user", "passwd"), ("group", "add-member"),
                          ("audit", "list")):
            p = self.ctl(obj, verb, "--help")
            self.assertIn(f"tesseractl {obj} {verb}", p.stdout)
        self.ctl("frobnicate", "now", code=EXIT_USAGE)
        self.ctl("user", code=EXIT_USAGE)
        self.ctl("user", "add", code=EXIT_USAGE)
        self.ctl("user", "add", "a@acme", "--no-such-option", code=EXIT_USAGE)
        self.ctl("user", "show", "a@-bad", code=EXIT_USAGE)

    def test_unprivileged_caller(self):
        require_root(self)
        self.ctl("user", "add", "heidi@acme", "--email", "heidi@example.com")
        # Reads are open to everybody, but not the e-mail address.
        u = json.loads(self.ctl("--json", "user", "show", "heidi@acme", user=NOBODY).stdout)
        self.assertEqual(u["name"], "heidi")
        self.assertEqual(u["email"], "")
        # Every change is refused with a message that says why.
        for args in (["tenant", "create", "evil"], ["user", "add", "evil@acme"], ["user", "lock", "heidi@acme"],
                     ["user", "delete", "heidi@acme"], ["user", "set", "heidi@acme", "--shell", "/bin/sh"],
                     ["group", "add", "evil@acme"], ["audit", "list"]):
            with self.subTest(args=args):
                p = self.ctl(*args, user=NOBODY, code=EXIT_DENIED)
                self.assertIn("needs root or membership in the tessera admin group", p.stderr)
        p = self.ctl("user", "passwd", "heidi@acme", "--password-stdin", input="whatever-pass\n", user=NOBODY,
                     code=EXIT_DENIED)
        self.assertEqual(self.ctl_json("user", "show", "heidi@acme")["state"], "active")
        events = self.ctl_json("audit", "list", "--target", "heidi@acme", "--action", "user.lock")
        self.assertTrue(any(e["result"] == "denied" and e["actor_uid"] == NOBODY for e in events), events)

    def test_audit_list(self):
        self.ctl("user", "add", "judy@acme")
        self.ctl("user", "add", "judy@acme", code=EXIT_REFUSED)
        events = self.ctl_json("audit", "list", "--target", "judy@acme")
        self.assertEqual([(e["action"], e["result"]) for e in events],
                         [("user.create", "success"), ("user.create", "invalid")])
        self.assertEqual(events[0]["channel"], "dbus")
        self.assertEqual(events[0]["actor_uid"], os.geteuid())
        self.assertIn("already exists", events[1]["details"]["error"])
        text = self.ctl("audit", "list", "--target", "judy@acme").stdout
        self.assertRegex(text, r"user\.create\s+judy@acme\s+success\s+1\s")
        self.assertEqual([e["count"] for e in events], [1, 1])
        self.assertEqual(events[0]["last_usec"], events[0]["time_usec"])

    def test_audit_list_counts(self):
        app = wrong_client_secrets(self.t, "acme", 3)
        events = [e for e in self.ctl_json("audit", "list", "--action", "oauth.token") if e["actor"] == app["client_id"]]
        self.assertEqual(len(events), 1, events)
        self.assertEqual((events[0]["count"], events[0]["remote"], events[0]["result"]), (3, "127.0.0.1", "denied"))
        self.assertGreater(events[0]["last_usec"], events[0]["time_usec"])
        text = self.ctl("audit", "list", "--action", "oauth.token").stdout
        self.assertRegex(text, r"oauth\.token\s+\S+\s+denied\s+3 to \d\d:\d\d:\d\d\s")
        self.assertRegex(text.splitlines()[0], r"RESULT\s+COUNT\s+DETAILS")


class SelfServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme", bus_users=[("ivan", IVAN_UID), ("kate", KATE_UID)],
                        config_extra=f"[auth]\nlockout_failures = {LOCKOUT_FAILURES}\nlockout_time = 60\n").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)

    ctl = CliTest.ctl
    ctl_json = CliTest.ctl_json

    def test_self_service_password(self):
        require_root(self)
        # dbus-daemon refuses peers whose uid it cannot resolve: the bus
        # knows ivan's uid (through nss_wrapper, as a host would through
        # nss_tessera).
        u = self.ctl_json("user", "add", "ivan@acme", "--uid", str(IVAN_UID))
        self.ctl("user", "passwd", "ivan@acme", "--password-stdin", input="first-password\n")
        uid = u["uid"]
        # Changing one's own password needs the current one (first line).
        p = self.ctl("user", "passwd", "ivan@acme", "--password-stdin", input="wrong-password\nsecond-password\n",
                     user=uid, code=EXIT_DENIED)
        self.assertIn("current password is not correct", p.stderr)
        self.ctl("user", "passwd", "ivan@acme", "--password-stdin", input="first-password\nsecond-password\n",
                 user=uid)
        # The new one is in force: it works as the current one now.
        self.ctl("user", "passwd", "ivan@acme", "--password-stdin", input="second-password\nthird-password\n",
                 user=uid)
        self.ctl("user", "passwd", "ivan@acme", "--password-stdin", input="second-password\nfourth-password\n",
                 user=uid, code=EXIT_DENIED)
        # But nobody may change somebody else's.
        self.ctl("user", "add", "judy@acme")
        self.ctl("user", "passwd", "judy@acme", "--password-stdin", input="x\ny-password\n", user=uid,
                 code=EXIT_DENIED)
        changes = self.ctl_json("audit", "list", "--target", "ivan@acme", "--action", "user.set-password")
        self.assertEqual([e["result"] for e in changes], ["success", "success", "success"])
        self.assertTrue(all(e["actor_uid"] == uid for e in changes[1:]))
        # The current password was checked by the authentication core, as
        # a password change over PAM is: every check recorded, by ivan.
        checks = self.ctl_json("audit", "list", "--target", "ivan@acme", "--action", "auth.chauthtok")
        self.assertEqual([(e["result"], e["details"].get("reason")) for e in checks],
                         [("failure", "wrong password"), ("success", None), ("success", None),
                          ("failure", "wrong password")])
        self.assertTrue(all(e["actor_uid"] == uid and e["channel"] == "dbus" for e in checks))
        # The rules of the one password change are those of PAM's: the new
        # password differs from the current one, refused before any check.
        p = self.ctl("user", "passwd", "ivan@acme", "--password-stdin", input="third-password\nthird-password\n",
                     user=uid, code=EXIT_REFUSED)
        self.assertIn("must differ from the current one", p.stderr)
        self.assertEqual(len(self.ctl_json("audit", "list", "--target", "ivan@acme", "--action", "auth.chauthtok")),
                         len(checks))

    def test_self_service_password_shares_the_lockout(self):
        """SetPassword is no password oracle: wrong current passwords count
        towards the lockout that every door shares, and a locked or
        disabled account is refused with an error of its own, without its
        password being looked at."""
        require_root(self)
        self.ctl("user", "add", "kate@acme", "--uid", str(KATE_UID))
        self.ctl("user", "passwd", "kate@acme", "--password-stdin", input="first-password\n")

        def set_password(current, new):
            p = self.t.gdbus("/org/tessera/Identity1/user/acme/kate", "org.tessera.Identity1.User.SetPassword",
                             current, new, user=KATE_UID)
            m = re.search(r"GDBus\.Error:org\.tessera\.Identity1\.Error\.(\w+): (.*)", p.stderr)
            return (m.group(1), m.group(2)) if m else (None, p.stdout + p.stderr)

        def last_check():
            events = self.ctl_json("audit", "list", "--target", "kate@acme", "--action", "auth.chauthtok")
            return events[-1]["result"], events[-1]["details"].get("reason")

        for i in range(LOCKOUT_FAILURES):
            name, message = set_password(f"guess-{i}", "second-password")
            self.assertEqual(name, "AuthenticationFailed", message)
        self.assertIn("the account is locked", message)
        self.assertEqual(last_check(), ("failure", "wrong password"))
        # The same lock as a login's.
        self.assertEqual(self.ctl_json("user", "show", "kate@acme")["state"], "locked")
        name, message = set_password("first-password", "second-password")
        self.assertEqual(name, "AccountLocked", message)
        self.assertIn("try again in", message)
        self.assertEqual(last_check(), ("denied", "account locked after failures"))
        p = self.ctl("user", "passwd", "kate@acme", "--password-stdin", input="first-password\nsecond-password\n",
                     user=KATE_UID, code=EXIT_DENIED)
        self.assertIn("locked", p.stderr)

        self.ctl("user", "unlock", "kate@acme")
        self.ctl("user", "disable", "kate@acme")
        name, message = set_password("first-password", "second-password")
        self.assertEqual(name, "AccountDisabled", message)
        self.assertEqual(last_check(), ("denied", "account disabled"))
        self.ctl("user", "enable", "kate@acme")
        self.assertEqual(set_password("first-password", "second-password")[0], None)
        self.assertEqual(last_check(), ("success", None))


if __name__ == "__main__":
    unittest.main(verbosity=2)
