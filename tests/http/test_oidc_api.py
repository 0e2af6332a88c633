#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The OpenID provider's machine endpoints against the real daemon: the
token endpoint with client_credentials and client authentication, token
checks at userinfo and introspection (forged, alg none, wrong key, wrong
audience, expired), revocation, and the authorization endpoint's refusals
(unknown client, near-miss redirect URI, PKCE rules, iss and state)."""

import base64
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, b64url, jwt_parts, pkce_pair  # noqa: E402


class OidcApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"], config_extra="[oidc]\naccess_token_lifetime = 2\n").start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        cls.svc = app("svc@acme", "--grant", "client_credentials", "--signing-alg", "ES256")
        cls.svc_rs = app("svc-rs@acme", "--grant", "client_credentials")
        cls.web = app("web@acme", "--redirect-uri", "https://app.example/cb", "--redirect-uri",
                      "http://127.0.0.1:9/cb")
        cls.spa = app("spa@acme", "--public", "--redirect-uri", "https://spa.example/cb")
        cls.other = app("svc@globex", "--grant", "client_credentials")
        cls.c = Client(t.base_url)
        cls.iss = t.issuer("acme")

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def token(self, app=None, **kw):
        app = app or self.svc
        return self.c.post("/t/acme/token", form={"grant_type": "client_credentials", **kw},
                           basic=(app["client_id"], app["client_secret"]))

    def audit(self, action, result=None):
        # Repeats of a refusal are one event with a count.
        sql = f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE action = '{action}'"
        if result:
            sql += f" AND result = '{result}'"
        return int(self.t.sqlite(sql)[0][0])

    def test_client_credentials(self):
        for app, alg in ((self.svc, "ES256"), (self.svc_rs, "RS256")):
            r = self.token(app)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.header("Cache-Control"), "no-store")
            j = r.json
            self.assertEqual(j["token_type"], "Bearer")
            self.assertEqual(j["expires_in"], 2)
            self.assertNotIn("refresh_token", j)
            self.assertNotIn("id_token", j)
            h, p = jwt_parts(j["access_token"])
            self.assertEqual((h["alg"], h["typ"]), (alg, "at+jwt"))
            self.assertEqual((p["iss"], p["aud"], p["sub"], p["client_id"]),
                             (self.iss, self.iss, app["client_id"], app["client_id"]))
            self.assertLessEqual(p["exp"] - p["iat"], 2)
            jwks = {k["kid"] for k in self.c.get("/t/acme/jwks").json["keys"]}
            self.assertIn(h["kid"], jwks)

    def test_client_authentication_methods(self):
        # client_secret_post, and a JSON body.
        r = self.c.post("/t/acme/token", form={"grant_type": "client_credentials",
                                              "client_id": self.svc["client_id"],
                                              "client_secret": self.svc["client_secret"]})
        self.assertEqual(r.status, 200, r.text)
        r = self.c.post("/t/acme/token", json_body={"grant_type": "client_credentials",
                                                    "client_id": self.svc["client_id"],
                                                    "client_secret": self.svc["client_secret"]})
        self.assertEqual(r.status, 200, r.text)
        # Two methods at once are refused.
        r = self.c.post("/t/acme/token", form={"grant_type": "client_credentials",
                                              "client_secret": self.svc["client_secret"]},
                        basic=(self.svc["client_id"], self.svc["client_secret"]))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"))

    def test_bad_clients(self):
        before = self.audit("oauth.token", "denied")
        cases = [
            ("wrong secret", dict(basic=(self.svc["client_id"], "wrong"))),
            ("secret of another client", dict(basic=(self.svc["client_id"], self.svc_rs["client_secret"]))),
            ("no secret", dict(form_extra={"client_id": self.svc["client_id"]})),
            ("unknown client", dict(basic=("nobody", "x"))),
            ("client of another tenant", dict(basic=(self.other["client_id"], self.other["client_secret"]))),
            ("malformed basic", dict(headers={"Authorization": "Basic !!!"})),
        ]
        # Base64 that decodes, to something that is no id:secret pair.
        for name, raw in (("basic without a colon", b"no-colon"), ("basic with a bad escape", b"id:%zz"),
                          ("basic with %00", b"id%00:x"), ("basic with a NUL", b"id\0:x"),
                          ("basic not UTF-8", b"id:\xff")):
            cases.append((name, dict(headers={"Authorization": "Basic " + base64.b64encode(raw).decode()})))
        # The right pair, form-encoded as RFC 6749 2.3.1 says (every byte
        # escaped here, so that the decoding shows), still works.
        escaped = "".join("%%%02X" % c for c in self.svc["client_secret"].encode())
        r = self.c.post("/t/acme/token", form={"grant_type": "client_credentials"}, headers={
            "Authorization": "Basic " + base64.b64encode(f"{self.svc['client_id']}:{escaped}".encode()).decode()})
        self.assertEqual(r.status, 200, r.text)
        for name, kw in cases:
            with self.subTest(name):
                form = {"grant_type": "client_credentials", **kw.pop("form_extra", {})}
                r = self.c.post("/t/acme/token", form=form, **kw)
                self.assertEqual(r.status, 401, r.text)
                self.assertEqual(r.json["error"], "invalid_client")
                self.assertEqual(r.json["code"], "invalid_client")
                self.assertNotIn("access_token", r.json)
        self.assertGreaterEqual(self.audit("oauth.token", "denied") - before, len(cases))
        # A public client may not use client_credentials, nor a web app without the grant.
        r = self.c.post("/t/acme/token", form={"grant_type": "client_credentials", "client_id": self.spa["client_id"]})
        self.assertEqual((r.status, r.json["error"]), (400, "unauthorized_client"))
        r = self.token(self.web)
        self.assertEqual((r.status, r.json["error"]), (400, "unauthorized_client"))

    def test_bad_grants_and_scopes(self):
        r = self.token(grant_type="password", username="a", password="b")
        self.assertEqual((r.status, r.json["error"]), (400, "unsupported_grant_type"))
        r = self.token(grant_type="implicit")
        self.assertEqual((r.status, r.json["error"]), (400, "unsupported_grant_type"))
        r = self.token(scope="openid")
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_scope"))
        r = self.token(scope="admin")
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_scope"))
        r = self.c.post("/t/acme/token", form={}, basic=(self.svc["client_id"], self.svc["client_secret"]))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"))
        r = self.c.post("/t/acme/token", form={"grant_type": "authorization_code", "code": "x" * 43,
                                              "redirect_uri": "https://app.example/cb"},
                        basic=(self.web["client_id"], self.web["client_secret"]))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        r = self.c.post("/t/acme/token", form={"grant_type": "refresh_token", "refresh_token": "y" * 43},
                        basic=(self.web["client_id"], self.web["client_secret"]))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))

    def introspect(self, token, app=None):
        app = app or self.svc
        return self.c.post("/t/acme/introspect", form={"token": token}, basic=(app["client_id"], app["client_secret"]))

    def test_introspection_and_forgeries(self):
        access = self.token().json["access_token"]
        r = self.introspect(access)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.json["active"])
        self.assertEqual(r.json["client_id"], self.svc["client_id"])
        h, p = jwt_parts(access)
        head, body, sig = access.split(".")

        def forge(header=None, payload=None, signature=sig):
            hh = b64url(json.dumps(header).encode()) if header is not None else head
            pp = b64url(json.dumps(payload).encode()) if payload is not None else body
            return f"{hh}.{pp}.{signature}"

        forged = {
            "alg none": forge({**h, "alg": "none"}, signature=""),
            "alg HS256": forge({**h, "alg": "HS256"}),
            "changed claims": forge(payload={**p, "sub": "admin"}),
            "unknown kid": forge({**h, "kid": "nope"}),
            "signature of another token": f"{head}.{body}.{self.token(self.svc_rs).json['access_token'].split('.')[2]}",
            "other tenant's token": self.c.post("/t/globex/token", form={"grant_type": "client_credentials"},
                                                basic=(self.other["client_id"],
                                                       self.other["client_secret"])).json["access_token"],
            "garbage": "not-a-token",
        }
        for name, token in forged.items():
            with self.subTest(name):
                r = self.introspect(token)
                self.assertEqual((r.status, r.json), (200, {"active": False}))
        # Public clients may not introspect.
        r = self.c.post("/t/acme/introspect", form={"token": access, "client_id": self.spa["client_id"]})
        self.assertEqual((r.status, r.json["error"]), (401, "invalid_client"))
        # Expiry: lifetime is 2 s here.
        time.sleep(3)
        self.assertEqual(self.introspect(access).json, {"active": False})

    def test_revocation(self):
        access = self.token().json["access_token"]
        self.assertTrue(self.introspect(access).json["active"])
        # Another client may not revoke it (and is not told so).
        r = self.c.post("/t/acme/revoke", form={"token": access},
                        basic=(self.svc_rs["client_id"], self.svc_rs["client_secret"]))
        self.assertEqual(r.status, 200)
        self.assertTrue(self.introspect(access).json["active"])
        before = self.audit("oauth.revoke")
        r = self.c.post("/t/acme/revoke", form={"token": access, "token_type_hint": "access_token"},
                        basic=(self.svc["client_id"], self.svc["client_secret"]))
        self.assertEqual(r.status, 200)
        self.assertEqual(self.introspect(access).json, {"active": False})
        self.assertEqual(self.audit("oauth.revoke") - before, 1)
        # Unknown tokens are no error (RFC 7009 2.2); a missing one is.
        r = self.c.post("/t/acme/revoke", form={"token": "whatever"},
                        basic=(self.svc["client_id"], self.svc["client_secret"]))
        self.assertEqual(r.status, 200)
        r = self.c.post("/t/acme/revoke", form={}, basic=(self.svc["client_id"], self.svc["client_secret"]))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"))

    def test_userinfo_refusals(self):
        r = self.c.get("/t/acme/userinfo")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        # A client's own token has no user and no openid scope.
        access = self.token().json["access_token"]
        r = self.c.get("/t/acme/userinfo", headers={"Authorization": "Bearer " + access})
        self.assertEqual(r.status, 401)
        self.assertIn('error="insufficient_scope"', r.header("WWW-Authenticate"))
        h, p = jwt_parts(access)
        none = b64url(json.dumps({**h, "alg": "none"}).encode()) + "." + access.split(".")[1] + "."
        r = self.c.get("/t/acme/userinfo", headers={"Authorization": "Bearer " + none})
        self.assertEqual(r.status, 401)
        self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))
        self.assertEqual(r.json["code"], "invalid_token")
        other = self.c.post("/t/globex/token", form={"grant_type": "client_credentials"},
                            basic=(self.other["client_id"], self.other["client_secret"])).json["access_token"]
        r = self.c.get("/t/acme/userinfo", headers={"Authorization": "Bearer " + other})
        self.assertEqual(r.status, 401)

    def authorize(self, **params):
        return self.c.get("/t/acme/authorize?" + urllib.parse.urlencode(params))

    def test_authorize_refusals_without_redirect(self):
        base = {"response_type": "code", "scope": "openid", "state": "s1"}
        for name, params in {
            "no client": dict(base, redirect_uri="https://app.example/cb"),
            "unknown client": dict(base, client_id="nope", redirect_uri="https://app.example/cb"),
            "unregistered URI": dict(base, client_id=self.web["client_id"], redirect_uri="https://evil.example/cb"),
            "near miss: trailing slash": dict(base, client_id=self.web["client_id"],
                                              redirect_uri="https://app.example/cb/"),
            "near miss: case": dict(base, client_id=self.web["client_id"], redirect_uri="https://APP.example/cb"),
            "near miss: extra query": dict(base, client_id=self.web["client_id"],
                                           redirect_uri="https://app.example/cb?x=1"),
            "near miss: port": dict(base, client_id=self.web["client_id"], redirect_uri="http://127.0.0.1:10/cb"),
            "no redirect_uri": dict(base, client_id=self.web["client_id"]),
            "client of another tenant": dict(base, client_id=self.other["client_id"],
                                             redirect_uri="https://app.example/cb"),
        }.items():
            with self.subTest(name):
                r = self.authorize(**params)
                self.assertEqual(r.status, 400, r.text)
                self.assertIsNone(r.header("Location"))
                self.assertIn("text/html", r.header("Content-Type"))
                self.assertNotIn("evil.example", r.text)

    def test_authorize_error_redirects(self):
        _, challenge = pkce_pair()
        plain = {"client_id": self.web["client_id"], "redirect_uri": "https://app.example/cb",
                 "response_type": "code", "scope": "openid", "state": "xyz"}
        good = {**plain, "code_challenge": challenge, "code_challenge_method": "S256"}
        spa = {**plain, "client_id": self.spa["client_id"], "redirect_uri": "https://spa.example/cb"}
        for name, params, error in (
            # OAuth 2.1: a confidential client too, unless registered with the opt-out.
            ("confidential client without PKCE", plain, "invalid_request"),
            ("implicit", {**good, "response_type": "token"}, "unsupported_response_type"),
            ("hybrid", {**good, "response_type": "code id_token"}, "unsupported_response_type"),
            ("unknown scope", {**good, "scope": "openid admin"}, "invalid_scope"),
            ("public client without PKCE", spa, "invalid_request"),
            ("plain PKCE", {**spa, "code_challenge": challenge, "code_challenge_method": "plain"}, "invalid_request"),
            ("malformed challenge", {**spa, "code_challenge": "abc", "code_challenge_method": "S256"},
             "invalid_request"),
            ("prompt none without session", {**good, "prompt": "none"}, "login_required"),
            ("prompt none with login", {**good, "prompt": "none login"}, "invalid_request"),
            ("bad max_age", {**good, "max_age": "-1"}, "invalid_request"),
            ("request object", {**good, "request": "eyJ..."}, "request_not_supported"),
        ):
            with self.subTest(name):
                r = self.authorize(**params)
                self.assertEqual(r.status, 302, r.text)
                loc = r.header("Location")
                self.assertTrue(loc.startswith(params["redirect_uri"] + "?"), loc)
                q = r.location_params()
                self.assertEqual(q["error"], error)
                self.assertEqual(q["state"], "xyz")
                self.assertEqual(q["iss"], self.iss)       # RFC 9207
                self.assertNotIn("code", q)
        # A parameter twice: refused, and state (which of the two?) not echoed.
        url = "/t/acme/authorize?" + urllib.parse.urlencode(good) + "&scope=email"
        r = self.c.get(url)
        self.assertEqual(r.status, 302)
        self.assertEqual(r.location_params()["error"], "invalid_request")

    def test_authorize_shows_sign_in(self):
        _, challenge = pkce_pair()
        r = self.authorize(client_id=self.spa["client_id"], redirect_uri="https://spa.example/cb",
                           response_type="code", scope="openid profile", state="s",
                           code_challenge=challenge, code_challenge_method="S256")
        self.assertEqual(r.status, 200)
        self.assertIn('name="password"', r.text)
        self.assertIn('name="csrf"', r.text)
        cookie = r.header("Set-Cookie")
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Lax", cookie)
        self.assertIn("Path=/t/acme/", cookie)
        self.assertNotIn("Secure", cookie)     # plain http here

    def test_logout_refusals(self):
        r = self.c.get("/t/acme/logout?" + urllib.parse.urlencode(
            {"client_id": self.web["client_id"], "post_logout_redirect_uri": "https://evil.example/"}))
        self.assertEqual(r.status, 400)
        self.assertIsNone(r.header("Location"))
        r = self.c.get("/t/acme/logout?id_token_hint=bad.token.here")
        self.assertEqual(r.status, 400)
        r = self.c.get("/t/acme/logout")
        self.assertEqual(r.status, 200)
        self.assertIn("Signed out", r.text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
