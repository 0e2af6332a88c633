#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End-user sign-up into an existing tenant over the JSON API, against the
real daemon: POST /api/v1/tenants/{tenant}/auth/signup creates a member
account where the tenant's open_signup setting is on, signs it in (the
token usable at once) and mails a verification link; refused with 403
signup_closed where it is off. Its bad input (taken e-mail address and user
name, weak passwords, unknown fields, wrong types, malformed JSON), each
with nothing half-written, and its limit per client address (429 with
Retry-After, audited)."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, jwt_parts  # noqa: E402

PASSWORD = "correct horse battery"
PATH = "/api/v1/tenants/{}/auth/signup"


class Base(unittest.TestCase):
    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(r.header("Content-Type"), "application/json")
        body = r.json
        self.assertEqual(set(body), {"error", "code", "details"}, body)
        self.assertEqual(body["code"], code, body)
        if field is not None:
            self.assertEqual(body["details"].get("field"), field, body)
        return body

    def signup(self, body, tenant="acme", c=None, raw=None):
        c = c or self.c
        if raw is not None:
            return c.request("POST", PATH.format(tenant), data=raw, headers={"Content-Type": "application/json"})
        return c.request("POST", PATH.format(tenant), json_body=body)

    def audit(self, action, result, tenant=None):
        where = f"action = '{action}' AND result = '{result}'"
        if tenant:
            where += f" AND tenant = '{tenant}'"
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])

    def users_with(self, email):
        return int(self.t.sqlite(f"SELECT count(*) FROM users WHERE email = '{email}'")[0][0])


class SignupMemberTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera-signup-member-")
        cls.outbox = os.path.join(cls.dir, "outbox")
        os.makedirs(cls.outbox)
        # The site's sign-up stays closed (the default): only tenants that
        # open their own are open.
        cls.t = Tessera(config_extra=f"[mail]\nfrom = noreply@tessera.test\noutbox_directory = {cls.outbox}\n"
                                     "[limits]\nsignup_burst = 1000\n").start()
        t = cls.t
        t.ctl("tenant", "create", "acme", "--display-name", "Acme Corp", check=True)
        t.ctl("tenant", "create", "closed", check=True)
        t.ctl("tenant", "set", "acme", "--open-signup", "yes", check=True)
        t.ctl("user", "add", "alice@acme", "--email", "alice@acme.example", "--password-stdin",
              input=PASSWORD + "\n", check=True)
        cls.c = Client(t.base_url)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def test_signup_signs_in_and_mails(self):
        r = self.signup({"email": "Jane.Doe@example.com", "password": PASSWORD, "name": "Jane Doe"})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        body = r.json
        self.assertEqual(body["status"], "signed_in")
        self.assertEqual(body["user"]["name"], "jane_doe")
        self.assertEqual(body["user"]["role"], "member")
        self.assertEqual(body["user"]["real_name"], "Jane Doe")
        self.assertIs(body["user"]["email_verified"], False)
        self.assertEqual(body["tenant"], {"id": "acme", "slug": "acme", "name": "Acme Corp"})
        claims = jwt_parts(body["session"]["token"])[1]
        self.assertEqual(claims["iss"], self.t.issuer("acme"))
        self.assertEqual(claims["sub"], body["user"]["id"])

        # The token works at once; so does the password, by sign-in.
        me = self.c.get("/api/v1/tenants/acme/me", headers={"Authorization": "Bearer " + body["session"]["token"]})
        self.assertEqual(me.status, 200, me.text)
        self.assertEqual(me.json["email"], "Jane.Doe@example.com")
        r = self.c.post("/api/v1/tenants/acme/auth/signin", json_body={"login": "jane_doe", "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["user"]["role"], "member")

        # The verification mail went out with the account.
        rows = self.t.sqlite("SELECT template, tenant FROM outbox WHERE recipient = 'Jane.Doe@example.com'")
        self.assertEqual(rows, [["verify-email", "acme"]])
        self.assertGreaterEqual(self.audit("account.signup-member", "success", "acme"), 1)
        # A member, in the tenant, with a uid of its slice, on the host too.
        self.assertEqual(self.t.sqlite("SELECT u.role FROM users u JOIN tenants t ON t.id = u.tenant_id "
                                       "WHERE t.slug = 'acme' AND u.name = 'jane_doe'"), [["member"]])

    def test_closed_tenant(self):
        r = self.signup({"email": "eve@example.com", "password": PASSWORD, "name": "Eve"}, tenant="closed")
        body = self.assertEnvelope(r, 403, "signup_closed")
        self.assertIn("closed", body["error"])
        self.assertEqual(self.users_with("eve@example.com"), 0)
        self.assertGreaterEqual(self.audit("account.signup-member", "denied", "closed"), 1)
        # Closing an open tenant closes it at once; opening it again opens it.
        self.t.ctl("tenant", "set", "closed", "--open-signup", "yes", check=True)
        r = self.signup({"email": "eve@example.com", "password": PASSWORD, "name": "Eve"}, tenant="closed")
        self.assertEqual(r.status, 201, r.text)
        self.t.ctl("tenant", "set", "closed", "--open-signup", "no", check=True)
        r = self.signup({"email": "mallory@example.com", "password": PASSWORD, "name": "M"}, tenant="closed")
        self.assertEnvelope(r, 403, "signup_closed")

    def test_unknown_tenant(self):
        r = self.signup({"email": "x@example.com", "password": PASSWORD, "name": "X"}, tenant="nope")
        self.assertEnvelope(r, 404, "unknown_tenant")

    def test_taken_email_and_name(self):
        r = self.signup({"email": "ALICE@acme.example", "password": PASSWORD, "name": "Alice Again"})
        self.assertEnvelope(r, 409, "email_taken", "email")
        self.assertEqual(int(self.t.sqlite("SELECT count(*) FROM users WHERE name LIKE 'alice%'")[0][0]), 1)
        # A name asked for that is taken is a conflict of its own...
        r = self.signup({"email": "al@other.example", "password": PASSWORD, "name": "Al", "user_name": "alice"})
        self.assertEnvelope(r, 409, "user_name_taken", "user_name")
        self.assertEqual(self.users_with("al@other.example"), 0)
        # ...one made from the address gets a number instead.
        r = self.signup({"email": "alice@other.example", "password": PASSWORD, "name": "Another Alice"})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json["user"]["name"], "alice2")

    def test_weak_password(self):
        for weak in ("short", "password1", "bbbbbbbbbbbbbbbb", "weakling@example.com"):
            r = self.signup({"email": "weakling@example.com", "password": weak, "name": "Weak"})
            self.assertEnvelope(r, 422, "weak_password", "password")
        self.assertEqual(self.users_with("weakling@example.com"), 0)
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM outbox WHERE recipient = 'weakling@example.com'"),
                         [["0"]])

    def test_bad_input(self):
        good = {"email": "bad@example.com", "password": PASSWORD, "name": "Bad"}
        self.assertEnvelope(self.signup(None, raw=b'{"email": '), 400, "malformed_json")
        self.assertEnvelope(self.signup({**good, "role": "owner"}), 422, "unknown_field", "role")
        self.assertEnvelope(self.signup({**good, "organization_name": "X"}), 422, "unknown_field",
                            "organization_name")
        self.assertEnvelope(self.signup({**good, "name": 7}), 422, "wrong_type", "name")
        self.assertEnvelope(self.signup({k: v for k, v in good.items() if k != "name"}), 422, "missing_field", "name")
        self.assertEnvelope(self.signup({**good, "email": "not-an-address"}), 422, "invalid", "email")
        self.assertEnvelope(self.signup({**good, "email": "a" * 300 + "@x.example"}), 422, "too_long", "email")
        self.assertEnvelope(self.signup({**good, "name": "two\nlines"}), 422, "invalid", "name")
        self.assertEnvelope(self.signup({**good, "user_name": "Not Valid"}), 422, "invalid", "user_name")
        self.assertEqual(self.users_with("bad@example.com"), 0)


class SignupMemberLimitTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(config_extra="[limits]\nsignup_burst = 2\nsignup_rate = 1/h\n").start()
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("tenant", "set", "acme", "--open-signup", "yes", check=True)
        cls.c = Client(cls.t.base_url)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def test_limit_per_address(self):
        c = Client(self.t.base_url, source="127.0.0.2")
        # Every attempt counts, a refused one too.
        r = self.signup({"email": "one@example.com", "password": PASSWORD, "name": "One"}, c=c)
        self.assertEqual(r.status, 201, r.text)
        r = self.signup({"email": "two@example.com", "password": "weak", "name": "Two"}, c=c)
        self.assertEnvelope(r, 422, "weak_password", "password")
        r = self.signup({"email": "three@example.com", "password": PASSWORD, "name": "Three"}, c=c)
        self.assertEnvelope(r, 429, "rate_limited")
        self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        self.assertEqual(r.json["details"]["retry_after"], int(r.header("Retry-After")))
        self.assertEqual(self.users_with("three@example.com"), 0)
        self.assertEqual(self.audit("account.signup-member", "denied"), 1)
        # Another address is not limited by it.
        r = self.signup({"email": "four@example.com", "password": PASSWORD, "name": "Four"},
                        c=Client(self.t.base_url, source="127.0.0.3"))
        self.assertEqual(r.status, 201, r.text)


if __name__ == "__main__":
    unittest.main()
