#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sign-in through upstream identity providers against the real daemon and
real upstreams on loopback: node's oidc-provider (tests/oidc/upstream-op.mjs)
registered as "any OpenID provider", and the GitHub stand-in
(tests/lib/github_standin.py) through the github preset's overridable
endpoints.

The JSON API's start and callback (.../auth/oauth/{provider}, .../callback):
an account made just in time (uid, user-private group, a link), found again
by its link, linked by a verified e-mail address, the TOTP step, GitHub.
The hosted pages: the sign-in page's button, the provider's form, the
callback, the code of tessera's client and its ID token with amr "fed";
the proof of an account before a link.

Every bad input of the issue against an upstream that misbehaves in exactly
that way (a forged, unsigned or HMAC token, wrong iss, aud, nonce or azp,
expired, an unverified address trying to take over an account, a replayed
or missing state, a callback for another tenant, slow, garbage, 5 MB,
down): refused with the envelope (or a page that says what happened), an
audit event, no account, no link, no token."""

import hashlib
import json
import os
import re
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, jwt_parts, pkce_pair  # noqa: E402
import upstream_env  # noqa: E402
from upstream_env import GitHubStandin, UpstreamOP, callback_params, sign_in  # noqa: E402

PASSWORD = "correct horse battery"
CLIENT_ID = "tessera-test"
CLIENT_SECRET = "upstream-client-secret-0123456789"

# Who the upstreams know. "sub" is the upstream subject; the addresses
# decide the linking cases.
USERS = [
    # Linked by her verified address to the existing account "lovelace".
    {"sub": "1001", "login": "ada", "password": "ada-pw", "email": "ada@example.org", "email_verified": True,
     "name": "Ada Lovelace"},
    # Unverified upstream, with the address of the existing account "robert".
    {"sub": "1002", "login": "bob", "password": "bob-pw", "email": "bob@example.org", "email_verified": False,
     "name": "Bob"},
    # Nobody here yet: made just in time.
    {"sub": "1003", "login": "carl", "password": "carl-pw", "email": "carl@example.net", "email_verified": True,
     "name": "Carl Friedrich"},
    # Verified upstream, but the misbehaving provider says otherwise; the
    # account "evelyn" has the address.
    {"sub": "1004", "login": "eve", "password": "eve-pw", "email": "eve@example.org", "email_verified": True,
     "name": "Eve"},
    # Linked by address to "tom", who has TOTP.
    {"sub": "1005", "login": "tom", "password": "tom-pw", "email": "tom@example.org", "email_verified": True,
     "name": "Tom"},
    # The host test's federated user.
    {"sub": "1006", "login": "hedy", "password": "hedy-pw", "email": "hedy@example.net", "email_verified": True,
     "name": "Hedy Lamarr"},
    # Linked through the proof of her account "grace" (verified upstream,
    # but the tenant's provider "op" links by address only for... "strict"
    # does not link by address at all).
    {"sub": "1007", "login": "grace", "password": "grace-pw", "email": "grace@example.org",
     "email_verified": True, "name": "Grace"},
] + [
    # One fresh person per misbehaviour case: nothing may be made for them.
    {"sub": f"2{i:03d}", "login": f"m{i}", "password": "m-pw", "email": f"m{i}@example.net",
     "email_verified": True, "name": f"M {i}"} for i in range(60)
]

TOKEN_MODES = {
    "foreign-key": (401, "upstream_token_invalid"),
    "unknown-kid": (401, "upstream_token_invalid"),
    "alg-none": (401, "upstream_token_invalid"),
    "alg-hs256": (401, "upstream_token_invalid"),
    "wrong-iss": (401, "upstream_token_invalid"),
    "wrong-aud": (401, "upstream_token_invalid"),
    "no-nonce": (401, "upstream_token_invalid"),
    "wrong-nonce": (401, "upstream_token_invalid"),
    "azp-wrong": (401, "upstream_token_invalid"),
    "azp-missing": (401, "upstream_token_invalid"),
    "expired": (401, "upstream_token_expired"),
    "garbage": (502, "upstream_bad_response"),
    "huge": (502, "upstream_bad_response"),
}


def totp(secret_b32, at=None, step=0):
    import base64
    import hashlib
    import hmac
    import struct
    import time
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((at or time.time()) // 30) + step
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


@unittest.skipUnless(upstream_env.node_modules_ready() or os.environ.get("TESSERA_NPM_INSTALL"),
                     "tests/oidc/node_modules is missing: run npm ci in tests/oidc (tools/test does)")
class UpstreamFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"], config_extra=(
            "[mail]\nfrom = noreply@example.com\nrelay = smtp://127.0.0.1:9\nretry_initial = 60\n"
            "[limits]\naddress_burst = 1000\naccount_burst = 1000\n"
            "[upstream]\ntimeout = 20\n")).start()
        t = cls.t
        try:
            cls._setup()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _setup(cls):
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role, email in (("olga@acme", "owner", "olga@acme.example"),
                                  ("lovelace@acme", "member", "ada@example.org"),
                                  ("robert@acme", "member", "bob@example.org"),
                                  ("evelyn@acme", "member", "eve@example.org"),
                                  ("tom@acme", "member", "tom@example.org"),
                                  ("grace@acme", "member", "grace@example.org"),
                                  ("gus@globex", "owner", "gus@globex.example")):
            t.ctl("user", "add", user, "--role", role, "--email", email, "--password-stdin",
                  input=PASSWORD + "\n", check=True)
        enroll = json.loads(t.ctl("--json", "user", "totp", "enroll", "tom@acme", check=True).stdout)
        cls.tom_secret = enroll["secret"]
        t.ctl("--json", "user", "totp", "confirm", "tom@acme", totp(cls.tom_secret), check=True)

        cls.c = Client(t.base_url)
        cls.callback = {s: t.issuer(s) + "/upstream/callback" for s in ("acme", "globex")}
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "redirect_uris": [cls.callback["acme"], cls.callback["globex"], "https://app.example/up"]}]
        cls.op = UpstreamOP(os.path.join(t.dir, "op"), clients=clients, users=USERS).start()
        cls.gh = GitHubStandin(os.path.join(t.dir, "gh"), clients=clients, users=USERS).start()
        # A second provider process for the "down" case, whose discovery
        # nobody fetched before it went down.
        cls.op2 = UpstreamOP(os.path.join(t.dir, "op2"), clients=clients, users=USERS).start()

        cls.tokens = {}
        cls.web = json.loads(t.ctl("--json", "app", "create", "web@acme", "--redirect-uri",
                                   "https://app.example/cb", "--redirect-uri", "https://app.example/up",
                                   "--first-party", check=True).stdout)
        oidc = {"kind": "oidc", "issuer": cls.op.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        cls.register("acme", name="op", display_name="Example OP", signup="jit", role="member",
                     link_by_email=True, **oidc)
        # Links by nothing but the proof of the account.
        cls.register("acme", name="strict", display_name="Strict OP", signup="jit", link_by_email=False, **oidc)
        cls.register("acme", name="corp", display_name="Corp OP", signup="jit", link_by_email=True,
                     allowed_domains=["corp.example"], **oidc)
        cls.register("acme", name="invite", display_name="Invited OP", signup="invitation", **oidc)
        cls.register("acme", name="gh", kind="github", display_name="GitHub", client_id=CLIENT_ID,
                     client_secret=CLIENT_SECRET, signup="jit", link_by_email=True,
                     authorization_endpoint=cls.gh.endpoint("authorization"),
                     token_endpoint=cls.gh.endpoint("token"), api_url=cls.gh.api_url)
        cls.register("acme", name="op2", display_name="Second OP", kind="oidc", issuer=cls.op2.issuer,
                     client_id=CLIENT_ID, client_secret=CLIENT_SECRET, signup="jit")
        cls.register("globex", name="op", display_name="Example OP", signup="existing", **oidc)
        # The presets, their endpoints pointed at the loopback provider.
        for kind in ("google", "gitlab"):
            cls.register("acme", name=kind, kind=kind, issuer=cls.op.issuer, client_id=CLIENT_ID,
                         client_secret=CLIENT_SECRET, signup="jit",
                         authorization_endpoint=cls.op.endpoint("authorization"),
                         token_endpoint=cls.op.endpoint("token"), userinfo_endpoint=cls.op.endpoint("userinfo"),
                         jwks_uri=cls.op.endpoint("jwks"))

    @classmethod
    def tearDownClass(cls):
        for name in ("op", "op2", "gh"):
            p = getattr(cls, name, None)
            if p:
                p.stop()
        cls.t.close()

    # -- helpers ----------------------------------------------------------------

    @classmethod
    def admin_token(cls, tenant):
        who = {"acme": "olga", "globex": "gus"}[tenant]
        if tenant not in cls.tokens:
            r = cls.c.post(f"/api/v1/tenants/{tenant}/auth/signin", json_body={"login": who, "password": PASSWORD})
            assert r.status == 200, r.text
            cls.tokens[tenant] = r.json["session"]["token"]
        return cls.tokens[tenant]

    @classmethod
    def register(cls, tenant, **spec):
        r = cls.c.post(f"/api/v1/tenants/{tenant}/providers", json_body=spec,
                       headers={"Authorization": "Bearer " + cls.admin_token(tenant)})
        assert r.status == 201, r.text
        return r.json

    def api_start(self, provider, tenant="acme", **query):
        q = "?" + urllib.parse.urlencode(query) if query else ""
        return self.c.get(f"/api/v1/tenants/{tenant}/auth/oauth/{provider}{q}")

    def upstream_sign_in(self, provider, login, password, tenant="acme"):
        """Start through the API and sign in at the provider: the query the
        provider sends the browser back with."""
        r = self.api_start(provider, tenant)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["redirect_uri"], self.callback[tenant])
        back = sign_in(r.json["url"], login, password, self.callback[tenant])
        return callback_params(back)

    def api_callback(self, params, tenant="acme"):
        return self.c.get(f"/api/v1/tenants/{tenant}/auth/oauth/callback?" + urllib.parse.urlencode(params))

    def api_flow(self, provider, login, password, tenant="acme"):
        return self.api_callback(self.upstream_sign_in(provider, login, password, tenant), tenant)

    def assertEnvelope(self, r, status, code):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(set(r.json), {"error", "code", "details"}, r.json)
        self.assertEqual(r.json["code"], code, r.json)
        self.assertTrue(r.json["error"])
        return r.json

    def count(self, sql):
        return int(self.t.sqlite(sql)[0][0])

    def users(self):
        return self.count("SELECT count(*) FROM users")

    def links(self):
        return self.count("SELECT count(*) FROM upstream_links")

    def audits(self, action="auth.federated", result=None):
        where = f"action = '{action}'" + (f" AND result = '{result}'" if result else "")
        return self.count(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")

    def sessions(self):
        return self.count("SELECT count(*) FROM oidc_sessions")

    def refused(self, do, status, code):
        """do() must be refused with the envelope: an audit event, no user,
        no link, no session."""
        before = (self.users(), self.links(), self.sessions(), self.audits())
        r = do()
        self.assertEnvelope(r, status, code)
        self.assertNotIn("session", r.json)
        self.assertEqual((self.users(), self.links(), self.sessions()), before[:3])
        self.assertGreater(self.audits(), before[3])
        return r

    def user_row(self, name, tenant="acme"):
        rows = self.t.sqlite(f"SELECT u.id, u.uid, u.gid, u.email, u.email_verified, u.password_hash IS NULL "
                             f"FROM users u JOIN tenants t ON t.id = u.tenant_id "
                             f"WHERE u.name = '{name}' AND t.slug = '{tenant}'")
        return rows[0] if rows else None

    # -- the JSON API: accounts and links ----------------------------------------

    def test_jit_account_then_link(self):
        users, links = self.users(), self.links()
        r = self.api_flow("op", "carl", "carl-pw")
        self.assertEqual(r.status, 201, r.text)
        body = r.json
        self.assertEqual(body["status"], "signed_in")
        self.assertEqual((body["user"]["name"], body["user"]["email"], body["user"]["email_verified"],
                          body["user"]["role"]), ("carl", "carl@example.net", True, "member"))
        claims = jwt_parts(body["session"]["token"])[1]
        self.assertEqual(claims["sub"], body["user"]["id"])
        # The session says how the user signed in (the ID tokens of its
        # applications carry it as amr).
        self.assertEqual(self.t.sqlite(f"SELECT amr FROM oidc_sessions WHERE sid = '{claims['sid']}'")[0][0], "fed")
        self.assertEqual((self.users(), self.links()), (users + 1, links + 1))
        uid, gid = (int(x) for x in self.user_row("carl")[1:3])
        self.assertEqual(uid, gid)
        self.assertGreaterEqual(uid, 200000)
        # The user-private group, like any user's.
        self.assertEqual(self.count(f"SELECT count(*) FROM groups WHERE gid = {gid} AND name = 'carl'"), 1)
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links WHERE subject = '1003'"), 1)
        self.assertGreaterEqual(self.audits("account.signup-federated", "success"), 1)

        # The second time: the same user, by the link; nothing made.
        r = self.api_flow("op", "carl", "carl-pw")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["user"]["id"], body["user"]["id"])
        self.assertEqual((self.users(), self.links()), (users + 1, links + 1))

    def test_identities_made_by_the_flow(self):
        # A JIT account lists the link the sign-in made, and can't remove
        # it: no password, so it is the last way in.
        r = self.api_flow("op", "m35", "m-pw")
        self.assertEqual(r.status, 201, r.text)
        token = r.json["session"]["token"]
        me = "/api/v1/tenants/acme/me/identities"
        r = self.c.get(me, headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([(i["provider"], i["subject"], i["email"]) for i in r.json["items"]],
                         [("op", "2035", "m35@example.net")])
        link = r.json["items"][0]["id"]
        r = self.c.request("DELETE", f"{me}/{link}", headers={"Authorization": "Bearer " + token})
        self.assertEnvelope(r, 409, "last_way_in")
        # Its administrators see it too.
        r = self.c.get("/api/v1/tenants/acme/users/m35/identities",
                       headers={"Authorization": "Bearer " + self.admin_token("acme")})
        self.assertEqual([i["id"] for i in r.json["items"]], [link])

    def test_link_by_verified_email(self):
        users = self.users()
        r = self.api_flow("op", "ada", "ada-pw")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["user"]["name"], "lovelace")
        self.assertEqual(self.users(), users)
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links l JOIN users u ON u.id = l.user_id "
                                    "WHERE u.name = 'lovelace' AND l.subject = '1001'"), 1)
        self.assertGreaterEqual(self.audits("user.link", "success"), 1)

    def test_unverified_email_takes_over_nothing(self):
        # bob's address is robert's, but the provider does not vouch for it.
        r = self.refused(lambda: self.api_flow("op", "bob", "bob-pw"), 409, "link_proof_required")
        self.assertIn("password", r.json["error"])
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links WHERE subject = '1002'"), 0)

    def test_email_unverified_mode(self):
        # eve is verified at the provider, which now says otherwise.
        self.op.set_mode("email-unverified")
        try:
            self.refused(lambda: self.api_flow("op", "eve", "eve-pw"), 409, "link_proof_required")
        finally:
            self.op.set_mode("good")
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links WHERE subject = '1004'"), 0)

    def test_totp_step(self):
        r = self.api_flow("op", "tom", "tom-pw")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["status"], "mfa_required")
        self.assertNotIn("session", r.json)
        r = self.c.post("/api/v1/tenants/acme/auth/mfa",
                        json_body={"mfa_token": r.json["mfa_token"], "code": totp(self.tom_secret, step=1)})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["user"]["name"], "tom")
        # The session says both steps: the provider's, then the code.
        sid = r.json["session"]["id"]
        self.assertEqual(self.t.sqlite(f"SELECT amr FROM oidc_sessions WHERE sid = '{sid}'"), [["fed otp"]])

    def test_github(self):
        users = self.users()
        r = self.api_start("gh")
        self.assertEqual(r.status, 200, r.text)
        self.assertTrue(r.json["url"].startswith(self.gh.endpoint("authorization")), r.json)
        back = sign_in(r.json["url"], "hedy", "hedy-pw", self.callback["acme"])
        r = self.api_callback(callback_params(back))
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual((r.json["user"]["name"], r.json["user"]["email"]), ("hedy", "hedy@example.net"))
        self.assertEqual(self.users(), users + 1)
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links l JOIN upstream_providers p "
                                    "ON p.id = l.provider_id WHERE p.name = 'gh' AND l.subject = '1006'"), 1)

    def test_presets(self):
        # Google and GitLab as data: the same flow, each preset's claims.
        # (Microsoft Entra is not here: the registry refuses an issuer
        # override with Entra's "{tenantid}" template, which a stand-in
        # for login.microsoftonline.com needs.)
        for i, provider in enumerate(("google", "gitlab")):
            with self.subTest(provider=provider):
                login = f"m{31 + i}"
                r = self.api_flow(provider, login, "m-pw")
                self.assertEqual(r.status, 201, r.text)
                self.assertEqual(r.json["user"]["email"], f"{login}@example.net")
                self.assertEqual(self.count("SELECT count(*) FROM upstream_links l JOIN upstream_providers p "
                                            f"ON p.id = l.provider_id WHERE p.name = '{provider}' "
                                            f"AND l.subject = '2{31 + i:03d}'"), 1)

    def test_redirect_start(self):
        r = self.api_start("op", redirect="1")
        self.assertEqual(r.status, 302, r.text)
        loc = r.header("Location")
        self.assertTrue(loc.startswith(self.op.issuer), loc)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
        self.assertEqual((q["client_id"], q["redirect_uri"], q["code_challenge_method"], q["response_type"]),
                         (CLIENT_ID, self.callback["acme"], "S256", "code"))
        for k in ("state", "nonce", "code_challenge"):
            self.assertGreaterEqual(len(q[k]), 43, k)

    def test_application_redirect_uri(self):
        r = self.api_start("op", redirect_uri="https://app.example/up")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["redirect_uri"], "https://app.example/up")
        back = sign_in(r.json["url"], "m30", "m-pw", "https://app.example/up")
        r = self.api_callback(callback_params(back))
        self.assertEqual(r.status, 201, r.text)
        # Anybody else's page is refused.
        r = self.api_start("op", redirect_uri="https://evil.example/cb")
        self.assertEnvelope(r, 422, "invalid")

    def test_signup_modes_and_domains(self):
        # globex: existing accounts only.
        self.refused(lambda: self.api_flow("op", "m1", "m-pw", tenant="globex"), 403, "no_account")
        # acme's "corp": verified addresses of corp.example only.
        self.refused(lambda: self.api_flow("corp", "m2", "m-pw"), 403, "domain_not_allowed")
        # acme's "invite": an invitation of the address.
        self.refused(lambda: self.api_flow("invite", "m3", "m-pw"), 403, "invitation_required")
        r = self.c.post("/api/v1/tenants/acme/invitations", json_body={"email": "m4@example.net", "role": "admin"},
                        headers={"Authorization": "Bearer " + self.admin_token("acme")})
        self.assertEqual(r.status, 201, r.text)
        r = self.api_flow("invite", "m4", "m-pw")
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json["user"]["role"], "admin")
        self.assertEqual(self.count("SELECT count(*) FROM invitations WHERE email = 'm4@example.net' "
                                    "AND accepted_usec > 0"), 1)

    # -- the JSON API: bad input ------------------------------------------------

    def test_token_misbehaviour(self):
        for i, (mode, (status, code)) in enumerate(TOKEN_MODES.items()):
            with self.subTest(mode=mode):
                login = f"m{40 + i}"
                params = self.upstream_sign_in("op", login, "m-pw")
                self.op.set_mode(mode)
                try:
                    self.refused(lambda: self.api_callback(params), status, code)
                finally:
                    self.op.set_mode("good")
                self.assertEqual(self.count(f"SELECT count(*) FROM upstream_links WHERE subject = '2{40 + i:03d}'"),
                                 0)

    def test_slow_upstream_does_not_slow_others(self):
        params = self.upstream_sign_in("op", "m5", "m-pw")
        self.op.set_mode("slow", slow_ms=60000)
        self.op.reset_stats()
        result = {}

        def slow():
            result["r"] = self.api_callback(params)
        th = threading.Thread(target=slow)
        try:
            before = (self.users(), self.links())
            th.start()
            # Once the callback waits on the provider's token endpoint (its
            # count is the signal), a password sign-in goes through while
            # it still waits (20 s, [upstream] timeout).
            for _ in range(600):
                if self.op.stats().get("token", 0) >= 1 or not th.is_alive():
                    break
                th.join(0.05)
            self.assertTrue(th.is_alive(), "the callback did not wait on the provider")
            r = Client(self.t.base_url).post("/api/v1/tenants/acme/auth/signin",
                                             json_body={"login": "olga", "password": PASSWORD})
            self.assertEqual(r.status, 200, r.text)
            self.assertTrue(th.is_alive(), "the password sign-in waited for the slow provider")
            th.join(120)
        finally:
            self.op.set_mode("good")
        self.assertEnvelope(result["r"], 504, "upstream_timeout")
        self.assertEqual((self.users(), self.links()), before)

    def test_down(self):
        # The provider goes down between the start and the callback.
        params = self.upstream_sign_in("op", "m6", "m-pw")
        self.op.set_mode("down")
        try:
            self.refused(lambda: self.api_callback(params), 502, "upstream_unavailable")
        finally:
            self.op.set_mode("good")
        # One down before anybody fetched its discovery: the start says so.
        self.op2.set_mode("down")
        try:
            self.refused(lambda: self.api_start("op2"), 502, "upstream_unavailable")
        finally:
            self.op2.set_mode("good")

    def test_state(self):
        params = self.upstream_sign_in("op", "m7", "m-pw")
        r = self.api_callback(params)
        self.assertEqual(r.status, 201, r.text)
        # Replayed.
        self.refused(lambda: self.api_callback(params), 400, "invalid_state")
        # Missing.
        self.refused(lambda: self.api_callback({"code": params["code"]}), 400, "invalid_state")
        # Made up.
        self.refused(lambda: self.api_callback({"code": "x", "state": "A" * 43}), 400, "invalid_state")
        # Another tenant's: started at acme, brought to globex.
        params = self.upstream_sign_in("op", "m8", "m-pw")
        self.refused(lambda: self.api_callback(params, tenant="globex"), 400, "invalid_state")
        # ... and gone for acme too: a state is good for one try.
        self.refused(lambda: self.api_callback(params), 400, "invalid_state")
        # The provider's refusal (the person said no).
        r = self.api_start("op")
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.json["url"]).query))["state"]
        self.refused(lambda: self.api_callback({"state": state, "error": "access_denied",
                                                "error_description": "The user said no"}), 401, "upstream_refused")
        # A state of the hosted pages is not the API's.
        b = Client(self.t.base_url)
        page, _ = self.authorize_page(b)
        start = self.start_button(b, page, "op")
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.header("Location")).query))["state"]
        self.refused(lambda: self.api_callback({"state": state, "code": "x"}), 400, "invalid_state")

    def test_state_kept_in_the_store(self):
        # Started, then the daemon restarts while the person is at the
        # provider (or the provider sends them back to another instance):
        # the flow is in the store, not in one process's memory.
        r = self.api_start("op")
        self.assertEqual(r.status, 200, r.text)
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.json["url"]).query))["state"]
        # Kept as the digest of the state only.
        digest = hashlib.sha256(state.encode()).hexdigest().upper()
        self.assertEqual(self.count(f"SELECT count(*) FROM upstream_flows WHERE {self.t.sql_hex('digest')} = "
                                    f"'{digest}'"), 1)
        self.assertEqual(self.count(f"SELECT count(*) FROM upstream_flows WHERE nonce = '{state}' OR "
                                    f"{self.t.sql_hex('digest')} = '{state.encode().hex().upper()}'"), 0)
        back = sign_in(r.json["url"], "m9", "m-pw", self.callback["acme"])
        self.t.restart_daemon()
        r = self.api_callback(callback_params(back))
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(self.count(f"SELECT count(*) FROM upstream_flows WHERE {self.t.sql_hex('digest')} = "
                                    f"'{digest}'"), 0)
        self.refused(lambda: self.api_callback(callback_params(back)), 400, "invalid_state")

    def test_unknown_provider(self):
        self.assertEnvelope(self.api_start("nope"), 404, "provider_not_found")

    # -- the hosted pages ---------------------------------------------------------

    def authorize_page(self, b):
        verifier, challenge = pkce_pair()
        q = {"client_id": self.web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
             "scope": "openid profile email", "state": "app-state", "nonce": "app-nonce",
             "code_challenge": challenge, "code_challenge_method": "S256"}
        r = b.get("/t/acme/authorize?" + urllib.parse.urlencode(q))
        self.assertEqual(r.status, 200, r.text)
        return r, verifier

    def start_button(self, b, page, provider):
        forms = dict(re.findall(r'<form method="post" action="/t/acme/upstream/([a-z0-9-]+)/start">(.*?)</form>',
                                page.text, re.S))
        self.assertIn(provider, forms)
        fields = {k: html_unescape(v) for k, v in hidden_fields(forms[provider]).items()}
        r = b.post(f"/t/acme/upstream/{provider}/start", form=fields)
        self.assertEqual(r.status, 303, r.text)
        return r

    def test_pages(self):
        b = Client(self.t.base_url)
        page, verifier = self.authorize_page(b)
        for name in ("Example OP", "GitHub"):
            self.assertIn(f"Continue with {name}", page.text)
        r = self.start_button(b, page, "op")
        back = sign_in(r.header("Location"), "m20", "m-pw", self.callback["acme"])
        r = b.get(back)
        self.assertEqual(r.status, 302, r.text)
        q = r.location_params()
        self.assertEqual(q["state"], "app-state")
        tok = Client(self.t.base_url).post("/t/acme/token", form={
            "grant_type": "authorization_code", "code": q["code"], "redirect_uri": "https://app.example/cb",
            "code_verifier": verifier}, basic=(self.web["client_id"], self.web["client_secret"]))
        self.assertEqual(tok.status, 200, tok.text)
        idt = jwt_parts(tok.json["id_token"])[1]
        self.assertEqual((idt["preferred_username"], idt["email"], idt["amr"], idt["nonce"]),
                         ("m20", "m20@example.net", ["fed"], "app-nonce"))
        # The callback again (a replay from the history): refused with a page.
        r = b.get(back)
        self.assertEqual(r.status, 400, r.text)
        self.assertIn("finished already", html_unescape(r.text))

    def test_pages_other_browser(self):
        b = Client(self.t.base_url)
        page, _ = self.authorize_page(b)
        r = self.start_button(b, page, "op")
        back = sign_in(r.header("Location"), "m21", "m-pw", self.callback["acme"])
        users = self.users()
        r = Client(self.t.base_url).get(back)   # no binding cookie: another browser
        self.assertEqual(r.status, 400, r.text)
        self.assertIn("another browser", html_unescape(r.text))
        self.assertEqual(self.users(), users)

    def test_pages_start_needs_csrf(self):
        b = Client(self.t.base_url)
        page, _ = self.authorize_page(b)
        fields = hidden_fields(page.text)
        r = b.post("/t/acme/upstream/op/start", form={"request": html_unescape(fields["request"]), "csrf": "x"})
        self.assertEqual(r.status, 403, r.text)

    def test_pages_provider_down(self):
        b = Client(self.t.base_url)
        page, _ = self.authorize_page(b)
        r = self.start_button(b, page, "op")
        back = sign_in(r.header("Location"), "m22", "m-pw", self.callback["acme"])
        audits = self.audits()
        self.op.set_mode("down")
        try:
            r = b.get(back)
        finally:
            self.op.set_mode("good")
        self.assertEqual(r.status, 502, r.text)
        self.assertIn("Example OP", html_unescape(r.text))
        self.assertGreater(self.audits(), audits)

    def test_pages_link_proof(self):
        # grace's address is an account's; "strict" links by proof only.
        b = Client(self.t.base_url)
        page, verifier = self.authorize_page(b)
        r = self.start_button(b, page, "strict")
        back = sign_in(r.header("Location"), "grace", "grace-pw", self.callback["acme"])
        r = b.get(back)
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("Link your account", r.text)
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links WHERE subject = '1007'"), 0)
        # A wrong password: no link, another try.
        fields = {k: html_unescape(v) for k, v in hidden_fields(r.text).items()}
        r = b.post("/t/acme/upstream/link", form={**fields, "password": "wrong"})
        self.assertEqual(r.status, 401, r.text)
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links WHERE subject = '1007'"), 0)
        fields2 = {k: html_unescape(v) for k, v in hidden_fields(r.text).items()}
        # The old ticket is spent.
        r2 = b.post("/t/acme/upstream/link", form={**fields, "password": PASSWORD})
        self.assertEqual(r2.status, 400, r2.text)
        r = b.post("/t/acme/upstream/link", form={**fields2, "password": PASSWORD})
        self.assertEqual(r.status, 303, r.text)
        q = r.location_params()
        tok = Client(self.t.base_url).post("/t/acme/token", form={
            "grant_type": "authorization_code", "code": q["code"], "redirect_uri": "https://app.example/cb",
            "code_verifier": verifier}, basic=(self.web["client_id"], self.web["client_secret"]))
        idt = jwt_parts(tok.json["id_token"])[1]
        self.assertEqual((idt["preferred_username"], idt["amr"]), ("grace", ["fed", "pwd"]))
        self.assertEqual(self.count("SELECT count(*) FROM upstream_links l JOIN users u ON u.id = l.user_id "
                                    "WHERE u.name = 'grace' AND l.subject = '1007'"), 1)


if __name__ == "__main__":
    unittest.main()
