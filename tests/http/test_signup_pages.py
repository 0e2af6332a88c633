#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The sign-up pages against the real daemon: /signup (a new organization
and its owner, the page form of POST /api/v1/signup) and /t/{tenant}/signup
(an account in a tenant whose open_signup is on). Each is a form with a
CSRF token bound to the browser, served without framing, referrer or
script; a good form signs the browser in (the SSO session cookie of the
tenant, which the OpenID sign-in then takes without a password) and says
to confirm the address, mailed with the account; a closed sign-up is a page
that says so; bad input is the form again with the error; the limit per
address is shared with the JSON routes."""

import json
import os
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402

PASSWORD = "correct horse battery"


def form_of(page):
    return {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}


class Base(unittest.TestCase):
    config = ""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera-signup-pages-")
        cls.outbox = os.path.join(cls.dir, "outbox")
        os.makedirs(cls.outbox)
        cls.t = Tessera(config_extra=f"[mail]\nfrom = noreply@tessera.test\noutbox_directory = {cls.outbox}\n"
                                     + cls.config).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", "--display-name", "Acme Corp", check=True)
        t.ctl("tenant", "create", "closed", check=True)
        t.ctl("tenant", "set", "acme", "--open-signup", "yes", check=True)
        t.ctl("tenant", "set", "closed", "--open-signup", "no", check=True)
        cls.web = json.loads(t.ctl("--json", "app", "create", "web@acme", "--redirect-uri", "https://app.example/cb",
                                   "--first-party", check=True).stdout)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def assertPage(self, r, status):
        self.assertEqual(r.status, status, r.text[:400])
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
        self.assertIn("frame-ancestors 'none'", r.header("Content-Security-Policy"))
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertNotIn("<script", r.text)

    def authorize(self, b):
        verifier, challenge = pkce_pair()
        q = {"client_id": self.web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
             "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
        return b.get("/t/acme/authorize?" + urllib.parse.urlencode(q))

    def users_with(self, email):
        return int(self.t.sqlite(f"SELECT count(*) FROM users WHERE email = '{email}'")[0][0])

    def cookies(self, b):
        return {(c.name, c.path): c.value for c in b.jar}


class TenantSignupPageTest(Base):
    config = "[limits]\nsignup_burst = 1000\n"

    def test_link_from_signin_only_when_open(self):
        self.assertIn('<a href="/t/acme/signup">Sign up</a>', self.authorize(Client(self.t.base_url)).text)
        self.t.ctl("tenant", "set", "acme", "--open-signup", "no", check=True)
        try:
            self.assertNotIn("/t/acme/signup", self.authorize(Client(self.t.base_url)).text)
            r = Client(self.t.base_url).get("/t/acme/signup")
            self.assertPage(r, 403)
            self.assertIn("Sign-up is closed", r.text)
        finally:
            self.t.ctl("tenant", "set", "acme", "--open-signup", "yes", check=True)

    def test_sign_up_through_the_page(self):
        b = Client(self.t.base_url)
        page = b.get("/t/acme/signup")
        self.assertPage(page, 200)
        self.assertIn("<h1>Create your account</h1>", page.text)
        self.assertIn("Acme Corp", page.text)
        form = form_of(page)
        self.assertEqual(set(form), {"csrf"})
        good = {**form, "name": "Page Person", "email": "page.person@example.com", "password": PASSWORD,
                "password2": PASSWORD}

        # Without the CSRF token, or from another browser: refused, nothing made.
        self.assertPage(b.post("/t/acme/signup", form={**good, "csrf": "x"}), 403)
        self.assertPage(Client(self.t.base_url).post("/t/acme/signup", form=good), 403)
        # Two passwords that differ, a weak one: the form again, values kept
        # (escaped), the error shown.
        r = b.post("/t/acme/signup", form={**good, "password2": "something else", "name": "<b>Page</b>"})
        self.assertPage(r, 400)
        self.assertIn("The two passwords are not the same.", r.text)
        self.assertIn('value="&lt;b&gt;Page&lt;/b&gt;"', r.text)
        r = b.post("/t/acme/signup", form={**good, "password": "password1", "password2": "password1"})
        self.assertPage(r, 422)
        self.assertIn('class="error"', r.text)
        self.assertEqual(self.users_with("page.person@example.com"), 0)

        # Signed up: signed in to the tenant, told to confirm the address.
        r = b.post("/t/acme/signup", form=good)
        self.assertPage(r, 200)
        self.assertIn("<h1>Welcome</h1>", r.text)
        self.assertIn("page_person", r.text)
        self.assertIn("confirm your e-mail address", r.text)
        self.assertIn(("tessera_session", "/t/acme/"), self.cookies(b))
        self.assertEqual(self.t.sqlite("SELECT u.role, u.email_verified FROM users u "
                                       "WHERE u.email = 'page.person@example.com'"), [["member", "0"]])
        self.assertEqual(self.t.sqlite("SELECT template FROM outbox WHERE recipient = 'page.person@example.com'"),
                         [["verify-email"]])
        # The session is the OpenID provider's: the app's sign-in goes
        # through without a password.
        r = self.authorize(b)
        self.assertEqual(r.status, 302, r.text[:300])
        self.assertIn("code", r.location_params())

        # The same address again: a conflict, on the form.
        r = b.post("/t/acme/signup", form=good)
        self.assertPage(r, 409)
        self.assertIn('class="error"', r.text)
        self.assertEqual(self.users_with("page.person@example.com"), 1)

    def test_closed_tenant(self):
        r = Client(self.t.base_url).get("/t/closed/signup")
        self.assertPage(r, 403)
        self.assertIn("Sign-up is closed", r.text)
        # A form from an open moment does not get through once it is closed.
        self.t.ctl("tenant", "set", "closed", "--open-signup", "yes", check=True)
        b = Client(self.t.base_url)
        form = form_of(b.get("/t/closed/signup"))
        self.t.ctl("tenant", "set", "closed", "--open-signup", "no", check=True)
        r = b.post("/t/closed/signup", form={**form, "name": "Late", "email": "late@example.com",
                                             "password": PASSWORD, "password2": PASSWORD})
        self.assertPage(r, 403)
        self.assertEqual(self.users_with("late@example.com"), 0)


class SiteSignupPageTest(Base):
    config = "[auth]\nopen_signup = yes\n[limits]\nsignup_burst = 3\nsignup_rate = 1/h\n"

    def test_organization_signup(self):
        b = Client(self.t.base_url, source="127.0.0.2")
        page = b.get("/signup")
        self.assertPage(page, 200)
        self.assertIn("<h1>Create your organization</h1>", page.text)
        self.assertIn(("tessera_binding", "/signup"), self.cookies(b))
        form = form_of(page)
        good = {**form, "organization": "Initrode Ltd", "name": "Bill Lumbergh", "email": "bill@initrode.example",
                "password": PASSWORD, "password2": PASSWORD}
        self.assertPage(b.post("/signup", form={**good, "csrf": "nope"}), 403)
        r = b.post("/signup", form=good)
        self.assertPage(r, 200)
        self.assertIn("You are signed in to Initrode Ltd as bill.", r.text)
        # Signed in to the new tenant; its owner; the mail queued.
        self.assertIn(("tessera_session", "/t/initrode-ltd/"), self.cookies(b))
        self.assertEqual(self.t.sqlite("SELECT u.role FROM users u JOIN tenants t ON t.id = u.tenant_id "
                                       "WHERE t.slug = 'initrode-ltd'"), [["owner"]])
        self.assertEqual(self.t.sqlite("SELECT template, tenant FROM outbox WHERE recipient = 'bill@initrode.example'"),
                         [["verify-email", "initrode-ltd"]])
        # The same organization again: the form, with the core's message.
        r = b.post("/signup", form={**good, "email": "other@initrode.example"})
        self.assertPage(r, 409)
        self.assertIn("This organization&#39;s name is taken", r.text)
        # Over the limit of the address (shared with POST /api/v1/signup):
        # the page says so, with Retry-After.
        r = b.post("/signup", form={**good, "organization": "Third", "email": "third@initrode.example"})
        self.assertEqual(r.status, 200, r.text[:300])
        r = b.post("/signup", form={**good, "organization": "Fourth", "email": "fourth@initrode.example"})
        self.assertPage(r, 429)
        self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM tenants WHERE slug = 'fourth'"), [["0"]])


class SiteSignupClosedTest(Base):
    def test_closed(self):
        r = Client(self.t.base_url).get("/signup")
        self.assertPage(r, 403)
        self.assertIn("Sign-up is closed on this server", r.text)
        r = Client(self.t.base_url).post("/signup", form={"csrf": "x", "organization": "X", "name": "X",
                                                          "email": "x@example.com", "password": PASSWORD,
                                                          "password2": PASSWORD})
        self.assertPage(r, 403)
        self.assertEqual(self.t.sqlite("SELECT count(*) FROM tenants WHERE slug = 'x'"), [["0"]])


if __name__ == "__main__":
    unittest.main()
