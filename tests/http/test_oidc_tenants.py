#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""No artefact of one tenant is accepted in another: a client of globex
presenting acme's code, refresh token, access token, ID token (as a logout
hint) or session cookie at globex's endpoints gets nothing, learns nothing,
and changes nothing of acme's. Against the real daemon, with two tenants
on one host and the real sign-in pages for acme's artefacts."""

import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, pkce_pair  # noqa: E402
from test_oidc_flow import PASSWORD, Browser  # noqa: E402

REDIRECT = "https://app.example/cb"


class CrossTenantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"]).start()
        cls.addClassCleanup(cls.t.close)
        t = cls.t
        for tenant, user in (("acme", "alice"), ("globex", "gus")):
            t.ctl("tenant", "create", tenant, check=True)
            t.ctl("user", "add", f"{user}@{tenant}", "--password-stdin", input=PASSWORD + "\n", check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        # The same redirect URIs on both sides: nothing but the tenant differs.
        cls.web = app("web@acme", "--redirect-uri", REDIRECT, "--first-party",
                      "--post-logout-redirect-uri", "https://app.example/bye")
        cls.gweb = app("web@globex", "--redirect-uri", REDIRECT, "--first-party",
                       "--post-logout-redirect-uri", "https://app.example/bye")

    # -- acme's artefacts, made the ordinary way -------------------------------

    def acme_code(self, b=None):
        """A browser signed in at acme and a code of acme, not redeemed."""
        b = b or Browser(self.t)
        page, verifier = b.authorize(self.web)
        if page.status != 302:
            page = b.sign_in(page, login="alice")
        self.assertEqual(page.status // 100, 3, page.text[:300])
        return b, page.location_params()["code"], verifier

    def redeem(self, tenant, app, code, verifier):
        return Client(self.t.base_url).post(f"/t/{tenant}/token", form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
            basic=(app["client_id"], app["client_secret"]))

    def acme_tokens(self):
        b, code, verifier = self.acme_code()
        r = self.redeem("acme", self.web, code, verifier)
        self.assertEqual(r.status, 200, r.text)
        return b, r.json

    def post(self, tenant, endpoint, app, **form):
        return Client(self.t.base_url).post(f"/t/{tenant}/{endpoint}", form=form,
                                            basic=(app["client_id"], app["client_secret"]))

    def userinfo(self, tenant, access):
        return Client(self.t.base_url).get(f"/t/{tenant}/userinfo", headers={"Authorization": "Bearer " + access})

    @staticmethod
    def session_cookie(b):
        return next(c.value for c in b.jar if c.name == "tessera_session")

    def globex_authorize(self, cookie, **extra):
        _, challenge = pkce_pair()
        q = {"client_id": self.gweb["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
             "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256", **extra}
        return Client(self.t.base_url).get("/t/globex/authorize?" + urllib.parse.urlencode(q),
                                           headers={"Cookie": "tessera_session=" + cookie})

    def assert_acme_session_alive(self, b):
        r, _ = b.authorize(self.web, prompt="none")
        self.assertEqual(r.status, 302)
        self.assertIn("code", r.location_params(), r.header("Location"))

    # -- the token endpoint ----------------------------------------------------

    def test_code_of_another_tenant(self):
        _, code, verifier = self.acme_code()
        r = self.redeem("globex", self.gweb, code, verifier)
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        # Not even that the code exists elsewhere is told.
        self.assertEqual(r.json["error_description"], "The authorization code is not valid.")
        self.assertNotIn("access_token", r.json)
        # Nothing of acme's was spent: the code still works where it belongs.
        self.assertEqual(self.redeem("acme", self.web, code, verifier).status, 200)

    def test_refresh_token_of_another_tenant(self):
        _, tok = self.acme_tokens()
        rt = tok["refresh_token"]
        # Introspection at globex: nothing (it used to answer active with
        # acme's client id and subject).
        r = self.post("globex", "introspect", self.gweb, token=rt)
        self.assertEqual((r.status, r.json), (200, {"active": False}))
        r = self.post("globex", "token", self.gweb, grant_type="refresh_token", refresh_token=rt)
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        self.assertEqual(r.json["error_description"], "The refresh token is not valid.")
        # Revocation at globex: the usual empty answer, and nothing revoked.
        r = self.post("globex", "revoke", self.gweb, token=rt)
        self.assertEqual(r.status, 200)
        r = self.post("acme", "introspect", self.web, token=rt)
        self.assertTrue(r.json["active"], r.text)
        self.assertEqual(r.json["client_id"], self.web["client_id"])
        r = self.post("acme", "token", self.web, grant_type="refresh_token", refresh_token=rt)
        self.assertEqual(r.status, 200, r.text)

    # -- tokens at the resource endpoints ---------------------------------------

    def test_access_token_of_another_tenant(self):
        _, tok = self.acme_tokens()
        access = tok["access_token"]
        r = self.userinfo("globex", access)
        self.assertEqual(r.status, 401)
        self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))
        self.assertNotIn("sub", r.json)
        r = self.post("globex", "introspect", self.gweb, token=access)
        self.assertEqual((r.status, r.json), (200, {"active": False}))
        r = self.post("globex", "revoke", self.gweb, token=access)
        self.assertEqual(r.status, 200)
        # Still good at home.
        self.assertEqual(self.userinfo("acme", access).status, 200)
        self.assertTrue(self.post("acme", "introspect", self.web, token=access).json["active"])
        # The ID token is no access token anywhere.
        self.assertEqual(self.userinfo("globex", tok["id_token"]).status, 401)

    # -- the browser side ---------------------------------------------------------

    def test_logout_hint_of_another_tenant(self):
        b, tok = self.acme_tokens()
        q = urllib.parse.urlencode({"id_token_hint": tok["id_token"], "client_id": self.gweb["client_id"],
                                    "post_logout_redirect_uri": "https://app.example/bye"})
        r = b.get("/t/globex/logout?" + q)
        self.assertEqual(r.status, 400)
        self.assertIsNone(r.header("Location"))
        # With acme's own cookie sent along: globex has no session to end.
        hint_only = urllib.parse.urlencode({"id_token_hint": tok["id_token"]})
        r = Client(self.t.base_url).get("/t/globex/logout?" + hint_only,
                                        headers={"Cookie": "tessera_session=" + self.session_cookie(b)})
        self.assertEqual(r.status, 400)
        r = Client(self.t.base_url).get("/t/globex/logout",
                                        headers={"Cookie": "tessera_session=" + self.session_cookie(b)})
        self.assertEqual(r.status, 200)
        self.assertIn("Signed out", r.text)
        self.assertNotIn("Set-Cookie", r.headers)
        # acme's session and tokens are untouched.
        self.assertEqual(self.userinfo("acme", tok["access_token"]).status, 200)
        self.assert_acme_session_alive(b)

    def test_session_cookie_of_another_tenant(self):
        b, _, _ = self.acme_code()
        cookie = self.session_cookie(b)
        # globex's authorize does not know the session: sign in, no code.
        r = self.globex_authorize(cookie)
        self.assertEqual(r.status, 200)
        self.assertIn('name="password"', r.text)
        self.assertIsNone(r.header("Location"))
        r = self.globex_authorize(cookie, prompt="none")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.location_params()["error"], "login_required")
        self.assertNotIn("code", r.location_params())
        self.assert_acme_session_alive(b)


if __name__ == "__main__":
    unittest.main(verbosity=2)
