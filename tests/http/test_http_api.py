#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The JSON API's first routes against the real daemon: GET
/api/v1/tenants/{tenant} and /api/v1/tenants/{tenant}/users/{user}. Who may
read what, decided by the one policy before any handler runs: anonymous
callers get 401 with a Bearer challenge, a user reads themself, a tenant
admin anyone of the tenant, a client-credentials token what its scopes
allow, nobody anything of another tenant; every refusal is audited. Also the
router's captures (percent-decoding, bad escapes refused with 400) and the
envelope of each error."""

import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, b64url, hidden_fields, html_unescape, jwt_parts, pkce_pair, raw_request  # noqa: E402

PASSWORD = "correct horse battery"
REDIRECT = "https://app.example/cb"


class HttpApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"]).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role in (("alice@acme", "member"), ("bob@acme", "member"), ("carol@acme", "admin"),
                           ("dave@globex", "admin")):
            t.ctl("user", "add", user, "--role", role, "--email", user.replace("@", "@mail."),
                  "--password-stdin", input=PASSWORD + "\n", check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        cls.web = {tenant: app(f"web@{tenant}", "--first-party", "--redirect-uri", REDIRECT)
                   for tenant in ("acme", "globex")}
        cls.reader = app("reader@acme", "--grant", "client_credentials", "--scope", "tessera:users:read",
                         "--scope", "tessera:tenant:read")
        cls.writer = app("writer@acme", "--grant", "client_credentials", "--scope", "tessera:users:write")
        cls.plain = app("plain@acme", "--grant", "client_credentials")
        cls.c = Client(t.base_url)
        cls.tokens = {}

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    # -- credentials --------------------------------------------------------

    def user_token(self, login, tenant="acme"):
        """An access token from the code flow through the real sign-in form."""
        key = (login, tenant)
        if key not in self.tokens:
            c = Client(self.t.base_url)
            verifier, challenge = pkce_pair()
            app = self.web[tenant]
            q = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
                 "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
            page = c.get(f"/t/{tenant}/authorize?" + urllib.parse.urlencode(q))
            self.assertEqual(page.status, 200, page.text[:300])
            form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
            r = c.post(f"/t/{tenant}/login", form={**form, "login": login, "password": PASSWORD})
            self.assertEqual(r.status, 303, r.text[:300])
            code = r.location_params()["code"]
            tok = Client(self.t.base_url).post(f"/t/{tenant}/token", form={
                "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier}, basic=(app["client_id"], app["client_secret"]))
            self.assertEqual(tok.status, 200, tok.text)
            self.tokens[key] = tok.json
        return self.tokens[key]["access_token"]

    def client_token(self, app, scope=None):
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        r = self.c.post("/t/acme/token", form=form, basic=(app["client_id"], app["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        return r.json["access_token"]

    def get(self, path, token=None, headers=None):
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return self.c.get(path, headers=headers)

    def audit(self, action, result, target):
        rows = self.t.sqlite("SELECT coalesce(sum(count), 0) FROM audit_events WHERE action = "
                             f"'{action}' AND result = '{result}' AND target = '{target}'")
        return int(rows[0][0])

    def assertEnvelope(self, r, status, code):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(r.header("Content-Type"), "application/json")
        j = r.json
        self.assertEqual(j["code"], code, j)
        self.assertIsInstance(j["error"], str)
        self.assertTrue(j["error"])
        self.assertEqual(j["details"]["request_id"], r.header("X-Request-Id"))
        return j

    def assertNoData(self, r):
        """A refusal carries no record: no user's or tenant's fields."""
        for field in ("name", "uid", "email", "slug", "unix_ids"):
            self.assertNotIn(field, r.json)

    # -- tests --------------------------------------------------------------

    def test_anonymous_gets_a_bearer_challenge(self):
        before = self.audit("user.read", "denied", "alice@acme")
        r = self.get("/api/v1/tenants/acme/users/alice")
        self.assertEnvelope(r, 401, "unauthenticated")
        self.assertEqual(r.header("WWW-Authenticate"), 'Bearer realm="acme"')
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertNoData(r)
        self.assertEqual(self.audit("user.read", "denied", "alice@acme"), before + 1)
        # The same for the tenant, and for a user that does not exist: the
        # anonymous caller learns nothing of who is there.
        r = self.get("/api/v1/tenants/acme")
        self.assertEnvelope(r, 401, "unauthenticated")
        r = self.get("/api/v1/tenants/acme/users/nobody")
        self.assertEnvelope(r, 401, "unauthenticated")
        # Another scheme is no credential here.
        r = self.get("/api/v1/tenants/acme/users/alice", headers={"Authorization": "Basic YTpi"})
        self.assertEnvelope(r, 401, "unauthenticated")

    def test_bad_tokens(self):
        good = self.user_token("alice")
        h, p, s = good.split(".")
        forged = f"{h}.{p}.{s[:-4]}AAAA"
        cases = {
            "garbage": "not-a-jwt",
            "forged signature": forged,
            "four parts": "a.b.c.d",
            "empty": "",
            # Signed by acme, but an ID token: for the client, not for us.
            "id token": self.tokens[("alice", "acme")]["id_token"],
            # A well-formed token naming an issuer that is none of ours.
            "foreign issuer": "eyJhbGciOiJIUzI1NiJ9." + b64url(json.dumps(
                {"iss": "https://evil.example/t/acme", "sub": "x"}).encode()) + ".c2ln",
        }
        for name, token in cases.items():
            with self.subTest(name):
                r = self.get("/api/v1/tenants/acme/users/alice", token=token)
                self.assertEnvelope(r, 401, "invalid_token")
                challenge = r.header("WWW-Authenticate")
                self.assertTrue(challenge.startswith('Bearer realm="acme", error="invalid_token"'), challenge)
                self.assertNoData(r)

    def test_expired_token(self):
        with Tessera(config_extra="[oidc]\naccess_token_lifetime = 1\n") as t:
            t.ctl("tenant", "create", "acme", check=True)
            app = json.loads(t.ctl("--json", "app", "create", "svc@acme", "--grant", "client_credentials",
                                   "--scope", "tessera:tenant:read", check=True).stdout)
            c = Client(t.base_url)
            tok = c.post("/t/acme/token", form={"grant_type": "client_credentials", "scope": "tessera:tenant:read"},
                         basic=(app["client_id"], app["client_secret"])).json["access_token"]
            # Only the clock can tell: the token is valid until its exp
            # (whole seconds), refused from then on, and said so.
            exp = jwt_parts(tok)[1]["exp"]
            time.sleep(max(0.0, exp - time.time()) + 1.1)
            r = c.get("/api/v1/tenants/acme", headers={"Authorization": "Bearer " + tok})
            self.assertEnvelope(r, 401, "invalid_token")
            self.assertIn("expired", r.json["error"])
            self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))

    def test_user_reads_themself_only(self):
        tok = self.user_token("alice")
        r = self.get("/api/v1/tenants/acme/users/alice", token=tok)
        self.assertEqual(r.status, 200, r.text)
        j = r.json
        self.assertEqual((j["name"], j["tenant"], j["role"], j["state"]), ("alice", "acme", "member", "active"))
        self.assertEqual(j["email"], "alice@mail.acme")     # one's own personal data
        self.assertEqual(j["uid"], j["gid"])
        self.assertTrue(j["has_password"])
        self.assertRegex(j["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsNone(j["expires_at"])
        self.assertEqual(r.header("Cache-Control"), "no-store")

        before = self.audit("user.read", "denied", "bob@acme")
        r = self.get("/api/v1/tenants/acme/users/bob", token=tok)
        j = self.assertEnvelope(r, 403, "forbidden")
        self.assertNoData(r)
        self.assertIsNone(r.header("WWW-Authenticate"))
        self.assertEqual(self.audit("user.read", "denied", "bob@acme"), before + 1)
        # Whether a user exists is no member's business either.
        r = self.get("/api/v1/tenants/acme/users/nobody", token=tok)
        self.assertEnvelope(r, 403, "forbidden")
        # A member reads the tenant.
        r = self.get("/api/v1/tenants/acme", token=tok)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["slug"], "acme")
        self.assertEqual(r.json["unix_ids"]["first"], 200000)

    def test_admin_reads_anyone(self):
        tok = self.user_token("carol")
        r = self.get("/api/v1/tenants/acme/users/bob", token=tok)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json["name"], r.json["email"]), ("bob", "bob@mail.acme"))
        # ...and learns that a user is not there.
        r = self.get("/api/v1/tenants/acme/users/nobody", token=tok)
        j = self.assertEnvelope(r, 404, "not_found")
        self.assertIn("nobody@acme", j["error"])
        # A name that cannot be a user name names no user either.
        r = self.get("/api/v1/tenants/acme/users/No%20Body", token=tok)
        self.assertEnvelope(r, 404, "not_found")

    def test_other_tenant_gets_nothing(self):
        tok = self.user_token("dave", "globex")    # an admin, of globex
        for path, action, target in (("/api/v1/tenants/acme/users/alice", "user.read", "alice@acme"),
                                     ("/api/v1/tenants/acme", "tenant.read", "acme"),
                                     ("/api/v1/tenants/acme/users/nobody", "user.read", "nobody@acme")):
            with self.subTest(path):
                before = self.audit(action, "denied", target)
                r = self.get(path, token=tok)
                j = self.assertEnvelope(r, 403, "forbidden")
                self.assertIn("another tenant", j["error"])
                self.assertNoData(r)
                self.assertEqual(self.audit(action, "denied", target), before + 1)
        # The same token reads its own tenant.
        r = self.get("/api/v1/tenants/globex/users/dave", token=tok)
        self.assertEqual((r.status, r.json.get("tenant")), (200, "globex"), r.text)
        # A client of globex in acme: refused the same way.
        other = json.loads(self.t.ctl("--json", "app", "create", "svc@globex", "--grant", "client_credentials",
                                      "--scope", "tessera:users:read", check=True).stdout)
        r = Client(self.t.base_url).post("/t/globex/token", form={"grant_type": "client_credentials",
                                                                  "scope": "tessera:users:read"},
                                         basic=(other["client_id"], other["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        r = self.get("/api/v1/tenants/acme/users/alice", token=r.json["access_token"])
        self.assertEnvelope(r, 403, "forbidden")
        self.assertNoData(r)

    def test_client_scopes(self):
        tok = self.client_token(self.reader, "tessera:users:read")
        r = self.get("/api/v1/tenants/acme/users/alice", token=tok)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json["name"], r.json["email"]), ("alice", "alice@mail.acme"))
        r = self.get("/api/v1/tenants/acme/users/nobody", token=tok)
        self.assertEnvelope(r, 404, "not_found")
        # The token has users:read, not tenant:read (which the app could have asked for).
        before = self.audit("tenant.read", "denied", "acme")
        r = self.get("/api/v1/tenants/acme", token=tok)
        j = self.assertEnvelope(r, 403, "forbidden")
        self.assertEqual(j["details"]["required_scope"], "tessera:tenant:read")
        self.assertEqual(r.header("WWW-Authenticate"),
                         'Bearer realm="acme", error="insufficient_scope", scope="tessera:tenant:read"')
        self.assertEqual(self.audit("tenant.read", "denied", "acme"), before + 1)
        r = self.get("/api/v1/tenants/acme", token=self.client_token(self.reader, "tessera:tenant:read"))
        self.assertEqual(r.status, 200, r.text)
        # users:write implies users:read.
        r = self.get("/api/v1/tenants/acme/users/bob", token=self.client_token(self.writer, "tessera:users:write"))
        self.assertEqual(r.status, 200, r.text)
        # Without the scope: refused, though the client is of the tenant.
        for tok in (self.client_token(self.plain), self.client_token(self.reader)):
            r = self.get("/api/v1/tenants/acme/users/alice", token=tok)
            j = self.assertEnvelope(r, 403, "forbidden")
            self.assertEqual(j["details"]["required_scope"], "tessera:users:read")
            self.assertNoData(r)

    def test_scopes_are_granted_explicitly(self):
        # An application gets the OpenID scopes by default, never the API's...
        r = self.c.post("/t/acme/token", form={"grant_type": "client_credentials", "scope": "tessera:users:read"},
                        basic=(self.plain["client_id"], self.plain["client_secret"]))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_scope"), r.text)
        # ...and an unknown scope is refused when the application is made.
        p = self.t.ctl("app", "create", "bad@acme", "--grant", "client_credentials", "--scope", "tessera:users:admin")
        self.assertNotEqual(p.returncode, 0)
        # Every scope at once fits the token's scope (and nothing overflows).
        everything = ["tessera:%s:%s" % (a, m) for a in ("tenant", "users", "groups", "applications", "keys")
                      for m in ("read", "write")] + ["tessera:audit:read"]
        args = [x for s in everything for x in ("--scope", s)]
        app = json.loads(self.t.ctl("--json", "app", "create", "all@acme", "--grant", "client_credentials", *args,
                                    check=True).stdout)
        r = self.c.post("/t/acme/token", form={"grant_type": "client_credentials", "scope": " ".join(everything)},
                        basic=(app["client_id"], app["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["scope"].split(), everything)

    def test_revoked_session_ends_the_principal(self):
        c = Client(self.t.base_url)
        verifier, challenge = pkce_pair()
        app = self.web["acme"]
        q = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid",
             "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
        page = c.get("/t/acme/authorize?" + urllib.parse.urlencode(q))
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        r = c.post("/t/acme/login", form={**form, "login": "bob", "password": PASSWORD})
        code = r.location_params()["code"]
        tok = c.post("/t/acme/token", form={"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": REDIRECT, "code_verifier": verifier},
                     basic=(app["client_id"], app["client_secret"])).json["access_token"]
        self.assertEqual(self.get("/api/v1/tenants/acme/users/bob", token=tok).status, 200)
        # Disabled: the token no longer makes bob a principal, and says why.
        self.t.ctl("user", "disable", "bob@acme", check=True)
        try:
            r = self.get("/api/v1/tenants/acme/users/bob", token=tok)
            self.assertEnvelope(r, 401, "account_disabled")
            self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))
        finally:
            self.t.ctl("user", "enable", "bob@acme", check=True)

    def test_captures(self):
        tok = self.user_token("carol")
        # Escapes are decoded, in captures and in literal segments alike.
        for path in ("/api/v1/tenants/acme/users/%61lice", "/api/v1/tenants/%61cme/users/alice",
                     "/api/v1/%74enants/acme/users/alice"):
            with self.subTest(path):
                r = self.get(path, token=tok)
                self.assertEqual((r.status, r.json.get("name")), (200, "alice"), r.text)
        # A capture that is no single valid segment is a bad request.
        for bad in ("%zz", "al%2", "a%00b", "a%2Fb", "%ff", "a%0ab", "%C3"):
            with self.subTest(bad):
                r = self.get("/api/v1/tenants/acme/users/" + bad, token=tok)
                j = self.assertEnvelope(r, 400, "invalid_path")
                self.assertEqual(j["details"]["capture"], "user")
        r = self.get("/api/v1/tenants/acme/users/" + "a" * 256, token=tok)
        j = self.assertEnvelope(r, 400, "invalid_path")
        self.assertIn("255 bytes", j["error"])
        # UTF-8 that decodes well is a name (that does not exist).
        r = self.get("/api/v1/tenants/acme/users/%C3%A9", token=tok)
        self.assertEnvelope(r, 404, "not_found")
        # An empty segment, a trailing slash, an extra segment: no route.
        for path in ("/api/v1/tenants/acme/users/", "/api/v1/tenants/acme/users/alice/",
                     "/api/v1/tenants/acme/users/alice/x", "/api/v1/tenants//users/alice",
                     "/api/v1/tenants/ACME/users/alice", "/api/v1/tenants/ac%2Fme/users/alice"):
            with self.subTest(path):
                self.assertEnvelope(self.get(path, token=tok), 404, "not_found")
        # A tenant that does not exist.
        r = self.get("/api/v1/tenants/initech/users/alice", token=tok)
        self.assertEnvelope(r, 404, "unknown_tenant")
        # The path as sent reaches the router (urllib would normalize it).
        out = raw_request("127.0.0.1", self.t.http_port,
                          b"GET /api/v1/tenants/acme/users/a%2F..%2Fb HTTP/1.1\r\nHost: x\r\n"
                          b"Authorization: Bearer " + tok.encode() + b"\r\nConnection: close\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:200])

    def test_methods(self):
        r = self.c.post("/api/v1/tenants/acme/users/alice", form={})
        self.assertEnvelope(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "GET, PATCH, DELETE")
        # HEAD is GET without the body.
        r = self.c.request("HEAD", "/api/v1/tenants/acme", headers={"Authorization": "Bearer "
                                                                    + self.user_token("alice")})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")

    def test_oidc_endpoints_stay_open(self):
        # The protocol endpoints' action lets everyone in: no challenge,
        # no refusal audited, a bearer token of another tenant ignored.
        r = self.get("/t/acme/.well-known/openid-configuration", token="garbage")
        self.assertEqual(r.status, 200)
        r = self.get("/healthz", token=self.user_token("dave", "globex"))
        self.assertEqual(r.status, 200)
        scopes = self.get("/t/acme/.well-known/openid-configuration").json["scopes_supported"]
        self.assertIn("tessera:users:read", scopes)

    def test_openapi_document(self):
        """The document the daemon serves is the one in the tree (which every
        answer of these tests was checked against), to anybody."""
        r = self.get("/api/v1/openapi.json")
        self.assertEqual(r.status, 200, r.text[:300])
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.header("Cache-Control"), "public, max-age=300")
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "http", "openapi.json")) as f:
            self.assertEqual(r.json, json.load(f))
        self.assertEqual(r.json["openapi"], "3.1.0")
        # A token, even a foreign one, changes nothing.
        self.assertEqual(self.get("/api/v1/openapi.json", token="x.y.z").status, 200)
        self.assertEnvelope(self.c.request("POST", "/api/v1/openapi.json"), 405, "method_not_allowed")


if __name__ == "__main__":
    unittest.main(verbosity=2)
