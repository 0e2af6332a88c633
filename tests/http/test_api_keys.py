#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Applications and API keys over the JSON API, against the real daemon:
/api/v1/tenants/{tenant}/applications (list with cursor pagination,
create, show, update with If-Match, delete, rotate-secret; allowed CORS
origins), /api-keys (secret tsk_ keys with scopes, taken as X-API-Key and
as Authorization: Bearer; a missing scope 403 insufficient_scope;
revoke, rotate with and without overlap, expiry, last-used; publishable
tpk_ keys that sign end users in only from their application's allowed
origins, with CORS), and /keys (the tenant's signing keys: list, rotate,
the JWKS keeping the retired keys). The bad input of each: unknown fields,
wrong types, unknown scopes, a limit out of range, a tampered cursor, a
stale If-Match, keys of another tenant, other principals than admins;
every refusal audited, nothing half-written."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import NOBODY, Tessera, require_root  # noqa: E402
from oidc_client import Client, jwt_parts  # noqa: E402

PASSWORD = "correct horse battery"
ORIGIN = "https://shop.example"


class Base(unittest.TestCase):
    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(r.header("Content-Type"), "application/json")
        body = r.json
        self.assertEqual(set(body), {"error", "code", "details"}, body)
        self.assertEqual(body["code"], code, body)
        self.assertTrue(body["error"])
        if field is not None:
            self.assertEqual(body["details"].get("field"), field, body)
        return body

    def api(self, method, path, body=None, token=None, key=None, raw=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if key:
            h["X-API-Key"] = key
        if raw is not None:
            return self.c.request(method, path, data=raw, headers={**h, "Content-Type": "application/json"})
        return self.c.request(method, path, json_body=body, headers=h)

    def audit(self, action, result, target=None):
        where = f"action = '{action}' AND result = '{result}'"
        if target:
            where += f" AND target = '{target}'"
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])

    def store_write(self, sql):
        """Changes the daemon's database as another writer would (to move
        a time into the past without waiting for it)."""
        self.t.db_write(sql)

    def count(self, table, where="TRUE"):
        return int(self.t.sqlite(f"SELECT count(*) FROM {table} WHERE {where}")[0][0])


class KeysApiTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"]).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role in (("olive@acme", "owner"), ("adam@acme", "admin"), ("mia@acme", "member"),
                           ("gus@globex", "owner")):
            t.ctl("user", "add", user, "--role", role, "--email", user.replace("@", "@mail."),
                  "--password-stdin", input=PASSWORD + "\n", check=True)
        cls.c = Client(t.base_url)
        cls.tokens = {}
        for login, tenant in (("olive", "acme"), ("adam", "acme"), ("mia", "acme"), ("gus", "globex")):
            r = cls.c.request("POST", f"/api/v1/tenants/{tenant}/auth/signin",
                              json_body={"login": login, "password": PASSWORD})
            assert r.status == 200, r.text
            cls.tokens[login] = r.json["session"]["token"]

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def new_key(self, scopes=("tessera:users:read",), tenant="acme", token=None, **kw):
        r = self.api("POST", f"/api/v1/tenants/{tenant}/api-keys", {"scopes": list(scopes), **kw},
                     token=token or self.tokens["olive" if tenant == "acme" else "gus"])
        self.assertEqual(r.status, 201, r.text)
        return r.json

    # -- applications ---------------------------------------------------------

    def test_application_lifecycle(self):
        base = "/api/v1/tenants/acme/applications"
        owner = self.tokens["olive"]
        r = self.api("POST", base, {"name": "portal", "redirect_uris": ["https://portal.example/cb"],
                                    "post_logout_redirect_uris": ["https://portal.example/bye"],
                                    "grants": ["authorization_code", "refresh_token", "client_credentials"],
                                    "scopes": ["openid", "tessera:users:read"],
                                    "allowed_origins": ["https://portal.example"]}, token=owner)
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        app = r.json
        self.assertEqual(app["name"], "portal")
        self.assertTrue(app["has_secret"])
        self.assertFalse(app["public_client"])
        self.assertEqual(app["allowed_origins"], ["https://portal.example"])
        secret = app["client_secret"]
        # The secret works at the token endpoint; the store has no copy.
        tok = Client(self.t.base_url).post("/t/acme/token", form={"grant_type": "client_credentials"},
                                           basic=(app["client_id"], secret))
        self.assertEqual(tok.status, 200, tok.text)
        # The secret itself is nowhere in the row's digest column.
        contains = (f"position(convert_to('{secret}', 'UTF8') in secret_digest) > 0" if self.t.store_url
                    else f"instr(secret_digest, '{secret}') > 0")
        self.assertEqual(self.count("applications", contains), 0)

        shown = self.api("GET", base + "/portal", token=owner)
        self.assertEqual(shown.status, 200, shown.text)
        self.assertNotIn("client_secret", shown.json)
        etag = shown.header("ETag")
        self.assertTrue(etag)

        # Update with the ETag read; again with the same (stale) one: 412.
        r = self.api("PATCH", base + "/portal", {"allowed_origins": ["https://portal.example", "http://localhost:3000"],
                                                 "pkce_optional": True}, token=owner, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["allowed_origins"], ["https://portal.example", "http://localhost:3000"])
        self.assertTrue(r.json["pkce_optional"])
        self.assertEqual(r.json["redirect_uris"], ["https://portal.example/cb"])
        stale = self.api("PATCH", base + "/portal", {"first_party": True}, token=owner, headers={"If-Match": etag})
        self.assertEnvelope(stale, 412, "precondition_failed")
        self.assertFalse(self.api("GET", base + "/portal", token=owner).json["first_party"])

        # Rotating the secret: the new one works, the old one no longer.
        r = self.api("POST", base + "/portal/rotate-secret", token=owner)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        new_secret = r.json["client_secret"]
        self.assertNotEqual(new_secret, secret)
        old = Client(self.t.base_url).post("/t/acme/token", form={"grant_type": "client_credentials"},
                                           basic=(app["client_id"], secret))
        self.assertEqual(old.status, 401, old.text)
        new = Client(self.t.base_url).post("/t/acme/token", form={"grant_type": "client_credentials"},
                                           basic=(app["client_id"], new_secret))
        self.assertEqual(new.status, 200, new.text)

        # Delete; then it is gone, and deleting again is 404.
        self.assertEqual(self.api("DELETE", base + "/portal", token=owner).json, {"deleted": "portal"})
        self.assertEnvelope(self.api("GET", base + "/portal", token=owner), 404, "not_found")
        self.assertEnvelope(self.api("DELETE", base + "/portal", token=owner), 404, "not_found")
        self.assertEqual(self.audit("application.delete", "success", "portal@acme"), 1)

    def test_application_bad_input(self):
        base = "/api/v1/tenants/acme/applications"
        owner = self.tokens["olive"]
        before = self.count("applications")
        cases = [
            ({"name": "x1", "colour": "red"}, 422, "unknown_field", "colour"),
            ({"name": 7}, 422, "wrong_type", "name"),
            ({"redirect_uris": ["https://a.example/cb"]}, 422, "missing_field", "name"),
            ({"name": "x2", "allowed_origins": "https://a.example"}, 422, "wrong_type", "allowed_origins"),
            ({"name": "x3", "grants": ["client_credentials"], "scopes": ["tessera:nothing:read"]}, 422, "invalid",
             None),
            ({"name": "x4", "grants": ["client_credentials"], "allowed_origins": ["https://a.example/path"]}, 422,
             "invalid", None),
            ({"name": "x5", "grants": ["client_credentials"], "allowed_origins": ["http://a.example"]}, 422,
             "invalid", None),
            ({"name": "x6", "signing_alg": "HS256"}, 422, "invalid", "signing_alg"),
            ({"name": "x" * 65}, 422, "too_long", "name"),
        ]
        for body, status, code, field in cases:
            with self.subTest(body=body):
                self.assertEnvelope(self.api("POST", base, body, token=owner), status, code, field)
        self.assertEnvelope(self.api("POST", base, raw=b"{not json", token=owner), 400, "malformed_json")
        self.assertEqual(self.count("applications"), before)
        # A name taken already: 409, the first one unchanged.
        body = {"name": "dup", "grants": ["client_credentials"]}
        self.assertEqual(self.api("POST", base, body, token=owner).status, 201)
        self.assertEnvelope(self.api("POST", base, {**body, "grants": ["authorization_code"],
                                                    "redirect_uris": ["https://d.example/cb"]}, token=owner),
                            409, "conflict")
        self.assertEqual(self.api("GET", base + "/dup", token=owner).json["grants"], ["client_credentials"])
        # Public is chosen once.
        self.assertEnvelope(self.api("PATCH", base + "/dup", {"public_client": True}, token=owner), 422,
                            "unknown_field", "public_client")

    def test_application_list_pages(self):
        base = "/api/v1/tenants/acme/applications"
        owner = self.tokens["olive"]
        for n in ("page-a", "page-b", "page-c"):
            self.assertEqual(self.api("POST", base, {"name": n, "grants": ["client_credentials"]}, token=owner).status,
                             201)
        names, cursor = [], None
        while True:
            r = self.api("GET", base + "?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=owner)
            self.assertEqual(r.status, 200, r.text)
            self.assertLessEqual(len(r.json["items"]), 2)
            names += [a["name"] for a in r.json["items"]]
            cursor = r.json["next_cursor"]
            if not cursor:
                break
        self.assertEqual(names, sorted(names))
        self.assertTrue({"page-a", "page-b", "page-c"} <= set(names))
        self.assertEqual(len(names), len(set(names)))
        first = self.api("GET", base + "?limit=1", token=owner).json["next_cursor"]
        tampered = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
        self.assertEnvelope(self.api("GET", base + "?cursor=" + tampered, token=owner), 400, "invalid_cursor")
        # A cursor of another list is no cursor of this one.
        keys = self.api("GET", "/api/v1/tenants/acme/api-keys?limit=1", token=owner)
        if keys.json["next_cursor"]:
            self.assertEnvelope(self.api("GET", base + "?cursor=" + keys.json["next_cursor"], token=owner), 400,
                                "invalid_cursor")
        for bad in ("0", "201", "-1", "ten"):
            self.assertEnvelope(self.api("GET", base + "?limit=" + bad, token=owner), 400, "invalid_limit")
        self.assertEnvelope(self.api("GET", base + "?sort=name", token=owner), 400, "unknown_field")

    def test_application_who_may(self):
        base = "/api/v1/tenants/acme/applications"
        self.assertEqual(self.api("GET", base, token=self.tokens["adam"]).status, 200)
        self.assertEnvelope(self.api("GET", base, token=self.tokens["mia"]), 403, "forbidden")
        self.assertEnvelope(self.api("POST", base, {"name": "nope"}, token=self.tokens["mia"]), 403, "forbidden")
        self.assertEnvelope(self.api("GET", base, token=self.tokens["gus"]), 403, "forbidden")
        self.assertEnvelope(self.api("GET", base), 401, "unauthenticated")
        self.assertGreaterEqual(self.audit("application.create", "denied", "acme"), 1)
        # A key with the scope reads them; without it, insufficient_scope.
        reader = self.new_key(["tessera:applications:read"])["key"]
        self.assertEqual(self.api("GET", base, key=reader).status, 200)
        r = self.api("POST", base, {"name": "by-key", "grants": ["client_credentials"]}, key=reader)
        body = self.assertEnvelope(r, 403, "insufficient_scope")
        self.assertEqual(body["details"]["required_scope"], "tessera:applications:write")

    # -- secret API keys ------------------------------------------------------

    def test_secret_key_use(self):
        made = self.new_key(["tessera:users:read"], name="CI reader", env="dev")
        key = made["key"]
        self.assertRegex(key, r"^tsk_dev_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
        self.assertEqual(made["id"], "key_" + key.split("_")[2])
        self.assertEqual(made["prefix"], "_".join(key.split("_")[:3]))
        self.assertEqual(made["state"], "active")
        self.assertEqual(made["scopes"], ["tessera:users:read"])
        self.assertIsNone(made["last_used_at"])
        # Stored as a digest only: no column holds the key or its secret.
        secret = key.split("_", 3)[3]
        row = self.t.sqlite(f"SELECT {self.t.sql_hex('digest')}, length(digest), key_id FROM api_keys WHERE key_id = "
                            f"'{key.split('_')[2]}'")
        self.assertEqual(len(row), 1)
        self.assertEqual(int(row[0][1]), 32)
        dump = json.dumps(self.t.sqlite("SELECT key_id, kind, env, name, scopes, replaced_by FROM api_keys"))
        self.assertNotIn(secret, dump)

        user = "/api/v1/tenants/acme/users/mia"
        for kw in ({"key": key}, {"token": key}):
            r = self.api("GET", user, **kw)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.json["name"], "mia")
        # Missing scope: 403 insufficient_scope, naming it, audited.
        r = self.api("GET", "/api/v1/tenants/acme", key=key)
        body = self.assertEnvelope(r, 403, "insufficient_scope")
        self.assertEqual(body["details"]["required_scope"], "tessera:tenant:read")
        self.assertIn('error="insufficient_scope"', r.header("WWW-Authenticate"))
        self.assertGreaterEqual(self.audit("tenant.read", "denied", "acme"), 1)
        # Another tenant's routes: refused as such.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/globex/users/gus", key=key), 403, "forbidden")
        # A key never makes keys, whatever its scopes.
        admin_key = self.new_key(["tessera:users:write", "tessera:keys:write", "tessera:applications:write"])["key"]
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/api-keys", {"scopes": ["tessera:users:read"]},
                                     key=admin_key), 403, "forbidden")
        # The use is recorded (batched: the write joins the next batch).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            shown = self.api("GET", f"/api/v1/tenants/acme/api-keys/{made['id']}", token=self.tokens["olive"])
            if shown.json["last_used_at"]:
                break
            time.sleep(0.05)
        self.assertTrue(shown.json["last_used_at"], shown.json)

    def test_bad_keys(self):
        key = self.new_key()["key"]
        kid = key.split("_")[2]
        user = "/api/v1/tenants/acme/users/mia"
        flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
        unknown = key.replace(kid, "0" * 16)
        for bad in (flipped, unknown, "tsk_prod_nothex", "tsk_", key + "x", key.replace("tsk_", "tpk_")):
            with self.subTest(bad=bad):
                r = self.api("GET", user, key=bad)
                self.assertEnvelope(r, 401, "invalid_api_key")
                self.assertIn("Bearer", r.header("WWW-Authenticate"))
        # A bad key on a route open to everybody is refused too, not taken
        # for anonymous.
        r = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "mia", "password": PASSWORD}, key=flipped)
        self.assertEnvelope(r, 401, "invalid_api_key")
        self.assertGreaterEqual(self.audit("auth.signin", "denied", "acme"), 1)

    def test_revoke_rotate_expire(self):
        owner = self.tokens["olive"]
        base = "/api/v1/tenants/acme/api-keys"
        user = "/api/v1/tenants/acme/users/mia"

        k = self.new_key()
        r = self.api("DELETE", f"{base}/{k['id']}", token=owner)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["state"], "revoked")
        self.assertEnvelope(self.api("GET", user, key=k["key"]), 401, "api_key_revoked")
        # The refusal is audited under the key's id, with why.
        self.assertEqual(self.count("audit_events", f"actor = '{k['id']}' AND result = 'denied' AND "
                                                    "details LIKE '%api_key_revoked%'"), 1)
        self.assertEnvelope(self.api("DELETE", f"{base}/{k['id']}", token=owner), 409, "already_done")
        self.assertEnvelope(self.api("POST", f"{base}/{k['id']}/rotate", token=owner), 409, "already_done")

        # Rotation without overlap: the old key ends at once.
        k = self.new_key(["tessera:users:read", "tessera:groups:read"], name="svc", env="prod", expires_in=86400)
        r = self.api("POST", f"{base}/{k['id']}/rotate", {}, token=owner)
        self.assertEqual(r.status, 201, r.text)
        n = r.json
        self.assertNotEqual(n["id"], k["id"])
        for f in ("type", "env", "name", "scopes", "application"):
            self.assertEqual(n[f], k[f], f)
        self.assertIsNotNone(n["expires_at"])
        self.assertEnvelope(self.api("GET", user, key=k["key"]), 401, "api_key_revoked")
        self.assertEqual(self.api("GET", user, key=n["key"]).status, 200)
        old = self.api("GET", f"{base}/{k['id']}", token=owner).json
        self.assertEqual(old["replaced_by"], n["id"])
        self.assertEqual(self.audit("api-key.rotate", "success", f"{k['id']}@acme"), 1)

        # With an overlap, both work until it ends; rotating again: 409.
        k = self.new_key()
        r = self.api("POST", f"{base}/{k['id']}/rotate", {"overlap_seconds": 3600}, token=owner)
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(self.api("GET", user, key=k["key"]).status, 200)
        self.assertEqual(self.api("GET", user, key=r.json["key"]).status, 200)
        self.assertEqual(self.api("GET", f"{base}/{k['id']}", token=owner).json["state"], "rotating")
        self.assertEnvelope(self.api("POST", f"{base}/{k['id']}/rotate", token=owner), 409, "already_done")
        # The overlap over (moved into the past in the store): revoked.
        self.store_write(f"UPDATE api_keys SET revoked_usec = 1 WHERE key_id = '{k['id'][4:]}'")
        self.assertEnvelope(self.api("GET", user, key=k["key"]), 401, "api_key_revoked")
        self.assertEqual(self.api("GET", user, key=r.json["key"]).status, 200)

        # Bad overlaps.
        k = self.new_key()
        for body, code, field in (({"overlap_seconds": -1}, "out_of_range", "overlap_seconds"),
                                  ({"overlap_seconds": 2592001}, "out_of_range", "overlap_seconds"),
                                  ({"overlap_seconds": "60"}, "wrong_type", "overlap_seconds"),
                                  ({"overlap": 60}, "unknown_field", "overlap")):
            self.assertEnvelope(self.api("POST", f"{base}/{k['id']}/rotate", body, token=owner), 422, code, field)
        self.assertEqual(self.api("GET", f"{base}/{k['id']}", token=owner).json["state"], "active")

        # Expiry: a key past its time is refused as expired.
        k = self.new_key(expires_in=60)
        self.assertEqual(self.api("GET", user, key=k["key"]).status, 200)
        self.store_write(f"UPDATE api_keys SET expires_usec = 1 WHERE key_id = '{k['id'][4:]}'")
        self.assertEnvelope(self.api("GET", user, key=k["key"]), 401, "api_key_expired")
        self.assertEqual(self.api("GET", f"{base}/{k['id']}", token=owner).json["state"], "expired")

    def test_key_bad_input(self):
        owner = self.tokens["olive"]
        base = "/api/v1/tenants/acme/api-keys"
        before = self.count("api_keys")
        cases = [
            ({"scopes": ["tessera:users:read"], "colour": 1}, 422, "unknown_field"),
            ({"scopes": "tessera:users:read"}, 422, "wrong_type"),
            ({"scopes": ["tessera:users:read"], "expires_in": "3600"}, 422, "wrong_type"),
            ({"scopes": ["tessera:users:read"], "expires_in": 59}, 422, "out_of_range"),
            ({"scopes": ["tessera:users:admin"]}, 422, "invalid"),
            ({"scopes": ["openid"]}, 422, "invalid"),
            ({"scopes": ["tessera:users:read", "tessera:users:read"]}, 422, "invalid"),
            ({"scopes": []}, 422, "invalid"),
            ({}, 422, "invalid"),
            ({"scopes": ["tessera:users:read"], "env": "Prod"}, 422, "invalid"),
            ({"scopes": ["tessera:users:read"], "env": "pro_d"}, 422, "invalid"),
            ({"scopes": ["tessera:users:read"], "type": "root"}, 422, "invalid"),
            ({"scopes": ["tessera:users:read"], "application": "no-such-app"}, 422, "invalid"),
            ({"type": "publishable"}, 422, "invalid"),
            ({"scopes": ["tessera:users:read"], "name": "n" * 101}, 422, "too_long"),
        ]
        for body, status, code in cases:
            with self.subTest(body=body):
                self.assertEnvelope(self.api("POST", base, body, token=owner), status, code)
        self.assertEqual(self.count("api_keys"), before)
        self.assertGreaterEqual(self.audit("api-key.create", "invalid", "acme"), 1)
        # Who may: admins and owners; not members, not another tenant.
        self.assertEqual(self.api("POST", base, {"scopes": ["tessera:users:read"]}, token=self.tokens["adam"]).status,
                         201)
        self.assertEnvelope(self.api("POST", base, {"scopes": ["tessera:users:read"]}, token=self.tokens["mia"]),
                            403, "forbidden")
        self.assertEnvelope(self.api("GET", base, token=self.tokens["gus"]), 403, "forbidden")
        # Another tenant's key id is no key here.
        g = self.new_key(tenant="globex")
        self.assertEnvelope(self.api("GET", f"{base}/{g['id']}", token=owner), 404, "not_found")
        self.assertEnvelope(self.api("DELETE", f"{base}/{g['id']}", token=owner), 404, "not_found")
        self.assertEnvelope(self.api("GET", f"{base}/key_nothex", token=owner), 404, "not_found")
        for bad in ("0", "201"):
            self.assertEnvelope(self.api("GET", base + "?limit=" + bad, token=owner), 400, "invalid_limit")
        self.assertEnvelope(self.api("GET", base + "?cursor=AAAA", token=owner), 400, "invalid_cursor")

    def test_key_list_pages(self):
        owner = self.tokens["olive"]
        made = [self.new_key()["id"] for _ in range(3)]
        ids, cursor = [], None
        while True:
            r = self.api("GET", "/api/v1/tenants/acme/api-keys?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                         token=owner)
            self.assertEqual(r.status, 200, r.text)
            for k in r.json["items"]:
                self.assertNotIn("key", k)
                self.assertEqual(k["tenant"], "acme")
            ids += [k["id"] for k in r.json["items"]]
            cursor = r.json["next_cursor"]
            if not cursor:
                break
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual([i for i in ids if i in made], made)

    # -- publishable keys -----------------------------------------------------

    def publishable(self):
        owner = self.tokens["olive"]
        r = self.api("POST", "/api/v1/tenants/acme/applications",
                     {"name": f"shop{time.monotonic_ns()}", "public_client": True,
                      "redirect_uris": ["https://shop.example/cb"], "allowed_origins": [ORIGIN]}, token=owner)
        self.assertEqual(r.status, 201, r.text)
        app = r.json["name"]
        k = self.api("POST", "/api/v1/tenants/acme/api-keys", {"type": "publishable", "application": app,
                                                                "env": "prod"}, token=owner)
        self.assertEqual(k.status, 201, k.text)
        self.assertTrue(k.json["key"].startswith("tpk_prod_"))
        self.assertEqual(k.json["scopes"], [])
        self.assertEqual(k.json["application"], app)
        return app, k.json

    def test_publishable_key_signs_in_from_its_origins(self):
        app, k = self.publishable()
        signin = "/api/v1/tenants/acme/auth/signin"
        body = {"login": "mia", "password": PASSWORD}
        r = self.api("POST", signin, body, key=k["key"], headers={"Origin": ORIGIN})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["user"]["name"], "mia")
        self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
        self.assertIn("Origin", r.header("Vary"))
        # As a bearer token too.
        r = self.api("POST", signin, body, token=k["key"], headers={"Origin": ORIGIN})
        self.assertEqual(r.status, 200, r.text)
        # From elsewhere, or without an Origin: refused, audited.
        for headers in ({"Origin": "https://evil.example"}, {}, {"Origin": "null"}):
            with self.subTest(headers=headers):
                r = self.api("POST", signin, body, key=k["key"], headers=headers)
                self.assertEnvelope(r, 403, "origin_not_allowed")
                self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        self.assertGreaterEqual(self.audit("auth.signin", "denied", "acme"), 3)
        # Nothing but sign-in: not the users, not the tenant.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/users/mia", key=k["key"],
                                     headers={"Origin": ORIGIN}), 403, "forbidden")
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/api-keys", key=k["key"],
                                     headers={"Origin": ORIGIN}), 403, "forbidden")
        # Only in its application's tenant.
        r = self.api("POST", "/api/v1/tenants/globex/auth/signin", {"login": "gus", "password": PASSWORD},
                     key=k["key"], headers={"Origin": ORIGIN})
        self.assertEnvelope(r, 403, "forbidden")
        # The origin list is the application's: changed there, it counts at once.
        self.api("PATCH", f"/api/v1/tenants/acme/applications/{app}", {"allowed_origins": ["https://new.example"]},
                 token=self.tokens["olive"])
        self.assertEnvelope(self.api("POST", signin, body, key=k["key"], headers={"Origin": ORIGIN}), 403,
                            "origin_not_allowed")
        self.assertEqual(self.api("POST", signin, body, key=k["key"],
                                  headers={"Origin": "https://new.example"}).status, 200)

    def test_publishable_key_signs_up_from_its_origins(self):
        """An application's publishable key may sign an end user up into
        its tenant (when the tenant is open), from its origins only."""
        app, k = self.publishable()
        signup = "/api/v1/tenants/acme/auth/signup"
        self.t.ctl("tenant", "set", "acme", "--open-signup", "yes", check=True)
        try:
            body = {"email": f"pk{time.monotonic_ns()}@shop.example", "password": PASSWORD, "name": "Pat Kay"}
            r = self.api("POST", signup, dict(body, email="x" + body["email"]), key=k["key"],
                         headers={"Origin": "https://evil.example"})
            self.assertEnvelope(r, 403, "origin_not_allowed")
            self.assertEqual(self.count("users", f"email = 'x{body['email']}'"), 0)
            r = self.api("POST", signup, body, key=k["key"], headers={"Origin": ORIGIN})
            self.assertEqual(r.status, 201, r.text)
            self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
            self.assertEqual(r.json["user"]["role"], "member")
            r = self.c.request("OPTIONS", signup, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
            self.assertEqual(r.status, 204, r.text)
            self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
            # Another tenant's door stays shut to it.
            r = self.api("POST", "/api/v1/tenants/globex/auth/signup", dict(body, email="g" + body["email"]),
                         key=k["key"], headers={"Origin": ORIGIN})
            self.assertEnvelope(r, 403, "forbidden")
        finally:
            self.t.ctl("tenant", "set", "acme", "--open-signup", "no", check=True)

    def test_cors_preflight(self):
        app, k = self.publishable()
        signin = "/api/v1/tenants/acme/auth/signin"
        r = self.c.request("OPTIONS", signin, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "content-type, x-api-key"})
        self.assertEqual(r.status, 204, r.text)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
        self.assertIn("POST", r.header("Access-Control-Allow-Methods"))
        self.assertIn("x-api-key", r.header("Access-Control-Allow-Headers").lower())
        # An origin no application of the tenant allows gets no grant.
        r = self.c.request("OPTIONS", signin, headers={"Origin": "https://evil.example",
                                                       "Access-Control-Request-Method": "POST"})
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        # Nor does a route publishable keys may not use.
        r = self.c.request("OPTIONS", "/api/v1/tenants/acme/api-keys",
                           headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))

    def test_publishable_key_goes_with_its_application(self):
        app, k = self.publishable()
        self.assertEqual(self.api("DELETE", f"/api/v1/tenants/acme/applications/{app}", token=self.tokens["olive"])
                         .status, 200)
        r = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "mia", "password": PASSWORD},
                     key=k["key"], headers={"Origin": ORIGIN})
        self.assertEnvelope(r, 401, "invalid_api_key")
        self.assertEqual(self.count("api_keys", f"key_id = '{k['id'][4:]}'"), 0)

    # -- signing keys ---------------------------------------------------------

    def test_signing_keys(self):
        owner = self.tokens["olive"]
        base = "/api/v1/tenants/acme/keys"
        before = self.api("GET", base, token=owner)
        self.assertEqual(before.status, 200, before.text)
        active = {k["kid"] for k in before.json["items"] if k["state"] == "active"}
        self.assertEqual(sorted(k["alg"] for k in before.json["items"] if k["state"] == "active"), ["ES256", "RS256"])
        self.assertIsNone(before.json["next_cursor"])
        jwks = {k["kid"] for k in Client(self.t.base_url).get("/t/acme/jwks").json["keys"]}
        self.assertTrue(active <= jwks)
        # A token signed before the rotation.
        old = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "adam", "password": PASSWORD})
        old_token = old.json["session"]["token"]
        self.assertIn(jwt_parts(old_token)[0]["kid"], active)

        self.assertEnvelope(self.api("POST", base + "/rotate", {"now": True}, token=owner), 422, "unknown_field")
        self.assertEnvelope(self.api("POST", base + "/rotate", token=self.tokens["mia"]), 403, "forbidden")
        reader = self.new_key(["tessera:keys:read"])["key"]
        self.assertEqual(self.api("GET", base, key=reader).status, 200)
        self.assertEnvelope(self.api("POST", base + "/rotate", key=reader), 403, "insufficient_scope")
        self.assertEqual(self.api("GET", base, token=owner).json, before.json)

        r = self.api("POST", base + "/rotate", token=owner)
        self.assertEqual(r.status, 200, r.text)
        now_active = {k["kid"] for k in r.json["items"] if k["state"] == "active"}
        retired = {k["kid"]: k for k in r.json["items"] if k["state"] == "retired"}
        self.assertEqual(len(now_active), 2)
        self.assertFalse(now_active & active)
        self.assertTrue(active <= set(retired))
        for kid in active:
            self.assertTrue(retired[kid]["retired_at"] and retired[kid]["published_until"])
            self.assertGreater(retired[kid]["published_until"], retired[kid]["retired_at"])
        self.assertGreaterEqual(self.audit("signing-key.rotate", "success", "acme"), 1)

        # The JWKS keeps the old keys with the new: tokens signed before
        # still verify, new ones are signed with a new key.
        jwks = {k["kid"] for k in Client(self.t.base_url).get("/t/acme/jwks").json["keys"]}
        self.assertTrue(active <= jwks and now_active <= jwks, jwks)
        self.assertEqual(self.api("GET", "/api/v1/tenants/acme/users/adam", token=old_token).status, 200)
        new = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "adam", "password": PASSWORD})
        new_token = new.json["session"]["token"]
        self.assertIn(jwt_parts(new_token)[0]["kid"], now_active)
        self.assertEqual(self.api("GET", "/api/v1/tenants/acme/users/adam", token=new_token).status, 200)
        # A key with the write scope rotates too.
        writer = self.new_key(["tessera:keys:write"])["key"]
        self.assertEqual(self.api("POST", base + "/rotate", key=writer).status, 200)

    # -- the same keys on D-Bus and with tesseractl -----------------------------

    def test_tesseractl_api_key(self):
        t = self.t
        made = json.loads(t.ctl("--json", "api-key", "create", "--tenant", "acme", "--scope", "tessera:users:read",
                                "--env", "dev", "--name", "from the CLI", check=True).stdout)
        self.assertRegex(made["key"], r"^tsk_dev_[0-9a-f]{16}_")
        self.assertEqual(made["id"], "key_" + made["key"].split("_")[2])
        self.assertEqual(self.api("GET", "/api/v1/tenants/acme/users/mia", key=made["key"]).status, 200)
        # The REST view and the CLI's agree.
        listed = json.loads(t.ctl("--json", "api-key", "list", "--tenant", "acme", check=True).stdout)
        mine = [k for k in listed if k["id"] == made["id"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["scopes"], ["tessera:users:read"])
        self.assertEqual(mine[0]["name"], "from the CLI")
        self.assertEqual(mine[0]["state"], "active")
        self.assertNotIn("key", mine[0])
        shown = self.api("GET", f"/api/v1/tenants/acme/api-keys/{made['id']}", token=self.tokens["olive"]).json
        self.assertEqual(shown["env"], "dev")
        table = t.ctl("api-key", "list", "--tenant", "acme", check=True).stdout
        self.assertIn(made["id"], table)
        self.assertNotIn(made["key"], table)

        rotated = json.loads(t.ctl("--json", "api-key", "rotate", made["id"], "--tenant", "acme", "--overlap", "0",
                                   check=True).stdout)
        self.assertNotEqual(rotated["id"], made["id"])
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/users/mia", key=made["key"]), 401, "api_key_revoked")
        self.assertEqual(self.api("GET", "/api/v1/tenants/acme/users/mia", key=rotated["key"]).status, 200)
        out = json.loads(t.ctl("--json", "api-key", "revoke", rotated["id"], "--tenant", "acme", check=True).stdout)
        self.assertEqual(out, {"revoked": rotated["id"]})
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/users/mia", key=rotated["key"]), 401,
                            "api_key_revoked")
        self.assertEqual(self.audit("api-key.revoke", "success", f"{rotated['id']}@acme"), 1)

        # Refusals, each with its exit code and nothing written.
        before = self.count("api_keys")
        bad = t.ctl("api-key", "create", "--tenant", "acme", "--scope", "tessera:users:admin")
        self.assertEqual(bad.returncode, 5, bad.stderr)
        self.assertIn("Unknown scope", bad.stderr)
        self.assertEqual(t.ctl("api-key", "create", "--tenant", "acme", "--type", "publishable").returncode, 5)
        self.assertEqual(t.ctl("api-key", "create", "--tenant", "acme", "--type", "root").returncode, 2)
        self.assertEqual(t.ctl("api-key", "create", "--scope", "tessera:users:read").returncode, 2)
        self.assertEqual(self.count("api_keys"), before)
        missing = t.ctl("api-key", "revoke", "key_0000000000000000", "--tenant", "acme")
        self.assertEqual(missing.returncode, 3, missing.stderr)
        again = t.ctl("api-key", "revoke", made["id"], "--tenant", "acme")
        self.assertEqual(again.returncode, 5, again.stderr)
        self.assertEqual(t.ctl("api-key", "rotate", made["id"], "--tenant", "acme", "--overlap", "-5").returncode, 2)

    def test_dbus_api_key(self):
        t = self.t
        path = "/org/tessera/Identity1/tenant/acme"
        iface = "org.tessera.Identity1.Tenant."
        p = t.gdbus(path, iface + "CreateApiKey",
                    "{'Scopes': <['tessera:groups:read']>, 'Env': <'test'>, 'Lifetime': <uint64 3600>}")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("tsk_test_", p.stdout)
        kid = p.stdout.split("'")[1]
        self.assertRegex(kid, r"^key_[0-9a-f]{16}$")
        listed = t.busctl("--json=short", "call", "org.tessera.Identity1", path, iface[:-1], "ListApiKeys")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = {r[0]: r for r in json.loads(listed.stdout)["data"][0]}
        self.assertEqual(rows[kid][1:5], ["secret", "test", "", ["tessera:groups:read"]])
        self.assertEqual(rows[kid][6], "active")
        self.assertGreater(rows[kid][8], rows[kid][7])     # expires after it was made
        # Bad attributes: the error names of the bus, nothing written.
        before = self.count("api_keys")
        for attrs, error in (("{'Scopes': <'tessera:groups:read'>}", "InvalidArgument"),
                             ("{'Scopes': <['tessera:groups:read']>, 'Colour': <'red'>}", "InvalidArgument"),
                             ("{'Scopes': <['nope']>}", "InvalidArgument"),
                             ("{'Scopes': <['tessera:groups:read']>, 'Lifetime': <uint64 5>}", "OutOfRange")):
            with self.subTest(attrs=attrs):
                p = t.gdbus(path, iface + "CreateApiKey", attrs)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("org.tessera.Identity1.Error." + error, p.stderr)
        self.assertEqual(self.count("api_keys"), before)
        p = t.gdbus(path, iface + "RotateApiKey", kid, "3600")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = t.gdbus(path, iface + "RotateApiKey", kid, "0")
        self.assertIn("org.tessera.Identity1.Error.AlreadyDone", p.stderr)
        p = t.gdbus(path, iface + "RevokeApiKey", "key_nothing")
        self.assertIn("org.tessera.Identity1.Error.NotFound", p.stderr)

    def test_tesseractl_api_key_unprivileged(self):
        require_root(self)
        before = self.count("api_keys")
        for args in (["api-key", "list", "--tenant", "acme"],
                     ["api-key", "create", "--tenant", "acme", "--scope", "tessera:users:read"],
                     ["api-key", "revoke", "key_0000000000000000", "--tenant", "acme"]):
            with self.subTest(args=args):
                p = self.t.ctl(*args, user=NOBODY)
                self.assertEqual(p.returncode, 4, p.stderr)
        self.assertEqual(self.count("api_keys"), before)
        self.assertGreaterEqual(self.audit("api-key.create", "denied", "acme"), 1)

    def test_tesseractl_app_allowed_origins(self):
        t = self.t
        t.ctl("app", "create", "spa@acme", "--public", "--redirect-uri", "https://spa.example/cb",
              "--allowed-origin", "https://spa.example", "--allowed-origin", "http://localhost:5173", check=True)
        shown = json.loads(t.ctl("--json", "app", "show", "spa@acme", check=True).stdout)
        self.assertEqual(shown["allowed_origins"], ["https://spa.example", "http://localhost:5173"])
        self.assertIn("https://spa.example", t.ctl("app", "show", "spa@acme", check=True).stdout)
        rest = self.api("GET", "/api/v1/tenants/acme/applications/spa", token=self.tokens["olive"]).json
        self.assertEqual(rest["allowed_origins"], shown["allowed_origins"])
        bad = t.ctl("app", "create", "spa2@acme", "--public", "--redirect-uri", "https://spa.example/cb",
                    "--allowed-origin", "https://spa.example/")
        self.assertEqual(bad.returncode, 5, bad.stderr)
        self.assertIn("not a valid origin", bad.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
