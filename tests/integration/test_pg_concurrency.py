#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The single-use rules with several writers: two tesserad processes on one
PostgreSQL (a real PostgreSQL 15 started here, tests/lib/pg_server.py),
each with its own bus, HTTP port and mail folder, driven through their real
faces (tesseractl on D-Bus, the sign-in pages, /token, the JSON API) from
threads, so that their transactions overlap.

What must hold, whichever instance a request reaches: a user made through
one signs in through the other; an authorization code is redeemed once
(sequentially and by 16 concurrent requests spread over both); a reused
refresh token revokes its family across instances; failures at both add up
to one lockout; a TOTP step is spent once; an invitation is accepted once;
users made at once through both get distinct IDs; signing keys are made
and rotated by one instance at a time; a queued mail is sent by one
sender only."""

import collections
import email
import email.policy
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
import pg_server  # noqa: E402
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402
from test_oidc_flow import PASSWORD, totp  # noqa: E402
import test_oidc_flow  # noqa: E402

WHY = pg_server.available()
LOCKOUT_FAILURES = 24
INVITE_LINK = re.compile(r"https?://\S+/t/acme/accept-invitation\?token=([A-Za-z0-9_-]+)")
MAIL_WAIT = 60.0


def run_threads(jobs):
    """Runs each callable on a thread of its own, released together;
    returns their results in order (an exception raised is a result)."""
    results = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def one(i):
        start.wait()
        try:
            results[i] = jobs[i]()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


class Browser(test_oidc_flow.Browser):
    """The sign-in pages of one instance."""


@unittest.skipIf(WHY, WHY)
class PgConcurrencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pg_server.PgServer().init().start()
        cls.addClassCleanup(cls.pg.close)
        url = cls.pg.create_database("tessera")
        # Every instance seals and opens with one secret key (TOTP seeds,
        # client secrets, mail bodies): a file they share, which the first
        # one makes.
        cls.shared = tempfile.mkdtemp(prefix="tessera-pg-shared-")
        cls.addClassCleanup(shutil.rmtree, cls.shared, ignore_errors=True)
        cls.key_file = os.path.join(cls.shared, "secret.key")
        cls.a = cls.instance(url, "a")
        cls.b = cls.instance(url, "b")
        a = cls.a
        a.ctl("tenant", "create", "acme", check=True)
        for name in ("alice", "bob", "carol", "lou"):
            a.ctl("user", "add", f"{name}@acme", "--email", f"{name}@acme.example", "--password-stdin",
                  input=PASSWORD + "\n", check=True)
        cls.web = json.loads(a.ctl("--json", "app", "create", "web@acme", "--redirect-uri",
                                   "https://app.example/cb", "--first-party", check=True).stdout)
        enroll = json.loads(a.ctl("--json", "user", "totp", "enroll", "bob@acme", check=True).stdout)
        cls.bob_secret = enroll["secret"]
        a.ctl("user", "totp", "confirm", "bob@acme", totp(cls.bob_secret), check=True)

    @classmethod
    def instance(cls, url, name):
        # One public URL, as behind a load balancer: the issuer of every
        # tenant is the same at both, so that a token one issued is the
        # other's too.
        t = Tessera(store_url=url, http_extra="public_url = http://id.example.test\n", config_extra=(
            # Failures are counted by the lockout, not by the per-address
            # limits of the HTTP face; a reused refresh token revokes at once.
            f"[auth]\nkey_file = {cls.key_file}\nlockout_failures = {LOCKOUT_FAILURES}\nlockout_interval = 3600\nlockout_time = 600\n"
            "[oidc]\nrefresh_reuse_grace = 0\n"
            "[limits]\naddress_burst = 0\nclient_burst = 0\naccount_burst = 0\n"
            "mail_address_burst = 0\nmail_account_burst = 0\n"
            "[mail]\nfrom = tessera@example.com\noutbox_directory = {outbox}\n"))
        t.outbox = os.path.join(t.dir, f"outbox-{name}")
        t.config_extra = t.config_extra.replace("{outbox}", t.outbox)
        t.start()
        cls.addClassCleanup(t.close)
        return t

    def query(self, sql):
        return self.a.sqlite(sql)

    # -- helpers ------------------------------------------------------------------

    def code_from(self, t, login="alice"):
        b = Browser(t)
        page, verifier = b.authorize(self.web)
        r = b.sign_in(page, login=login)
        self.assertEqual(r.status, 303, r.text[:500])
        return r.location_params()["code"], verifier

    def exchange(self, t, code, verifier):
        return Client(t.base_url).post("/t/acme/token", form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example/cb",
            "code_verifier": verifier}, basic=(self.web["client_id"], self.web["client_secret"]))

    def refresh(self, t, token):
        return Client(t.base_url).post("/t/acme/token", form={"grant_type": "refresh_token", "refresh_token": token},
                                       basic=(self.web["client_id"], self.web["client_secret"]))

    def wrong_password(self, t, login):
        b = Browser(t)
        page, _ = b.authorize(self.web)
        return b.sign_in(page, login=login, password="not the password").status

    # -- users and sign-in ------------------------------------------------------------

    def test_user_made_at_a_signs_in_at_b(self):
        self.a.ctl("user", "add", "dora@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        code, verifier = self.code_from(self.b, login="dora")
        r = self.exchange(self.b, code, verifier)
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("id_token", r.json)

    def test_users_made_at_once_get_distinct_ids(self):
        # The next free ID is read, then inserted: without one allocation
        # at a time across instances two creations read the same one.
        names = [f"mass{i}" for i in range(16)]
        jobs = [lambda n=n, t=(self.a if i % 2 else self.b): t.ctl("user", "add", f"{n}@acme")
                for i, n in enumerate(names)]
        results = run_threads(jobs)
        failed = [(n, p.stderr if hasattr(p, "stderr") else p) for n, p in zip(names, results)
                  if not hasattr(p, "returncode") or p.returncode != 0]
        self.assertEqual(failed, [])
        uids = self.query("SELECT uid FROM users WHERE name LIKE 'mass%'")
        self.assertEqual(len(uids), 16)
        self.assertEqual(len({u[0] for u in uids}), 16)

    def test_the_last_owner_stays(self):
        # Two owners demoted at once, one through each instance: each
        # counts the other as the owner who remains, unless the counts
        # take turns. A few tenants, for a few chances to overlap.
        for n in range(3):
            tenant = f"own{n}"
            self.a.ctl("tenant", "create", tenant, check=True)
            for who in ("x", "y"):
                self.a.ctl("user", "add", f"{who}@{tenant}", "--role", "owner", check=True)
            results = run_threads([lambda: self.a.ctl("user", "set", f"x@{tenant}", "--role", "member"),
                                   lambda: self.b.ctl("user", "set", f"y@{tenant}", "--role", "member")])
            self.assertEqual(sorted(p.returncode for p in results)[0], 0, [p.stderr for p in results])
            self.assertEqual(self.query(f"SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id "
                                        f"WHERE t.slug = '{tenant}' AND u.role = 'owner'"), [["1"]],
                             [p.stderr for p in results])

    # -- authorization codes -------------------------------------------------------------

    def test_code_from_a_redeemed_at_b_once(self):
        code, verifier = self.code_from(self.a)
        first = self.exchange(self.b, code, verifier)
        self.assertEqual(first.status, 200, first.text)
        again = self.exchange(self.a, code, verifier)
        self.assertEqual(again.status, 400, again.text)
        self.assertEqual(again.json["error"], "invalid_grant")

    def test_sixteen_concurrent_redemptions_one_wins(self):
        code, verifier = self.code_from(self.a)
        results = run_threads([lambda t=(self.a if i % 2 else self.b): self.exchange(t, code, verifier)
                               for i in range(16)])
        statuses = collections.Counter(r.status if hasattr(r, "status") else repr(r) for r in results)
        self.assertEqual(statuses, {200: 1, 400: 15}, statuses)
        for r in results:
            if r.status == 400:
                self.assertEqual(r.json["error"], "invalid_grant")

    # -- refresh tokens ------------------------------------------------------------------

    def test_refresh_reused_across_instances_revokes_the_family(self):
        code, verifier = self.code_from(self.a, login="carol")
        tokens = self.exchange(self.a, code, verifier).json
        old = tokens["refresh_token"]
        rotated = self.refresh(self.a, old)
        self.assertEqual(rotated.status, 200, rotated.text)
        new = rotated.json["refresh_token"]
        reuse = self.refresh(self.b, old)
        self.assertEqual(reuse.status, 400, reuse.text)
        self.assertEqual(reuse.json["error"], "invalid_grant")
        # The whole family went: the token rotated in is refused too, at
        # either instance.
        for t in (self.a, self.b):
            r = self.refresh(t, new)
            self.assertEqual(r.status, 400, r.text)
            self.assertEqual(r.json["error"], "invalid_grant")

    def test_concurrent_rotations_of_one_refresh_token(self):
        code, verifier = self.code_from(self.a, login="carol")
        old = self.exchange(self.a, code, verifier).json["refresh_token"]
        results = run_threads([lambda t=(self.a if i % 2 else self.b): self.refresh(t, old) for i in range(8)])
        statuses = collections.Counter(r.status if hasattr(r, "status") else repr(r) for r in results)
        # One rotation; the others are reuses, which revoke the family,
        # the token the winner got with it.
        self.assertEqual(statuses, {200: 1, 400: 7}, statuses)
        new = next(r for r in results if r.status == 200).json["refresh_token"]
        self.assertEqual(self.refresh(self.b, new).status, 400)

    # -- the lockout ------------------------------------------------------------------------

    def test_failures_at_both_add_up_to_one_lockout(self):
        # Every failure at once, half through each instance: each one read
        # and written back unlocked loses the others' counts.
        statuses = run_threads([lambda t=(self.a if i % 2 else self.b): self.wrong_password(t, "lou")
                                for i in range(LOCKOUT_FAILURES)])
        self.assertEqual(statuses, [401] * LOCKOUT_FAILURES)
        (level, count), = self.query("SELECT s.lock_level, s.failed_count FROM auth_state s "
                                     "JOIN users u ON u.id = s.user_id WHERE u.name = 'lou'")
        self.assertEqual((int(level), int(count)), (1, 0), "the failures did not add up to one lock")
        (until,), = self.query("SELECT locked_until_usec FROM users WHERE name = 'lou'")
        self.assertGreater(int(until), time.time() * 1e6)
        # Locked at both: the right password does not get in.
        for t in (self.a, self.b):
            b = Browser(t)
            page, _ = b.authorize(self.web)
            r = b.sign_in(page, login="lou")
            self.assertNotEqual(r.status, 303, f"signed in at a locked account: {r.text[:300]}")

    # -- TOTP ----------------------------------------------------------------------------

    def totp_page(self, t):
        b = Browser(t)
        page, _ = b.authorize(self.web)
        r = b.sign_in(page, login="bob")
        self.assertEqual(r.status, 200, r.text[:300])
        self.assertIn('name="code"', r.text)
        return b, r

    def test_totp_step_spent_once(self):
        # Both pages shown first, then the one code sent to both at once.
        (ba, pa), (bb, pb) = self.totp_page(self.a), self.totp_page(self.b)
        # A step not used by the enrollment: the next one (the window
        # accepts it).
        code = totp(self.bob_secret, step=1)
        results = run_threads([lambda: ba.submit(pa, "/t/acme/login/totp", code=code),
                               lambda: bb.submit(pb, "/t/acme/login/totp", code=code)])
        self.assertEqual(sorted(r.status for r in results), [303, 401], [r.text[:200] for r in results])

    # -- invitations and mail ----------------------------------------------------------

    def mails(self):
        out = []
        for t in (self.a, self.b):
            for path in sorted(glob.glob(os.path.join(t.outbox, "*.eml"))):
                with open(path, "rb") as f:
                    out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def wait_sent(self, addresses):
        """Waits until every mail to the addresses has left the outbox."""
        deadline = time.monotonic() + MAIL_WAIT
        quoted = ", ".join(f"'{a}'" for a in addresses)
        while time.monotonic() < deadline:
            states = self.query(f"SELECT state FROM outbox WHERE recipient IN ({quoted})")
            if len(states) == len(addresses) and all(s == ["sent"] for s in states):
                return
            time.sleep(0.1)
        self.fail(f"mails not sent: {self.query(f'SELECT recipient, state FROM outbox WHERE recipient IN ({quoted})')}")

    def accept(self, t, token, name):
        req = urllib.request.Request(
            t.base_url + "/api/v1/tenants/acme/auth/accept-invitation",
            data=json.dumps({"token": token, "name": name, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_invitation_accepted_once(self):
        self.a.ctl("invitation", "create", "ivy@example.org", "--tenant", "acme", check=True)
        self.wait_sent(["ivy@example.org"])
        texts = [m.get_body(("plain",)).get_content() for m in self.mails()
                 if m["To"].addresses[0].addr_spec == "ivy@example.org"]
        self.assertEqual(len(texts), 1)
        token = INVITE_LINK.search(texts[0]).group(1)
        results = run_threads([lambda: self.accept(self.a, token, "ivy"), lambda: self.accept(self.b, token, "ivy2")])
        self.assertEqual(sorted(s for s, _ in results)[0], 201, results)
        self.assertNotEqual(sorted(s for s, _ in results)[1], 201, results)
        self.assertEqual(self.query("SELECT count(*) FROM users WHERE email = 'ivy@example.org'"), [["1"]])

    def test_each_mail_sent_once(self):
        # Mails queued through both instances at once: both senders are
        # awake and look at the one outbox.
        addresses = [f"guest{i}@example.org" for i in range(24)]
        results = run_threads([lambda a=a, t=(self.a if i % 2 else self.b):
                               t.ctl("invitation", "create", a, "--tenant", "acme")
                               for i, a in enumerate(addresses)])
        self.assertEqual([p.returncode for p in results], [0] * len(addresses),
                         [p.stderr for p in results if p.returncode])
        self.wait_sent(addresses)
        sent = collections.Counter(m["To"].addresses[0].addr_spec for m in self.mails()
                                   if m["To"].addresses[0].addr_spec in addresses)
        self.assertEqual(sent, {a: 1 for a in addresses})

    # -- usage counters and API keys -------------------------------------------------------

    def test_usage_increments_with_one_key_at_both(self):
        made = json.loads(self.a.ctl("--json", "app", "create", "billing@acme", "--grant", "client_credentials",
                                     "--scope", "tessera:usage:write", check=True).stdout)
        r = Client(self.a.base_url).post("/t/acme/token", form={"grant_type": "client_credentials",
                                                                 "scope": "tessera:usage:write"},
                                         basic=(made["client_id"], made["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        token = r.json["access_token"]

        def increment(t, key):
            return Client(t.base_url).post("/api/v1/tenants/acme/usage/seats/increment",
                                           json_body={"by": 1, "idempotency_key": key},
                                           headers={"Authorization": "Bearer " + token})

        # One key sent 8 times at once through both, 8 keys once each: the
        # repeats replay (200, replayed) rather than fail or count again.
        results = run_threads([lambda t=(self.a if i % 2 else self.b): increment(t, "same") for i in range(8)] +
                              [lambda t=(self.a if i % 2 else self.b), i=i: increment(t, f"k{i}") for i in range(8)])
        self.assertEqual([r.status for r in results], [200] * 16, [r.text for r in results if r.status != 200])
        self.assertEqual(sum(1 for r in results if not r.json["replayed"]), 9)
        self.assertEqual(self.query("SELECT value FROM usage_counters WHERE counter = 'seats'"), [["9"]])

    def test_api_key_rotated_once(self):
        made = json.loads(self.a.ctl("--json", "api-key", "create", "--tenant", "acme", "--scope",
                                     "tessera:users:read", check=True).stdout)
        results = run_threads([lambda t=t: t.ctl("--json", "api-key", "rotate", made["id"], "--tenant", "acme")
                               for t in (self.a, self.b) * 2])
        self.assertEqual(sorted(p.returncode for p in results)[0], 0, [p.stderr for p in results])
        self.assertEqual(sum(1 for p in results if p.returncode == 0), 1, [p.stdout for p in results])
        # The key and one successor (no other test makes API keys).
        self.assertEqual(self.query("SELECT count(*) FROM api_keys"), [["2"]])

    # -- signing keys --------------------------------------------------------------------

    def active_keys(self, tenant):
        return sorted(tuple(row) for row in self.query(
            "SELECT k.alg, count(*) FROM signing_keys k JOIN tenants t ON t.id = k.tenant_id "
            f"WHERE t.slug = '{tenant}' AND k.retired_usec = 0 GROUP BY k.alg"))

    def test_signing_keys_made_and_rotated_by_one_instance(self):
        # A new tenant's keys are made at its first use: asked at both at once.
        self.a.ctl("tenant", "create", "beta", check=True)
        jwks = run_threads([lambda t=t: Client(t.base_url).get("/t/beta/jwks") for t in (self.a, self.b) * 3])
        self.assertEqual([r.status for r in jwks], [200] * 6)
        self.assertEqual(self.active_keys("beta"), [("ES256", "1"), ("RS256", "1")])
        # Rotations at once through both, a few rounds: each one retires
        # what the one before it made.
        for _ in range(3):
            results = run_threads([lambda t=t: t.ctl("key", "rotate", "--tenant", "beta")
                                   for t in (self.a, self.b) * 2])
            self.assertEqual([p.returncode for p in results], [0] * 4, [p.stderr for p in results])
            self.assertEqual(self.active_keys("beta"), [("ES256", "1"), ("RS256", "1")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
