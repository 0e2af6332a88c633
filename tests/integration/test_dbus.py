#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The D-Bus API as any client sees it, driven with busctl and dbus-send:
every method, the error names, the signals, the introspection data kept in
dbus/, and who may do what."""

import json
import os
import re
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import NOBODY, REPO, Tessera, binary, require_root  # noqa: E402

DEST = "org.tessera.Identity1"
ROOT = "/org/tessera/Identity1"
IFACE = "org.tessera.Identity1."
ERR = "org.tessera.Identity1.Error."


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


class DbusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme").start()
        cls.addClassCleanup(cls.t.close)

    def call(self, path, iface, method, sig="", *args, user=None, ok=True):
        p = self.t.busctl("--json=short", "call", DEST, path, IFACE + iface, method, *([sig] if sig else []),
                          *map(str, args), user=user)
        if ok:
            self.assertEqual(p.returncode, 0, f"{method}: {p.stderr}")
            return json.loads(p.stdout)["data"] if p.stdout.strip() else None
        self.assertNotEqual(p.returncode, 0, f"{method} should have failed: {p.stdout}")
        return p.stderr

    def error_name(self, path, method, *args, user=None):
        """Calls with gdbus and returns the D-Bus error name and message."""
        p = self.t.gdbus(path, method, *args, user=user)
        m = re.search(r"GDBus\.Error:([\w.]+): (.*)", p.stderr)
        self.assertIsNotNone(m, f"expected an error from {method}, got: {p.stdout}{p.stderr}")
        return m.group(1), m.group(2)

    def prop(self, path, iface, name, user=None):
        p = self.t.busctl("--json=short", "get-property", DEST, path, IFACE + iface, name, user=user)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)["data"]

    def audit(self, **filters):
        args = []
        for k, v in filters.items():
            args += [f"--{k}", v]
        return json.loads(self.t.ctl("--json", "audit", "list", *args, check=True).stdout)

    def ensure_tenant(self, slug):
        if self.t.busctl("call", DEST, ROOT, IFACE + "Manager", "GetTenant", "s", slug).returncode != 0:
            self.call(ROOT, "Manager", "CreateTenant", "ss", slug, "")

    # -- every method ---------------------------------------------------------

    def test_manager_methods(self):
        self.assertEqual(self.prop(ROOT, "Manager", "DefaultTenant"), "acme")
        version = subprocess.run([binary("tesserad"), "--version"],
                                 capture_output=True, text=True).stdout.split()[-1]
        self.assertEqual(self.prop(ROOT, "Manager", "Version"), version)

        path = self.call(ROOT, "Manager", "CreateTenant", "ss", "umbrella", "Umbrella Corp")[0]
        self.assertEqual(path, ROOT + "/tenant/umbrella")
        self.assertIn(path, self.call(ROOT, "Manager", "ListTenants")[0])
        self.assertEqual(self.call(ROOT, "Manager", "GetTenant", "s", "umbrella")[0], path)
        self.assertEqual(self.prop(path, "Tenant", "DisplayName"), "Umbrella Corp")

        user = self.call(path, "Tenant", "CreateUser", "sa{sv}", "ada", 1, "RealName", "s", "Ada L")[0]
        self.assertEqual(user, ROOT + "/user/umbrella/ada")
        uid = self.prop(user, "User", "Uid")
        upg = ROOT + "/group/umbrella/ada"
        # The lookups are named Get* as systemd's managers name theirs; the
        # Find* names of the first version still answer the same.
        for prefix in ("Get", "Find"):
            with self.subTest(prefix=prefix):
                self.assertEqual(self.call(ROOT, "Manager", prefix + "UserByName", "ss", "umbrella", "ada")[0], user)
                self.assertEqual(self.call(ROOT, "Manager", prefix + "UserByUid", "u", uid)[0], user)
                self.assertEqual(self.call(ROOT, "Manager", prefix + "GroupByName", "ss", "umbrella", "ada")[0], upg)
                self.assertEqual(self.call(ROOT, "Manager", prefix + "GroupByGid", "u", uid)[0], upg)
        events = self.call(ROOT, "Manager", "ListAuditEvents", "a{sv}", 1, "Target", "s", "ada@umbrella")[0]
        self.assertEqual([(e[5], e[8]) for e in events], [("user.create", "success")])

    def test_audit_counts(self):
        self.ensure_tenant("counting")
        app = wrong_client_secrets(self.t, "counting", 4)
        events = self.call(ROOT, "Manager", "ListAuditEvents", "a{sv}", 1, "Action", "s", "oauth.token")[0]
        events = [e for e in events if e[6] == "counting"]
        # (id, time, channel, uid, actor, action, tenant, target, result,
        # details, remote, count, last_usec): one event, four times.
        self.assertEqual(len(events), 1, events)
        e = events[0]
        self.assertEqual(len(e), 13)
        self.assertEqual((e[2], e[4], e[8], e[10], e[11]), ("http", app["client_id"], "denied", "127.0.0.1", 4))
        self.assertIn("wrong secret", e[9])
        self.assertGreater(e[12], e[1])

    def test_tenant_user_group_methods(self):
        tenant = self.call(ROOT, "Manager", "CreateTenant", "ss", "wayne", "")[0]
        self.call(tenant, "Tenant", "Update", "a{sv}", 1, "DisplayName", "s", "Wayne Enterprises")
        self.assertEqual(self.prop(tenant, "Tenant", "DisplayName"), "Wayne Enterprises")

        user = self.call(tenant, "Tenant", "CreateUser", "sa{sv}", "bruce", 3, "Email", "s", "bruce@wayne.example",
                         "Shell", "s", "/bin/sh", "Password", "s", "I am the night")[0]
        self.assertTrue(self.prop(user, "User", "HasPassword"))
        self.assertEqual(self.call(tenant, "Tenant", "ListUsers")[0], [user])
        group = self.call(tenant, "Tenant", "CreateGroup", "sa{sv}", "league", 1, "Description", "s", "JL")[0]
        self.assertIn(group, self.call(tenant, "Tenant", "ListGroups")[0])

        self.call(user, "User", "Update", "a{sv}", 2, "RealName", "s", "Bruce Wayne", "Role", "s", "owner")
        self.assertEqual(self.prop(user, "User", "RealName"), "Bruce Wayne")
        self.assertEqual(self.prop(user, "User", "Role"), "owner")
        before = self.prop(user, "User", "PasswordChangedTime")
        self.call(user, "User", "SetPassword", "ss", "", "a new passphrase")
        self.assertGreater(self.prop(user, "User", "PasswordChangedTime"), before)
        for method, state in (("Lock", "locked"), ("Unlock", "active"), ("Disable", "disabled"),
                              ("Enable", "active")):
            self.call(user, "User", method)
            self.assertEqual(self.prop(user, "User", "State"), state, method)

        self.call(group, "Group", "AddMember", "s", "bruce")
        self.assertEqual(self.prop(group, "Group", "Members"), ["bruce"])
        self.assertEqual(self.prop(user, "User", "Groups"), ["league"])
        self.call(group, "Group", "RemoveMember", "s", "bruce")
        self.assertEqual(self.prop(group, "Group", "Members"), [])
        self.call(group, "Group", "Update", "a{sv}", 1, "Description", "s", "Justice League")
        self.assertEqual(self.prop(group, "Group", "Description"), "Justice League")
        self.call(group, "Group", "Delete")
        self.call(user, "User", "Delete")
        self.call(tenant, "Tenant", "Delete")
        self.assertNotIn(tenant, self.call(ROOT, "Manager", "ListTenants")[0])

    def test_object_manager_and_properties(self):
        self.ensure_tenant("acme")
        self.call(ROOT + "/tenant/acme", "Tenant", "CreateUser", "sa{sv}", "om", 0)
        p = self.t.busctl("--json=short", "call", DEST, ROOT, "org.freedesktop.DBus.ObjectManager",
                          "GetManagedObjects")
        objects = json.loads(p.stdout)["data"][0]
        user = objects[ROOT + "/user/acme/om"][IFACE + "User"]
        self.assertEqual(user["Name"]["data"], "om")
        self.assertIn(ROOT + "/group/acme/om", objects)
        self.assertIn(ROOT + "/tenant/acme", objects)
        p = self.t.busctl("--json=short", "call", DEST, ROOT + "/user/acme/om", "org.freedesktop.DBus.Properties",
                          "GetAll", "s", IFACE + "User")
        props = json.loads(p.stdout)["data"][0]
        for name in ("Name", "Tenant", "Uid", "Gid", "RealName", "Email", "HomeDirectory", "Shell", "State",
                     "Groups", "CreatedTime", "ChangedTime"):
            self.assertIn(name, props)
        self.assertNotIn("PasswordHash", props)

    # -- errors -----------------------------------------------------------------

    def test_error_names(self):
        self.ensure_tenant("acme")
        t = ROOT + "/tenant/acme"
        self.call(t, "Tenant", "CreateUser", "sa{sv}", "dup", 0)
        cases = [
            ((t, IFACE + "Tenant.CreateUser", "dup", "{}"), "AlreadyExists"),
            ((ROOT, IFACE + "Manager.CreateTenant", "acme", ""), "AlreadyExists"),
            ((ROOT, IFACE + "Manager.CreateTenant", "Not Valid", ""), "InvalidArgument"),
            ((ROOT, IFACE + "Manager.GetUserByName", "acme", "ghost"), "NotFound"),
            ((ROOT, IFACE + "Manager.GetUserByName", "ghosttown", "ghost"), "NotFound"),
            ((ROOT, IFACE + "Manager.GetUserByUid", "uint32 4"), "NotFound"),
            ((ROOT, IFACE + "Manager.GetGroupByName", "acme", "ghost"), "NotFound"),
            ((ROOT, IFACE + "Manager.GetGroupByGid", "uint32 4"), "NotFound"),
            ((ROOT, IFACE + "Manager.FindUserByName", "acme", "ghost"), "NotFound"),
            ((ROOT, IFACE + "Manager.GetApplication", "acme", "ghost"), "NotFound"),
            ((ROOT, IFACE + "Manager.GetTenant", "ghosttown"), "NotFound"),
            ((t, IFACE + "Tenant.CreateUser", "n" * 40, "{}"), "InvalidArgument"),
            ((t, IFACE + "Tenant.CreateUser", "n" * 100000, "{}"), "InvalidArgument"),
            ((t, IFACE + "Tenant.CreateUser", "pw", "{'Password': <'short'>}"), "InvalidArgument"),
            ((ROOT + "/user/acme/dup", IFACE + "User.SetPassword", "", "short"), "InvalidArgument"),
            ((ROOT + "/group/acme/dup", IFACE + "Group.Delete"), "InvalidArgument"),
        ]
        for args, name in cases:
            with self.subTest(args=args[:2]):
                got, message = self.error_name(*args)
                if name:
                    self.assertEqual(got, ERR + name, message)
                self.assertTrue(message.strip())

    def test_wrong_types_and_unknown_attributes(self):
        self.ensure_tenant("acme")
        t = ROOT + "/tenant/acme"
        err = self.call(t, "Tenant", "CreateUser", "sa{sv}", "typo", 1, "Uid", "s", "123", ok=False)
        self.assertIn("Attribute 'Uid' must be of D-Bus type 'u', not 's'", err)
        err = self.call(t, "Tenant", "CreateUser", "sa{sv}", "typo", 1, "Colour", "s", "red", ok=False)
        self.assertIn("Unknown attribute 'Colour'", err)
        err = self.call(t, "Tenant", "CreateUser", "sa{sv}", "typo", 2, "Shell", "s", "/bin/sh", "Shell", "s",
                        "/bin/sh", ok=False)
        self.assertIn("given twice", err)
        # A call whose signature doesn't match is turned away by sd-bus with
        # its standard error, and still recorded.
        name, _ = self.error_name(t, IFACE + "Tenant.CreateUser", "uint32 7")
        self.assertEqual(name, "org.freedesktop.DBus.Error.InvalidArgs")
        self.assertEqual(self.t.ctl("user", "show", "typo@acme").returncode, 3, "nothing half-written")
        events = [e for e in self.audit(action="bus.call") if e["details"]["error"] == "wrong argument types"]
        self.assertTrue(events)
        events = [e for e in self.audit(target="typo@acme") if e["result"] == "invalid"]
        self.assertEqual(len(events), 3)

    def test_audit_trail_stays_utf8(self):
        """A name cut to fit an audit target is cut at a whole character, and
        whatever the trail holds goes out as valid D-Bus strings: one record
        must not make the trail unreadable."""
        self.ensure_tenant("acme")
        cut = "a" + "\u00e9" * 31                # the most of the name that fits 64 bytes
        name = cut + "\u00e9" * 9                # 81 bytes: "%.64s" would end inside an é
        for method in ("CreateUser", "CreateApplication"):
            self.call(ROOT + "/tenant/acme", "Tenant", method, "sa{sv}", name, 0, ok=False)
        targets = {}
        for action in ("user.create", "application.create"):
            events = self.call(ROOT, "Manager", "ListAuditEvents", "a{sv}", 1, "Action", "s", action)[0]
            targets[action] = [e[7] for e in events if e[7].startswith(cut)]
        self.assertEqual(targets["user.create"], [cut + "@acme"])
        self.assertEqual(len(targets["application.create"]), 1, targets)
        self.assertTrue(targets["application.create"][0].endswith("@acme"), targets)
        self.assertEqual(self.t.ctl("audit", "list").returncode, 0)

    def test_unknown_object_is_audited(self):
        name, _ = self.error_name(ROOT + "/user/acme/nobodyhere", IFACE + "User.Lock")
        self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject")
        events = [e for e in self.audit(action="bus.call") if e["target"] == ROOT + "/user/acme/nobodyhere"]
        self.assertEqual(events[-1]["details"]["error"], "no such object")
        self.assertEqual(events[-1]["result"], "invalid")

    # -- who may do what ----------------------------------------------------------

    def test_unprivileged_reads_but_no_changes(self):
        require_root(self)
        self.ensure_tenant("acme")
        t = ROOT + "/tenant/acme"
        user = self.call(t, "Tenant", "CreateUser", "sa{sv}", "priv", 1, "Email", "s", "priv@example.com")[0]
        self.assertEqual(self.prop(user, "User", "Name", user=NOBODY), "priv")
        self.assertEqual(self.prop(user, "User", "Email", user=NOBODY), "", "e-mail is for admins and the user")
        self.assertEqual(self.prop(user, "User", "Email"), "priv@example.com")
        # The policy file lets anybody look users up, by the old names too.
        for method in ("GetUserByName", "FindUserByName"):
            with self.subTest(method=method):
                p = self.t.gdbus(ROOT, IFACE + "Manager." + method, "acme", "priv", user=NOBODY)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(user, p.stdout)
        for path, method, args in ((ROOT, "Manager.CreateTenant", ["x", ""]),
                                   (t, "Tenant.CreateUser", ["x", "{}"]),
                                   (t, "Tenant.Delete", []),
                                   (user, "User.Lock", []), (user, "User.Delete", []),
                                   (user, "User.SetPassword", ["", "new password!"]),
                                   (ROOT + "/group/acme/priv", "Group.AddMember", ["priv"]),
                                   (ROOT, "Manager.ListAuditEvents", ["{}"])):
            with self.subTest(method=method):
                name, message = self.error_name(path, IFACE + method, *args, user=NOBODY)
                self.assertEqual(name, ERR + "AccessDenied")
                self.assertIn("admin group", message)
        self.assertEqual(self.prop(user, "User", "State"), "active")
        denied = [e for e in self.audit(target="priv@acme") if e["result"] == "denied"]
        self.assertGreaterEqual(len(denied), 3)
        self.assertTrue(all(e["actor_uid"] == NOBODY for e in denied))


class AdminGroupTest(unittest.TestCase):
    """Members of the configured admin group may change things."""

    def test_admin_group_member_may_change(self):
        require_root(self)
        # "users" (gid 100) exists on every Debian system.
        with Tessera(default_tenant="acme", daemon_extra="admin_group = users\n") as t:
            t.ctl("tenant", "create", "acme", check=True)
            member = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--groups=100", "--"]
            p = t.run(member + [t.ctl_path(), "user", "add", "zed@acme"])
            self.assertEqual(p.returncode, 0, p.stderr)
            p = t.ctl("user", "add", "zed2@acme", user=NOBODY)
            self.assertEqual(p.returncode, 4, "not a member: denied")
            events = json.loads(t.ctl("--json", "audit", "list", "--target", "zed@acme", check=True).stdout)
            self.assertEqual(events[0]["actor_uid"], NOBODY)
            self.assertEqual(events[0]["result"], "success")


class SignalTest(unittest.TestCase):
    def test_signals(self):
        with Tessera(default_tenant="acme") as t:
            monitor = subprocess.Popen(
                ["dbus-monitor", "--system", f"type='signal',sender='{DEST}'"],
                stdout=subprocess.PIPE, text=True, env=t.env())
            try:
                # dbus-monitor prints its own NameAcquired once it listens.
                for line in monitor.stdout:
                    if "NameAcquired" in line:
                        break
                t.ctl("tenant", "create", "acme", check=True)
                t.ctl("user", "add", "sig@acme", check=True)
                t.ctl("user", "set", "sig@acme", "--real-name", "Sig Nal", check=True)
                t.ctl("user", "delete", "sig@acme", check=True)
                t.ctl("tenant", "delete", "acme", check=True)
                seen, text = [], ""
                for line in monitor.stdout:
                    text += line
                    m = re.search(r"path=(\S+); interface=\S+; member=(\w+)", line)
                    if m:
                        seen.append((m.group(2), m.group(1)))
                    if ("InterfacesRemoved", ROOT) in seen and "tenant/acme" in text.split("InterfacesRemoved")[-1]:
                        break
            finally:
                monitor.terminate()
                monitor.wait()
        self.assertIn("InterfacesAdded", [s[0] for s in seen])
        self.assertIn(("PropertiesChanged", ROOT + "/user/acme/sig"), seen)
        self.assertIn("Sig Nal", text)
        self.assertGreaterEqual([s[0] for s in seen].count("InterfacesRemoved"), 3)   # user, its group, tenant


class IntrospectionTest(unittest.TestCase):
    """The interfaces served match the XML kept in dbus/."""

    @staticmethod
    def annotations(el):
        """Deprecated methods and how properties signal their changes are
        part of the contract too."""
        return tuple(sorted((a.get("name"), a.get("value")) for a in el.findall("annotation")))

    @classmethod
    def normalize(cls, iface):
        out = set()
        for el in iface:
            if el.tag == "method":
                args = tuple((a.get("type"), a.get("name"), a.get("direction", "in")) for a in el.findall("arg"))
                out.add(("method", el.get("name"), args, cls.annotations(el)))
            elif el.tag == "property":
                out.add(("property", el.get("name"), el.get("type"), el.get("access"), cls.annotations(el)))
            elif el.tag == "signal":
                out.add(("signal", el.get("name"), tuple(a.get("type") for a in el.findall("arg"))))
        return out

    def test_introspection_matches_xml(self):
        with Tessera(default_tenant="acme") as t:
            t.ctl("tenant", "create", "acme", check=True)
            t.ctl("user", "add", "intro@acme", check=True)
            t.ctl("app", "create", "intro@acme", "--redirect-uri", "https://app.example/cb", check=True)
            objects = {"Manager": ROOT, "Tenant": ROOT + "/tenant/acme", "User": ROOT + "/user/acme/intro",
                       "Group": ROOT + "/group/acme/intro", "Application": ROOT + "/application/acme/intro"}
            for name, path in objects.items():
                with self.subTest(interface=name):
                    live = ET.fromstring(t.busctl("introspect", "--xml-interface", DEST, path, check=True).stdout)
                    live_iface = [i for i in live.findall("interface") if i.get("name") == IFACE + name][0]
                    kept = ET.parse(os.path.join(REPO, "dbus", f"org.tessera.Identity1.{name}.xml")).getroot()
                    kept_iface = [i for i in kept.findall("interface") if i.get("name") == IFACE + name][0]
                    self.assertEqual(self.normalize(live_iface), self.normalize(kept_iface),
                                     f"dbus/org.tessera.Identity1.{name}.xml is out of date")


if __name__ == "__main__":
    unittest.main(verbosity=2)
