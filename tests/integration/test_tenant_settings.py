#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tenant's settings against the real tesserad: each one set and read over
D-Bus (busctl) and tesseractl (text and --json), back to the site's default
from tesserad.conf with Reset or 'default', announced with PropertiesChanged;
bad values refused with a clear error and nothing stored changed; and the
password policy they make enforced where passwords are set: D-Bus
SetPassword and CreateUser, tesseractl, and PAM password changes on the
daemon's authentication socket, in the protocol pam_tessera.so speaks
(tests/module/test_pam_module.py drives the module itself with pamtester;
it can't be loaded into pamtester in sanitizer builds)."""

import json
import os
import re
import socket
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from tessera_env import Tessera  # noqa: E402
from test_dbus_signals import SignalWatch  # noqa: E402
from test_pam_socket import (AUTHENTICATE, CHAUTHTOK, FLAG_ADMIN_CHANGE, OK, REJECTED, T_FLAGS,  # noqa: E402
                             T_NEW_PASSWORD, T_PASSWORD, T_STATUS, T_TEXT, T_USER, field, message, read_reply)

DEST = "org.tessera.Identity1"
ROOT = "/org/tessera/Identity1"
IFACE = "org.tessera.Identity1.Tenant"
ERR = "org.tessera.Identity1.Error."
ACME = ROOT + "/tenant/acme"
EXIT_REFUSED, EXIT_USAGE = 5, 2
PASSWORD = "quiet lantern orbit"
WAIT = 60                      # seconds; generous for sanitizer builds

# The site's defaults this daemon runs with: some changed from the built-in
# ones, so that "the site's" is seen to come from tesserad.conf.
SITE = {
    "OpenSignup": False,
    "PasswordMinLength": 10,
    "PasswordDictionaryCheck": True,
    "PasswordMinClasses": 0,
    "PasswordMaxRepeat": 0,
    "PasswordUserCheck": True,
    "MfaRequired": "admins",
    "SessionLifetime": 7200,
    "RefreshIdleLifetime": 86400,
    "RefreshAbsoluteLifetime": 864000,
}
# No lockout: the tests try the refused passwords, which must not sign in.
CONFIG = ("[passwords]\nmin_length = 10\n"
          "[auth]\nmfa_required = admins\nlockout_failures = 0\n"
          "[oidc]\nsession_lifetime = 7200\nrefresh_idle_lifetime = 86400\nrefresh_absolute_lifetime = 864000\n")

# Per setting: its D-Bus type, a value other than the site's, the option of
# tesseractl tenant set with that value, and what tenant show prints for it.
SETTINGS = {
    "OpenSignup": ("b", True, "yes", "yes"),
    "PasswordMinLength": ("u", 14, "14", "14"),
    "PasswordDictionaryCheck": ("b", False, "no", "no"),
    "PasswordMinClasses": ("u", 3, "3", "3"),
    "PasswordMaxRepeat": ("u", 2, "2", "2"),
    "PasswordUserCheck": ("b", False, "no", "no"),
    "MfaRequired": ("s", "everyone", "everyone", "everyone"),
    "SessionLifetime": ("u", 3600, "1h", "1h"),
    "RefreshIdleLifetime": ("u", 43200, "12h", "12h"),
    "RefreshAbsoluteLifetime": ("u", 432000, "5d", "5d"),
}
LABELS = {
    "OpenSignup": "Open sign-up",
    "PasswordMinLength": "Password min length",
    "PasswordDictionaryCheck": "Password dictionary check",
    "PasswordMinClasses": "Password min classes",
    "PasswordMaxRepeat": "Password max repeat",
    "PasswordUserCheck": "Password user check",
    "MfaRequired": "MFA required",
    "SessionLifetime": "Session lifetime",
    "RefreshIdleLifetime": "Refresh idle lifetime",
    "RefreshAbsoluteLifetime": "Refresh absolute lifetime",
}


def option(prop):
    """PasswordMinLength -> password-min-length."""
    return re.sub(r"(?<!^)([A-Z])", r"-\1", prop).lower()


def json_key(prop):
    return option(prop).replace("-", "_")


def bus_arg(sig, value):
    """busctl's text for a value of type sig."""
    if sig == "b":
        return "true" if value else "false"
    return str(value)


class TenantSettingsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme", tenants=("globex",), config_extra=CONFIG).start()
        cls.addClassCleanup(cls.t.close)
        for slug in ("acme", "globex", "mark"):
            cls.t.ctl("tenant", "create", slug, check=True)

    def setUp(self):
        # Every test starts from the site's defaults.
        self.reset(*SETTINGS)

    # -- helpers --------------------------------------------------------------

    def update(self, *entries, path=ACME):
        """UpdateSettings with busctl; entries: (key, signature, value...)."""
        args = [str(len(entries))]
        for key, sig, *values in entries:
            args += [key, sig, *map(str, values)]
        p = self.t.busctl("call", DEST, path, IFACE, "UpdateSettings", "a{sv}", *args)
        self.assertEqual(p.returncode, 0, p.stderr)

    def reset(self, *names):
        self.update(("Reset", "as", len(names), *names))

    def refused(self, text, *args):
        """UpdateSettings with gdbus (text: GVariant a{sv}); returns the
        error name and message."""
        p = self.t.gdbus(ACME, IFACE + ".UpdateSettings", text, *args)
        m = re.search(r"GDBus\.Error:([\w.]+): (.*)", p.stderr)
        self.assertIsNotNone(m, f"UpdateSettings {text} should have failed: {p.stdout}{p.stderr}")
        return m.group(1), m.group(2)

    def prop(self, name, path=ACME):
        p = self.t.busctl("--json=short", "get-property", DEST, path, IFACE, name)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)["data"]

    def all_settings(self, path=ACME):
        return {name: self.prop(name, path) for name in SETTINGS}

    def show(self, slug="acme"):
        return json.loads(self.t.ctl("--json", "tenant", "show", slug, check=True).stdout)

    def show_text(self, slug="acme"):
        lines = self.t.ctl("tenant", "show", slug, check=True).stdout.splitlines()
        return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines)}

    def stored(self):
        """The tenant's row of tenant_settings, as the store holds it."""
        return self.t.sqlite("SELECT s.* FROM tenant_settings s JOIN tenants t ON t.id = s.tenant_id "
                             "WHERE t.slug = 'acme'")

    def ctl(self, *args, code=0, **kw):
        p = self.t.ctl(*args, **kw)
        self.assertEqual(p.returncode, code, f"tesseractl {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        return p

    def user(self, name, password=PASSWORD, tenant="acme"):
        self.ctl("user", "add", f"{name}@{tenant}", "--password-stdin", input=password + "\n")
        return f"{ROOT}/user/{tenant}/{name}"

    def pam_ask(self, mtype, *fields):
        """One request on the authentication socket, as pam_tessera.so
        sends it (as root here); the reply's fields."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(WAIT)
            s.connect(self.t.pam_socket)
            s.sendall(message(mtype, *fields))
            return read_reply(s)

    def authenticates(self, name, password):
        return self.pam_ask(AUTHENTICATE, field(T_USER, name), field(T_PASSWORD, password))[T_STATUS] == OK

    def pam_change(self, name, new, current=None):
        """A password change at PAM: by root (no current password), or by
        the user with their current one. The reply's status and text."""
        fields = [field(T_USER, name), field(T_NEW_PASSWORD, new)]
        fields += [field(T_PASSWORD, current)] if current else [field(T_FLAGS, FLAG_ADMIN_CHANGE)]
        r = self.pam_ask(CHAUTHTOK, *fields)
        return r[T_STATUS], r.get(T_TEXT, b"").decode()

    # -- reading and setting ----------------------------------------------------

    def test_site_defaults_at_first(self):
        self.assertEqual(self.all_settings(), SITE)
        self.assertEqual(sorted(self.prop("InheritedSettings")), sorted(SETTINGS))
        shown = self.show()
        for name, value in SITE.items():
            self.assertEqual(shown[json_key(name)], value, name)
        self.assertEqual(sorted(shown["inherited_settings"]), sorted(SETTINGS))
        text = self.show_text()
        self.assertEqual(text["Password min length"], "10 (site default)")
        self.assertEqual(text["MFA required"], "admins (site default)")
        self.assertEqual(text["Session lifetime"], "2h (site default)")

    def test_each_setting_over_dbus(self):
        for name, (sig, value, _, printed) in SETTINGS.items():
            with self.subTest(setting=name):
                self.update((name, sig, bus_arg(sig, value)))
                self.assertEqual(self.prop(name), value)
                self.assertNotIn(name, self.prop("InheritedSettings"))
                self.assertEqual(self.show()[json_key(name)], value)
                self.assertEqual(self.show_text()[LABELS[name]], printed)
                # Another tenant keeps the site's.
                self.assertEqual(self.prop(name, ROOT + "/tenant/globex"), SITE[name])

                self.reset(name)
                self.assertEqual(self.prop(name), SITE[name])
                self.assertIn(name, self.prop("InheritedSettings"))
                self.assertTrue(self.show_text()[LABELS[name]].endswith("(site default)"))

    def test_each_setting_with_tesseractl(self):
        for name, (_, value, given, printed) in SETTINGS.items():
            with self.subTest(setting=name):
                self.ctl("tenant", "set", "acme", f"--{option(name)}", given)
                self.assertEqual(self.prop(name), value)
                self.assertEqual(self.show()[json_key(name)], value)
                self.assertEqual(self.show_text()[LABELS[name]], printed)
        # All of them at once stored, in the store's row too.
        self.assertEqual(self.prop("InheritedSettings"), [])
        row = self.stored()
        self.assertEqual(len(row), 1)
        self.assertIn("everyone", row[0])
        # 'default' hands one back to the site, the others stay.
        self.ctl("tenant", "set", "acme", "--password-min-length", "default", "--mfa-required", "default")
        self.assertEqual(self.prop("PasswordMinLength"), 10)
        self.assertEqual(self.prop("MfaRequired"), "admins")
        self.assertEqual(sorted(self.prop("InheritedSettings")), ["MfaRequired", "PasswordMinLength"])
        self.assertEqual(self.prop("SessionLifetime"), 3600)
        # Several at once, and with the display name.
        self.ctl("tenant", "set", "acme", "--display-name", "Acme Inc", "--open-signup", "no",
                 "--session-lifetime", "90min")
        self.assertEqual(self.prop("OpenSignup"), False)
        self.assertEqual(self.prop("SessionLifetime"), 5400)
        self.assertEqual(self.show()["display_name"], "Acme Inc")

    def test_change_is_audited(self):
        self.ctl("tenant", "set", "acme", "--password-min-length", "12")
        events = json.loads(self.ctl("--json", "audit", "list", "--action", "tenant.update", "--target",
                                     "acme").stdout)
        last = max(events, key=lambda e: (e["last_usec"], e["id"]))
        self.assertEqual(last["result"], "success")
        self.assertEqual(last["details"]["settings"], {"password_min_length": 12})

    def test_properties_changed(self):
        watch = SignalWatch(self.t)
        try:
            self.update(("PasswordMinLength", "u", 16), ("OpenSignup", "b", "true"))
            changed = [s for s in watch.signals() if s.object == ACME and s.member == "PropertiesChanged"]
            self.assertEqual(len(changed), 1, changed)
            self.assertEqual(changed[0].prop("PasswordMinLength"), "uint32 16")
            self.assertEqual(changed[0].prop("OpenSignup"), "true")
            self.assertIn("'InheritedSettings'", changed[0].args)

            self.ctl("tenant", "set", "acme", "--password-min-length", "default")
            changed = [s for s in watch.signals() if s.object == ACME and s.member == "PropertiesChanged"]
            self.assertEqual(len(changed), 1, changed)
            self.assertEqual(changed[0].prop("PasswordMinLength"), "uint32 10")

            # A refused change announces nothing.
            self.refused("{'PasswordMinLength': <uint32 3>}")
            self.assertEqual([s for s in watch.signals() if s.object == ACME], [])
        finally:
            watch.close()

    # -- bad values -------------------------------------------------------------------

    def test_bad_values_change_nothing(self):
        self.update(("PasswordMinLength", "u", 12), ("SessionLifetime", "u", 3600), ("MfaRequired", "s", "everyone"))
        before, row = self.all_settings(), self.stored()
        inherited = self.prop("InheritedSettings")
        cases = [
            ("{'PasswordMinLength': <uint32 4>}", "password_min_length must lie between 8 and 128"),
            ("{'PasswordMinLength': <uint32 129>}", "password_min_length"),
            ("{'PasswordMinClasses': <uint32 5>}", "password_min_classes"),
            ("{'PasswordMaxRepeat': <uint32 65>}", "password_max_repeat"),
            ("{'MfaRequired': <'sometimes'>}", "none, admins or everyone"),
            ("{'SessionLifetime': <uint32 59>}", "session_lifetime"),
            # Longer than the site's: its maxima.
            ("{'SessionLifetime': <uint32 7201>}", "[oidc] session_lifetime"),
            ("{'RefreshAbsoluteLifetime': <uint32 864001>}", "[oidc] refresh_absolute_lifetime"),
            ("{'RefreshIdleLifetime': <uint32 50000>, 'RefreshAbsoluteLifetime': <uint32 40000>}",
             "must not exceed refresh_absolute_lifetime"),
            ("{'PasswordMinLength': <'twelve'>}", "'PasswordMinLength' must be of D-Bus type 'u'"),
            ("{'Colour': <'red'>}", "Unknown attribute 'Colour'"),
            ("{'Reset': <['Nope']>}", "Unknown setting 'Nope'"),
            ("{'OpenSignup': <true>, 'Reset': <['OpenSignup']>}", "both given and reset"),
            # One bad value spoils the good ones with it.
            ("{'OpenSignup': <true>, 'PasswordMinLength': <uint32 16>, 'PasswordMaxRepeat': <uint32 1000>}",
             "password_max_repeat"),
        ]
        for text, reason in cases:
            with self.subTest(settings=text):
                name, message = self.refused(text)
                self.assertEqual(name, ERR + "InvalidArgument", message)
                self.assertIn(reason, message)
        self.assertEqual(self.all_settings(), before)
        self.assertEqual(self.prop("InheritedSettings"), inherited)
        self.assertEqual(self.stored(), row)

        # tesseractl: a word where a number goes is its own usage error; a
        # value out of bounds is the daemon's, said as it said it.
        p = self.ctl("tenant", "set", "acme", "--password-min-length", "lots", code=EXIT_USAGE)
        self.assertIn("--password-min-length takes a number", p.stderr)
        p = self.ctl("tenant", "set", "acme", "--session-lifetime", "soon", code=EXIT_USAGE)
        self.assertIn("takes a duration", p.stderr)
        p = self.ctl("tenant", "set", "acme", "--password-min-length", "7", code=EXIT_REFUSED)
        self.assertIn("password_min_length must lie between 8 and 128", p.stderr)
        p = self.ctl("tenant", "set", "acme", "--session-lifetime", "1d", code=EXIT_REFUSED)
        self.assertIn("the site's maximum", p.stderr)
        p = self.ctl("tenant", "set", "acme", "--mfa-required", "sometimes", code=EXIT_REFUSED)
        self.assertIn("none, admins or everyone", p.stderr)
        self.assertEqual(self.all_settings(), before)
        self.assertEqual(self.stored(), row)

        events = json.loads(self.ctl("--json", "audit", "list", "--action", "tenant.update", "--target",
                                     "acme", "--limit", "1000").stdout)
        self.assertGreaterEqual(sum(e.get("count", 1) for e in events if e["result"] == "invalid"),
                                len(cases) + 3)

    def test_only_administrators(self):
        # A member of the tenant (over its own bus connection, as a local
        # user that is no administrator: nobody) may read, not change.
        p = self.t.busctl("call", DEST, ACME, IFACE, "UpdateSettings", "a{sv}", "1", "OpenSignup", "b", "true",
                          user=65534)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("needs root or membership in the tessera admin group", p.stderr)
        self.assertEqual(self.prop("OpenSignup"), False)

    # -- the password policy where passwords are set ----------------------------

    def test_weak_password_refused_over_dbus(self):
        path = self.user("walter")
        self.update(("PasswordMinLength", "u", 16))

        def set_password(new):
            p = self.t.gdbus(path, "org.tessera.Identity1.User.SetPassword", "", new)
            m = re.search(r"GDBus\.Error:([\w.]+): (.*)", p.stderr)
            return (m.group(1), m.group(2)) if m else None

        for weak, reason in (("ab3#Kd9!xQ2mZ7", "at least 16 characters"),
                             ("responsibilities", "dictionary"),
                             ("walter-walter-walter", "user name")):
            with self.subTest(password=weak):
                name, message = set_password(weak)
                self.assertEqual(name, ERR + "InvalidArgument")
                self.assertIn(reason, message)
        # Not stored: the old password still signs in.
        self.assertTrue(self.authenticates("walter", PASSWORD))
        # At the site's least length (10) again, 14 characters will do.
        self.reset("PasswordMinLength")
        self.assertIsNone(set_password("ab3#Kd9!xQ2mZ7"))
        self.assertTrue(self.authenticates("walter", "ab3#Kd9!xQ2mZ7"))

        # A new user with a password: CreateUser, and tesseractl user add.
        self.update(("PasswordMinClasses", "u", 3))
        p = self.t.gdbus(ACME, IFACE + ".CreateUser", "xena", "{'Password': <'quiet lantern orbit'>}")
        self.assertIn(ERR + "InvalidArgument", p.stderr)
        self.assertIn("less than 3 character classes", p.stderr)
        p = self.ctl("user", "add", "xena@acme", "--password-stdin", input="quiet lantern orbit\n",
                     code=EXIT_REFUSED)
        self.assertIn("less than 3 character classes", p.stderr)
        self.assertEqual(self.t.sqlite("SELECT name FROM users WHERE name = 'xena'"), [])
        self.user("xena", password="Quiet lantern orbit 7")

    def test_weak_password_refused_at_pam(self):
        self.user("petra")
        self.update(("PasswordMinLength", "u", 16), ("PasswordMaxRepeat", "u", 2))
        weak = (("ab3#Kd9!xQ2mZ7", "at least 16 characters"),
                ("zzz-quiet-lantern-orbit", "more than 2 same characters"),
                ("responsibilities", "dictionary"))
        # By root (pam_tessera.so in passwd run as root), and by the user
        # with the current password: refused alike, with the reason.
        for current in (None, PASSWORD):
            for password, reason in weak:
                with self.subTest(password=password, by="user" if current else "root"):
                    status, text = self.pam_change("petra", password, current)
                    self.assertEqual(status, REJECTED, text)
                    self.assertIn(reason, text)
                    self.assertFalse(self.authenticates("petra", password))
        self.assertTrue(self.authenticates("petra", PASSWORD))
        events = json.loads(self.ctl("--json", "audit", "list", "--action", "user.set-password",
                                     "--target", "petra@acme", "--limit", "100").stdout)
        self.assertGreaterEqual(sum(e.get("count", 1) for e in events if e["result"] == "invalid"), 2 * len(weak))
        # The tenant's policy only: globex follows the site's.
        self.user("gina", tenant="globex")
        self.assertEqual(self.pam_change("gina@globex", "ab3#Kd9!xQ2mZ7")[0], OK)
        self.assertTrue(self.authenticates("gina@globex", "ab3#Kd9!xQ2mZ7"))
        # A strong one passes at acme too.
        strong = "ab3#Kd9!xQ2mZ7-Lw5"
        self.assertEqual(self.pam_change("petra", strong, PASSWORD)[0], OK)
        self.assertTrue(self.authenticates("petra", strong))


if __name__ == "__main__":
    unittest.main(verbosity=2)
