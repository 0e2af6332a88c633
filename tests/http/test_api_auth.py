#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The JSON API's account flows against the real daemon: POST /api/v1/signup
(a tenant and its owner, a session usable at once), and under
/api/v1/tenants/{tenant}/auth/ sign-in by name or e-mail, the MFA step
(TOTP or a backup code, with a single-use MFA token), refresh with rotation
and reuse detection, sign-out (the access token refused at once) and the
current session. The bad input of each (malformed JSON, unknown fields,
wrong types, over-long values, foreign and misused tokens), the limits
(429 with Retry-After), and that sign-in takes as long for a name that is
no user as for a real one."""

import base64
import hashlib
import hmac
import json
import os
import statistics
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, jwt_parts  # noqa: E402

PASSWORD = "correct horse battery"


def totp(secret_b32, at=None, step=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((at or time.time()) // 30) + step
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


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

    def api(self, method, path, body=None, token=None, raw=None, c=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        c = c or self.c
        if raw is not None:
            return c.request(method, path, data=raw, headers={**headers, "Content-Type": "application/json"})
        return c.request(method, path, json_body=body, headers=headers)

    def audit(self, action, result, target=None):
        where = f"action = '{action}' AND result = '{result}'"
        if target:
            where += f" AND target = '{target}'"
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])


class AuthApiTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"], config_extra="[auth]\nopen_signup = yes\n"
                                                              "[limits]\nsignup_burst = 100\n").start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user in ("alice@acme", "bob@acme", "carol@acme", "frank@acme", "dave@globex"):
            t.ctl("user", "add", user, "--email", user.replace("@", "@mail."), "--real-name", user.split("@")[0].title(),
                  "--password-stdin", input=PASSWORD + "\n", check=True)
        enroll = json.loads(t.ctl("--json", "user", "totp", "enroll", "bob@acme", check=True).stdout)
        cls.bob_secret = enroll["secret"]
        conf = t.ctl("--json", "user", "totp", "confirm", "bob@acme", totp(cls.bob_secret), check=True)
        cls.bob_backup = json.loads(conf.stdout)["backup_codes"]
        cls.c = Client(t.base_url)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def signin(self, login, password=PASSWORD, tenant="acme", field="login"):
        return self.api("POST", f"/api/v1/tenants/{tenant}/auth/signin", {field: login, "password": password})

    def session_of(self, login, tenant="acme"):
        r = self.signin(login, tenant=tenant)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["status"], "signed_in")
        return r.json["session"]

    # -- sign-up --------------------------------------------------------------

    def test_signup(self):
        r = self.api("POST", "/api/v1/signup", {"email": "Founder@Initech.example", "password": PASSWORD,
                                                "name": "Peter Gibbons", "organization_name": "Initech, Inc."})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        body = r.json
        self.assertEqual(body["organization"], {"id": "initech-inc", "slug": "initech-inc", "name": "Initech, Inc."})
        self.assertEqual(body["tenant"], body["organization"])
        self.assertEqual(body["user"]["name"], "founder")
        self.assertEqual(body["user"]["email"], "Founder@Initech.example")
        self.assertEqual(body["user"]["real_name"], "Peter Gibbons")
        self.assertEqual(body["user"]["role"], "owner")
        self.assertIs(body["user"]["email_verified"], False)
        sess = body["session"]
        self.assertEqual(sess["token_type"], "Bearer")
        self.assertTrue(sess["expires_at"].endswith("Z"))
        claims = jwt_parts(sess["token"])[1]
        self.assertEqual(claims["iss"], self.t.issuer("initech-inc"))
        self.assertEqual(claims["aud"], self.t.issuer("initech-inc"))
        self.assertEqual(claims["sub"], body["user"]["id"])
        self.assertEqual(claims["sid"], sess["id"])

        # Usable at once as a bearer token on the JSON API.
        me = self.api("GET", "/api/v1/tenants/initech-inc/auth/session", token=sess["token"])
        self.assertEqual(me.status, 200, me.text)
        self.assertEqual(me.json["role"], "owner")
        self.assertEqual(me.json["organization_id"], "initech-inc")
        tenant = self.api("GET", "/api/v1/tenants/initech-inc", token=sess["token"])
        self.assertEqual(tenant.status, 200, tenant.text)
        self.assertEqual(tenant.json["display_name"], "Initech, Inc.")
        # The tenant and its owner are real: the CLI sees them, and the
        # owner signs in with the password.
        shown = json.loads(self.t.ctl("--json", "user", "show", "founder@initech-inc", check=True).stdout)
        self.assertEqual(shown["role"], "owner")
        again = self.signin("founder@initech.example", tenant="initech-inc")
        self.assertEqual(again.status, 200, again.text)
        self.assertEqual(self.audit("account.signup", "success", "founder@initech-inc"), 1)

    def test_signup_conflicts(self):
        first = {"email": "boss@umbrella.example", "password": PASSWORD, "name": "Boss",
                 "organization_name": "Umbrella"}
        self.assertEqual(self.api("POST", "/api/v1/signup", first).status, 201)
        # The same address again (in another case), for another organization.
        r = self.api("POST", "/api/v1/signup", {**first, "email": "BOSS@umbrella.example",
                                                "organization_name": "Umbrella Two"})
        self.assertEnvelope(r, 409, "email_taken", "email")
        # The organization's name is taken.
        r = self.api("POST", "/api/v1/signup", {**first, "email": "other@umbrella.example"})
        self.assertEnvelope(r, 409, "organization_taken", "organization_name")
        r = self.api("POST", "/api/v1/signup", {**first, "email": "other@umbrella.example",
                                                "organization_slug": "acme"})
        self.assertEnvelope(r, 409, "organization_taken", "organization_slug")
        # Nothing half-made: no tenant umbrella-two, acme's users unchanged.
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM tenants WHERE slug = 'umbrella-two'"), [["0"]])
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM users WHERE email = 'other@umbrella.example'"), [["0"]])
        self.assertGreaterEqual(self.audit("account.signup", "denied") + self.audit("account.signup", "invalid") +
                                self.audit("account.signup", "error"), 1)

    def test_signup_bad_input(self):
        good = {"email": "x@hooli.example", "password": PASSWORD, "name": "X", "organization_name": "Hooli"}
        self.assertEnvelope(self.api("POST", "/api/v1/signup", raw=b'{"email": '), 400, "malformed_json")
        self.assertEnvelope(self.api("POST", "/api/v1/signup", {**good, "plan": "pro"}), 422, "unknown_field", "plan")
        self.assertEnvelope(self.api("POST", "/api/v1/signup", {**good, "name": 7}), 422, "wrong_type", "name")
        r = self.api("POST", "/api/v1/signup", {k: v for k, v in good.items() if k != "password"})
        self.assertEnvelope(r, 422, "missing_field", "password")
        self.assertEnvelope(self.api("POST", "/api/v1/signup", {**good, "email": "not-an-address"}), 422, "invalid",
                            "email")
        self.assertEnvelope(self.api("POST", "/api/v1/signup", {**good, "email": "a" * 300 + "@x.example"}), 422,
                            "too_long", "email")
        self.assertEnvelope(self.api("POST", "/api/v1/signup", {**good, "organization_name": "!!!"}), 422, "invalid",
                            "organization_name")
        self.assertEnvelope(self.api("POST", "/api/v1/signup", {**good, "organization_slug": "-x-"}), 422, "invalid",
                            "organization_slug")
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM tenants WHERE slug = 'hooli'"), [["0"]])

    # -- sign-in --------------------------------------------------------------

    def test_signin_by_name_and_email(self):
        for field, login in (("login", "alice"), ("login", "alice@mail.acme"), ("email", "ALICE@mail.acme")):
            r = self.signin(login, field=field)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.header("Cache-Control"), "no-store")
            body = r.json
            self.assertEqual(body["status"], "signed_in")
            self.assertEqual(body["user"]["name"], "alice")
            self.assertEqual(body["tenant"]["slug"], "acme")
            self.assertNotIn("organization", body)
            claims = jwt_parts(body["session"]["token"])[1]
            self.assertEqual(claims["aud"], self.t.issuer("acme"))
            self.assertEqual(jwt_parts(body["session"]["token"])[0]["typ"], "at+jwt")

    def metric(self, name, **labels):
        text = self.c.get("/metrics").text
        want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return 0.0

    def test_metrics(self):
        tokens = self.metric("tessera_tokens_issued_total", grant="signin")
        refreshed = self.metric("tessera_tokens_issued_total", grant="refresh_token")
        ok = self.metric("tessera_signins_total", channel="http", result="success")
        failed = self.metric("tessera_signins_total", channel="http", result="failure")
        sess = self.session_of("carol")
        self.assertEqual(self.api("POST", "/api/v1/tenants/acme/auth/refresh",
                                  {"refresh_token": sess["refresh_token"]}).status, 200)
        self.signin("carol", "wrong password")
        self.assertEqual(self.metric("tessera_tokens_issued_total", grant="signin"), tokens + 1)
        self.assertEqual(self.metric("tessera_tokens_issued_total", grant="refresh_token"), refreshed + 1)
        self.assertEqual(self.metric("tessera_signins_total", channel="http", result="success"), ok + 1)
        self.assertEqual(self.metric("tessera_signins_total", channel="http", result="failure"), failed + 1)

    def test_session(self):
        sess = self.session_of("carol")
        r = self.api("GET", "/api/v1/tenants/acme/auth/session", token=sess["token"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        body = r.json
        self.assertEqual(body["user"]["name"], "carol")
        self.assertEqual(body["user"]["email"], "carol@mail.acme")
        self.assertIsNone(body["user"]["avatar_url"])
        self.assertEqual(body["role"], "member")
        self.assertEqual(body["organization_id"], "acme")
        self.assertEqual(body["session"]["id"], sess["id"])
        self.assertEqual(body["session"]["amr"], "pwd")

    def test_signin_failures_tell_nothing(self):
        wrong = self.signin("alice", "wrong password")
        unknown = self.signin("nobody-here", "wrong password")
        unknown_mail = self.signin("nobody@mail.acme", "wrong password")
        for r in (wrong, unknown, unknown_mail):
            self.assertEnvelope(r, 401, "invalid_credentials")
        def same(r):
            return {k: v for k, v in r.json.items() if k != "details"}
        self.assertEqual(same(wrong), same(unknown))
        self.assertEqual(same(wrong), same(unknown_mail))
        self.assertEqual(set(wrong.json["details"]), {"request_id"})
        self.assertGreaterEqual(self.audit("auth.login", "failure", "alice@acme"), 1)

    def test_lockout_shared(self):
        """Failed passwords over the JSON API count in the lockout every
        door shares: the account is locked for the host's PAM too."""
        c = Client(self.t.base_url, source="127.0.3.1")
        for _ in range(5):                 # [auth] lockout_failures, by default
            self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/signin",
                                         {"login": "frank", "password": "wrong"}, c=c), 401, "invalid_credentials")
        r = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "frank", "password": PASSWORD}, c=c)
        self.assertEnvelope(r, 403, "account_locked")
        self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        shown = json.loads(self.t.ctl("--json", "user", "show", "frank@acme", check=True).stdout)
        self.assertGreater(shown["locked_until_usec"], 0)
        # A name that is no user is "locked" alike after as many failures.
        for _ in range(5):
            self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "nobody-frank", "password": "wrong"}, c=c)
        ghost = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "nobody-frank", "password": "x"}, c=c)
        self.assertEnvelope(ghost, 403, "account_locked")
        self.assertEqual({k: v for k, v in ghost.json.items() if k != "details"},
                         {k: v for k, v in r.json.items() if k != "details"})

    def test_signin_bad_input(self):
        p = "/api/v1/tenants/acme/auth/signin"
        self.assertEnvelope(self.api("POST", p, raw=b"{nope"), 400, "malformed_json")
        self.assertEnvelope(self.api("POST", p, {"login": "alice", "password": PASSWORD, "remember": True}), 422,
                            "unknown_field", "remember")
        self.assertEnvelope(self.api("POST", p, {"login": ["alice"], "password": PASSWORD}), 422, "wrong_type",
                            "login")
        self.assertEnvelope(self.api("POST", p, {"login": "alice", "password": 12345678}), 422, "wrong_type",
                            "password")
        self.assertEnvelope(self.api("POST", p, {"password": PASSWORD}), 422, "missing_field", "login")
        self.assertEnvelope(self.api("POST", p, {"login": "alice", "email": "alice@mail.acme", "password": PASSWORD}),
                            422, "invalid", "login")
        self.assertEnvelope(self.api("POST", p, {"login": "alice", "password": "x" * 2000}), 422, "too_long",
                            "password")
        r = self.c.request("POST", p, data=b"login=alice&password=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEnvelope(r, 415, "unsupported_media_type")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/nosuch/auth/signin",
                                     {"login": "alice", "password": PASSWORD}), 404, "unknown_tenant")

    # -- the MFA step ---------------------------------------------------------

    def mfa_start(self):
        r = self.signin("bob")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        body = r.json
        self.assertEqual(body["status"], "mfa_required", body)
        self.assertEqual(set(body), {"status", "mfa_token", "mfa_expires_at", "methods"})
        self.assertNotIn("session", body)
        return body["mfa_token"]

    def test_mfa_totp(self):
        token = self.mfa_start()
        p = "/api/v1/tenants/acme/auth/mfa"
        self.assertEnvelope(self.api("POST", p, {"mfa_token": token, "code": "000000"}), 401, "invalid_code")
        # An MFA token is no access token.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/auth/session", token=token), 401, "invalid_token")
        ok = None
        for step in (0, 1, -1):
            ok = self.api("POST", p, {"mfa_token": token, "code": totp(self.bob_secret, step=step)})
            if ok.status == 200:
                break
        self.assertEqual(ok.status, 200, ok.text)
        self.assertEqual(ok.json["status"], "signed_in")
        self.assertEqual(ok.json["user"]["name"], "bob")
        me = self.api("GET", "/api/v1/tenants/acme/auth/session", token=ok.json["session"]["token"])
        self.assertEqual(me.json["session"]["amr"], "pwd otp")
        # Single use: spent now, whatever the code.
        again = self.api("POST", p, {"mfa_token": token, "code": self.bob_backup[-1]})
        self.assertEnvelope(again, 401, "invalid_mfa_token")

    def test_mfa_backup_code(self):
        token = self.mfa_start()
        ok = self.api("POST", "/api/v1/tenants/acme/auth/mfa", {"mfa_token": token, "code": self.bob_backup[0]})
        self.assertEqual(ok.status, 200, ok.text)
        # A backup code is good once.
        token = self.mfa_start()
        r = self.api("POST", "/api/v1/tenants/acme/auth/mfa", {"mfa_token": token, "code": self.bob_backup[0]})
        self.assertEnvelope(r, 401, "invalid_code")

    def test_mfa_bad_tokens(self):
        p = "/api/v1/tenants/acme/auth/mfa"
        self.assertEnvelope(self.api("POST", p, {"mfa_token": "x" * 43, "code": "123456"}), 401, "invalid_mfa_token")
        self.assertEnvelope(self.api("POST", p, {"mfa_token": "short", "code": "123456"}), 401, "invalid_mfa_token")
        self.assertEnvelope(self.api("POST", p, {"mfa_token": 5, "code": "123456"}), 422, "wrong_type", "mfa_token")
        self.assertEnvelope(self.api("POST", p, {"code": "123456"}), 422, "missing_field", "mfa_token")
        # Another tenant's MFA token is nothing here.
        token = self.mfa_start()
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/globex/auth/mfa",
                                     {"mfa_token": token, "code": totp(self.bob_secret)}), 401, "invalid_mfa_token")

    # -- refresh --------------------------------------------------------------

    def test_refresh_rotation_and_reuse(self):
        sess = self.session_of("alice")
        p = "/api/v1/tenants/acme/auth/refresh"
        r = self.api("POST", p, {"refresh_token": sess["refresh_token"]})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        fresh = r.json
        self.assertEqual(fresh["token_type"], "Bearer")
        self.assertNotEqual(fresh["refresh_token"], sess["refresh_token"])
        self.assertEqual(jwt_parts(fresh["access_token"])[1]["sid"], sess["id"])
        me = self.api("GET", "/api/v1/tenants/acme/auth/session", token=fresh["access_token"])
        self.assertEqual(me.status, 200, me.text)

        # The spent token again: a reuse. Its family and session end at
        # once (no grace by default): the new refresh token and both access
        # tokens are refused too.
        reuse = self.api("POST", p, {"refresh_token": sess["refresh_token"]})
        self.assertEnvelope(reuse, 401, "invalid_grant")
        self.assertEnvelope(self.api("POST", p, {"refresh_token": fresh["refresh_token"]}), 401, "invalid_grant")
        for token in (sess["token"], fresh["access_token"]):
            self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/auth/session", token=token), 401,
                                "invalid_token")
        self.assertGreaterEqual(self.audit("oauth.refresh-reuse", "denied", "alice"), 1)

    def test_refresh_bad_input(self):
        p = "/api/v1/tenants/acme/auth/refresh"
        self.assertEnvelope(self.api("POST", p, {"refresh_token": "x" * 43}), 401, "invalid_grant")
        self.assertEnvelope(self.api("POST", p, {}), 422, "missing_field", "refresh_token")
        self.assertEnvelope(self.api("POST", p, {"refresh_token": None}), 422, "wrong_type", "refresh_token")
        self.assertEnvelope(self.api("POST", p, raw=b"[]"), 422, "wrong_type")
        sess = self.session_of("alice")
        # A refresh token is no bearer credential, and no other tenant's.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/auth/session", token=sess["refresh_token"]), 401,
                            "invalid_token")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/globex/auth/refresh",
                                     {"refresh_token": sess["refresh_token"]}), 401, "invalid_grant")
        # Nor is an access token a refresh token.
        self.assertEnvelope(self.api("POST", p, {"refresh_token": sess["token"]}), 401, "invalid_grant")

    # -- sign-out, tokens ---------------------------------------------------------

    def test_signout(self):
        sess = self.session_of("alice")
        other = self.session_of("alice")
        r = self.api("POST", "/api/v1/tenants/acme/auth/signout", token=sess["token"])
        self.assertEqual(r.status, 204, r.text)
        # Refused from this moment: the access token (jti denied, session
        # ended) and the session's refresh family.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/auth/session", token=sess["token"]), 401,
                            "invalid_token")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/signout", token=sess["token"]), 401,
                            "invalid_token")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/refresh",
                                     {"refresh_token": sess["refresh_token"]}), 401, "invalid_grant")
        jti = jwt_parts(sess["token"])[1]["jti"]
        self.assertEqual(self.t.sqlite(f"SELECT count(*) FROM revoked_tokens WHERE jti = '{jti}'"), [["1"]])
        # Another session of the same user goes on.
        self.assertEqual(self.api("GET", "/api/v1/tenants/acme/auth/session", token=other["token"]).status, 200)
        self.assertGreaterEqual(self.audit("auth.signout", "success", "alice"), 1)

    def test_tokens_at_the_door(self):
        p = "/api/v1/tenants/acme/auth/session"
        r = self.api("GET", p)
        self.assertEnvelope(r, 401, "unauthenticated")
        self.assertIn("Bearer", r.header("WWW-Authenticate"))
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/signout"), 401, "unauthenticated")
        self.assertEnvelope(self.api("GET", p, token="not.a.jwt"), 401, "invalid_token")
        # Another tenant's token.
        dave = self.session_of("dave", tenant="globex")
        before = self.audit("auth.session", "denied", "acme")
        self.assertEnvelope(self.api("GET", p, token=dave["token"]), 403, "forbidden")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/signout", token=dave["token"]), 403,
                            "forbidden")
        self.assertEqual(self.audit("auth.session", "denied", "acme"), before + 2)
        # dave's session was not ended by that.
        self.assertEqual(self.api("GET", "/api/v1/tenants/globex/auth/session", token=dave["token"]).status, 200)
        # A token whose signature was tampered with.
        head, body, sig = dave["token"].split(".")
        forged = head + "." + body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/globex/auth/session", token=forged), 401,
                            "invalid_token")

    def test_methods(self):
        r = self.api("GET", "/api/v1/tenants/acme/auth/signin")
        self.assertEnvelope(r, 405, "method_not_allowed")
        # OPTIONS too: a browser's CORS preflight for publishable keys.
        self.assertEqual(r.header("Allow"), "POST, OPTIONS")


class LimitsTest(Base):
    """Small limits, to meet them: per address, per account, sign-ups."""

    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(config_extra="[auth]\nopen_signup = yes\nlockout_failures = 0\n"
                                     "[limits]\naddress_burst = 4\naddress_rate = 1/h\naccount_burst = 3\n"
                                     "account_rate = 1/h\nsignup_burst = 2\nsignup_rate = 1/h\n").start()
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("user", "add", "alice@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        cls.t.ctl("user", "add", "erin@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        cls.c = Client(cls.t.base_url)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def assertLimited(self, r):
        self.assertEnvelope(r, 429, "rate_limited")
        self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        self.assertEqual(r.json["details"]["retry_after"], int(r.header("Retry-After")))

    def test_address(self):
        c = Client(self.t.base_url, source="127.0.0.2")
        for _ in range(4):
            r = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": f"u{_}", "password": "bad"}, c=c)
            self.assertEnvelope(r, 401, "invalid_credentials")
        # Over the limit: refused whatever the credentials, right ones too.
        self.assertLimited(self.api("POST", "/api/v1/tenants/acme/auth/signin",
                                    {"login": "alice", "password": PASSWORD}, c=c))
        self.assertLimited(self.api("POST", "/api/v1/tenants/acme/auth/refresh", {"refresh_token": "x" * 43}, c=c))
        self.assertLimited(self.api("POST", "/api/v1/tenants/acme/auth/mfa", {"mfa_token": "x" * 43, "code": "1"},
                                    c=c))
        self.assertGreaterEqual(self.audit("auth.login", "denied"), 1)
        # Another address is not limited by it.
        ok = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "alice", "password": PASSWORD},
                      c=Client(self.t.base_url, source="127.0.0.3"))
        self.assertEqual(ok.status, 200, ok.text)

    def test_account(self):
        # Failures against one account from ever new addresses.
        for i in range(3):
            c = Client(self.t.base_url, source=f"127.0.1.{i + 1}")
            r = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "erin", "password": "bad"}, c=c)
            self.assertEnvelope(r, 401, "invalid_credentials")
        c = Client(self.t.base_url, source="127.0.1.9")
        self.assertLimited(self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "ERIN", "password": PASSWORD},
                                    c=c))
        # The same address may still sign in another account.
        ok = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": "alice", "password": PASSWORD}, c=c)
        self.assertEqual(ok.status, 200, ok.text)

    def test_signup(self):
        c = Client(self.t.base_url, source="127.0.2.1")
        for i in range(2):
            r = self.api("POST", "/api/v1/signup", {"email": f"o{i}@x.example", "password": PASSWORD, "name": "O",
                                                    "organization_name": f"Org {i}"}, c=c)
            self.assertEqual(r.status, 201, r.text)
        before = self.audit("account.signup", "denied")
        for _ in range(2):
            self.assertLimited(self.api("POST", "/api/v1/signup", {"email": "o9@x.example", "password": PASSWORD,
                                                                   "name": "O", "organization_name": "Org 9"}, c=c))
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM tenants WHERE slug = 'org-9'"), [["0"]])
        # A run of refusals is one event.
        self.assertEqual(self.audit("account.signup", "denied"), before + 1)


class TimingTest(Base):
    """Sign-in of a name that is no user takes as long as of a real one
    (with a wrong password each: the attacker's case). Sign-up is closed
    here, as it is by default."""

    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(config_extra="[auth]\nlockout_failures = 0\n"
                                     "[limits]\naddress_burst = 0\naccount_burst = 0\n").start()
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("user", "add", "alice@acme", "--email", "alice@mail.acme", "--password-stdin",
                  input=PASSWORD + "\n", check=True)
        cls.c = Client(cls.t.base_url)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def test_signup_closed_by_default(self):
        r = self.api("POST", "/api/v1/signup", {"email": "a@b.example", "password": PASSWORD, "name": "A",
                                                "organization_name": "B"})
        self.assertEnvelope(r, 403, "signup_closed")
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM tenants WHERE slug = 'b'"), [["0"]])
        self.assertEqual(self.audit("account.signup", "denied"), 1)

    def test_unknown_user_takes_as_long(self):
        def once(login):
            start = time.perf_counter()
            r = self.api("POST", "/api/v1/tenants/acme/auth/signin", {"login": login, "password": "wrong password"})
            elapsed = time.perf_counter() - start
            self.assertEnvelope(r, 401, "invalid_credentials")
            return elapsed

        for login in ("alice", "nobody"):          # warm up
            once(login)
        known, unknown = [], []
        for i in range(100):
            # Interleaved, so that a change in the machine's load falls on
            # both alike.
            known.append(once("alice" if i % 2 else "alice@mail.acme"))
            unknown.append(once(f"nobody{i}" if i % 2 else f"nobody{i}@mail.acme"))
        mk, mu = statistics.median(known), statistics.median(unknown)
        print(f"\nsign-in medians: known {mk * 1000:.2f} ms, unknown {mu * 1000:.2f} ms", file=sys.stderr)
        self.assertLess(abs(mk - mu) / max(mk, mu), 0.10, (mk, mu))


if __name__ == "__main__":
    unittest.main()
