#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tenant over the JSON API, against the real daemon:
GET/PATCH/DELETE /api/v1/tenants/{tenant} (the settings that apply and
those left to the site, a change of name and settings all or nothing,
If-Match, delete by an owner who types the slug, with everything in it),
and the tenant's mfa_required enforced at every sign-in door from the one
core decision: the JSON API's sign-in (403 mfa_enrolment_required with an
MFA token that enrols at .../auth/mfa/enrol and signs in with the first
code), the OpenID provider's sign-in page, and host logins over the PAM
socket. Bad input: unknown fields, wrong types, values out of bounds, an
unknown setting or mfa_required value, a stale If-Match, a wrong
confirmation; members, admins of another tenant and anonymous callers
refused (403/401, the refusal audited)."""

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
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402
from test_pam_socket import AUTH_FAILED, AUTHENTICATE, NEED_CODE, OK, T_PASSWORD, T_SERVICE, T_STATUS, T_TEXT, \
    T_USER, field, message, read_reply  # noqa: E402

PASSWORD = "correct horse battery"
REDIRECT = "https://app.example/cb"


def totp(secret_b32, step=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int(time.time() // 30) + step
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


class ApiHelpers:
    def api(self, method, path, token=None, body=None, raw=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        kw = {}
        if raw is not None:
            h.setdefault("Content-Type", "application/json")
            kw["data"] = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            kw["json_body"] = body
        return Client(self.t.base_url).request(method, path, headers=h, **kw)

    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text[:400])
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(set(r.json), {"error", "code", "details"}, r.json)
        self.assertEqual(r.json["code"], code, r.json)
        self.assertTrue(r.json["error"])
        if field is not None:
            self.assertEqual(r.json["details"].get("field"), field, r.json)
        return r.json

    def audit_count(self, action, result, target=None):
        where = f"action = '{action}' AND result = '{result}'"
        if target:
            where += f" AND target = '{target}'"
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])

    def signin(self, tenant, login, password=PASSWORD):
        return self.api("POST", f"/api/v1/tenants/{tenant}/auth/signin", body={"login": login, "password": password})

    def token(self, tenant, login):
        r = self.signin(tenant, login)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["status"], "signed_in", r.json)
        return r.json["session"]["token"]

    def add_user(self, qualified, role="member"):
        self.t.ctl("user", "add", qualified, "--role", role, "--email", qualified.replace("@", "@mail."),
                   "--password-stdin", input=PASSWORD + "\n", check=True)


class TenantApiTest(ApiHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme", tenants=["globex"]).start()
        t = cls.t
        for slug in ("acme", "globex", "doomed"):
            t.ctl("tenant", "create", slug, check=True)
        for user, role in (("olga@acme", "owner"), ("adam@acme", "admin"), ("mia@acme", "member"),
                           ("gus@globex", "owner"), ("dora@doomed", "owner"), ("dan@doomed", "member")):
            cls.add_user(cls, user, role)
        cls.web = json.loads(t.ctl("--json", "app", "create", "web@acme", "--first-party", "--redirect-uri",
                                   REDIRECT, check=True).stdout)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def setUp(self):
        # Each test starts from the site's defaults.
        self.t.ctl("tenant", "set", "acme", "--mfa-required", "default", check=True)

    def set_mfa(self, value):
        tok = self.token("acme", "olga")
        r = self.api("PATCH", "/api/v1/tenants/acme", tok, {"settings": {"mfa_required": value}})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["settings"]["mfa_required"], value)

    # -- read ---------------------------------------------------------------

    def test_read(self):
        tok = self.token("acme", "mia")
        r = self.api("GET", "/api/v1/tenants/acme", tok)
        self.assertEqual(r.status, 200, r.text)
        j = r.json
        self.assertEqual(j["slug"], "acme")
        self.assertEqual(j["settings"]["mfa_required"], "none")
        self.assertIn("password_min_length", j["inherited_settings"])
        self.assertTrue(r.header("ETag"))
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme"), 401, "unauthenticated")
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme", self.token("globex", "gus")), 403, "forbidden")

    # -- update -------------------------------------------------------------

    def test_update_and_reset(self):
        tok = self.token("acme", "adam")
        r = self.api("PATCH", "/api/v1/tenants/acme", tok,
                     {"display_name": "Acme Inc.", "settings": {"password_min_length": 12, "open_signup": True}})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["display_name"], "Acme Inc.")
        self.assertEqual(r.json["settings"]["password_min_length"], 12)
        self.assertIs(r.json["settings"]["open_signup"], True)
        self.assertNotIn("password_min_length", r.json["inherited_settings"])
        self.assertNotIn("open_signup", r.json["inherited_settings"])
        # The same through D-Bus and tesseractl: one core.
        shown = json.loads(self.t.ctl("--json", "tenant", "show", "acme", check=True).stdout)
        self.assertEqual(shown.get("display_name", shown.get("DisplayName")), "Acme Inc.", shown)
        # Back to the site's defaults.
        r = self.api("PATCH", "/api/v1/tenants/acme", tok, {"reset": ["password_min_length", "open_signup"]})
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("password_min_length", r.json["inherited_settings"])
        self.assertIs(r.json["settings"]["open_signup"], False)
        self.assertGreaterEqual(self.audit_count("tenant.update", "success", "acme"), 2)

    def test_if_match(self):
        tok = self.token("acme", "adam")
        etag = self.api("GET", "/api/v1/tenants/acme", tok).header("ETag")
        r = self.api("PATCH", "/api/v1/tenants/acme", tok, {"display_name": "First"}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r.text)
        self.assertNotEqual(r.header("ETag"), etag)
        self.assertEnvelope(self.api("PATCH", "/api/v1/tenants/acme", tok, {"display_name": "Second"},
                                     headers={"If-Match": etag}), 412, "precondition_failed")
        self.assertEqual(self.api("GET", "/api/v1/tenants/acme", tok).json["display_name"], "First")

    def test_update_bad_input_changes_nothing(self):
        tok = self.token("acme", "adam")
        before = self.api("GET", "/api/v1/tenants/acme", tok).json
        cases = [
            ({"nope": 1}, 422, "unknown_field", "nope"),
            ({"settings": {"nope": 1}}, 422, "unknown_field", "settings.nope"),
            ({"settings": {"open_signup": "yes"}}, 422, "wrong_type", "settings.open_signup"),
            ({"settings": {"password_min_length": -1}}, 422, "out_of_range", "settings.password_min_length"),
            ({"settings": {"mfa_required": "sometimes"}}, 422, "invalid", "settings.mfa_required"),
            ({"reset": ["nope"]}, 422, "invalid", "reset"),
            ({"display_name": "x" * 2000}, 422, "too_long", "display_name"),
            # A valid name with a setting out of its bounds: neither is stored.
            ({"display_name": "Half", "settings": {"password_min_length": 3}}, 422, "invalid", None),
            ({"display_name": "Half", "settings": {"password_min_length": 12}, "reset": ["password_min_length"]},
             422, "invalid", None),
            ({"display_name": "bad\nname"}, 422, "invalid", None),
        ]
        for body, status, code, fld in cases:
            with self.subTest(body=body):
                self.assertEnvelope(self.api("PATCH", "/api/v1/tenants/acme", tok, body), status, code, fld)
        self.assertEnvelope(self.api("PATCH", "/api/v1/tenants/acme", tok, raw="{"), 400, "malformed_json")
        after = self.api("GET", "/api/v1/tenants/acme", tok).json
        self.assertEqual(after, before)
        self.assertGreaterEqual(self.audit_count("tenant.update", "invalid", "acme"), 1)

    def test_update_refused(self):
        denied = self.audit_count("tenant.update", "denied", "acme")
        self.assertEnvelope(self.api("PATCH", "/api/v1/tenants/acme", self.token("acme", "mia"),
                                     {"display_name": "Mine"}), 403, "forbidden")
        self.assertEnvelope(self.api("PATCH", "/api/v1/tenants/acme", self.token("globex", "gus"),
                                     {"display_name": "Mine"}), 403, "forbidden")
        self.assertEnvelope(self.api("PATCH", "/api/v1/tenants/acme", None, {"display_name": "Mine"}), 401,
                            "unauthenticated")
        # The member, the other tenant's owner and the anonymous caller.
        self.assertEqual(self.audit_count("tenant.update", "denied", "acme"), denied + 3)
        self.assertNotEqual(self.api("GET", "/api/v1/tenants/acme", self.token("acme", "mia")).json["display_name"],
                            "Mine")

    # -- delete -------------------------------------------------------------

    def test_delete(self):
        owner = self.token("doomed", "dora")
        member = self.token("doomed", "dan")
        self.assertEnvelope(self.api("DELETE", "/api/v1/tenants/doomed", member, {"confirm": "doomed"}), 403,
                            "forbidden")
        self.assertEnvelope(self.api("DELETE", "/api/v1/tenants/doomed", self.token("acme", "olga"),
                                     {"confirm": "doomed"}), 403, "forbidden")
        self.assertEnvelope(self.api("DELETE", "/api/v1/tenants/doomed", owner, {"confirm": "acme"}), 422,
                            "confirmation_mismatch", "confirm")
        self.assertEnvelope(self.api("DELETE", "/api/v1/tenants/doomed", owner, {}), 422, "missing_field", "confirm")
        self.assertEqual(self.api("GET", "/api/v1/tenants/doomed", owner).status, 200)
        r = self.api("DELETE", "/api/v1/tenants/doomed", owner, {"confirm": "doomed"})
        self.assertEqual(r.status, 204, r.text)
        # Gone with its users: their tokens open nothing any more.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/doomed", owner), 404, "unknown_tenant")
        self.assertEqual(int(self.t.sqlite("SELECT count(*) FROM users WHERE name IN ('dora', 'dan')")[0][0]), 0)
        self.assertNotEqual(self.t.ctl("tenant", "show", "doomed").returncode, 0)
        self.assertEqual(self.audit_count("tenant.delete", "success", "doomed"), 1)

    # -- mfa_required -------------------------------------------------------

    def test_mfa_required_json_signin_and_enrolment(self):
        self.add_user("nina@acme", "admin")
        self.set_mfa("admins")
        # A member signs in with the password alone.
        self.assertEqual(self.signin("acme", "mia").json["status"], "signed_in")
        # An admin without TOTP: refused, with the way to enrol.
        r = self.signin("acme", "nina")
        body = self.assertEnvelope(r, 403, "mfa_enrolment_required")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        mfa = body["details"]["mfa_token"]
        self.assertEqual(body["details"]["enrol"], "/api/v1/tenants/acme/auth/mfa/enrol")
        # A wrong password still says nothing of the rule.
        self.assertEnvelope(self.signin("acme", "nina", "wrong password"), 401, "invalid_credentials")
        self.assertGreaterEqual(self.audit_count("auth.login", "denied", "nina@acme"), 1)
        # The MFA token is no sign-in: /auth/mfa does not take it without a factor.
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/mfa", body={"mfa_token": mfa, "code": "123456"}),
                            401, "invalid_code")
        enrol = "/api/v1/tenants/acme/auth/mfa/enrol"
        self.assertEnvelope(self.api("POST", enrol, body={"mfa_token": "nope"}), 401, "invalid_mfa_token")
        self.assertEnvelope(self.api("POST", enrol, body={"mfa_token": mfa, "x": 1}), 422, "unknown_field")
        # Another tenant's door does not take it.
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/globex/auth/mfa/enrol", body={"mfa_token": mfa}), 401,
                            "invalid_mfa_token")
        r = self.api("POST", enrol, body={"mfa_token": mfa})
        self.assertEqual(r.status, 201, r.text)
        secret = r.json["secret"]
        self.assertTrue(r.json["otpauth_uri"].startswith("otpauth://totp/"))
        wrong = "%06d" % ((int(totp(secret)) + 500000) % 1000000)
        self.assertEnvelope(self.api("POST", enrol + "/confirm", body={"mfa_token": mfa, "code": wrong}), 401,
                            "invalid_code")
        r = self.api("POST", enrol + "/confirm", body={"mfa_token": mfa, "code": totp(secret)})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["status"], "signed_in")
        self.assertEqual(len(r.json["backup_codes"]), 10)
        me = self.api("GET", "/api/v1/tenants/acme/me", r.json["session"]["token"])
        self.assertIs(me.json["totp_enabled"], True)
        # Spent, and enrolled now: the token is no good again.
        self.assertEnvelope(self.api("POST", enrol, body={"mfa_token": mfa}), 401, "invalid_mfa_token")
        # The next sign-in asks for the code, as for any enrolled user.
        self.assertEqual(self.signin("acme", "nina").json["status"], "mfa_required")

    def test_mfa_enrolment_refused_when_not_required(self):
        self.add_user("otto@acme", "admin")
        self.set_mfa("everyone")
        mfa = self.assertEnvelope(self.signin("acme", "otto"), 403, "mfa_enrolment_required")["details"]["mfa_token"]
        # The owner's own sign-in is refused too (olga has no TOTP): set it back on D-Bus.
        self.t.ctl("tenant", "set", "acme", "--mfa-required", "default", check=True)
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/mfa/enrol", body={"mfa_token": mfa}), 409,
                            "mfa_not_required")
        self.assertEqual(self.signin("acme", "otto").json["status"], "signed_in")

    def test_mfa_required_oidc_page(self):
        self.add_user("pete@acme", "member")
        self.t.ctl("tenant", "set", "acme", "--mfa-required", "everyone", check=True)
        c = Client(self.t.base_url)
        verifier, challenge = pkce_pair()
        q = {"client_id": self.web["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
             "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
        page = c.get("/t/acme/authorize?" + urllib.parse.urlencode(q))
        self.assertEqual(page.status, 200, page.text[:300])
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        r = c.post("/t/acme/login", form={**form, "login": "pete", "password": PASSWORD})
        self.assertEqual(r.status, 403, r.text[:500])
        self.assertIn("two-step verification", r.text)
        self.assertIsNone(r.header("Location"))
        r = c.post("/t/acme/login", form={**form, "login": "pete", "password": "wrong"})
        self.assertEqual(r.status, 401)
        self.assertNotIn("two-step verification", r.text)

    def test_mfa_required_pam(self):
        import socket
        self.add_user("quin@acme", "member")

        def ask(user, password):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(20)
                s.connect(self.t.pam_socket)
                s.sendall(message(AUTHENTICATE, field(T_USER, user), field(T_PASSWORD, password),
                                  field(T_SERVICE, "sshd")))
                return read_reply(s)

        self.assertEqual(ask("quin", PASSWORD)[T_STATUS], OK)
        self.t.ctl("tenant", "set", "acme", "--mfa-required", "everyone", check=True)
        r = ask("quin", PASSWORD)
        self.assertEqual(r[T_STATUS], AUTH_FAILED)
        self.assertIn(b"two-step verification", r[T_TEXT])
        self.assertNotIn(T_TEXT, ask("quin", "wrong"))
        self.assertIn("its tenant requires a second factor", self.t.log())
        self.assertNotEqual(NEED_CODE, r[T_STATUS])


if __name__ == "__main__":
    unittest.main(verbosity=2)
