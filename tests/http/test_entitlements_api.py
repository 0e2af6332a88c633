#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tenant's entitlements and usage over the JSON API, against the real
daemon: GET/PUT /api/v1/tenants/{tenant}/entitlements (limits and feature
flags, set by keys with tessera:entitlements:write and, in
test_platform_api, by operators), the limits enforced by the core on every
door (max_users refuses a user made with tesseractl, max_applications an
application: limit_reached, nothing half-written, audited), and usage
counters (POST .../usage/{counter}/increment: atomic, a repeated
idempotency key counted once even when sent at the same time, a key reused
for another increment refused)."""

import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client  # noqa: E402

PASSWORD = "correct horse battery"


class EntitlementsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"]).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role in (("olivia@acme", "owner"), ("adam@acme", "admin"), ("mia@acme", "member"),
                           ("gus@globex", "owner")):
            t.ctl("user", "add", user, "--role", role, "--password-stdin", input=PASSWORD + "\n", check=True)
        cls.c = Client(t.base_url)
        cls.owner = cls.signin("olivia")
        cls.admin = cls.signin("adam")
        cls.member = cls.signin("mia")
        cls.foreign = cls.signin("gus", "globex")
        cls.plan = cls.client_token("billing@acme", "tessera:entitlements:write", "tessera:usage:write")
        cls.reader = cls.client_token("reader@acme", "tessera:entitlements:read", "tessera:usage:read")
        cls.foreign_plan = cls.client_token("billing@globex", "tessera:entitlements:write", "tessera:usage:write")

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    @classmethod
    def signin(cls, name, tenant="acme"):
        r = cls.c.post(f"/api/v1/tenants/{tenant}/auth/signin", json_body={"login": name, "password": PASSWORD})
        assert r.status == 200, r.text
        return r.json["session"]["token"]

    @classmethod
    def client_token(cls, app, *scopes):
        args = ["--json", "app", "create", app, "--grant", "client_credentials"]
        for s in scopes:
            args += ["--scope", s]
        made = json.loads(cls.t.ctl(*args, check=True).stdout)
        tenant = app.split("@")[1]
        r = cls.c.post(f"/t/{tenant}/token", form={"grant_type": "client_credentials", "scope": " ".join(scopes)},
                       basic=(made["client_id"], made["client_secret"]))
        assert r.status == 200, r.text
        return r.json["access_token"]

    def api(self, method, path, token=None, body=None, raw=None, tenant="acme"):
        headers = {"Authorization": "Bearer " + token} if token else {}
        url = f"/api/v1/tenants/{tenant}{path}"
        if raw is not None:
            return self.c.request(method, url, data=raw.encode(),
                                  headers={**headers, "Content-Type": "application/json"})
        return self.c.request(method, url, json_body=body, headers=headers)

    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(r.json["code"], code, r.json)
        if field is not None:
            self.assertEqual(r.json["details"].get("field"), field, r.json)
        return r.json

    def count(self, sql):
        return int(self.t.sqlite(sql)[0][0])

    def audit(self, where):
        return self.count(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")

    def set_plan(self, tenant="acme", **body):
        r = self.api("PUT", "/entitlements", self.plan if tenant == "acme" else self.foreign_plan, body,
                     tenant=tenant)
        self.assertEqual(r.status, 200, r.text)
        return r.json

    # -- entitlements ------------------------------------------------------

    def test_read_and_replace(self):
        r = self.api("GET", "/entitlements", self.member, tenant="acme")
        self.assertEqual(r.status, 200, r.text)
        self.set_plan(max_users=1000, max_applications=50, features=["sso", "audit-export", "sso"])
        for token in (self.owner, self.admin, self.member, self.reader):
            r = self.api("GET", "/entitlements", token)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.json["max_users"], 1000)
            self.assertEqual(r.json["max_applications"], 50)
            self.assertEqual(r.json["features"], ["audit-export", "sso"])
            self.assertTrue(r.json["updated_at"].endswith("Z"))
        # If-Match: the ETag of a read; a stale one changes nothing.
        etag = self.api("GET", "/entitlements", self.plan).header("ETag")
        self.assertTrue(etag)
        r = self.c.request("PUT", "/api/v1/tenants/acme/entitlements", json_body={"max_users": 1001},
                           headers={"Authorization": "Bearer " + self.plan, "If-Match": etag})
        self.assertEqual(r.status, 200, r.text)
        self.assertNotEqual(r.header("ETag"), etag)
        r = self.c.request("PUT", "/api/v1/tenants/acme/entitlements", json_body={"max_users": 1},
                           headers={"Authorization": "Bearer " + self.plan, "If-Match": etag})
        self.assertEnvelope(r, 412, "precondition_failed")
        self.assertEqual(self.api("GET", "/entitlements", self.owner).json["max_users"], 1001)
        # PUT replaces: what is left out is none; null is none too.
        got = self.set_plan(max_users=None)
        self.assertEqual((got["max_users"], got["max_applications"], got["features"]), (None, None, []))
        self.assertGreaterEqual(self.audit("action = 'entitlement.write' AND result = 'success' "
                                           "AND target = 'acme' AND details LIKE '%audit-export%'"), 1)
        # Another tenant's are its own.
        self.set_plan("globex", max_users=3000)
        self.assertEqual(self.api("GET", "/entitlements", self.foreign, tenant="globex").json["max_users"], 3000)
        self.assertEqual(self.api("GET", "/entitlements", self.owner).json["max_users"], None)
        self.set_plan("globex")

    def test_who_may_set_them(self):
        before = self.audit("action = 'entitlement.write' AND result = 'denied'")
        for token in (self.owner, self.admin, self.member, self.foreign, self.foreign_plan):
            self.assertEnvelope(self.api("PUT", "/entitlements", token, {"max_users": 1}), 403, "forbidden")
        r = self.assertEnvelope(self.api("PUT", "/entitlements", self.reader, {"max_users": 1}), 403, "forbidden")
        self.assertEqual(r["details"]["required_scope"], "tessera:entitlements:write")
        self.assertEnvelope(self.api("PUT", "/entitlements", None, {"max_users": 1}), 401, "unauthenticated")
        self.assertEqual(self.audit("action = 'entitlement.write' AND result = 'denied'"), before + 7)
        # Nothing changed by any of them.
        self.assertNotEqual(self.api("GET", "/entitlements", self.owner).json["max_users"], 1)

    def test_bad_input(self):
        self.set_plan(max_users=77)
        cases = [
            ({"max_users": 5, "plan": "gold"}, 422, "unknown_field", "plan"),
            ({"max_users": -1}, 422, "out_of_range", "max_users"),
            ({"max_users": "5"}, 422, "wrong_type", "max_users"),
            ({"max_users": 1.5}, 422, "wrong_type", "max_users"),
            ({"features": "sso"}, 422, "wrong_type", "features"),
            ({"features": ["x" * 65]}, 422, "too_long", None),
            ({"features": ["Not A Name"]}, 422, "invalid", None),
            ({"features": [f"f{i}" for i in range(65)]}, 422, "too_long", "features"),
        ]
        for body, status, code, field in cases:
            self.assertEnvelope(self.api("PUT", "/entitlements", self.plan, body), status, code, field)
        self.assertEnvelope(self.api("PUT", "/entitlements", self.plan, raw="{\"max_users\": "), 400,
                             "malformed_json")
        # Nothing half-written: the plan is as it was.
        self.assertEqual(self.api("GET", "/entitlements", self.owner).json["max_users"], 77)

    # -- limits, enforced by the core ---------------------------------------

    def test_max_users(self):
        have = self.count("SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = 'globex'")
        self.set_plan("globex", max_users=have + 1)
        self.t.ctl("user", "add", "one@globex", check=True)
        r = self.t.ctl("user", "add", "two@globex")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("limit of", r.stderr)
        self.assertIn("max_users", r.stderr)
        # Over D-Bus, the error name says which.
        r = self.t.gdbus("/org/tessera/Identity1/tenant/globex", "org.tessera.Identity1.Tenant.CreateUser",
                         "three", "{}")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LimitReached", r.stderr)
        # Nothing half-written, and the refusals audited as such.
        self.assertEqual(self.count("SELECT count(*) FROM users WHERE name IN ('two', 'three')"), 0)
        self.assertEqual(self.count("SELECT count(*) FROM groups WHERE name IN ('two', 'three')"), 0)
        self.assertEqual(self.audit("action = 'user.create' AND result = 'denied' AND target = 'two@globex' "
                                    "AND details LIKE '%max_users%'"), 1)
        # More room: made again.
        self.set_plan("globex", max_users=have + 2)
        self.t.ctl("user", "add", "two@globex", check=True)
        self.set_plan("globex")
        self.t.ctl("user", "add", "three@globex", check=True)

    def test_max_applications(self):
        have = self.count("SELECT count(*) FROM applications a JOIN tenants t ON t.id = a.tenant_id "
                          "WHERE t.slug = 'acme' AND a.name <> 'tessera.api'")
        self.set_plan(max_applications=have)
        r = self.t.ctl("app", "create", "extra@acme", "--redirect-uri", "https://x.example/cb")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("max_applications", r.stderr)
        self.assertEqual(self.count("SELECT count(*) FROM applications WHERE name = 'extra'"), 0)
        self.assertEqual(self.audit("action = 'application.create' AND result = 'denied' AND target = 'extra@acme'"),
                         1)
        self.set_plan(max_applications=have + 1)
        self.t.ctl("app", "create", "extra@acme", "--redirect-uri", "https://x.example/cb", check=True)
        self.set_plan()

    # -- usage -------------------------------------------------------------

    def increment(self, counter, token=None, **body):
        return self.api("POST", f"/usage/{counter}/increment", token or self.plan, body)

    def test_increment_once_per_key(self):
        r = self.increment("api-calls", by=3, idempotency_key="req-1")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json, {"counter": "api-calls", "value": 3, "replayed": False})
        r = self.increment("api-calls", by=3, idempotency_key="req-1")
        self.assertEqual(r.json, {"counter": "api-calls", "value": 3, "replayed": True})
        r = self.increment("api-calls", by=2, idempotency_key="req-2")
        self.assertEqual(r.json["value"], 5)
        r = self.increment("api-calls")
        self.assertEqual(r.json["value"], 6)
        # The key of another increment: refused, nothing counted.
        self.assertEnvelope(self.increment("api-calls", by=4, idempotency_key="req-1"), 409, "idempotency_key_reused")
        self.assertEnvelope(self.increment("emails", by=3, idempotency_key="req-1"), 409, "idempotency_key_reused")
        listed = self.api("GET", "/usage", self.admin)
        self.assertEqual(listed.status, 200, listed.text)
        self.assertEqual({i["counter"]: i["value"] for i in listed.json["items"]}["api-calls"], 6)
        self.assertNotIn("emails", {i["counter"] for i in listed.json["items"]})
        # A key is the tenant's: globex may use the same one.
        r = self.api("POST", "/usage/api-calls/increment", self.foreign_plan, {"by": 1, "idempotency_key": "req-1"},
                     tenant="globex")
        self.assertEqual(r.json, {"counter": "api-calls", "value": 1, "replayed": False})

    def test_increments_at_once(self):
        results = []

        def send(key):
            c = Client(self.t.base_url)
            r = c.request("POST", "/api/v1/tenants/acme/usage/concurrent/increment",
                          json_body={"by": 1, "idempotency_key": key},
                          headers={"Authorization": "Bearer " + self.plan})
            results.append((r.status, r.json))

        # 16 requests with one key, 16 with a key each, at the same time.
        threads = [threading.Thread(target=send, args=("same",)) for _ in range(16)]
        threads += [threading.Thread(target=send, args=(f"k{i}",)) for i in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual([s for s, _ in results], [200] * 32)
        self.assertEqual(sum(1 for _, j in results if not j["replayed"]), 17)
        listed = self.api("GET", "/usage", self.reader).json["items"]
        self.assertEqual({i["counter"]: i["value"] for i in listed}["concurrent"], 17)

    def test_usage_bad_input_and_who(self):
        self.assertEnvelope(self.increment("api-calls", by=0), 422, "out_of_range", "by")
        self.assertEnvelope(self.increment("api-calls", by=10**10), 422, "out_of_range", "by")
        self.assertEnvelope(self.increment("api-calls", by="1"), 422, "wrong_type", "by")
        self.assertEnvelope(self.increment("api-calls", amount=1), 422, "unknown_field", "amount")
        self.assertEnvelope(self.increment("api-calls", idempotency_key=""), 422, "invalid")
        self.assertEnvelope(self.increment("api-calls", idempotency_key="has space"), 422, "invalid")
        self.assertEnvelope(self.increment("Not-A-Counter"), 422, "invalid")
        for token in (self.owner, self.admin, self.member, self.reader, self.foreign_plan):
            self.assertEnvelope(self.increment("api-calls", token), 403, "forbidden")
        self.assertEnvelope(self.api("GET", "/usage", self.member), 403, "forbidden")
        self.assertEnvelope(self.api("GET", "/usage", self.foreign), 403, "forbidden")
        self.assertEqual(self.count("SELECT count(*) FROM usage_counters WHERE counter = 'not-a-counter'"), 0)
        self.assertGreaterEqual(self.audit("action = 'usage.increment' AND result = 'denied'"), 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
