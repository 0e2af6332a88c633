#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The platform's operators over the JSON API, against the real daemon: an
operator made with tesseractl (the TOTP seed shown once), signing in at
POST /api/v1/platform/auth/signin with password and code (wrong ones, a
code used twice, unknown fields refused; the failures audited), the
tenants and a search of users across tenants by e-mail, and impersonation
with a stated reason: a short-lived grant judged as the tenant's admin,
every audit event it causes marked with the operator and the reason and
shown to the tenant's owner in the audit query. Tokens never cross: a
tenant's access token is no operator's, an operator's token no tenant's
user, a grant of one tenant nothing in another; a removed operator's
tokens stop at once."""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client  # noqa: E402

PASSWORD = "correct horse battery"
OP_PASSWORD = "operators keep the lights on"


def totp(secret_b32, step=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int(time.time() // 30) + step
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


class PlatformApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"]).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role, email in (("olivia@acme", "owner", "olivia@acme.example"),
                                  ("adam@acme", "admin", "adam@acme.example"),
                                  ("gus@globex", "owner", "gus@globex.example"),
                                  ("sam@acme", "member", "Sam@Shared.example"),
                                  ("sam@globex", "member", "sam@shared.example"),
                                  ("samuel@globex", "member", "samuel@other.example")):
            t.ctl("user", "add", user, "--role", role, "--email", email, "--password-stdin",
                  input=PASSWORD + "\n", check=True)
        made = json.loads(t.ctl("--json", "operator", "add", "olga", "--email", "olga@platform.example",
                                "--password-stdin", input=OP_PASSWORD + "\n", check=True).stdout)
        cls.secret = made["totp_secret"]
        cls.c = Client(t.base_url)
        r = cls.c.post("/api/v1/platform/auth/signin",
                       json_body={"name": "olga", "password": OP_PASSWORD, "code": totp(cls.secret)})
        assert r.status == 200, r.text
        cls.op = r.json["token"]
        cls.owner = cls.signin("olivia")
        cls.admin = cls.signin("adam")
        cls.foreign = cls.signin("gus", "globex")

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    @classmethod
    def signin(cls, name, tenant="acme"):
        r = cls.c.post(f"/api/v1/tenants/{tenant}/auth/signin", json_body={"login": name, "password": PASSWORD})
        assert r.status == 200, r.text
        return r.json["session"]["token"]

    def call(self, method, path, token=None, body=None, **params):
        q = ("?" + urllib.parse.urlencode(params)) if params else ""
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.c.request(method, path + q, json_body=body, headers=headers)

    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(r.json["code"], code, r.json)
        if field is not None:
            self.assertEqual(r.json["details"].get("field"), field, r.json)
        return r.json

    def count(self, where):
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])

    def impersonate(self, reason="ticket 4711: owner cannot reach billing", tenant="acme", token=None):
        r = self.call("POST", f"/api/v1/platform/tenants/{tenant}/impersonate", token or self.op, {"reason": reason})
        self.assertEqual(r.status, 201, r.text)
        return r.json

    # -- the operator and sign-in ------------------------------------------

    def test_operator_token(self):
        self.assertTrue(self.op.startswith("top_"))
        # Only a digest is kept.
        self.assertEqual(int(self.t.sqlite(f"SELECT count(*) FROM platform_tokens WHERE digest = '{self.op}'")[0][0]), 0)
        self.assertEqual(int(self.t.sqlite("SELECT count(*) FROM platform_tokens WHERE tenant_id IS NULL")[0][0]), 1)
        self.assertEqual(self.count("action = 'platform.signin' AND result = 'success' AND actor = 'olga' "
                                    "AND operator_name = 'olga'"), 1)

    def test_signin_refusals(self):
        before = self.count("action = 'platform.signin' AND result = 'failure'")
        bad = [{"name": "olga", "password": "wrong password", "code": totp(self.secret)},
               {"name": "olga", "password": OP_PASSWORD, "code": "000000" if totp(self.secret) != "000000" else "111111"},
               {"name": "nobody", "password": OP_PASSWORD, "code": totp(self.secret)},
               # The code of the sign-in of setUpClass, spent.
               {"name": "olga", "password": OP_PASSWORD, "code": totp(self.secret)}]
        for body in bad:
            r = self.call("POST", "/api/v1/platform/auth/signin", None, body)
            self.assertEnvelope(r, 401, "invalid_credentials")
        self.assertEqual(self.count("action = 'platform.signin' AND result = 'failure'"), before + 4)
        self.assertEnvelope(self.call("POST", "/api/v1/platform/auth/signin", None,
                                      {"name": "olga", "password": OP_PASSWORD}), 422, "missing_field", "code")
        self.assertEnvelope(self.call("POST", "/api/v1/platform/auth/signin", None,
                                      {"name": "olga", "password": OP_PASSWORD, "code": "1", "tenant": "acme"}),
                            422, "unknown_field", "tenant")
        # A tenant's user is no operator, whatever their password.
        self.assertEnvelope(self.call("POST", "/api/v1/platform/auth/signin", None,
                                      {"name": "olivia", "password": PASSWORD, "code": "123456"}),
                            401, "invalid_credentials")

    def test_tenants_and_users(self):
        r = self.call("GET", "/api/v1/platform/tenants", self.op)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["slug"] for x in r.json["items"]], ["acme", "globex"])
        first = self.call("GET", "/api/v1/platform/tenants", self.op, limit=1).json
        self.assertEqual([x["slug"] for x in first["items"]], ["acme"])
        second = self.call("GET", "/api/v1/platform/tenants", self.op, limit=1, cursor=first["next_cursor"]).json
        self.assertEqual([x["slug"] for x in second["items"]], ["globex"])
        self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", self.op, cursor=first["next_cursor"][:-3]),
                            400, "invalid_cursor")
        self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", self.op, limit=0), 400, "invalid_limit")
        self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", self.op, sort="slug"), 400, "unknown_field")

        r = self.call("GET", "/api/v1/platform/users", self.op, email="SAM@shared")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(sorted((u["tenant"], u["name"]) for u in r.json["items"]), [("acme", "sam"), ("globex", "sam")])
        pages, cursor, seen = 0, None, []
        while True:
            params = {"email": "sam", "limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = self.call("GET", "/api/v1/platform/users", self.op, **params).json
            seen += [u["email"] for u in page["items"]]
            cursor = page["next_cursor"]
            pages += 1
            if not cursor:
                break
        self.assertEqual(sorted(s.lower() for s in seen), ["sam@shared.example", "sam@shared.example",
                                                           "samuel@other.example"])
        # A cursor of another search is refused.
        c1 = self.call("GET", "/api/v1/platform/users", self.op, email="sam", limit=1).json["next_cursor"]
        self.assertEnvelope(self.call("GET", "/api/v1/platform/users", self.op, email="samu", cursor=c1), 400,
                            "invalid_cursor")
        self.assertEnvelope(self.call("GET", "/api/v1/platform/users", self.op, email="sa"), 422, "invalid")
        self.assertEnvelope(self.call("GET", "/api/v1/platform/users", self.op), 400, "invalid_parameter", "email")
        # The wildcards of LIKE are letters like any other.
        self.assertEqual(self.call("GET", "/api/v1/platform/users", self.op, email="s%m").json["items"], [])

    def test_tenant_credentials_on_platform_routes(self):
        before = self.count("result = 'denied' AND action IN ('tenant.list', 'platform.user-search', "
                            "'platform.impersonate')")
        for token in (self.owner, self.admin, self.foreign):
            self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", token), 403, "forbidden")
            self.assertEnvelope(self.call("GET", "/api/v1/platform/users", token, email="sam"), 403, "forbidden")
            self.assertEnvelope(self.call("POST", "/api/v1/platform/tenants/acme/impersonate", token,
                                          {"reason": "curious"}), 403, "forbidden")
        self.assertEqual(self.count("result = 'denied' AND action IN ('tenant.list', 'platform.user-search', "
                                    "'platform.impersonate')"), before + 9)
        self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants"), 401, "unauthenticated")

    def test_tokens_never_cross(self):
        # An operator's token is no user of a tenant: not at the tenant's
        # userinfo, not as "me"; the policy lets it read what operators
        # read (the audit trail) and set entitlements.
        r = self.c.request("GET", "/t/acme/userinfo", headers={"Authorization": "Bearer " + self.op})
        self.assertEqual(r.status, 401, r.text)
        self.assertEnvelope(self.call("GET", "/api/v1/tenants/acme/me", self.op), 403, "forbidden")
        self.assertEnvelope(self.call("GET", "/api/v1/tenants/acme/auth/session", self.op), 403, "forbidden")
        self.assertEqual(self.call("GET", "/api/v1/tenants/acme/audit", self.op, limit=1).status, 200)
        r = self.call("PUT", "/api/v1/tenants/globex/entitlements", self.op, {"max_users": 500})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.count("action = 'entitlement.write' AND actor = 'olga' AND operator_name = 'olga' "
                                    "AND reason IS NULL AND tenant = 'globex'"), 1)
        self.assertEqual(self.call("PUT", "/api/v1/tenants/globex/entitlements", self.op, {}).status, 200)
        # A tenant's access token dressed as a platform token, and a
        # platform token with the other kind's prefix: neither is taken.
        for forged in ("top_" + self.owner, "tim_" + self.op[4:], "top_" + "A" * 43):
            self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", forged), 401, "invalid_token")
        grant = self.impersonate()["token"]
        self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", "top_" + grant[4:]), 401, "invalid_token")
        # A grant is no operator: no platform route, no grant from a grant.
        self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", grant), 403, "forbidden")
        self.assertEnvelope(self.call("POST", "/api/v1/platform/tenants/acme/impersonate", grant,
                                      {"reason": "again"}), 403, "forbidden")
        # A grant of acme is nothing in globex.
        self.assertEnvelope(self.call("GET", "/api/v1/tenants/globex/audit", grant), 403, "forbidden")
        self.assertEnvelope(self.call("GET", "/api/v1/tenants/globex/users/gus", grant), 403, "forbidden")

    # -- impersonation -----------------------------------------------------

    def test_impersonation_without_a_reason(self):
        path = "/api/v1/platform/tenants/acme/impersonate"
        self.assertEnvelope(self.call("POST", path, self.op, {}), 422, "missing_field", "reason")
        for reason in ("", "   ", "two\nlines"):
            self.assertEnvelope(self.call("POST", path, self.op, {"reason": reason}), 422, "invalid")
        self.assertEnvelope(self.call("POST", path, self.op, {"reason": "x" * 501}), 422, "too_long", "reason")
        self.assertEnvelope(self.call("POST", path, self.op, {"reason": "ok", "minutes": 60}), 422, "unknown_field")
        self.assertEnvelope(self.call("POST", "/api/v1/platform/tenants/initech/impersonate", self.op,
                                      {"reason": "ok"}), 404, "unknown_tenant")
        self.assertEqual(self.count("action = 'platform.impersonate' AND result = 'invalid' AND actor = 'olga'"), 3)

    def test_impersonation_marks_the_trail(self):
        reason = "ticket 1234: reset the owner's MFA"
        before = int(self.t.sqlite("SELECT coalesce(max(id), 0) FROM audit_events")[0][0])
        g = self.impersonate(reason)
        self.assertTrue(g["token"].startswith("tim_"))
        self.assertEqual((g["tenant"], g["reason"], g["acts_as"]), ("acme", reason, "admin"))
        grant = g["token"]
        # As an admin of acme: reads what an admin reads...
        r = self.call("GET", "/api/v1/tenants/acme/users/olivia", grant)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["email"], "olivia@acme.example")
        # ...and not what an admin may not: each refusal is an event,
        # marked like everything else the grant causes.
        self.assertEnvelope(self.call("PUT", "/api/v1/tenants/acme/entitlements", grant, {"max_users": 1}), 403,
                            "forbidden")
        self.assertEnvelope(self.call("GET", "/api/v1/tenants/acme/audit", grant, since="2026-01-02T00:00:00Z",
                                      until="2026-01-01T00:00:00Z"), 422, "invalid")
        # The owner sees each of them in the tenant's trail, with the operator and the reason.
        r = self.call("GET", "/api/v1/tenants/acme/audit", self.owner, actor="olga", limit=200)
        self.assertEqual(r.status, 200, r.text)
        marked = [e for e in r.json["items"] if e["operator"] and e["operator"]["impersonation_reason"] == reason]
        self.assertEqual({(e["action"], e["result"]) for e in marked},
                         {("platform.impersonate", "success"), ("entitlement.write", "denied"),
                          ("audit.read", "invalid")})
        for e in marked:
            self.assertEqual(e["operator"]["name"], "olga")
            self.assertEqual(e["actor"], "olga")
        # Nothing the grant caused goes unmarked: every event of olga
        # since it was made carries the reason, and they are those above.
        rows = self.t.sqlite(f"SELECT action, operator_name, coalesce(reason, '-'), tenant FROM audit_events "
                             f"WHERE id > {before} AND actor = 'olga'")
        self.assertEqual(len(rows), 3, rows)
        self.assertTrue(all(r[1:] == ["olga", reason, "acme"] for r in rows), rows)
        # The owner can find them by the operator, as for any actor.
        self.assertTrue(all(e["actor"] == "olga" for e in r.json["items"]))

    def test_grant_expires_and_operator_removed(self):
        grant = self.impersonate("short one")["token"]
        self.assertEqual(self.call("GET", "/api/v1/tenants/acme/audit", grant, limit=1).status, 200)
        # Fifteen minutes on: the grant's time, moved in the database.
        self.t.db_write("UPDATE platform_tokens SET expires_usec = 1 WHERE reason = 'short one'")
        r = self.call("GET", "/api/v1/tenants/acme/audit", grant, limit=1)
        self.assertEnvelope(r, 401, "invalid_token")
        self.assertIn("expired", r.json["error"])

        # Another operator, signed in, then removed: their token stops.
        made = json.loads(self.t.ctl("--json", "operator", "add", "otto", "--email", "otto@platform.example",
                                     "--password-stdin", input=OP_PASSWORD + "\n", check=True).stdout)
        r = self.call("POST", "/api/v1/platform/auth/signin", None,
                      {"name": "otto", "password": OP_PASSWORD, "code": totp(made["totp_secret"])})
        self.assertEqual(r.status, 200, r.text)
        token = r.json["token"]
        grant = self.impersonate("before removal", token=token)["token"]
        self.assertEqual(self.call("GET", "/api/v1/platform/tenants", token).status, 200)
        self.t.ctl("operator", "remove", "otto", check=True)
        self.assertEnvelope(self.call("GET", "/api/v1/platform/tenants", token), 401, "invalid_token")
        self.assertEnvelope(self.call("GET", "/api/v1/tenants/acme/audit", grant), 401, "invalid_token")



class PlatformSigninLimitTest(unittest.TestCase):
    """Wrong sign-ins count in the limits per address that every door
    shares: over them, 429 with Retry-After, even with the right password."""

    def test_limited(self):
        with Tessera(config_extra="[limits]\naddress_burst = 3\naddress_rate = 1/h\n") as t:
            made = json.loads(t.ctl("--json", "operator", "add", "olga", "--email", "olga@platform.example",
                                    "--password-stdin", input=OP_PASSWORD + "\n", check=True).stdout)
            c = Client(t.base_url)
            for _ in range(3):
                r = c.post("/api/v1/platform/auth/signin",
                           json_body={"name": "olga", "password": "wrong", "code": "123456"})
                self.assertEqual(r.status, 401, r.text)
            r = c.post("/api/v1/platform/auth/signin",
                       json_body={"name": "olga", "password": OP_PASSWORD, "code": totp(made["totp_secret"])})
            self.assertEqual(r.status, 429, r.text)
            self.assertEqual(r.json["code"], "rate_limited")
            self.assertGreater(int(r.header("Retry-After")), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
