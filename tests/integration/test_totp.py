#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""TOTP enrollment and sessions over D-Bus and tesseractl: administrators
for anyone, users for themselves, codes from oathtool, and who may see
what."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import Tessera, require_root  # noqa: E402

EXIT_NOT_FOUND, EXIT_DENIED, EXIT_REFUSED = 3, 4, 5
ALICE, BOB = 200010, 200011
DEST, ROOT = "org.tessera.Identity1", "/org/tessera/Identity1"
USER_IFACE = "org.tessera.Identity1.User"


def oathtool(secret, offset_steps=0):
    when = f"now {'+' if offset_steps >= 0 else '-'} {abs(offset_steps) * 30} seconds"
    return subprocess.run(["oathtool", "--totp", "-b", "-N", when, secret], capture_output=True, text=True,
                          check=True).stdout.strip()


class TotpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme", bus_users=(("alice", ALICE), ("bob", BOB))).start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", "--display-name", "Acme Inc", check=True)
        for name, uid in (("alice", ALICE), ("bob", BOB), ("carol", 200012), ("dave", 200013)):
            cls.t.ctl("user", "add", f"{name}@acme", "--uid", str(uid), "--password-stdin",
                      input="a good passphrase\n", check=True)

    def ctl(self, *args, code=0, **kw):
        p = self.t.ctl(*args, **kw)
        self.assertEqual(p.returncode, code, f"tesseractl {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        return p

    def props(self, name, uid=None):
        p = self.t.run(["busctl", "--system", "--json=short", "get-property", DEST, f"{ROOT}/user/acme/{name}",
                        USER_IFACE, "TotpEnabled", "BackupCodesLeft"], user=uid, check=True)
        enabled, left = [json.loads(line)["data"] for line in p.stdout.splitlines()]
        return enabled, left

    def test_admin_enrolls_and_resets(self):
        out = self.ctl("user", "totp", "enroll", "carol@acme").stdout
        # The QR code, then the secret and the URI.
        self.assertIn("\u2588", out)
        self.assertRegex(out, r"Secret: [A-Z2-7]{32}\n")
        self.assertIn("URI:    otpauth://totp/Acme%20Inc:carol%40acme?secret=", out)
        self.assertIn("tesseractl user totp confirm carol@acme CODE", out)

        enrolled = json.loads(self.ctl("--json", "user", "totp", "enroll", "carol@acme").stdout)
        secret = enrolled["secret"]
        self.assertEqual(set(enrolled), {"secret", "uri"})
        self.assertTrue(enrolled["uri"].endswith("&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30"))
        self.assertEqual(self.props("carol"), (False, 0))

        p = self.ctl("user", "totp", "confirm", "carol@acme", "000000" if oathtool(secret) != "000000" else "111111",
                     code=EXIT_DENIED)
        self.assertIn("The code is not correct", p.stderr)
        self.ctl("user", "totp", "confirm", "carol@acme", "12345", code=EXIT_REFUSED)
        p = self.ctl("user", "totp", "confirm", "carol@acme", oathtool(secret))
        self.assertIn("TOTP is enabled for carol@acme", p.stdout)
        codes = [line.strip() for line in p.stdout.splitlines() if line.startswith("    ")]
        self.assertEqual(len(codes), 10)
        self.assertRegex(codes[0], r"^[2-9a-z]{5}-[2-9a-z]{5}$")
        self.assertEqual(self.props("carol"), (True, 10))
        self.assertIn("2nd factor: TOTP, 10 backup codes left", self.ctl("user", "show", "carol@acme").stdout)
        self.ctl("user", "totp", "confirm", "carol@acme", oathtool(secret, 1), code=EXIT_REFUSED)

        # Administrators make new backup codes and reset without a code.
        new = json.loads(self.ctl("--json", "user", "totp", "backup-codes", "carol@acme").stdout)["backup_codes"]
        self.assertEqual(len(new), 10)
        self.assertFalse(set(new) & set(codes))
        reset = json.loads(self.ctl("--json", "user", "totp", "enroll", "carol@acme").stdout)
        self.assertNotEqual(reset["secret"], secret)
        self.assertEqual(self.props("carol"), (False, 0))
        self.ctl("user", "totp", "disable", "carol@acme")
        self.ctl("user", "totp", "disable", "carol@acme", code=EXIT_NOT_FOUND)
        self.ctl("user", "totp", "backup-codes", "carol@acme", code=EXIT_NOT_FOUND)

        # The trail has every step and none of the secrets.
        trail = self.ctl("--json", "audit", "list", "--target", "carol@acme").stdout
        for action in ("totp.begin", "totp.confirm", "totp.backup-codes", "totp.disable"):
            self.assertIn(f'"action": "{action}"', trail)
        for secretish in [secret, reset["secret"], *codes, *new]:
            self.assertNotIn(secretish, trail)

    def test_self_service(self):
        require_root(self)
        enrolled = json.loads(self.ctl("--json", "user", "totp", "enroll", "alice@acme", user=ALICE).stdout)
        secret = enrolled["secret"]
        self.ctl("user", "totp", "confirm", "alice@acme", oathtool(secret, -1), user=ALICE)
        self.assertEqual(self.props("alice", uid=ALICE), (True, 10))
        # Others (not administrators) don't see it.
        self.assertEqual(self.props("alice", uid=BOB), (False, 0))

        # Enabled: no second enrollment without disabling first.
        p = self.ctl("user", "totp", "enroll", "alice@acme", user=ALICE, code=EXIT_REFUSED)
        self.assertIn("already enabled", p.stderr)
        # Disabling and new backup codes take a current code (read from
        # standard input when it isn't a terminal).
        self.ctl("user", "totp", "disable", "alice@acme", user=ALICE, input="\n", code=EXIT_DENIED)
        self.ctl("user", "totp", "backup-codes", "alice@acme", "zzzzz-zzzzz", user=ALICE, code=EXIT_DENIED)
        codes = json.loads(self.ctl("--json", "user", "totp", "backup-codes", "alice@acme", user=ALICE,
                                    input=oathtool(secret) + "\n").stdout)["backup_codes"]
        self.ctl("user", "totp", "disable", "alice@acme", codes[0], user=ALICE)
        self.assertEqual(self.props("alice", uid=ALICE), (False, 0))
        self.ctl("user", "unlock", "alice@acme")

    def test_others_refused(self):
        require_root(self)
        for verb in (("enroll", "dave@acme"), ("confirm", "dave@acme", "123456"), ("disable", "dave@acme", "x"),
                     ("backup-codes", "dave@acme", "x")):
            with self.subTest(verb=verb[0]):
                p = self.ctl("user", "totp", *verb, user=BOB, code=EXIT_DENIED)
                self.assertIn("Only dave@acme and administrators", p.stderr)
        self.assertEqual(self.props("dave"), (False, 0))

    def test_busctl(self):
        p = self.t.busctl("call", DEST, f"{ROOT}/user/acme/dave", USER_IFACE, "BeginTotpEnrollment", check=True)
        self.assertRegex(p.stdout, r'^ss "[A-Z2-7]{32}" "otpauth://totp/')
        p = self.t.busctl("call", DEST, f"{ROOT}/user/acme/dave", USER_IFACE, "ConfirmTotpEnrollment", "s", "abc")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("A code has 6 digits", p.stderr)
        self.ctl("user", "totp", "disable", "dave@acme")

    def test_usage(self):
        self.ctl("user", "totp", code=2)
        self.ctl("user", "totp", "frobnicate", "dave@acme", code=2)
        self.ctl("user", "totp", "enroll", code=2)
        self.ctl("user", "totp", "enroll", "dave@acme", "extra", code=2)
        p = self.ctl("user", "totp", "confirm", "dave@acme", code=2)
        self.assertIn("needs the code", p.stderr)
        self.ctl("user", "totp", "enroll", "nobody@acme", code=EXIT_NOT_FOUND)

    def test_sessions(self):
        require_root(self)
        # Sessions come from PAM; the store takes them as the socket would.
        for user, tty in (("alice", "pts/1"), ("bob", "pts/2"), ("alice", "pts/3")):
            self.t.run(["python3", "-c", SESSION_SCRIPT, self.t.pam_socket, user, tty], check=True)
        everyone = json.loads(self.ctl("--json", "session", "list").stdout)
        self.assertGreaterEqual(len(everyone), 3)
        # A user lists their own by default, and not another's.
        own = json.loads(self.ctl("--json", "session", "list", user=ALICE).stdout)
        self.assertEqual({s["user"] for s in own}, {"alice"})
        self.assertEqual([s["tty"] for s in own][:2], ["pts/3", "pts/1"])
        p = self.ctl("session", "list", "bob@acme", user=ALICE, code=EXIT_DENIED)
        self.assertIn("Only administrators may list the sessions of others", p.stderr)
        out = self.ctl("session", "list", "alice", "--open", "--limit", "1").stdout
        self.assertIn("pts/3", out)
        self.assertNotIn("pts/1", out)
        self.ctl("session", "list", "--limit", "0", code=2)
        self.ctl("session", "list", "nobody@acme", code=EXIT_NOT_FOUND)


# Opens a session through pam.sock as root would (the PAM module's request).
SESSION_SCRIPT = r"""
import socket, struct, sys
def field(tag, v):
    v = v.encode()
    return struct.pack(">HI", tag, len(v)) + v
payload = field(1, sys.argv[2]) + field(5, "test") + field(6, sys.argv[3])
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(struct.pack(">IHHI", 0x54535731, 1, 6, len(payload)) + payload)
head = s.recv(12)
body = s.recv(struct.unpack(">I", head[8:12])[0])
assert struct.unpack(">I", body[6:10])[0] == 0, body
"""


if __name__ == "__main__":
    unittest.main(verbosity=2)
