#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Upstream identity providers over the JSON API, against the real daemon:
/api/v1/tenants/{tenant}/providers (register, list, show, change, delete;
the client secret goes in and never comes out: has_client_secret; the
tenant's callback URL shown for the provider's console) and the linked
identities, /me/identities and /users/{user}/identities (list, remove,
the last way to sign in kept). Who may: owners and admins, API keys with
tessera:providers:read|write; members 403, another tenant's owner 403 (or
404), and the bad input of each in the envelope with the field named:
unknown kind, oidc without issuer, plain http to a host not on loopback,
a bad e-mail domain, scopes without openid, a taken name, unknown fields,
wrong types. Every answer is checked against http/openapi.json by the
client (tests/lib/openapi_check.py); every refusal audited, nothing
half-written.

Links are made by the sign-in flow; here a row is written into the
database as the flow stores one, to list and remove it over HTTP."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client  # noqa: E402

PASSWORD = "correct horse battery"
SECRET = "GOCSPX-http-s3cr3t-never-returned"


class ProvidersApiTest(unittest.TestCase):
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

    def api(self, method, path, body=None, token=None, key=None, raw=None):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if key:
            h["X-API-Key"] = key
        if raw is not None:
            return self.c.request(method, path, data=raw, headers={**h, "Content-Type": "application/json"})
        return self.c.request(method, path, json_body=body, headers=h)

    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text)
        body = r.json
        self.assertEqual(set(body), {"error", "code", "details"}, body)
        self.assertEqual(body["code"], code, body)
        self.assertTrue(body["error"])
        if field is not None:
            self.assertEqual(body["details"].get("field"), field, body)
        return body

    def audit(self, action, result, target=None):
        where = f"action = '{action}' AND result = '{result}'"
        if target:
            where += f" AND target = '{target}'"
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])

    def count(self, where="TRUE"):
        return int(self.t.sqlite(f"SELECT count(*) FROM upstream_providers WHERE {where}")[0][0])

    def store_write(self, sql):
        self.t.db_write(sql)

    def create(self, body, token=None, tenant="acme"):
        r = self.api("POST", f"/api/v1/tenants/{tenant}/providers", body, token=token or self.tokens["olive"])
        self.assertEqual(r.status, 201, r.text)
        return r.json

    def test_lifecycle(self):
        base = "/api/v1/tenants/acme/providers"
        owner = self.tokens["olive"]
        p = self.create({"name": "google", "kind": "google", "client_id": "123-abc.apps.googleusercontent.com",
                         "client_secret": SECRET, "allowed_domains": ["Example.com"], "signup": "jit",
                         "link_by_email": True})
        self.assertEqual(p["name"], "google")
        self.assertEqual(p["display_name"], "Google")
        self.assertTrue(p["has_client_secret"])
        self.assertNotIn("client_secret", p)
        self.assertEqual(p["allowed_domains"], ["example.com"])
        self.assertEqual((p["signup"], p["role"], p["link_by_email"], p["enabled"]), ("jit", "member", True, True))
        self.assertEqual(p["callback_url"], self.t.base_url + "/t/acme/upstream/callback")
        self.assertIsNone(p["issuer"])
        self.assertEqual(self.audit("provider.create", "success", "google@acme"), 1)

        gh = self.create({"name": "github", "kind": "github", "client_id": "Iv1.0123",
                          "api_url": "http://127.0.0.1:9/api", "display_name": "GitHub (staff)"}, token=self.tokens["adam"])
        self.assertFalse(gh["has_client_secret"])
        self.assertEqual(gh["api_url"], "http://127.0.0.1:9/api")

        r = self.api("GET", base, token=owner)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertEqual([x["name"] for x in r.json["items"]], ["github", "google"])
        self.assertNotIn(SECRET, r.text)

        r = self.api("GET", base + "/google", token=self.tokens["adam"])
        self.assertEqual(r.status, 200, r.text)
        self.assertNotIn(SECRET, r.text)

        # PATCH: what is given changes; null clears; the secret stays.
        r = self.api("PATCH", base + "/google", {"display_name": "Google Workspace", "allowed_domains": None,
                                                 "enabled": False, "icon_url": "https://example.com/g.svg"},
                     token=owner)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["display_name"], "Google Workspace")
        self.assertEqual(r.json["allowed_domains"], [])
        self.assertFalse(r.json["enabled"])
        self.assertTrue(r.json["has_client_secret"])
        r = self.api("PATCH", base + "/google", {"icon_url": None, "client_secret": None}, token=owner)
        self.assertEqual(r.status, 200, r.text)
        self.assertIsNone(r.json["icon_url"])
        self.assertFalse(r.json["has_client_secret"])
        self.assertEqual(self.audit("provider.update", "success", "google@acme"), 2)

        # The secret, set again, is sealed: not in the row, not in the files.
        self.api("PATCH", base + "/google", {"client_secret": SECRET}, token=owner)
        contains = (f"position(convert_to('{SECRET}', 'UTF8') in client_secret_box) > 0" if self.t.store_url
                    else f"instr(CAST(client_secret_box AS TEXT), '{SECRET}') > 0")
        self.assertEqual(self.count(contains), 0)
        self.assertEqual(self.count("name = 'google' AND client_secret_box IS NOT NULL"), 1)
        for name in ("tessera.db", "tessera.db-wal"):
            path = os.path.join(self.t.state_dir, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(SECRET.encode(), f.read(), path)

        r = self.api("DELETE", base + "/github", token=owner)
        self.assertEqual(r.status, 204, r.text)
        self.assertEnvelope(self.api("GET", base + "/github", token=owner), 404, "not_found")
        self.assertEnvelope(self.api("DELETE", base + "/github", token=owner), 404, "not_found")
        self.assertEqual(self.audit("provider.delete", "success", "github@acme"), 1)
        self.api("DELETE", base + "/google", token=owner)

    def test_bad_input(self):
        base = "/api/v1/tenants/acme/providers"
        owner = self.tokens["olive"]
        cases = [
            ({"name": "x", "kind": "facebook", "client_id": "c"}, "kind"),
            ({"name": "x", "kind": "oidc", "client_id": "c"}, "issuer"),
            ({"name": "x", "kind": "oidc", "client_id": "c", "issuer": "http://id.example.com"}, "issuer"),
            ({"name": "x", "kind": "oidc", "client_id": "c", "issuer": "https://id.example.com/#f"}, "issuer"),
            ({"name": "x", "kind": "google", "client_id": "c", "jwks_uri": "http://192.0.2.1/keys"}, "jwks_uri"),
            ({"name": "x", "kind": "google", "client_id": "c", "allowed_domains": ["example"]}, "allowed_domains"),
            ({"name": "x", "kind": "google", "client_id": "c", "allowed_domains": ["a b.com"]}, "allowed_domains"),
            ({"name": "x", "kind": "google", "client_id": "c", "scopes": ["email"]}, "scopes"),
            ({"name": "x", "kind": "google", "client_id": "c", "signup": "open"}, "signup"),
            ({"name": "x", "kind": "google", "client_id": "c", "role": "king"}, "role"),
            ({"name": "x", "kind": "github", "client_id": "c", "issuer": "https://github.com"}, "issuer"),
            ({"name": "x", "kind": "google", "client_id": "c", "allowed_tid": "abc"}, "allowed_tid"),
            ({"name": "X", "kind": "google", "client_id": "c"}, "name"),
            ({"name": "x", "kind": "google", "client_id": "two words"}, "client_id"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertEnvelope(self.api("POST", base, body, token=owner), 422, "invalid", field)
        self.assertGreaterEqual(self.audit("provider.create", "invalid"), len(cases))
        # The schema's refusals.
        self.assertEnvelope(self.api("POST", base, {"name": "x", "kind": "google"}, token=owner), 422,
                            "missing_field", "client_id")
        self.assertEnvelope(self.api("POST", base, {"name": "x", "kind": "google", "client_id": "c", "colour": 1},
                                     token=owner), 422, "unknown_field", "colour")
        self.assertEnvelope(self.api("POST", base, {"name": "x", "kind": "google", "client_id": "c",
                                                    "enabled": "yes"}, token=owner), 422, "wrong_type", "enabled")
        self.assertEnvelope(self.api("POST", base, raw=b"{\"name\": ", token=owner), 400, "malformed_json")
        self.assertEqual(self.count(), 0)

        self.create({"name": "dup", "kind": "google", "client_id": "c"})
        self.assertEnvelope(self.api("POST", base, {"name": "dup", "kind": "gitlab", "client_id": "d"},
                                     token=owner), 409, "name_taken", "name")
        self.assertEnvelope(self.api("PATCH", base + "/dup", {"kind": "gitlab"}, token=owner), 422, "invalid",
                            "kind")
        self.assertEnvelope(self.api("PATCH", base + "/dup", {"token_endpoint": "http://example.com/t"},
                                     token=owner), 422, "invalid", "token_endpoint")
        self.assertEnvelope(self.api("PATCH", base + "/nope", {"enabled": False}, token=owner), 404, "not_found")
        r = self.api("GET", base + "/dup", token=owner)
        self.assertIsNone(r.json["token_endpoint"])
        self.assertEqual(r.json["kind"], "google")
        self.api("DELETE", base + "/dup", token=owner)

    def test_who_may(self):
        base = "/api/v1/tenants/acme/providers"
        self.create({"name": "corp", "kind": "oidc", "client_id": "c", "issuer": "https://id.example.com"})
        mia, gus = self.tokens["mia"], self.tokens["gus"]
        self.assertEnvelope(self.api("GET", base, token=mia), 403, "forbidden")
        self.assertEnvelope(self.api("POST", base, {"name": "m", "kind": "google", "client_id": "c"}, token=mia),
                            403, "forbidden")
        self.assertEnvelope(self.api("DELETE", base + "/corp", token=mia), 403, "forbidden")
        self.assertEnvelope(self.api("GET", base, token=gus), 403, "forbidden")
        self.assertEnvelope(self.api("GET", base), 401, "unauthenticated")
        self.assertGreaterEqual(self.audit("provider.create", "denied"), 1)
        # An admin registers providers making members; admins or owners,
        # only an owner.
        self.assertEnvelope(self.api("POST", base, {"name": "a", "kind": "google", "client_id": "c",
                                                    "role": "admin"}, token=self.tokens["adam"]),
                            403, "forbidden")
        # API keys by scope.
        r = self.api("POST", "/api/v1/tenants/acme/api-keys", {"scopes": ["tessera:providers:read"]},
                     token=self.tokens["olive"])
        self.assertEqual(r.status, 201, r.text)
        reader = r.json["key"]
        r = self.api("POST", "/api/v1/tenants/acme/api-keys", {"scopes": ["tessera:providers:write"]},
                     token=self.tokens["olive"])
        self.assertEqual(r.status, 201, r.text)
        writer = r.json["key"]
        r = self.api("GET", base, key=reader)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["name"] for x in r.json["items"]], ["corp"])
        self.assertEnvelope(self.api("POST", base, {"name": "k", "kind": "google", "client_id": "c"}, key=reader),
                            403, "insufficient_scope")
        r = self.api("POST", base, {"name": "k", "kind": "google", "client_id": "c"}, key=writer)
        self.assertEqual(r.status, 201, r.text)
        r = self.api("GET", base + "/k", key=writer)
        self.assertEqual(r.status, 200, r.text)
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/globex/providers", key=writer), 403, "forbidden")
        self.assertEqual(self.api("DELETE", base + "/k", key=writer).status, 204)
        self.api("DELETE", base + "/corp", token=self.tokens["olive"])

    def test_identities(self):
        self.create({"name": "gh", "kind": "github", "client_id": "Iv1.1"})
        self.create({"name": "gl", "kind": "gitlab", "client_id": "gl"})
        now = int(time.time() * 1e6)
        for provider, subject in (("gh", "583231"), ("gl", "77")):
            self.store_write("INSERT INTO upstream_links (tenant_id, user_id, provider_id, subject, email, username, "
                             "created_usec) SELECT u.tenant_id, u.id, p.id, '%s', 'mia@example.com', 'mia', %d "
                             "FROM users u JOIN upstream_providers p ON p.tenant_id = u.tenant_id "
                             "WHERE u.name = 'mia' AND p.name = '%s'" % (subject, now, provider))
        me = "/api/v1/tenants/acme/me/identities"
        admin_view = "/api/v1/tenants/acme/users/mia/identities"
        r = self.api("GET", me, token=self.tokens["mia"])
        self.assertEqual(r.status, 200, r.text)
        items = r.json["items"]
        self.assertEqual([(i["provider"], i["subject"]) for i in items], [("gh", "583231"), ("gl", "77")])
        self.assertEqual(items[0]["email"], "mia@example.com")
        self.assertEqual(self.api("GET", admin_view, token=self.tokens["adam"]).json["items"], items)
        self.assertEqual(self.api("GET", "/api/v1/tenants/acme/me/identities", token=self.tokens["olive"])
                         .json["items"], [])
        # Another member sees nobody's but their own; another tenant nothing.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/users/adam/identities", token=self.tokens["mia"]),
                            403, "forbidden")
        self.assertEnvelope(self.api("GET", admin_view, token=self.tokens["gus"]), 403, "forbidden")

        # Remove: nobody else's (404 through another user); mia has a
        # password, so both may go.
        self.assertEnvelope(self.api("DELETE", f"/api/v1/tenants/acme/users/adam/identities/{items[0]['id']}",
                                     token=self.tokens["olive"]), 404, "not_found")
        self.assertEnvelope(self.api("DELETE", me + "/idn_0", token=self.tokens["mia"]), 404, "not_found")
        self.assertEnvelope(self.api("DELETE", me + "/nonsense", token=self.tokens["mia"]), 404, "not_found")
        r = self.api("DELETE", f"{me}/{items[0]['id']}", token=self.tokens["mia"])
        self.assertEqual(r.status, 204, r.text)
        self.assertEqual(self.audit("user.unlink", "success", "mia@acme"), 1)

        # Without a password, the last one stays: 409 last_way_in.
        self.store_write("UPDATE users SET password_hash = NULL WHERE name = 'mia'")
        self.assertEnvelope(self.api("DELETE", f"{admin_view}/{items[1]['id']}", token=self.tokens["olive"]), 409,
                            "last_way_in")
        self.assertEqual(len(self.api("GET", admin_view, token=self.tokens["olive"]).json["items"]), 1)
        self.assertGreaterEqual(self.audit("user.unlink", "denied", "mia@acme"), 1)
        # The provider's deletion takes the link along.
        self.api("DELETE", "/api/v1/tenants/acme/providers/gl", token=self.tokens["olive"])
        self.assertEqual(self.api("GET", admin_view, token=self.tokens["olive"]).json["items"], [])
        self.api("DELETE", "/api/v1/tenants/acme/providers/gh", token=self.tokens["olive"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
