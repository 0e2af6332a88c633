#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Limits on failed authentications over HTTP, against the real daemon:
wrong client credentials at /token, /revoke and /introspect and wrong
passwords at the sign-in page count per client address (and per client
id); past the burst the answer is 429 rate_limited with Retry-After, for
right credentials too, while other addresses and other clients go on. A
flood leaves a handful of audit events with counts, not a row per request.

Clients on loopback come from addresses of their own (127.0.0.2, ...),
which the server sees as different remote addresses."""

import base64
import hashlib
import hmac
import http.client
import json
import struct
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402

PASSWORD = "correct horse battery"


def totp(secret_b32):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    h = hmac.new(key, struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


class Conn:
    """One keep-alive connection from a given local address: fast enough to
    flood the server from Python."""

    def __init__(self, port, source):
        self.c = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=30)

    def post(self, path, form, basic=None):
        import base64
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if basic:
            cred = f"{urllib.parse.quote(basic[0], safe='')}:{urllib.parse.quote(basic[1], safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        self.c.request("POST", path, body=urllib.parse.urlencode(form), headers=headers)
        r = self.c.getresponse()
        return r.status, r.headers, r.read()

    def close(self):
        self.c.close()


def post_once(port, source, path, form, basic=None):
    c = Conn(port, source)
    try:
        return c.post(path, form, basic)
    finally:
        c.close()


class LimitsTest(unittest.TestCase):
    """The default limits of tesserad.conf: 30 failures per address, then
    one every 6 s."""

    @classmethod
    def setUpClass(cls):
        cls.t = Tessera().start()
        cls.addClassCleanup(cls.t.close)
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        cls.svc = app("svc@acme", "--grant", "client_credentials", "--signing-alg", "ES256")
        cls.other = app("other@acme", "--grant", "client_credentials", "--signing-alg", "ES256")

    def rows(self):
        return int(self.t.sqlite("SELECT count(*) FROM audit_events")[0][0])

    def test_flood_of_wrong_secrets(self):
        t = self.t
        rows_before = self.rows()
        flood = Conn(t.http_port, "127.0.0.2")
        statuses = []
        try:
            for _ in range(1000):
                status, headers, body = flood.post("/t/acme/token", {"grant_type": "client_credentials"},
                                                   basic=(self.svc["client_id"], "wrong-secret"))
                statuses.append(status)
                if status == 429:
                    last = (headers, json.loads(body))
            # Right credentials from the same address: refused as well, before
            # the secret is looked at.
            status, headers, body = flood.post("/t/acme/token", {"grant_type": "client_credentials"},
                                               basic=(self.svc["client_id"], self.svc["client_secret"]))
            self.assertEqual(status, 429, body)
        finally:
            flood.close()

        # The burst, then nothing but 429 (one more failure per 6 s refills
        # while the loop runs: a few at most, on a slow machine).
        first_refusal = statuses.index(429)
        self.assertGreaterEqual(first_refusal, 30)
        self.assertLessEqual(first_refusal, 35)
        self.assertEqual(statuses[:first_refusal], [401] * first_refusal)
        self.assertGreaterEqual(statuses.count(429), 1000 - 35)
        self.assertEqual(set(statuses), {401, 429})
        headers, body = last
        retry = int(headers["Retry-After"])
        self.assertTrue(1 <= retry <= 6, retry)
        self.assertEqual(body["error"], "rate_limited")
        self.assertEqual(body["code"], "rate_limited")
        self.assertIn("request_id", body["details"])
        self.assertIn("from this address", body["error_description"])
        self.assertEqual(headers["Cache-Control"], "no-store")

        # Other addresses and other clients go on as before.
        for source in ("127.0.0.3", "127.0.0.4"):
            c = Client(t.base_url, source=source)
            for app in (self.svc, self.other):
                r = c.post("/t/acme/token", form={"grant_type": "client_credentials"},
                           basic=(app["client_id"], app["client_secret"]))
                self.assertEqual(r.status, 200, r.text)

        # A thousand refusals, a handful of events: the 30 failures on one
        # event with its count, the run of 429s on another.
        added = self.rows() - rows_before
        self.assertLessEqual(added, 8, t.sqlite("SELECT * FROM audit_events"))
        denied = t.sqlite("SELECT count, details FROM audit_events WHERE action = 'oauth.token' "
                          "AND remote = '127.0.0.2' AND result = 'denied'")
        failures = sum(int(c) for c, d in denied if "wrong secret" in d)
        self.assertGreaterEqual(failures, 30)
        self.assertLessEqual(failures, 35)
        self.assertTrue(any("rate_limited" in d for c, d in denied), denied)
        # ... which tesseractl shows with the count.
        events = json.loads(t.ctl("--json", "audit", "list", "--action", "oauth.token", check=True).stdout)
        counted = [e for e in events if e["remote"] == "127.0.0.2" and (e["details"] or {}).get("why") == "wrong secret"]
        self.assertEqual(sum(e["count"] for e in counted), failures)
        self.assertTrue(all(e["last_usec"] >= e["time_usec"] for e in counted))
        self.assertTrue(any(e["count"] >= 30 for e in counted))

        # Retry-After is a promise: once it has passed, the address may try
        # again (and, failing, is refused again at once).
        wrong = {"grant_type": "client_credentials"}, (self.svc["client_id"], "wrong-secret")
        for _ in range(10):
            status, headers, _ = post_once(t.http_port, "127.0.0.2", "/t/acme/token", *wrong)
            if status == 429:
                break
        self.assertEqual(status, 429)
        time.sleep(int(headers["Retry-After"]))
        status, _, _ = post_once(t.http_port, "127.0.0.2", "/t/acme/token", *wrong)
        self.assertEqual(status, 401)
        status, _, _ = post_once(t.http_port, "127.0.0.2", "/t/acme/token", *wrong)
        self.assertEqual(status, 429)


class ConfiguredLimitsTest(unittest.TestCase):
    """[limits] from tesserad.conf: small bursts, slow refill."""

    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(config_extra="[limits]\naddress_burst = 5\naddress_rate = 1/min\n"
                                     "client_burst = 8\nclient_rate = 1/hour\n").start()
        cls.addClassCleanup(cls.t.close)
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("user", "add", "alice@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        t.ctl("user", "add", "tom@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        secret = json.loads(t.ctl("--json", "user", "totp", "enroll", "tom@acme", check=True).stdout)["secret"]
        t.ctl("user", "totp", "confirm", "tom@acme", totp(secret), check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        cls.a = app("a@acme", "--grant", "client_credentials")
        cls.b = app("b@acme", "--grant", "client_credentials")
        cls.c = app("c@acme", "--grant", "client_credentials")
        cls.web = app("web@acme", "--redirect-uri", "https://app.example/cb", "--first-party")

    def test_every_client_endpoint_counts(self):
        c = Client(self.t.base_url, source="127.0.0.30")
        wrong = (self.a["client_id"], "wrong")
        for path in ("/t/acme/revoke", "/t/acme/revoke", "/t/acme/introspect", "/t/acme/introspect"):
            r = c.post(path, form={"token": "x"}, basic=wrong)
            self.assertEqual(r.status, 401, r.text)
        r = c.post("/t/acme/token", form={"grant_type": "client_credentials"}, basic=wrong)
        self.assertEqual(r.status, 401, r.text)
        # Five failures, whichever endpoint: the sixth request is refused,
        # at every endpoint, with the right secret too.
        for path, form in (("/t/acme/token", {"grant_type": "client_credentials"}),
                           ("/t/acme/revoke", {"token": "x"}), ("/t/acme/introspect", {"token": "x"})):
            r = c.post(path, form=form, basic=(self.a["client_id"], self.a["client_secret"]))
            self.assertEqual(r.status, 429, r.text)
            self.assertEqual(r.json["code"], "rate_limited")
            self.assertGreater(int(r.header("Retry-After")), 0)
            self.assertLessEqual(int(r.header("Retry-After")), 60)
        r = Client(self.t.base_url, source="127.0.0.31").post(
            "/t/acme/token", form={"grant_type": "client_credentials"}, basic=(self.a["client_id"], self.a["client_secret"]))
        self.assertEqual(r.status, 200, r.text)

    def test_per_client_id(self):
        # Eight addresses fail once each for client b: under their own
        # limits, but together over b's.
        for i in range(8):
            c = Client(self.t.base_url, source=f"127.0.0.{40 + i}")
            r = c.post("/t/acme/token", form={"grant_type": "client_credentials"}, basic=(self.b["client_id"], "no"))
            self.assertEqual(r.status, 401, r.text)
        fresh = Client(self.t.base_url, source="127.0.0.50")
        r = fresh.post("/t/acme/token", form={"grant_type": "client_credentials"},
                       basic=(self.b["client_id"], self.b["client_secret"]))
        self.assertEqual(r.status, 429, r.text)
        self.assertIn("for this client", r.json["error_description"])
        self.assertGreater(int(r.header("Retry-After")), 60)
        # Another client from that address is not affected.
        r = fresh.post("/t/acme/token", form={"grant_type": "client_credentials"},
                       basic=(self.c["client_id"], self.c["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        # Unknown client ids don't count against anybody's id (nor fill the table).
        for i in range(10):
            r = Client(self.t.base_url, source=f"127.0.1.{i}").post(
                "/t/acme/token", form={"grant_type": "client_credentials"}, basic=("app_nonexistent", "x"))
            self.assertEqual(r.status, 401, r.text)
        r = Client(self.t.base_url, source="127.0.1.100").post(
            "/t/acme/token", form={"grant_type": "client_credentials"}, basic=("app_nonexistent", "x"))
        self.assertEqual(r.status, 401, r.text)
        audit = self.t.sqlite("SELECT count(*) FROM audit_events WHERE action = 'oauth.token' "
                              "AND details LIKE '%rate_limited%' AND details LIKE '%client%'")
        self.assertEqual(int(audit[0][0]), 1)

    def sign_in_page(self, c):
        verifier, challenge = pkce_pair()
        q = {"client_id": self.web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
             "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
        page = c.get("/t/acme/authorize?" + urllib.parse.urlencode(q))
        self.assertEqual(page.status, 200, page.text)
        return {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}

    def test_sign_in_page(self):
        c = Client(self.t.base_url, source="127.0.0.60")
        form = self.sign_in_page(c)
        # Wrong passwords for two users (the per-account lockout counts each
        # apart), and a user who doesn't exist: five failures of one address.
        for login in ("alice", "alice", "nobody", "bob", "nobody"):
            r = c.post("/t/acme/login", form={**form, "login": login, "password": "wrong password"})
            self.assertEqual(r.status, 401, r.text)
        r = c.post("/t/acme/login", form={**form, "login": "alice", "password": PASSWORD})
        self.assertEqual(r.status, 429, r.text[:300])
        self.assertIn("Too many failed sign-ins", r.text)
        self.assertGreater(int(r.header("Retry-After")), 0)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        # alice herself is not locked: from another address she signs in.
        other = Client(self.t.base_url, source="127.0.0.61")
        r = other.post("/t/acme/login", form={**self.sign_in_page(other), "login": "alice", "password": PASSWORD})
        self.assertEqual(r.status, 303, r.text[:300])
        self.assertIn("code", r.location_params())
        refused = self.t.sqlite("SELECT count(*) FROM audit_events WHERE action = 'auth.login' "
                                "AND remote = '127.0.0.60' AND details LIKE '%rate_limited%'")
        self.assertEqual(int(refused[0][0]), 1)

    def test_code_step(self):
        # The code step counts failures per address as well: after the
        # password, five wrong codes, and the sixth try is refused.
        c = Client(self.t.base_url, source="127.0.0.70")
        r = c.post("/t/acme/login", form={**self.sign_in_page(c), "login": "tom", "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text[:300])
        self.assertIn('name="code"', r.text)
        form = {k: html_unescape(v) for k, v in hidden_fields(r.text).items()}
        for code in ("000000", "111111", "222222", "333333", "444444"):
            r = c.post("/t/acme/login/totp", form={**form, "code": code})
            self.assertEqual(r.status, 401, r.text[:300])
        r = c.post("/t/acme/login/totp", form={**form, "code": "555555"})
        self.assertEqual(r.status, 429, r.text[:300])
        self.assertIn("Too many failed sign-ins", r.text)
        self.assertGreater(int(r.header("Retry-After")), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
