#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The signed-in user's own account over the JSON API, against the real
daemon: /api/v1/tenants/{tenant}/me (profile read and update, a new e-mail
unverified), /me/password (the current password checked by the core,
counted in the shared lockout; the other sessions end unless kept),
/me/totp (enrol with the otpauth URI and a QR code as SVG, confirm, remove)
and /me/backup-codes, /me/sessions (web, app and host sessions in one list;
revoke one, revoke the others, extend within the limits). Access tokens
come from the OIDC code flow through the real sign-in form; host sessions
from the PAM socket, as the login stack opens them. Every route's bad
input: malformed JSON, unknown fields, wrong types, over-long values, a
weak password, a wrong current password, another user's or another
tenant's session id, other principals than the user themself."""

import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, jwt_parts, pkce_pair  # noqa: E402

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a whole new staple"
REDIRECT = "https://app.example/cb"
SVG_NS = "{http://www.w3.org/2000/svg}"


def totp(secret_b32, step=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int(time.time() // 30) + step
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


# The PAM socket's protocol (host/pam-server.c), enough to open a session
# as the login stack does.
PAM_MAGIC, PAM_VERSION, SESSION_OPEN, REPLY = 0x54535731, 1, 6, 0x100
T_USER, T_SERVICE, T_TTY, T_RHOST, T_STATUS = 1, 5, 6, 7, 0x100


def pam_open_session(path, user, service, tty, rhost):
    def field(tag, value):
        value = value.encode()
        return struct.pack(">HI", tag, len(value)) + value
    payload = field(T_USER, user) + field(T_SERVICE, service) + field(T_TTY, tty) + field(T_RHOST, rhost)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(path)
        s.sendall(struct.pack(">IHHI", PAM_MAGIC, PAM_VERSION, SESSION_OPEN, len(payload)) + payload)
        head = b""
        while len(head) < 12:
            head += s.recv(12 - len(head))
        _, _, mtype, length = struct.unpack(">IHHI", head)
        body = b""
        while len(body) < length:
            body += s.recv(length - len(body))
    assert mtype == REPLY
    while body:
        tag, n = struct.unpack(">HI", body[:6])
        if tag == T_STATUS:
            return struct.unpack(">I", body[6:6 + n])[0]
        body = body[6 + n:]
    return None


class MeHelpers:
    """Credentials and requests, for a class with a daemon (t) and its web
    applications (web, by tenant)."""

    # -- credentials --------------------------------------------------------

    def sign_in(self, login, tenant="acme", password=PASSWORD, secret=None, offline=False):
        """The token response of the code flow through the real sign-in
        form (with a TOTP code when secret is given)."""
        c = Client(self.t.base_url)
        verifier, challenge = pkce_pair()
        app = self.web[tenant]
        q = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
             "scope": "openid offline_access" if offline else "openid", "state": "s",
             "code_challenge": challenge, "code_challenge_method": "S256"}
        page = c.get(f"/t/{tenant}/authorize?" + urllib.parse.urlencode(q))
        self.assertEqual(page.status, 200, page.text[:300])
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        r = c.post(f"/t/{tenant}/login", form={**form, "login": login, "password": password})
        if secret:
            self.assertEqual(r.status, 200, r.text[:300])
            form = {k: html_unescape(v) for k, v in hidden_fields(r.text).items()}
            # The step the enrolment used is spent: the next ones (each
            # wrong try counts towards the lockout).
            for step in (1, 2):
                ok = c.post(f"/t/{tenant}/login/totp", form={**form, "code": totp(secret, step)})
                if ok.status == 303:
                    break
            r = ok
        self.assertEqual(r.status, 303, r.text[:300])
        code = r.location_params()["code"]
        tok = Client(self.t.base_url).post(f"/t/{tenant}/token", form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}, basic=(app["client_id"], app["client_secret"]))
        self.assertEqual(tok.status, 200, tok.text)
        return tok.json

    def token(self, login, tenant="acme", **kw):
        return self.sign_in(login, tenant, **kw)["access_token"]

    def client_token(self, app):
        r = Client(self.t.base_url).post("/t/acme/token", form={"grant_type": "client_credentials"},
                                         basic=(app["client_id"], app["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        return r.json["access_token"]

    def api(self, method, path, token=None, body=None, raw=None, headers=None, tenant="acme"):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        kw = {}
        if raw is not None:
            h.setdefault("Content-Type", "application/json")
            kw["data"] = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            kw["json_body"] = body
        return Client(self.t.base_url).request(method, f"/api/v1/tenants/{tenant}/me{path}", headers=h, **kw)

    def assertEnvelope(self, r, status, code):
        self.assertEqual(r.status, status, r.text[:400])
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(set(r.json), {"error", "code", "details"}, r.json)
        self.assertEqual(r.json["code"], code, r.json)
        self.assertTrue(r.json["error"])

    def audit(self, action):
        out = self.t.ctl("--json", "audit", "list", "--action", action, check=True).stdout
        return json.loads(out)


class MeApiTest(MeHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Three failures lock for a minute: the lockout is checked below.
        cls.t = Tessera(tenants=["globex"], config_extra=(
            "[auth]\nlockout_failures = 3\nlockout_time = 60\n"
            "[oidc]\nsession_lifetime = 3600\nsession_max_lifetime = 7200\n")).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role in (("alice@acme", "member"), ("bob@acme", "member"), ("carol@acme", "admin"),
                           ("erin@acme", "member"), ("frank@acme", "member"), ("gina@acme", "member"),
                           ("dave@globex", "member"), ("lock@acme", "member")):
            t.ctl("user", "add", user, "--role", role, "--email", user.replace("@", "@mail."),
                  "--password-stdin", input=PASSWORD + "\n", check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        cls.web = {tenant: app(f"web@{tenant}", "--first-party", "--redirect-uri", REDIRECT)
                   for tenant in ("acme", "globex")}
        cls.reader = app("reader@acme", "--grant", "client_credentials", "--scope", "tessera:users:read")

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    # -- who may ------------------------------------------------------------

    def test_only_the_user_themself(self):
        routes = [("GET", ""), ("PATCH", ""), ("POST", "/password"), ("GET", "/totp"), ("POST", "/totp"),
                  ("DELETE", "/totp"), ("POST", "/totp/confirm"), ("POST", "/backup-codes"),
                  ("GET", "/sessions"), ("POST", "/sessions/revoke-others"), ("DELETE", "/sessions/ses_web_x"),
                  ("POST", "/sessions/ses_web_x/extend")]
        client = self.client_token(self.reader)
        dave = self.token("dave", "globex")
        for method, path in routes:
            with self.subTest(route=f"{method} {path}"):
                r = self.api(method, path)
                self.assertEnvelope(r, 401, "unauthenticated")
                self.assertTrue(r.header("WWW-Authenticate").startswith('Bearer realm="acme"'))
                r = self.api(method, path, token="not.a.token")
                self.assertEnvelope(r, 401, "invalid_token")
                # A client's token has no "me", whatever its scopes.
                r = self.api(method, path, token=client)
                self.assertEnvelope(r, 403, "forbidden")
                # Another tenant's user is nobody here.
                r = self.api(method, path, token=dave)
                self.assertEnvelope(r, 403, "forbidden")
                self.assertIn("another tenant", r.json["error"])
        # The refusals are audited under the route's action.
        self.assertTrue(self.audit("me.read"))
        self.assertTrue(self.audit("me.session-revoke"))
        # Unknown routes under me stay 404, a wrong method 405.
        tok = self.token("alice")
        self.assertEnvelope(self.api("GET", "/nothing", token=tok), 404, "not_found")
        r = self.api("PUT", "/sessions/revoke-others", token=tok)
        self.assertEqual(r.status, 405)

    # -- profile ------------------------------------------------------------

    def test_profile(self):
        tok = self.token("bob")
        r = self.api("GET", "", token=tok)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        me = r.json
        self.assertEqual((me["name"], me["tenant"], me["email"]), ("bob", "acme", "bob@mail.acme"))
        self.assertIs(me["totp_enabled"], False)
        etag = r.header("ETag")
        self.assertTrue(etag and etag.startswith('"'))
        self.t.ctl("user", "set", "bob@acme", "--email-verified", "yes", check=True)
        self.assertIs(self.api("GET", "", token=tok).json["email_verified"], True)
        etag = self.api("GET", "", token=tok).header("ETag")

        # The name alone keeps the address verified.
        r = self.api("PATCH", "", token=tok, body={"real_name": "Bob Builder"}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["real_name"], "Bob Builder")
        self.assertIs(r.json["email_verified"], True)
        self.assertNotEqual(r.header("ETag"), etag)
        # A stale If-Match changes nothing.
        r = self.api("PATCH", "", token=tok, body={"real_name": "Stale"}, headers={"If-Match": etag})
        self.assertEnvelope(r, 412, "precondition_failed")
        self.assertEqual(self.api("GET", "", token=tok).json["real_name"], "Bob Builder")
        # A new address must be verified again.
        r = self.api("PATCH", "", token=tok, body={"email": "bob@new.example"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["email"], "bob@new.example")
        self.assertIs(r.json["email_verified"], False)
        shown = json.loads(self.t.ctl("--json", "user", "show", "bob@acme", check=True).stdout)
        self.assertEqual(shown["email"], "bob@new.example")
        self.assertTrue(self.audit("me.update"))

        # Bad input, each refused with nothing changed.
        cases = [
            (None, "{not json", 400, "malformed_json"),
            (None, "[]", 422, None),
            ({"real_name": "x", "role": "owner"}, None, 422, "unknown_field"),
            ({"real_name": 42}, None, 422, "wrong_type"),
            ({"email": None}, None, 422, "wrong_type"),
            ({"real_name": "x" * 300}, None, 422, "too_long"),
            ({"email": "a" * 250 + "@x.example"}, None, 422, "too_long"),
            ({"email": "not an address"}, None, 422, "invalid"),
            ({"real_name": "line\nbreak"}, None, 422, "invalid"),
            ({}, None, 422, "missing_field"),
        ]
        for body, raw, status, code in cases:
            with self.subTest(body=body, raw=raw):
                r = self.api("PATCH", "", token=tok, body=body, raw=raw)
                self.assertEqual(r.status, status, r.text)
                if code:
                    self.assertEqual(r.json["code"], code, r.json)
        r = self.api("PATCH", "", token=tok, raw='{"real_name": "x"}', headers={"Content-Type": "text/plain"})
        self.assertEnvelope(r, 415, "unsupported_media_type")
        # Another user's address is taken.
        r = self.api("PATCH", "", token=tok, body={"email": "alice@mail.acme"})
        self.assertEnvelope(r, 409, "conflict")
        after = self.api("GET", "", token=tok).json
        self.assertEqual((after["real_name"], after["email"]), ("Bob Builder", "bob@new.example"))

    # -- password -----------------------------------------------------------

    def test_password_change_ends_other_sessions(self):
        first = self.sign_in("erin", offline=True)
        second = self.token("erin")
        r = self.api("POST", "/password", token=second,
                     body={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertIs(r.json["changed"], True)
        self.assertGreaterEqual(r.json["sessions_ended"], 2)       # first's web session and its refresh family
        # The other session's token and refresh token are refused now; the
        # request's own session goes on.
        self.assertEnvelope(self.api("GET", "", token=first["access_token"]), 401, "invalid_token")
        ref = Client(self.t.base_url).post("/t/acme/token", form={
            "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            basic=(self.web["acme"]["client_id"], self.web["acme"]["client_secret"]))
        self.assertEqual(ref.status, 400, ref.text)
        self.assertEqual(self.api("GET", "", token=second).status, 200)
        # The new password signs in, the old one does not.
        self.token("erin", password=NEW_PASSWORD)
        self.assertTrue(self.audit("user.set-password"))

    def test_password_change_keeping_sessions(self):
        first = self.token("frank")
        second = self.token("frank")
        r = self.api("POST", "/password", token=second, body={
            "current_password": PASSWORD, "new_password": NEW_PASSWORD, "keep_other_sessions": True})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["sessions_ended"], 0)
        self.assertEqual(self.api("GET", "", token=first).status, 200)

    def test_password_bad_input(self):
        tok = self.token("gina")
        cases = [
            ("{", 400, "malformed_json"),
            ({"current_password": PASSWORD}, 422, "missing_field"),
            # Only an account without a password leaves the current one out.
            ({"new_password": NEW_PASSWORD}, 422, "invalid"),
            ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "extra": 1}, 422, "unknown_field"),
            ({"current_password": PASSWORD, "new_password": 12345678}, 422, "wrong_type"),
            ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "keep_other_sessions": "yes"}, 422,
             "wrong_type"),
            ({"current_password": PASSWORD, "new_password": "x" * 2000}, 422, "too_long"),
            ({"current_password": PASSWORD, "new_password": "short"}, 422, "invalid"),
            ({"current_password": PASSWORD, "new_password": "gina"}, 422, "invalid"),
            ({"current_password": PASSWORD, "new_password": PASSWORD}, 422, "invalid"),
        ]
        for body, status, code in cases:
            with self.subTest(body=body):
                r = self.api("POST", "/password", token=tok, body=body if isinstance(body, dict) else None,
                             raw=body if isinstance(body, str) else None)
                self.assertEnvelope(r, status, code)
        # Nothing changed: the password still signs in.
        self.token("gina")

    def test_wrong_current_password_counts_in_lockout(self):
        tok = self.token("lock")
        for _ in range(3):
            r = self.api("POST", "/password", token=tok,
                         body={"current_password": "not it at all", "new_password": NEW_PASSWORD})
            self.assertEnvelope(r, 403, "invalid_current_password")
        # The lockout every door shares: now the account is locked, for
        # the sign-in form as for this route.
        shown = json.loads(self.t.ctl("--json", "user", "show", "lock@acme", check=True).stdout)
        self.assertEqual(shown["state"], "locked", shown)
        self.assertGreater(shown["locked_until_usec"], time.time() * 1e6)
        failures = [e for e in self.audit("auth.chauthtok") if e["target"] == "lock@acme"]
        self.assertEqual(sum(e["count"] for e in failures if e["result"] == "failure"), 3, failures)
        self.assertEqual({e["channel"] for e in failures}, {"http"})
        r = self.api("POST", "/password", token=tok, body={"current_password": PASSWORD,
                                                             "new_password": NEW_PASSWORD})
        self.assertIn(r.status, (401, 403), r.text)
        self.assertIn(r.json["code"], ("account_locked", "invalid_token"))
        self.t.ctl("user", "unlock", "lock@acme", check=True)
        self.token("lock")       # the password was not changed

    # -- TOTP and backup codes ----------------------------------------------

    def test_totp_enrol_confirm_remove(self):
        tok = self.token("carol")         # an admin: her own factor still needs her codes
        r = self.api("GET", "/totp", token=tok)
        self.assertEqual(r.json, {"enabled": False, "pending": False, "backup_codes_left": 0})
        r = self.api("POST", "/totp", token=tok)
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        secret, uri, svg = r.json["secret"], r.json["otpauth_uri"], r.json["qr_svg"]
        self.assertTrue(uri.startswith("otpauth://totp/"), uri)
        self.assertIn("secret=" + secret, uri)
        self.assertEqual(self.api("GET", "/totp", token=tok).json["pending"], True)

        # The SVG: a well-formed SVG document, square, of dark modules on
        # white, nothing active in it; a new secret draws another image.
        root = ET.fromstring(svg)
        self.assertEqual(root.tag, SVG_NS + "svg")
        vb = [int(x) for x in root.get("viewBox").split()]
        self.assertEqual(vb[:2], [0, 0])
        self.assertEqual(vb[2], vb[3])
        self.assertGreaterEqual(vb[2], 21 + 8)              # version 1 at least, and the quiet zone
        self.assertEqual((vb[2] - 8 - 17) % 4, 0)           # a QR code's side: 17 + 4 × version
        paths = root.findall(SVG_NS + "path")
        self.assertEqual(len(paths), 1)
        self.assertRegex(paths[0].get("d"), r"^(M\d+ \d+h\d+v1h-\d+z)+$")
        self.assertNotIn("script", svg.lower())
        self.assertNotIn("href", svg.lower())
        # The three finder patterns: the 7×7 corners are dark on their rim.
        dark = set()
        for m in __import__("re").finditer(r"M(\d+) (\d+)h(\d+)", paths[0].get("d")):
            x, y, n = map(int, m.groups())
            dark.update((x + i, y) for i in range(n))
        side = vb[2] - 8
        for ox, oy in ((4, 4), (4 + side - 7, 4), (4, 4 + side - 7)):
            self.assertTrue(all((ox + i, oy) in dark for i in range(7)), (ox, oy))
            self.assertFalse((ox + 1, oy + 1) in dark)
        # Beginning again draws a new secret, and a new image.
        r2 = self.api("POST", "/totp", token=tok)
        self.assertEqual(r2.status, 201, r2.text)
        self.assertNotEqual(r2.json["secret"], secret)
        self.assertNotEqual(r2.json["qr_svg"], svg)
        secret = r2.json["secret"]

        # Confirm: bad input, a wrong code, then the right one.
        for body, raw, status, code in (
                (None, "{", 400, "malformed_json"), ({}, None, 422, "missing_field"),
                ({"code": 123456}, None, 422, "wrong_type"), ({"code": "1" * 100}, None, 422, "too_long"),
                ({"code": "123456", "x": 1}, None, 422, "unknown_field"), ({"code": "12"}, None, 422, "invalid")):
            with self.subTest(body=body, raw=raw):
                self.assertEnvelope(self.api("POST", "/totp/confirm", token=tok, body=body, raw=raw), status, code)
        wrong = "%06d" % ((int(totp(secret)) + 500000) % 1000000)
        self.assertEnvelope(self.api("POST", "/totp/confirm", token=tok, body={"code": wrong}), 403, "invalid_code")
        r = self.api("POST", "/totp/confirm", token=tok, body={"code": totp(secret)})
        self.assertEqual(r.status, 200, r.text)
        codes = r.json["backup_codes"]
        self.assertGreaterEqual(len(codes), 8)
        self.assertEqual(len(set(codes)), len(codes))
        self.assertEqual(self.api("GET", "/totp", token=tok).json,
                         {"enabled": True, "pending": False, "backup_codes_left": len(codes)})
        self.assertIs(self.api("GET", "", token=tok).json["totp_enabled"], True)
        # Enabled now: beginning again is refused.
        self.assertEnvelope(self.api("POST", "/totp", token=tok), 409, "conflict")
        self.assertEnvelope(self.api("POST", "/totp", token=tok, body={"x": 1}), 422, "unknown_field")

        # New backup codes need a code, even from an admin for herself.
        self.assertEnvelope(self.api("POST", "/backup-codes", token=tok), 403, "invalid_code")
        self.assertEnvelope(self.api("POST", "/backup-codes", token=tok, body={"code": 7}), 422, "wrong_type")
        r = self.api("POST", "/backup-codes", token=tok, body={"code": codes[0]})
        self.assertEqual(r.status, 200, r.text)
        new_codes = r.json["backup_codes"]
        self.assertFalse(set(new_codes) & set(codes))
        # The old ones are gone.
        self.assertEnvelope(self.api("POST", "/backup-codes", token=tok, body={"code": codes[1]}), 403,
                            "invalid_code")

        # The sign-in now asks for the code.
        signed_in = self.sign_in("carol", secret=secret)
        self.assertEqual(jwt_parts(signed_in["id_token"])[1]["amr"], ["pwd", "otp"])
        tok2 = signed_in["access_token"]

        # Removing it needs a code too.
        self.assertEnvelope(self.api("DELETE", "/totp", token=tok2), 403, "invalid_code")
        self.assertEnvelope(self.api("DELETE", "/totp", token=tok2, body={"code": "x", "y": 1}), 422,
                            "unknown_field")
        r = self.api("DELETE", "/totp", token=tok2, body={"code": new_codes[0]})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["enabled"], False)
        self.assertEnvelope(self.api("DELETE", "/totp", token=tok2), 404, "not_found")
        self.assertEnvelope(self.api("POST", "/backup-codes", token=tok2, body={"code": "123456"}), 404, "not_found")
        self.assertTrue(self.audit("totp.confirm"))
        self.assertTrue(self.audit("totp.disable"))

    # -- sessions -----------------------------------------------------------

    def sessions(self, tok, tenant="acme"):
        r = self.api("GET", "/sessions", token=tok, tenant=tenant)
        self.assertEqual(r.status, 200, r.text)
        self.assertIsNone(r.json["next_cursor"])
        return r.json["items"]

    def test_sessions_list_revoke_extend(self):
        a1 = self.sign_in("alice", offline=True)
        a2 = self.sign_in("alice")
        self.assertEqual(pam_open_session(self.t.pam_socket, "alice", "sshd", "pts/3", "192.0.2.7"), 0)
        items = self.sessions(a2["access_token"])
        kinds = [i["kind"] for i in items]
        self.assertGreaterEqual(kinds.count("web"), 2)
        self.assertGreaterEqual(kinds.count("app"), 1)
        self.assertEqual(kinds.count("host"), 1)
        for i in items:
            self.assertTrue(i["id"].startswith("ses_" + i["kind"] + "_"), i)
            self.assertTrue(i["started_at"].endswith("Z"))
        current = [i for i in items if i["current"]]
        self.assertEqual([i["kind"] for i in current], ["web"])
        sid2 = jwt_parts(a2["access_token"])[1].get("sid")
        self.assertEqual(current[0]["id"], "ses_web_" + sid2)
        sid1 = jwt_parts(a1["access_token"])[1]["sid"]
        app = [i for i in items if i["kind"] == "app"][0]
        self.assertEqual(app["parent"], "ses_web_" + sid1)
        self.assertEqual(app["application"]["client_id"], self.web["acme"]["client_id"])
        self.assertEqual(app["amr"], "pwd")
        host = [i for i in items if i["kind"] == "host"][0]
        self.assertEqual((host["service"], host["tty"], host["remote_host"]), ("sshd", "pts/3", "192.0.2.7"))
        self.assertIsNone(host["expires_at"])

        # Extending: within the limit (session_max_lifetime 7200 s from the
        # sign-in), never a host login.
        web1 = "ses_web_" + sid1
        before = [i for i in items if i["id"] == web1][0]
        r = self.api("POST", f"/sessions/{web1}/extend", token=a2["access_token"])
        self.assertEqual(r.status, 200, r.text)
        self.assertGreaterEqual(r.json["expires_at"], before["expires_at"])
        self.assertLessEqual(r.json["expires_at"], r.json["extendable_until"])
        self.assertEnvelope(self.api("POST", f"/sessions/{host['id']}/extend", token=a2["access_token"]), 409,
                            "not_supported")
        r = self.api("POST", f"/sessions/{app['id']}/extend", token=a2["access_token"])
        self.assertEqual(r.status, 200, r.text)
        self.assertGreaterEqual(r.json["expires_at"], app["expires_at"])
        self.assertLessEqual(r.json["expires_at"], r.json["extendable_until"])
        self.assertEqual(r.json["id"], app["id"])
        self.assertEnvelope(self.api("POST", f"/sessions/{web1}/extend", token=a2["access_token"], body={"x": 1}),
                            422, "unknown_field")
        self.assertTrue(self.audit("me.session-extend"))

        # Another user's and another tenant's sessions are not found, and
        # nothing happens to them.
        bob = self.sign_in("bob")
        bob_web = "ses_web_" + jwt_parts(bob["access_token"])[1]["sid"]
        dave = self.sign_in("dave", "globex")
        dave_web = "ses_web_" + jwt_parts(dave["access_token"])[1]["sid"]
        for foreign in (bob_web, dave_web, "ses_host_999999", "ses_app_nothing", "nothing", "ses_web_" + "0" * 32,
                        "x" * 200):
            with self.subTest(session=foreign):
                self.assertEnvelope(self.api("DELETE", f"/sessions/{foreign}", token=a2["access_token"]), 404,
                                    "not_found")
                self.assertEnvelope(self.api("POST", f"/sessions/{foreign}/extend", token=a2["access_token"]), 404,
                                    "not_found")
        self.assertEqual(self.api("GET", "", token=bob["access_token"]).status, 200)
        self.assertEqual(self.api("GET", "", token=dave["access_token"], tenant="globex").status, 200)
        # A capture that is not a segment is a bad request.
        self.assertEqual(self.api("DELETE", "/sessions/%00", token=a2["access_token"]).status, 400)

        # Revoke one: the first sign-in's web session; its token and its
        # refresh family end with it.
        r = self.api("DELETE", f"/sessions/{web1}", token=a2["access_token"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json, {"revoked": web1})
        self.assertEnvelope(self.api("GET", "", token=a1["access_token"]), 401, "invalid_token")
        ref = Client(self.t.base_url).post("/t/acme/token", form={
            "grant_type": "refresh_token", "refresh_token": a1["refresh_token"]},
            basic=(self.web["acme"]["client_id"], self.web["acme"]["client_secret"]))
        self.assertEqual(ref.status, 400, ref.text)
        ids = {i["id"] for i in self.sessions(a2["access_token"])}
        self.assertNotIn(web1, ids)
        self.assertNotIn(app["id"], ids)
        self.assertEnvelope(self.api("DELETE", f"/sessions/{web1}", token=a2["access_token"]), 404, "not_found")
        self.assertTrue(self.audit("me.session-revoke"))

        # Revoke the others: everything but the current session.
        a3 = self.sign_in("alice", offline=True)
        self.assertEqual(pam_open_session(self.t.pam_socket, "alice", "login", "tty2", ""), 0)
        r = self.api("POST", "/sessions/revoke-others", token=a2["access_token"])
        self.assertEqual(r.status, 200, r.text)
        self.assertGreaterEqual(r.json["revoked"], 4)      # a3's web and app, two host logins
        left = self.sessions(a2["access_token"])
        self.assertEqual([(i["kind"], i["current"]) for i in left], [("web", True)])
        self.assertEnvelope(self.api("GET", "", token=a3["access_token"]), 401, "invalid_token")
        listed = json.loads(self.t.ctl("--json", "session", "list", "alice@acme", "--open", check=True).stdout)
        self.assertEqual(listed, [])
        self.assertEnvelope(self.api("POST", "/sessions/revoke-others", token=a2["access_token"], raw='{"all": 1}'),
                            422, "unknown_field")
        self.assertEnvelope(self.api("POST", "/sessions/revoke-others", token=a2["access_token"], raw="[1"), 400,
                            "malformed_json")
        r = self.api("POST", "/sessions/revoke-others", token=a2["access_token"], raw="{}")
        self.assertEqual((r.status, r.json), (200, {"revoked": 0}))
        # Bob's session was not touched.
        self.assertEqual(self.api("GET", "", token=bob["access_token"]).status, 200)

        # Revoking the current session signs this token out.
        r = self.api("DELETE", "/sessions/ses_web_" + sid2, token=a2["access_token"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEnvelope(self.api("GET", "/sessions", token=a2["access_token"]), 401, "invalid_token")


class MeSessionLimitTest(MeHelpers, unittest.TestCase):
    """A session at its limit is not extended: session_max_lifetime equal
    to session_lifetime leaves no room."""

    def test_extend_at_limit(self):
        t = self.t = Tessera(config_extra="[oidc]\nsession_lifetime = 3600\nsession_max_lifetime = 3600\n").start()
        self.addCleanup(t.close)
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("user", "add", "alice@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        self.web = {"acme": json.loads(t.ctl("--json", "app", "create", "web@acme", "--first-party",
                                             "--redirect-uri", REDIRECT, check=True).stdout)}
        tok = self.token("alice")
        sid = jwt_parts(tok)[1]["sid"]
        r = self.api("POST", f"/sessions/ses_web_{sid}/extend", token=tok)
        self.assertEnvelope(r, 422, "out_of_range")
        self.assertIn("limit", r.json["error"])


if __name__ == "__main__":
    unittest.main()
