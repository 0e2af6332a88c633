#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An account made by an upstream sign-in ("Sign in with ...") is a host
account like any other: after its first sign-in through node's
oidc-provider on loopback (the JSON API's start and callback), getent
passwd and id resolve it through the built libnss_tessera.so.2 (loaded by
nss_wrapper) with its uid and user-private group; pam_tessera.so (through
pam_wrapper, driven by pamtester) refuses it while it has no password,
since no upstream password ever reaches tessera; once the user sets a
first password from the fresh session (POST .../me/password without
current_password), the host login succeeds with it. A session whose
sign-in is old, and an account that has a password, can't set one that
way."""

import os
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
from tessera_env import BUILD, PamServices, Tessera, nss_wrapper_library  # noqa: E402
from oidc_client import Client  # noqa: E402
import upstream_env  # noqa: E402
from upstream_env import UpstreamOP, callback_params, sign_in  # noqa: E402

PASSWORD = "correct horse battery"
HOST_PASSWORD = "quartz violin meadow 4711"
CLIENT_ID = "tessera-host"
CLIENT_SECRET = "upstream-host-secret-0123456789"
NSS_MODULE = os.path.join(BUILD, "nss_module", "libnss_tessera.so.2")
USERS = [{"sub": "1006", "login": "hedy", "password": "hedy-pw", "email": "hedy@example.net",
          "email_verified": True, "name": "Hedy Lamarr"},
         {"sub": "1008", "login": "ida", "password": "ida-pw", "email": "ida@example.net",
          "email_verified": True, "name": "Ida Noddack"}]


@unittest.skipUnless(upstream_env.node_modules_ready() or os.environ.get("TESSERA_NPM_INSTALL"),
                     "tests/oidc/node_modules is missing: run npm ci in tests/oidc (tools/test does)")
class UpstreamHostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme").start()
        cls.addClassCleanup(cls.t.close)
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("user", "add", "olga@acme", "--role", "owner", "--email", "olga@acme.example", "--password-stdin",
              input=PASSWORD + "\n", check=True)
        cls.c = Client(t.base_url)
        cls.callback = t.issuer("acme") + "/upstream/callback"
        cls.op = UpstreamOP(os.path.join(t.dir, "op"), users=USERS,
                            clients=[{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                      "redirect_uris": [cls.callback]}]).start()
        cls.addClassCleanup(cls.op.stop)
        r = cls.c.post("/api/v1/tenants/acme/auth/signin", json_body={"login": "olga", "password": PASSWORD})
        assert r.status == 200, r.text
        r = cls.c.post("/api/v1/tenants/acme/providers", headers={"Authorization": "Bearer " +
                                                                  r.json["session"]["token"]},
                       json_body={"name": "op", "kind": "oidc", "display_name": "Example OP", "issuer": cls.op.issuer,
                                  "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "signup": "jit"})
        assert r.status == 201, r.text
        cls.pam = PamServices(t)
        cls.pam.add("login", "auth required {module} socket={socket} nodelay",
                    "account required {module} socket={socket}")

    def federated_sign_in(self, login="hedy", password="hedy-pw"):
        r = self.c.get("/api/v1/tenants/acme/auth/oauth/op")
        self.assertEqual(r.status, 200, r.text)
        back = sign_in(r.json["url"], login, password, self.callback)
        r = self.c.get("/api/v1/tenants/acme/auth/oauth/callback?" + urllib.parse.urlencode(callback_params(back)))
        self.assertIn(r.status, (200, 201), r.text)
        return r.json["session"]

    def nss(self, *argv):
        d = tempfile.mkdtemp(prefix="tessera-nsswrap-", dir=self.t.dir)
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/bash\n")
        with open(os.path.join(d, "group"), "w") as f:
            f.write("root:x:0:\n")
        env = dict(os.environ, LD_PRELOAD=nss_wrapper_library(), NSS_WRAPPER_PASSWD=os.path.join(d, "passwd"),
                   NSS_WRAPPER_GROUP=os.path.join(d, "group"), NSS_WRAPPER_MODULE_SO_PATH=NSS_MODULE,
                   NSS_WRAPPER_MODULE_FN_PREFIX="tessera", TESSERA_NSS_SOCKET=self.t.nss_socket)
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
        return p.returncode, p.stdout.strip()

    def pam_login(self, password):
        return self.pam.pamtester("login", "hedy", "authenticate", "acct_mgmt", input=password + "\n")

    def set_password(self, token, body):
        return self.c.post("/api/v1/tenants/acme/me/password", json_body=body,
                           headers={"Authorization": "Bearer " + token})

    def test_host_account(self):
        session = self.federated_sign_in()
        uid, gid, home, shell = self.t.sqlite("SELECT uid, gid, home, shell FROM users WHERE name = 'hedy'")[0]

        # NSS: the account and its private group, as any user's.
        self.assertEqual(self.nss("getent", "passwd", "hedy"),
                         (0, f"hedy:*:{uid}:{gid}:Hedy Lamarr:{home}:{shell}"))
        self.assertEqual(uid, gid)
        self.assertEqual(self.nss("getent", "group", str(gid))[1].split(":")[0], "hedy")
        rc, out = self.nss("id", "hedy")
        self.assertEqual(rc, 0, out)
        self.assertIn(f"uid={uid}(hedy) gid={gid}(hedy)", out)

        # PAM: no password yet, so no host login (the upstream one is
        # never tessera's).
        p = self.pam_login("hedy-pw")
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)

        # The first password, from the session of the sign-in just made.
        r = self.set_password(session["token"], {"new_password": HOST_PASSWORD, "keep_other_sessions": True})
        self.assertEqual(r.status, 200, r.text)
        p = self.pam_login(HOST_PASSWORD)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("successfully authenticated", p.stdout + p.stderr)

        # Once there is one, changing it takes the current one.
        r = self.set_password(session["token"], {"new_password": "another quartz violin 815"})
        self.assertEqual(r.status, 422, r.text)
        self.assertEqual(r.json["code"], "invalid")
        p = self.pam_login(HOST_PASSWORD)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_first_password_needs_a_fresh_sign_in(self):
        session = self.federated_sign_in("ida", "ida-pw")
        # The session's sign-in made 11 minutes old.
        subprocess.run(["sqlite3", os.path.join(self.t.state_dir, "tessera.db"),
                        "UPDATE oidc_sessions SET auth_time_usec = auth_time_usec - 660000000 "
                        f"WHERE sid = '{session['id']}'"], check=True, timeout=30)
        r = self.set_password(session["token"], {"new_password": "an old session's password"})
        self.assertEqual(r.status, 403, r.text)
        self.assertEqual(r.json["code"], "forbidden")
        self.assertIn("sign in again", r.json["error"])
        self.assertEqual(self.t.sqlite("SELECT password_hash IS NULL FROM users WHERE name = 'ida'"), [["1"]])


if __name__ == "__main__":
    unittest.main()
