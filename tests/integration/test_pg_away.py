#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesserad on PostgreSQL while the server is away (stopped under it, on a
real PostgreSQL 15 from tests/lib/pg_server.py), door by door: writes are
refused with a clear "try again" (D-Bus org.tessera.Identity1.Error.Busy,
HTTP 503 store_unavailable with Retry-After in the JSON envelope, the PAM
socket ERROR, which pam_tessera turns into PAM_AUTHINFO_UNAVAIL), reads
that caches hold are served (getent of a user the NSS memory image holds,
the JWKS, the discovery document), tesserad stays up, and once the server
is back writes work again without a restart. A load of user creations
over HTTP runs throughout: every one acknowledged is in the database."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "reliability"))
import pg_server  # noqa: E402
from faultlib import (NSS_MODULE, NSS_PROBE, PASSWORD, Http, nss_available, nss_lookup,  # noqa: E402
                      pam_authenticate, sanitized_build)
from tessera_env import PamServices, Tessera  # noqa: E402

WHY = pg_server.available()
TENANT = "acme"
USERS = f"/api/v1/tenants/{TENANT}/users"
BUSY = "org.tessera.Identity1.Error.Busy"
WORDS = "cannot reach its database"
# The longest back-off between connection attempts (5 s, db-pg.c) and a
# connection attempt, with room for a sanitizer build on a loaded machine.
BACK_BOUND = 30.0


def prime_nss_image(t, name):
    """Waits until the daemon's NSS memory image holds name: a lookup that
    maps the image, then the daemon stopped (SIGSTOP) and the same process
    asked again, which only the image can answer."""
    env = dict(os.environ, TESSERA_NSS_SOCKET=t.nss_socket, TESSERA_NSS_CACHE="1", TESSERA_NSS_TIMEOUT_MS="500")
    env.pop("TESSERA_NSS_BYPASS", None)
    env.pop("LD_PRELOAD", None)
    out = ""
    for _ in range(50):
        try:
            out = subprocess.run([NSS_PROBE, NSS_MODULE, "prime", name, str(t.daemon.pid), "getpwnam", name],
                                 capture_output=True, text=True, env=env, timeout=60).stdout.strip()
        finally:
            os.kill(t.daemon.pid, signal.SIGCONT)
        if out.startswith(f"SUCCESS {name}:"):
            return
        # A rebuild after the last change was still under way.
        time.sleep(0.1)
    raise AssertionError(f"the NSS memory image never held {name}: {out}")


class Load(threading.Thread):
    """Creates users over HTTP one after the other until stopped; records
    each acknowledged (201) and each refused, with its answer."""

    def __init__(self, t, token):
        super().__init__(daemon=True)
        self.http = Http(t)
        self.token = token
        self.stop = threading.Event()
        self.acked, self.refused, self.unexpected = [], [], []

    def run(self):
        i = 0
        while not self.stop.is_set():
            name = f"load{i}"
            i += 1
            try:
                status, body, _ = self.http.request("POST", USERS, json.dumps({"name": name}),
                                                    {"Authorization": "Bearer " + self.token,
                                                     "Content-Type": "application/json"}, 30)
            except OSError as e:
                self.unexpected.append((name, repr(e)))
                continue
            try:
                envelope = json.loads(body) if status != 201 else {}
            except ValueError:
                envelope = {}
            if status == 201:
                self.acked.append(name)
            elif status == 503 and envelope.get("code") == "store_unavailable":
                self.refused.append((name, envelope["error"]))
            else:
                self.unexpected.append((name, status, body[:300]))
            time.sleep(0.02)


@unittest.skipIf(WHY, WHY)
class PgAwayTest(unittest.TestCase):
    def setUp(self):
        self.pg = pg_server.PgServer().init().start()
        self.addCleanup(self.pg.close)
        url = self.pg.create_database("tessera")
        # One HTTP thread: the discovery document is answered from that
        # thread's tenant cache, which the test primes.
        self.t = Tessera(default_tenant=TENANT, store_url=url, http_extra="threads = 1\n",
                         config_extra="[passwords]\nhash_cost = 1\n").start()
        self.addCleanup(self.t.close)

    def token(self, http, app):
        return http.post_form(f"/t/{TENANT}/token", {"grant_type": "client_credentials",
                                                      "scope": "tessera:users:write"},
                              basic=(app["client_id"], app["client_secret"]))

    def assert_store_unavailable(self, status, body, resp):
        self.assertEqual(status, 503, body)
        envelope = json.loads(body)
        self.assertEqual(set(envelope), {"error", "code", "details"}, envelope)
        self.assertEqual(envelope["code"], "store_unavailable")
        self.assertIn(WORDS, envelope["error"])
        self.assertIn("request_id", envelope["details"])
        self.assertTrue(resp.getheader("Retry-After"))

    def wait_writes_work(self, name):
        """After the server is back: writes work again, without a restart
        of tesserad, once each thread's back-off has run out."""
        deadline = time.monotonic() + BACK_BOUND
        while True:
            p = self.t.ctl("user", "add", f"{name}@{TENANT}")
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_server_away(self):
        t = self.t
        t.ctl("tenant", "create", TENANT, check=True)
        t.ctl("user", "add", f"alice@{TENANT}", "--password-stdin", input=PASSWORD + "\n", check=True)
        writer = json.loads(t.ctl("--json", "app", "create", f"writer@{TENANT}", "--grant", "client_credentials",
                                  "--scope", "tessera:users:write", check=True).stdout)
        http = Http(t)
        status, body, _ = self.token(http, writer)
        self.assertEqual(status, 200, body)
        access = json.loads(body)["access_token"]
        pam = None
        if not sanitized_build() and shutil.which("pamtester"):
            pam = PamServices(t)
            pam.add("away", "auth required {module} socket={socket} totp=never")
            p = pam.pamtester("away", "alice", "authenticate", input=PASSWORD + "\n")
            self.assertEqual(p.returncode, 0, p.stderr)

        # What the caches must hold when the server goes: the JWKS and the
        # discovery document once served; then a change, after which the
        # HTTP thread's copy of the tenant is older than the last change
        # (it reads it again on its next request, which the server's
        # absence refuses); and the NSS image with alice, made after the
        # change (a change makes the image invalid until a rebuild, which
        # needs the store).
        status, jwks_body, _ = http.get(f"/t/{TENANT}/jwks")
        self.assertEqual(status, 200, jwks_body)
        kids = sorted(k["kid"] for k in json.loads(jwks_body)["keys"])
        self.assertTrue(kids)
        status, discovery, _ = http.get(f"/t/{TENANT}/.well-known/openid-configuration")
        self.assertEqual(status, 200, discovery)
        t.ctl("user", "add", f"zed@{TENANT}", check=True)
        if nss_available():
            prime_nss_image(t, "alice")

        def check_cached_reads():
            status, body, _ = http.get(f"/t/{TENANT}/jwks")
            self.assertEqual(status, 200, body)
            self.assertEqual(sorted(k["kid"] for k in json.loads(body)["keys"]), kids)
            status, body, _ = http.get(f"/t/{TENANT}/.well-known/openid-configuration")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body), json.loads(discovery))

        # -- the server away, nothing else going on -------------------------
        self.pg.stop()
        # Writes: a clear "try again" at each door.
        p = t.gdbus(f"/org/tessera/Identity1/tenant/{TENANT}", "org.tessera.Identity1.Tenant.CreateUser", "bob",
                    "@a{sv} {}")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn(BUSY, p.stderr)
        self.assertIn(WORDS, p.stderr)
        p = t.ctl("user", "add", f"bob@{TENANT}")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn(WORDS, p.stderr)
        self.assert_store_unavailable(*http.request("POST", USERS, json.dumps({"name": "carol"}),
                                                    {"Authorization": "Bearer " + access,
                                                     "Content-Type": "application/json"}, 30))
        self.assert_store_unavailable(*self.token(http, writer))
        # A login fails closed: the daemon cannot record it.
        self.assertEqual(pam_authenticate(t.pam_socket, "alice", PASSWORD)[0], "ERROR")
        if pam:
            p = pam.pamtester("away", "alice", "authenticate", input=PASSWORD + "\n")
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("Authentication service cannot retrieve authentication info", p.stderr + p.stdout)
        # Reads the caches hold.
        check_cached_reads()
        if nss_available():
            # A process of its own, as getent is: the image answers.
            code, out = nss_lookup(t, "alice", cache=True)
            self.assertEqual(code, 0, out)
            self.assertTrue(out.startswith("SUCCESS alice:"), out)
            # Without the image the daemon must ask the store: it can't.
            code, out = nss_lookup(t, "alice", cache=False)
            self.assertTrue(out.startswith("UNAVAIL"), out)
        self.assertIsNone(t.daemon.poll(), "tesserad exited while the database was away")

        self.pg.start()
        self.wait_writes_work("bob")
        status, body, _ = self.token(http, writer)
        self.assertEqual(status, 200, body)
        self.assertEqual(pam_authenticate(t.pam_socket, "alice", PASSWORD)[0], "OK")

        # -- the server away under a load of writes ---------------------------
        load = Load(t, access)
        load.start()
        self.addCleanup(load.join, 60)
        self.addCleanup(load.stop.set)
        deadline = time.monotonic() + 30
        while not load.acked and not load.unexpected and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(load.acked, load.unexpected)
        self.pg.stop()
        deadline = time.monotonic() + 10
        while not load.refused and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(load.refused, "no write of the load was refused while the server was away")
        check_cached_reads()
        self.pg.start()
        self.wait_writes_work("dave")
        acked_before = len(load.acked)
        deadline = time.monotonic() + BACK_BOUND
        while len(load.acked) == acked_before and time.monotonic() < deadline:
            time.sleep(0.05)
        load.stop.set()
        load.join(60)
        self.assertGreater(len(load.acked), acked_before, "the load did not resume")
        self.assertEqual(load.unexpected, [])

        # Nothing acknowledged was lost; nothing refused with "nothing was
        # changed" was stored.
        stored = set(self.pg.psql("SELECT name FROM users", database="tessera").split())
        self.assertEqual(sorted(set(load.acked) - stored), [])
        unchanged = {name for name, error in load.refused if "nothing was changed" in error}
        self.assertEqual(sorted(unchanged & stored), [])
        self.assertTrue({"bob", "dave"} <= stored)
        self.assertNotIn("carol", stored)
        print(f"load: {len(load.acked)} acknowledged, {len(load.refused)} refused while the server was away",
              flush=True)


if __name__ == "__main__":
    unittest.main()
