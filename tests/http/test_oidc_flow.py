#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The authorization code flow through the real sign-in pages, as a browser
without script would do it: sign-in, TOTP step, consent, SSO, prompt and
max_age, the code exchange with PKCE (single use, replay revokes), refresh
rotation with reuse detection, userinfo, logout, CSRF and lockout shared
with the other channels."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import struct
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, jwt_parts, pkce_pair  # noqa: E402

PASSWORD = "correct horse battery"


def totp(secret_b32, at=None, step=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((at or time.time()) // 30) + step
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


class Browser(Client):
    """A client that follows the sign-in pages: fills the forms it is shown."""

    def __init__(self, t):
        super().__init__(t.base_url)
        self.t = t

    def authorize(self, app, redirect_uri="https://app.example/cb", **params):
        verifier, challenge = pkce_pair()
        q = {"client_id": app["client_id"], "redirect_uri": redirect_uri, "response_type": "code",
             "scope": "openid profile email offline_access", "state": "st-1", "nonce": "n-1",
             "code_challenge": challenge, "code_challenge_method": "S256", **params}
        q = {k: v for k, v in q.items() if v is not None}
        return self.get("/t/acme/authorize?" + urllib.parse.urlencode(q)), verifier

    def submit(self, page, action, **fields):
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        form.update(fields)
        return self.post(action, form=form)

    def sign_in(self, page, login="alice", password=PASSWORD):
        self.assert_page(page, 'name="password"')
        return self.submit(page, "/t/acme/login", login=login, password=password)

    @staticmethod
    def assert_page(page, marker):
        if page.status not in (200, 401) or marker not in page.text:
            raise AssertionError(f"expected a page with {marker!r}, got {page.status}: {page.text[:500]}")


class FlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(config_extra="[auth]\nlockout_failures = 3\nlockout_time = 60\n"
                                     "[oidc]\nrefresh_reuse_grace = 1\n").start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        for name in ("alice", "bob", "carol", "dave", "erin"):
            t.ctl("user", "add", f"{name}@acme", "--real-name", name.title(), "--email", f"{name}@acme.example",
                  "--password-stdin", input=PASSWORD + "\n", check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        cls.web = app("web@acme", "--redirect-uri", "https://app.example/cb", "--first-party",
                      "--post-logout-redirect-uri", "https://app.example/bye")
        cls.third = app("third@acme", "--redirect-uri", "https://third.example/cb", "--signing-alg", "ES256")
        cls.spa = app("spa@acme", "--public", "--redirect-uri", "https://spa.example/cb", "--first-party")
        # An old confidential client that can't send PKCE: registered with the opt-out.
        cls.legacy = app("legacy@acme", "--redirect-uri", "https://app.example/cb", "--first-party",
                         "--pkce-optional")
        # bob has TOTP.
        enroll = json.loads(t.ctl("--json", "user", "totp", "enroll", "bob@acme", check=True).stdout)
        cls.bob_secret = enroll["secret"]
        conf = t.ctl("--json", "user", "totp", "confirm", "bob@acme", totp(cls.bob_secret), check=True)
        cls.bob_backup = json.loads(conf.stdout)["backup_codes"]
        cls.iss = t.issuer("acme")

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def exchange(self, app, code, verifier, redirect_uri="https://app.example/cb"):
        c = Client(self.t.base_url)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier}
        if app.get("client_secret"):
            return c.post("/t/acme/token", form=form, basic=(app["client_id"], app["client_secret"]))
        return c.post("/t/acme/token", form={**form, "client_id": app["client_id"]})

    def refresh(self, app, token):
        return Client(self.t.base_url).post("/t/acme/token", form={"grant_type": "refresh_token",
                                                                     "refresh_token": token},
                                            basic=(app["client_id"], app["client_secret"]))

    def login_code(self, b, app=None, login="alice", **params):
        app = app or self.web
        page, verifier = b.authorize(app, **params)
        r = b.sign_in(page, login=login)
        self.assertEqual(r.status, 303, r.text[:500])
        q = r.location_params()
        self.assertEqual(q["iss"], self.iss)
        return q["code"], verifier

    def test_code_flow_tokens_userinfo(self):
        b = Browser(self.t)
        code, verifier = self.login_code(b)
        r = self.exchange(self.web, code, verifier)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        tok = r.json
        h, idt = jwt_parts(tok["id_token"])
        self.assertEqual(h["alg"], "RS256")
        self.assertEqual((idt["iss"], idt["aud"], idt["nonce"], idt["amr"]),
                         (self.iss, self.web["client_id"], "n-1", ["pwd"]))
        self.assertEqual((idt["preferred_username"], idt["name"], idt["email"], idt["email_verified"]),
                         ("alice", "Alice", "alice@acme.example", False))
        for claim in ("sub", "exp", "iat", "auth_time", "sid"):
            self.assertIn(claim, idt)
        _, at = jwt_parts(tok["access_token"])
        self.assertEqual(at["sub"], idt["sub"])
        u = Client(self.t.base_url).get("/t/acme/userinfo",
                                        headers={"Authorization": "Bearer " + tok["access_token"]})
        self.assertEqual(u.status, 200, u.text)
        self.assertEqual((u.json["sub"], u.json["email"]), (idt["sub"], "alice@acme.example"))
        # The ID token is no access token (wrong type and audience).
        u = Client(self.t.base_url).get("/t/acme/userinfo", headers={"Authorization": "Bearer " + tok["id_token"]})
        self.assertEqual(u.status, 401)
        # The session cookie is there and marked.
        self.assertTrue(any(c.name == "tessera_session" and c.has_nonstandard_attr("HttpOnly") for c in b.jar))

    def test_code_single_use_and_replay_revokes(self):
        b = Browser(self.t)
        code, verifier = self.login_code(b)
        first = self.exchange(self.web, code, verifier)
        self.assertEqual(first.status, 200)
        again = self.exchange(self.web, code, verifier)
        self.assertEqual((again.status, again.json["error"]), (400, "invalid_grant"))
        # What the first exchange issued is revoked now.
        u = Client(self.t.base_url).get("/t/acme/userinfo",
                                        headers={"Authorization": "Bearer " + first.json["access_token"]})
        self.assertEqual(u.status, 401)
        r = self.refresh(self.web, first.json["refresh_token"])
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        self.assertGreaterEqual(int(self.t.sqlite(
            "SELECT count(*) FROM audit_events WHERE action = 'oauth.code-replay'")[0][0]), 1)

    def test_concurrent_redemption_exactly_one(self):
        b = Browser(self.t)
        code, verifier = self.login_code(b)
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.exchange(self.web, code, verifier).status))
                   for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(sorted(results), [200] + [400] * 7)

    def test_pkce_failures(self):
        b = Browser(self.t)
        code, verifier = self.login_code(b)
        r = self.exchange(self.web, code, verifier[:-1] + ("A" if verifier[-1] != "A" else "B"))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        r = self.exchange(self.web, code, None)
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        # PKCE is required of a confidential client too (OAuth 2.1) ...
        page, _ = b.authorize(self.web, code_challenge=None, code_challenge_method=None)
        self.assertEqual(page.status, 302)
        self.assertEqual(page.location_params()["error"], "invalid_request")
        self.assertIn("PKCE is required", page.location_params()["error_description"])
        # ... unless it opted out; and then a verifier for a request that
        # had no challenge is refused.
        self.assertTrue(self.legacy["pkce_optional"])
        self.assertFalse(self.web["pkce_optional"])
        page, _ = b.authorize(self.legacy, code_challenge=None, code_challenge_method=None)
        self.assertEqual(page.status, 302)     # signed in already: straight to the code
        code2 = page.location_params()["code"]
        r = self.exchange(self.legacy, code2, verifier)
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        self.assertIn("no code_challenge", r.json["error_description"])
        # Wrong redirect_uri or client.
        code3 = b.authorize(self.web)[0]
        r = self.exchange(self.web, code3.location_params()["code"], "x" * 43, redirect_uri="https://app.example/other")
        self.assertEqual(r.status, 400)

    def test_public_client_pkce(self):
        b = Browser(self.t)
        page, verifier = b.authorize(self.spa, redirect_uri="https://spa.example/cb")
        r = b.sign_in(page)
        code = r.location_params()["code"]
        r = self.exchange(self.spa, code, verifier, redirect_uri="https://spa.example/cb")
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("refresh_token", r.json)

    def test_sso_prompt_and_max_age(self):
        b = Browser(self.t)
        self.login_code(b)
        # Signed in: the next request goes straight to the code.
        r, _ = b.authorize(self.web)
        self.assertEqual(r.status, 302)
        self.assertIn("code", r.location_params())
        r, _ = b.authorize(self.web, prompt="none")
        self.assertIn("code", r.location_params())
        # prompt=login and a max_age already passed ask again.
        r, _ = b.authorize(self.web, prompt="login")
        self.assertIn('name="password"', r.text)
        time.sleep(1.1)
        r, _ = b.authorize(self.web, max_age="0")
        self.assertIn('name="password"', r.text)
        before = int(time.time())
        r2 = b.sign_in(r)
        tok = self.exchange(self.web, r2.location_params()["code"], _).json
        # auth_time is the new sign-in's.
        self.assertGreaterEqual(jwt_parts(tok["id_token"])[1]["auth_time"], before)

    def test_consent_for_third_party(self):
        b = Browser(self.t)
        page, verifier = b.authorize(self.third, redirect_uri="https://third.example/cb")
        r = b.sign_in(page, login="carol")
        self.assertEqual(r.status, 200)
        self.assertIn("Allow third?", r.text)
        deny = b.submit(r, "/t/acme/consent", decision="deny")
        self.assertEqual(deny.status, 303)
        self.assertEqual(deny.location_params()["error"], "access_denied")
        page, verifier = b.authorize(self.third, redirect_uri="https://third.example/cb")
        self.assertIn("Allow third?", page.text)
        ok = b.submit(page, "/t/acme/consent", decision="allow")
        self.assertEqual(ok.status, 303)
        code = ok.location_params()["code"]
        tok = self.exchange(self.third, code, verifier, redirect_uri="https://third.example/cb").json
        self.assertEqual(jwt_parts(tok["id_token"])[0]["alg"], "ES256")
        # Consent is remembered, unless prompt=consent.
        r, _ = b.authorize(self.third, redirect_uri="https://third.example/cb")
        self.assertEqual(r.status, 302)
        r, _ = b.authorize(self.third, redirect_uri="https://third.example/cb", prompt="consent")
        self.assertIn("Allow third?", r.text)
        r, _ = b.authorize(self.third, redirect_uri="https://third.example/cb", prompt="none",
                           scope="openid email profile")
        self.assertEqual(r.status, 302)

    def test_totp_step(self):
        b = Browser(self.t)
        page, verifier = b.authorize(self.web)
        r = b.sign_in(page, login="bob@acme.example")
        self.assertEqual(r.status, 200)
        self.assertIn('name="code"', r.text)
        bad = b.submit(r, "/t/acme/login/totp", code="000000")
        self.assertEqual(bad.status, 401)
        self.assertIn('name="code"', bad.text)
        # A wrong or stolen "pending" proof does not pass.
        forged = b.post("/t/acme/login/totp", form={**{k: html_unescape(v) for k, v in hidden_fields(r.text).items()},
                                                    "pending": "7.99999999999999999.x", "code": totp(self.bob_secret)})
        self.assertNotEqual(forged.status, 303)
        ok = b.submit(r, "/t/acme/login/totp", code=totp(self.bob_secret, step=1))
        if ok.status != 303:       # the step may just have been used by enrollment; the next one
            ok = b.submit(r, "/t/acme/login/totp", code=totp(self.bob_secret, step=2))
        self.assertEqual(ok.status, 303, ok.text[:300])
        tok = self.exchange(self.web, ok.location_params()["code"], verifier).json
        self.assertEqual(jwt_parts(tok["id_token"])[1]["amr"], ["pwd", "otp"])
        # A backup code works once.
        b2 = Browser(self.t)
        page, _ = b2.authorize(self.web)
        r = b2.sign_in(page, login="bob")
        ok = b2.submit(r, "/t/acme/login/totp", code=self.bob_backup[0])
        self.assertEqual(ok.status, 303)
        b3 = Browser(self.t)
        page, _ = b3.authorize(self.web)
        r = b3.sign_in(page, login="bob")
        again = b3.submit(r, "/t/acme/login/totp", code=self.bob_backup[0])
        self.assertEqual(again.status, 401)

    def test_wrong_password_lockout_and_csrf(self):
        b = Browser(self.t)
        page, _ = b.authorize(self.web)
        r = b.sign_in(page, login="dave", password="wrong password")
        self.assertEqual(r.status, 401)
        self.assertIn("not right", r.text)
        r = b.sign_in(page, login="nosuchuser", password="wrong password")
        self.assertEqual(r.status, 401)
        # The same lockout as PAM: three failures lock dave.
        for _ in range(3):
            r = b.sign_in(page, login="dave", password="wrong again")
        r = b.sign_in(page, login="dave", password=PASSWORD)
        self.assertEqual(r.status, 401)
        self.assertIn("locked", r.text.lower())
        self.assertGreaterEqual(int(self.t.sqlite(
            "SELECT sum(count) FROM audit_events WHERE action = 'auth.login' AND target = 'dave@acme'")[0][0]), 4)
        # Without the browser's binding cookie, or with a forged token: refused.
        fields = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        stranger = Client(self.t.base_url)
        r = stranger.post("/t/acme/login", form={**fields, "login": "alice", "password": PASSWORD})
        self.assertEqual(r.status, 403)
        r = b.post("/t/acme/login", form={**fields, "csrf": "x" * 43, "login": "alice", "password": PASSWORD})
        self.assertEqual(r.status, 403)
        r = b.post("/t/acme/login", form={**fields, "login": "alice", "password": PASSWORD},
                   headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)

    def test_unknown_names_lock_like_real_ones(self):
        """Trying a name three times and looking for "locked" tells nothing:
        a name that is no user answers exactly as a real account does,
        failure after failure, and "locked" for as long."""
        self.t.ctl("user", "add", "fred@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        b = Browser(self.t)
        page, _ = b.authorize(self.web)

        def answer(login, password):
            r = b.sign_in(page, login=login, password=password)
            m = re.search(r'<div class="error" role="alert">([^<]*)</div>', r.text)
            return r.status, m.group(1) if m else None

        for attempt in range(3):
            real, ghost = answer("fred", "wrong password"), answer("nosuchfred", "wrong password")
            self.assertEqual(ghost, real, f"attempt {attempt + 1}")
        self.assertEqual(real, (401, "Too many failed attempts: the account is locked for a minute."))
        # Locked: the right password of the real one, anything for the other.
        real, ghost = answer("fred", PASSWORD), answer("nosuchfred", PASSWORD)
        self.assertEqual(real, (401, "The account is locked after too many failed attempts; try again in a minute."))
        self.assertEqual(ghost, real)
        # The audit trail knows the difference (four refusals, which it may
        # count on one event: repeats within a minute are one row).
        events = self.t.sqlite("SELECT result, details, count FROM audit_events WHERE action = 'auth.login' "
                               "AND target = 'nosuchfred@acme' ORDER BY id")
        self.assertEqual({(e[0], json.loads(e[1])["reason"]) for e in events}, {("invalid", "unknown user")})
        self.assertEqual(sum(int(e[2]) for e in events), 4)
        self.assertIn("locked_until_usec", json.loads(events[-1][1]))
        # An account that can't be used answers as a name that is no user
        # does, failure after failure: its state is not for strangers.
        self.t.ctl("user", "add", "gina@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        self.t.ctl("user", "disable", "gina@acme", check=True)
        for password in ("wrong password", PASSWORD, "wrong password", PASSWORD):
            real, ghost = answer("gina", password), answer("nosuchgina", password)
            self.assertEqual(real, ghost)
        self.assertEqual(real, (401, "The account is locked after too many failed attempts; try again in a minute."))

    def test_refresh_rotation_and_reuse(self):
        b = Browser(self.t)
        code, verifier = self.login_code(b)
        tok = self.exchange(self.web, code, verifier).json
        r1 = self.refresh(self.web, tok["refresh_token"])
        self.assertEqual(r1.status, 200, r1.text)
        self.assertNotEqual(r1.json["refresh_token"], tok["refresh_token"])
        self.assertIn("id_token", r1.json)
        # Within the grace period a concurrent refresh with the old one still works.
        g = self.refresh(self.web, tok["refresh_token"])
        self.assertEqual(g.status, 200)
        time.sleep(1.2)
        # Later, the old token is a reuse: the whole lineage goes.
        r = self.refresh(self.web, tok["refresh_token"])
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        r = self.refresh(self.web, r1.json["refresh_token"])
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        self.assertGreaterEqual(int(self.t.sqlite(
            "SELECT count(*) FROM audit_events WHERE action = 'oauth.refresh-reuse'")[0][0]), 1)
        # Another client can't use it, and revocation ends a fresh lineage.
        code, verifier = self.login_code(Browser(self.t))
        tok = self.exchange(self.web, code, verifier).json
        r = self.refresh(self.third, tok["refresh_token"])
        self.assertEqual(r.status, 400)
        rv = Client(self.t.base_url).post("/t/acme/revoke", form={"token": tok["refresh_token"]},
                                          basic=(self.web["client_id"], self.web["client_secret"]))
        self.assertEqual(rv.status, 200)
        r = self.refresh(self.web, tok["refresh_token"])
        self.assertEqual(r.status, 400)

    def test_refresh_reuse_ends_the_session(self):
        """A replayed refresh token ends its session: the access tokens of
        the family are refused at once, at userinfo (even on a server
        thread that verified and cached them) and at introspection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.t.http_port, timeout=30)
        self.addCleanup(conn.close)

        def userinfo(token):
            conn.request("GET", "/t/acme/userinfo", headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            r.read()
            return r.status

        def introspect(token):
            return Client(self.t.base_url).post("/t/acme/introspect", form={"token": token},
                                                basic=(self.web["client_id"], self.web["client_secret"])).json

        b = Browser(self.t)
        code, verifier = self.login_code(b, login="erin")
        tok = self.exchange(self.web, code, verifier).json
        rotated = self.refresh(self.web, tok["refresh_token"])
        self.assertEqual(rotated.status, 200, rotated.text)
        access = rotated.json["access_token"]
        self.assertEqual([userinfo(access) for _ in range(3)], [200, 200, 200])
        self.assertTrue(introspect(access)["active"])
        time.sleep(1.2)       # past refresh_reuse_grace = 1
        r = self.refresh(self.web, tok["refresh_token"])
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        # At once: the first access token and the one the rotation issued.
        self.assertEqual(userinfo(access), 401)
        self.assertEqual(userinfo(tok["access_token"]), 401)
        self.assertEqual(introspect(access), {"active": False})
        self.assertEqual(introspect(tok["access_token"]), {"active": False})
        # The browser's session went too: it is asked to sign in again.
        page, _ = b.authorize(self.web)
        self.assertIn('name="password"', page.text)
        reuse = self.t.sqlite("SELECT details FROM audit_events WHERE action = 'oauth.refresh-reuse' "
                              "ORDER BY id DESC LIMIT 1")[0][0]
        self.assertEqual(json.loads(reuse)["revoked"], "family and session")

    def test_logout(self):
        b = Browser(self.t)
        code, verifier = self.login_code(b)
        tok = self.exchange(self.web, code, verifier).json
        # Without a hint the user confirms (a link elsewhere can't sign anyone out).
        r = b.get("/t/acme/logout")
        self.assertIn("Sign out?", r.text)
        q = urllib.parse.urlencode({"id_token_hint": tok["id_token"], "state": "bye-1",
                                    "post_logout_redirect_uri": "https://app.example/bye"})
        r = b.get("/t/acme/logout?" + q)
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "https://app.example/bye?state=bye-1")
        # The session and its tokens are gone.
        u = Client(self.t.base_url).get("/t/acme/userinfo", headers={"Authorization": "Bearer " + tok["access_token"]})
        self.assertEqual(u.status, 401)
        self.assertEqual(self.refresh(self.web, tok["refresh_token"]).status, 400)
        page, _ = b.authorize(self.web)
        self.assertIn('name="password"', page.text)

    def test_userinfo_checks_every_call(self):
        """userinfo verifies a token's signature once per thread and keeps
        its claims; what can change is checked on every call. One
        keep-alive connection stays on one server thread, so from the
        second call on these go through that thread's cache."""
        conn = http.client.HTTPConnection("127.0.0.1", self.t.http_port, timeout=30)
        self.addCleanup(conn.close)

        def userinfo(token):
            conn.request("GET", "/t/acme/userinfo", headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            r.read()
            return r.status

        def fresh_token(b):
            code, verifier = self.login_code(b, login="erin")
            tok = self.exchange(self.web, code, verifier).json
            self.assertEqual([userinfo(tok["access_token"]) for _ in range(3)], [200, 200, 200])
            return tok

        # Revoked (RFC 7009).
        tok = fresh_token(Browser(self.t))
        r = Client(self.t.base_url).post("/t/acme/revoke", form={"token": tok["access_token"]},
                                         basic=(self.web["client_id"], self.web["client_secret"]))
        self.assertEqual(r.status, 200)
        self.assertEqual(userinfo(tok["access_token"]), 401)
        # Its user disabled, locked, and back.
        b = Browser(self.t)
        tok = fresh_token(b)
        for off, on in (("disable", "enable"), ("lock", "unlock")):
            self.t.ctl("user", off, "erin@acme", check=True)
            self.assertEqual(userinfo(tok["access_token"]), 401, off)
            self.t.ctl("user", on, "erin@acme", check=True)
            self.assertEqual(userinfo(tok["access_token"]), 200, on)
        # Its session ended.
        q = urllib.parse.urlencode({"id_token_hint": tok["id_token"]})
        self.assertIn(b.get("/t/acme/logout?" + q).status, (200, 302))
        self.assertEqual(userinfo(tok["access_token"]), 401)


if __name__ == "__main__":
    unittest.main(verbosity=2)
