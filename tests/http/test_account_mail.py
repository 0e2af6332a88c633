#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""E-mail verification and password reset against the real tesserad, with
the mails taken from a real SMTP server on loopback (aiosmtpd): the JSON
routes under /api/v1/tenants/{tenant}/auth/ and the pages a mailed link
opens. A reset sets the password, ends every session and refresh family
(an OIDC refresh token and access token stop working) and is audited;
tokens are single-use, expire, and are refused in another tenant; "forgot"
answers the same, in the same time, for accounts that exist and that do
not; a relay that is down keeps the mail in the outbox until it is back,
across a restart too; the limits answer 429 with Retry-After;
email_verified follows into ID tokens and userinfo."""

import gc
import http.client
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_server import SmtpServer, free_port, python_with_aiosmtpd  # noqa: E402
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, jwt_parts, pkce_pair  # noqa: E402

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a new staple for the horse"
FROM = "noreply@example.com"
# Tries of each kind for the time of "forgot": enough that the medians
# hold still on a busy machine.
TIMING_TRIES = 80
TIMING_ROUNDS = 5
FORGOT_ANSWER = {"message": "If an account exists, a reset email has been sent."}
LINK = re.compile(r"(https?://\S+/t/([a-z0-9-]+)/(reset-password|verify-email)\?token=([A-Za-z0-9_-]+))")


# Room for every request of a class, but for the class about the limits.
NO_LIMITS = "mail_address_burst = 10000\nmail_account_burst = 10000\n"# The work behind "forgot" starts this long (ms) after the answer: soon,
# so that the tests wait little, and still well after any answer is read.
FORGOT_DELAY = 20


def mail_config(relay, limits=""):
    return (f"[auth]\nforgot_delay = {FORGOT_DELAY}\nopen_signup = yes\n"
            f"[mail]\nfrom = {FROM}\nrelay = {relay}\nretry_initial = 1\nretry_max = 2\n"
            f"[limits]\n{limits or NO_LIMITS}\n")


def wait_for(what, predicate, timeout=60.0, daemon=None):
    """Polls a state the daemon writes until it holds; gives up at once when
    the daemon died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if daemon and daemon.daemon and daemon.daemon.poll() is not None:
            raise AssertionError(f"tesserad exited while waiting for {what}:\n{daemon.log()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def link_of(received):
    """The link of a received mail: (url, tenant, page, token), from the text
    part; the HTML part carries the same link."""
    text = received.part("text/plain")
    m = LINK.search(text)
    if not m:
        raise AssertionError(f"no link in the mail:\n{text}")
    html = received.part("text/html")
    assert m.group(4) in html, "the HTML part lacks the token"
    return m.group(1), m.group(2), m.group(3), m.group(4)


class Base(unittest.TestCase):
    """One daemon with a relay for the class, users in two tenants."""

    limits = ""
    relay_up = True

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera-account-mail-")
        os.chmod(cls.dir, 0o755)
        cls.port = free_port()
        cls.relay = None
        cls.stash = {}
        if cls.relay_up:
            cls.relay = SmtpServer(os.path.join(cls.dir, "smtp"), port=cls.port).start()
        cls.t = Tessera(directory=os.path.join(cls.dir, "tessera"),
                        config_extra=mail_config(f"smtp://127.0.0.1:{cls.port}", cls.limits)).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", "--display-name", "Acme Corp", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for name in cls.users():
            t.ctl("user", "add", f"{name}@acme", "--real-name", name.title(), "--email", f"{name}@acme.example",
                  "--password-stdin", input=PASSWORD + "\n", check=True)
        cls.web = json.loads(t.ctl("--json", "app", "create", "web@acme", "--redirect-uri", "https://app.example/cb",
                                   "--first-party", check=True).stdout)

    @classmethod
    def users(cls):
        return ()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.t.close()
        finally:
            if cls.relay:
                cls.relay.stop()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def api(self, method, path, body=None, headers=None, client=None, raw=None):
        c = client or Client(self.t.base_url)
        if raw is not None:
            return c.request(method, path, data=raw, headers={"Content-Type": "application/json", **(headers or {})})
        return c.request(method, path, json_body=body if body is not None else None, headers=headers)

    def forgot(self, email, tenant="acme", client=None):
        return self.api("POST", f"/api/v1/tenants/{tenant}/auth/forgot", {"email": email}, client=client)

    def reset(self, token, password=NEW_PASSWORD, tenant="acme", client=None):
        return self.api("POST", f"/api/v1/tenants/{tenant}/auth/reset", {"token": token, "new_password": password},
                        client=client)

    def mail_to(self, address):
        """The next mail to address. The class shares one relay, and mails
        come in when the sender gets to them: those for others are kept
        for the tests that wait for them."""
        stash = self.__class__.stash
        while not stash.get(address):
            got = self.relay.wait_message()
            self.assertIsNotNone(got, f"no mail for {address} arrived")
            self.assertEqual(len(got.rcpt_tos), 1)
            stash.setdefault(got.rcpt_tos[0], []).append(got)
        return stash[address].pop(0)

    def audit(self, action):
        return self.t.sqlite(f"SELECT result, target, COALESCE(details, ''), count FROM audit_events "
                             f"WHERE action = '{action}' ORDER BY id")

    def db_write(self, sql):
        """A change behind the daemon's back (to make a token old): the
        real database file, with a busy timeout while the daemon writes."""
        self.t.db_write(sql)

    # -- the OpenID provider, as a browser signs in --------------------------------

    def sign_in(self, login, password=PASSWORD):
        """Signs in through the provider's pages; returns the token response."""
        c = Client(self.t.base_url)
        verifier, challenge = pkce_pair()
        q = {"client_id": self.web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
             "scope": "openid profile email offline_access", "state": "s", "nonce": "n",
             "code_challenge": challenge, "code_challenge_method": "S256"}
        page = c.get("/t/acme/authorize?" + urllib.parse.urlencode(q))
        self.assertEqual(page.status, 200, page.text[:300])
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        r = c.post("/t/acme/login", form={**form, "login": login, "password": password})
        if r.status != 303:
            return None
        code = r.location_params()["code"]
        tok = Client(self.t.base_url).post("/t/acme/token", form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example/cb",
            "code_verifier": verifier}, basic=(self.web["client_id"], self.web["client_secret"]))
        self.assertEqual(tok.status, 200, tok.text)
        return tok.json

    def refresh(self, refresh_token):
        return Client(self.t.base_url).post("/t/acme/token", form={
            "grant_type": "refresh_token", "refresh_token": refresh_token},
            basic=(self.web["client_id"], self.web["client_secret"]))

    def userinfo(self, access_token):
        return Client(self.t.base_url).get("/t/acme/userinfo", headers={"Authorization": "Bearer " + access_token})


@unittest.skipUnless(python_with_aiosmtpd(), "python3-aiosmtpd is missing (tools/install-deps installs it)")
class ResetTest(Base):
    @classmethod
    def users(cls):
        return ("alice", "bob", "carol", "dave", "erin", "frank", "gwen")

    def test_reset_sets_password_and_ends_every_session(self):
        # alice is signed in twice: two sessions, two refresh families.
        first, second = self.sign_in("alice"), self.sign_in("alice")
        self.assertEqual(self.userinfo(first["access_token"]).status, 200)

        r = self.forgot("alice@acme.example")
        self.assertEqual((r.status, r.json), (200, FORGOT_ANSWER))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        got = self.mail_to("alice@acme.example")
        self.assertEqual(got.mail_from, FROM)
        self.assertIn("Acme Corp", got.message["Subject"])
        url, tenant, page, token = link_of(got)
        self.assertEqual((tenant, page), ("acme", "reset-password"))
        self.assertTrue(url.startswith(self.t.base_url + "/t/acme/reset-password?token="), url)
        # Only the digest is stored.
        self.assertEqual(self.t.sqlite(f"SELECT COUNT(*) FROM account_tokens WHERE digest = '{token}' "
                                       f"OR CAST(digest AS TEXT) = '{token}'"), [["0"]])
        self.assertEqual(self.t.sqlite("SELECT length(digest), purpose FROM account_tokens a JOIN users u "
                                       "ON u.id = a.user_id WHERE u.name = 'alice'"), [["32", "reset-password"]])

        r = self.reset(token)
        self.assertEqual((r.status, r.json), (200, {"message": "Password reset successfully."}), r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")

        # Every session and refresh family ended: refresh tokens refused,
        # access tokens refused at once.
        for tok in (first, second):
            rr = self.refresh(tok["refresh_token"])
            self.assertEqual(rr.status, 400, rr.text)
            self.assertEqual(rr.json["error"], "invalid_grant")
            self.assertEqual(self.userinfo(tok["access_token"]).status, 401)
        # The new password signs in, the old one does not.
        self.assertIsNone(self.sign_in("alice", PASSWORD))
        self.assertIsNotNone(self.sign_in("alice", NEW_PASSWORD))

        # Single use.
        again = self.reset(token, "yet another long password")
        self.assertEqual((again.status, again.json["code"]), (400, "invalid_token"), again.text)
        self.assertIsNotNone(self.sign_in("alice", NEW_PASSWORD))

        # Audited: the request (the truth the answer hides) and the reset.
        self.assertIn(["success", "alice@acme", '{"mail":"queued"}', "1"], self.audit("auth.forgot"))
        resets = self.audit("auth.reset-password")
        self.assertIn(["success", "alice@acme", '{"host_sessions":[],"sessions":"ended"}', "1"], resets)
        # The second use was refused, and that is on record too.
        self.assertTrue(any(row[0] != "success" for row in resets), resets)

    def test_expired_token(self):
        r = self.forgot("bob@acme.example")
        self.assertEqual(r.status, 200)
        token = link_of(self.mail_to("bob@acme.example"))[3]
        # The default lifetime: 30 minutes.
        created, expires = map(int, self.t.sqlite(
            "SELECT a.created_usec, a.expires_usec FROM account_tokens a JOIN users u ON u.id = a.user_id "
            "WHERE u.name = 'bob' AND purpose = 'reset-password'")[0])
        self.assertEqual(expires - created, 30 * 60 * 1000000)
        # Thirty minutes later (the clock of the row moved back instead).
        self.db_write("UPDATE account_tokens SET created_usec = created_usec - 1800000001, "
                      "expires_usec = expires_usec - 1800000001")
        r = self.reset(token)
        self.assertEqual((r.status, r.json["code"]), (400, "expired_token"), r.text)
        self.assertIsNotNone(self.sign_in("bob", PASSWORD), "an expired token changed the password")

    def test_foreign_tenant_and_wrong_purpose(self):
        r = self.forgot("carol@acme.example")
        self.assertEqual(r.status, 200)
        token = link_of(self.mail_to("carol@acme.example"))[3]
        # Another tenant's route: refused as unknown, and not used up.
        r = self.reset(token, tenant="globex")
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_token"), r.text)
        # A reset token is no verification token.
        r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_token"), r.text)
        # Made-up and malformed tokens: the same answer.
        for bad in ("A" * 43, "not a token!", ""):
            r = self.reset(bad)
            self.assertEqual((r.status, r.json["code"]), (400, "invalid_token"), r.text)
        # In its own tenant it still works.
        r = self.reset(token)
        self.assertEqual(r.status, 200, r.text)
        self.assertIsNotNone(self.sign_in("carol", NEW_PASSWORD))

    def test_weak_password_keeps_the_token(self):
        r = self.forgot("dave@acme.example")
        self.assertEqual(r.status, 200)
        token = link_of(self.mail_to("dave@acme.example"))[3]
        r = self.reset(token, "short")
        self.assertEqual((r.status, r.json["code"], r.json["details"]["field"]),
                         (422, "weak_password", "new_password"), r.text)
        r = self.reset(token, "dave")
        self.assertEqual(r.status, 422)
        r = self.reset(token)
        self.assertEqual(r.status, 200, r.text)

    def test_bad_input(self):
        path = "/api/v1/tenants/acme/auth/forgot"
        cases = [
            (self.api("POST", path, raw=b"{not json"), 400, "malformed_json"),
            (self.api("POST", path, {"email": "x@y.example", "extra": 1}), 422, "unknown_field"),
            (self.api("POST", path, {"email": 5}), 422, "wrong_type"),
            (self.api("POST", path, {}), 422, "missing_field"),
            (self.api("POST", path, {"email": "a" * 400 + "@x.example"}), 422, "too_long"),
            (self.api("POST", path, {"email": "no-at-sign"}), 422, "invalid"),
            (self.api("POST", "/api/v1/tenants/acme/auth/reset", {"token": "x"}), 422, "missing_field"),
            (self.api("POST", "/api/v1/tenants/nosuch/auth/forgot", {"email": "x@y.example"}), 404,
             "unknown_tenant"),
        ]
        for r, status, code in cases:
            self.assertEqual((r.status, r.json["code"]), (status, code), r.text)
            self.assertEqual(set(r.json), {"error", "code", "details"})
        r = self.api("GET", path)
        self.assertEqual(r.status, 405)

    def test_forgot_same_answer_same_time(self):
        host, port = self.t.base_url.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.addCleanup(conn.close)

        def scalar(sql):
            return int(self.t.sqlite(sql)[0][0])

        def audited():
            return scalar("SELECT COALESCE(SUM(count), 0) FROM audit_events WHERE action = 'auth.forgot'")

        def forgot_timed(email):
            before = audited()
            body = json.dumps({"email": email})
            # The test's own garbage (parsed mails) is not collected while
            # a try is timed.
            gc.collect()
            start = time.perf_counter()
            conn.request("POST", "/api/v1/tenants/acme/auth/forgot", body=body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            elapsed = time.perf_counter() - start
            # The work behind the answer (the audit event, the mail and its
            # delivery) is done before the next try, so that no try pays
            # for the one before: what is measured is the answer alone.
            wait_for("the request's audit event", lambda: audited() > before, daemon=self.t)
            wait_for("an empty outbox", lambda: scalar("SELECT COUNT(*) FROM outbox WHERE state = 'queued'") == 0,
                     daemon=self.t)
            # What follows a delivery has no signal to wait for (the relay
            # process closing its connection, the daemon's WAL checkpoint):
            # a moment for it, the same after every try, so that each try
            # starts on a machine at rest. This is no timed assertion.
            time.sleep(0.1)
            headers = sorted(k.lower() for k in r.headers.keys() if k.lower() not in ("date", "x-request-id"))
            return (r.status, data, r.getheader("Content-Type"), r.getheader("Cache-Control"), headers), elapsed

        def measure_round(seed):
            known, unknown = [], []
            rng = random.Random(seed)
            for _ in range(TIMING_TRIES):
                # Interleaved in a random order, so that any drift of the
                # machine (other work on it) hits both alike.
                pair = [("erin@acme.example", known), ("nobody@acme.example", unknown)]
                rng.shuffle(pair)
                answers = []
                for email, times in pair:
                    answer, elapsed = forgot_timed(email)
                    answers.append(answer)
                    times.append(elapsed)
                self.assertEqual(answers[0], answers[1])
                self.assertEqual((answers[0][0], json.loads(answers[0][1])), (200, FORGOT_ANSWER))
            return statistics.median(known), statistics.median(unknown)

        gc.disable()
        self.addCleanup(gc.enable)
        # This machine is shared: a round that other work disturbed (its
        # medians apart by a burst of load on one side) is measured again,
        # up to TIMING_ROUNDS rounds. A real difference fails every round.
        rounds = []
        for seed in range(TIMING_ROUNDS):
            mk, mu = measure_round(seed)
            rounds.append((mk, mu))
            print(f"forgot: median known {mk * 1000:.3f} ms, unknown {mu * 1000:.3f} ms", file=sys.stderr)
            if abs(mk - mu) / max(mk, mu) < 0.10:
                break
        else:
            self.fail(f"the medians of known and unknown differ by 10 % or more in every round: {rounds}")
        sent = TIMING_TRIES * len(rounds)
        # Every known request sent a mail; the unknown ones none.
        for _ in range(sent):
            self.mail_to("erin@acme.example")
        self.assertEqual(self.t.sqlite("SELECT COUNT(*) FROM outbox WHERE recipient = 'erin@acme.example'"),
                         [[str(sent)]])
        self.assertEqual(self.t.sqlite("SELECT COUNT(*) FROM outbox WHERE recipient LIKE 'nobody%'"), [["0"]])
        rows = self.audit("auth.forgot")
        self.assertTrue(any(r[0] == "failure" and r[1] == "nobody@acme.example" and r[2] == '{"mail":"unknown"}'
                            for r in rows), rows)

    def test_reset_pages(self):
        r = self.forgot("frank@acme.example")
        self.assertEqual(r.status, 200)
        url = link_of(self.mail_to("frank@acme.example"))[0]
        b = Client(self.t.base_url)
        page = b.get(url)
        self.assertEqual(page.status, 200, page.text[:300])
        self.assertIn("Choose a new password", page.text)
        self.assertEqual(page.header("Referrer-Policy"), "no-referrer")
        self.assertIn("frame-ancestors 'none'", page.header("Content-Security-Policy"))
        self.assertEqual(page.header("Cache-Control"), "no-store")
        self.assertNotIn("<script", page.text)
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        self.assertEqual(set(form), {"csrf", "token"})

        # Without the CSRF token, or from another browser: refused.
        r = b.post("/t/acme/reset-password", form={**form, "csrf": "x", "password": NEW_PASSWORD,
                                                   "password2": NEW_PASSWORD})
        self.assertEqual(r.status, 403)
        r = Client(self.t.base_url).post("/t/acme/reset-password", form={**form, "password": NEW_PASSWORD,
                                                                         "password2": NEW_PASSWORD})
        self.assertEqual(r.status, 403)
        # Two different passwords: the form again.
        r = b.post("/t/acme/reset-password", form={**form, "password": NEW_PASSWORD, "password2": "other"})
        self.assertEqual(r.status, 400)
        self.assertIn("not the same", r.text)
        # A weak one: the form again, the link still good.
        r = b.post("/t/acme/reset-password", form={**form, "password": "short", "password2": "short"})
        self.assertEqual(r.status, 422)
        r = b.post("/t/acme/reset-password", form={**form, "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
        self.assertEqual(r.status, 200, r.text[:300])
        self.assertIn("Your password is set", r.text)
        self.assertIsNotNone(self.sign_in("frank", NEW_PASSWORD))
        # The link is used up: the page says so.
        again = b.get(url)
        self.assertEqual(again.status, 400)
        self.assertIn("This link can&#39;t be used", again.text)

    def forgot_page(self, client):
        page = client.get("/t/acme/forgot-password")
        self.assertEqual(page.status, 200, page.text[:300])
        return page, {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}

    def test_forgot_page(self):
        # The sign-in page links to it.
        verifier, challenge = pkce_pair()
        q = {"client_id": self.web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
             "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
        signin = Client(self.t.base_url).get("/t/acme/authorize?" + urllib.parse.urlencode(q))
        self.assertIn('<a href="/t/acme/forgot-password">Forgot your password?</a>', signin.text)

        b = Client(self.t.base_url)
        page, form = self.forgot_page(b)
        self.assertIn("<h1>Forgot your password?</h1>", page.text)
        self.assertIn("Acme Corp", page.text)
        self.assertEqual(page.header("Referrer-Policy"), "no-referrer")
        self.assertIn("frame-ancestors 'none'", page.header("Content-Security-Policy"))
        self.assertEqual(page.header("X-Frame-Options"), "DENY")
        self.assertEqual(page.header("Cache-Control"), "no-store")
        self.assertNotIn("<script", page.text)
        self.assertEqual(set(form), {"csrf"})

        # Without the CSRF token, or from another browser: refused, no mail.
        r = b.post("/t/acme/forgot-password", form={"csrf": "x", "email": "gwen@acme.example"})
        self.assertEqual(r.status, 403)
        r = Client(self.t.base_url).post("/t/acme/forgot-password", form={**form, "email": "gwen@acme.example"})
        self.assertEqual(r.status, 403)
        # What is no address: the form again, with it (escaped) and the error.
        r = b.post("/t/acme/forgot-password", form={**form, "email": "<no-at-sign>"})
        self.assertEqual(r.status, 422)
        self.assertIn('value="&lt;no-at-sign&gt;"', r.text)
        self.assertIn('class="error"', r.text)

        # An account's address and one that is nobody's: the same answer,
        # byte for byte; one mail, with a link that opens the reset page.
        known = b.post("/t/acme/forgot-password", form={**form, "email": "gwen@acme.example"})
        unknown = b.post("/t/acme/forgot-password", form={**form, "email": "nobody-page@acme.example"})
        self.assertEqual(known.status, 200, known.text[:300])
        self.assertIn("<h1>Check your mail</h1>", known.text)
        self.assertEqual((unknown.status, unknown.text), (known.status, known.text))
        self.assertEqual(known.header("Cache-Control"), "no-store")
        url, tenant, page_name, _ = link_of(self.mail_to("gwen@acme.example"))
        self.assertEqual((tenant, page_name), ("acme", "reset-password"))
        self.assertEqual(b.get(url).status, 200)
        wait_for("the unknown address's forgot to be audited", lambda: any(
            row[1] == "nobody-page@acme.example" for row in self.audit("auth.forgot")))
        self.assertEqual(self.t.sqlite("SELECT COUNT(*) FROM outbox WHERE recipient LIKE 'nobody-page%'"), [["0"]])


@unittest.skipUnless(python_with_aiosmtpd(), "python3-aiosmtpd is missing (tools/install-deps installs it)")
class VerifyTest(Base):
    @classmethod
    def users(cls):
        return ("grace", "heidi", "ivan")

    def request_verification(self, login):
        tok = self.sign_in(login)
        r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email/request",
                     headers={"Authorization": "Bearer " + tok["access_token"]})
        return r, tok

    def test_verification_and_claims(self):
        tok = self.sign_in("grace")
        _, idt = jwt_parts(tok["id_token"])
        self.assertFalse(idt["email_verified"])
        self.assertFalse(self.userinfo(tok["access_token"]).json["email_verified"])

        # Asking needs a signed-in user.
        r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email/request")
        self.assertEqual((r.status, r.json["code"]), (401, "unauthenticated"))
        r, tok = self.request_verification("grace")
        self.assertEqual((r.status, r.json), (202, {"message": "A verification mail is on its way."}), r.text)
        url, tenant, page, token = link_of(self.mail_to("grace@acme.example"))
        self.assertEqual((tenant, page), ("acme", "verify-email"))
        # Not in another tenant.
        r = self.api("POST", "/api/v1/tenants/globex/auth/verify-email", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_token"))

        r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email", {"token": token})
        self.assertEqual((r.status, r.json), (200, {"message": "The e-mail address is verified.",
                                                    "email_verified": True}), r.text)
        # Single use.
        r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_token"))

        # email_verified follows into userinfo at once and into new ID tokens.
        self.assertTrue(self.userinfo(tok["access_token"]).json["email_verified"])
        _, idt = jwt_parts(self.sign_in("grace")["id_token"])
        self.assertTrue(idt["email_verified"])
        self.assertIn(["success", "grace@acme", "", "1"], self.audit("auth.verify-email"))

        # Verified already: nothing to send.
        r, _ = self.request_verification("grace")
        self.assertEqual((r.status, r.json["code"]), (409, "already_done"), r.text)

    def test_signup_mails_a_verification(self):
        """The owner a sign-up makes gets the verification mail, queued with
        the account in one transaction."""
        r = self.api("POST", "/api/v1/signup", {"email": "ada@engines.example", "password": "a long and good passphrase",
                                                "name": "Ada", "organization_name": "Analytical Engines"})
        self.assertEqual(r.status, 201, r.text)
        self.assertFalse(r.json["user"]["email_verified"])
        slug, bearer = r.json["organization"]["slug"], r.json["session"]["token"]
        url, tenant, page, token = link_of(self.mail_to("ada@engines.example"))
        self.assertEqual((tenant, page), (slug, "verify-email"))
        r = self.api("POST", f"/api/v1/tenants/{slug}/auth/verify-email", {"token": token})
        self.assertEqual(r.status, 200, r.text)
        r = self.api("GET", f"/api/v1/tenants/{slug}/auth/session", headers={"Authorization": "Bearer " + bearer})
        self.assertEqual(r.status, 200, r.text)
        self.assertTrue(r.json["user"]["email_verified"])

    def test_expired_and_changed_address(self):
        r, _ = self.request_verification("heidi")
        self.assertEqual(r.status, 202)
        old_token = link_of(self.mail_to("heidi@acme.example"))[3]
        r, _ = self.request_verification("heidi")
        self.assertEqual(r.status, 202)
        token = link_of(self.mail_to("heidi@acme.example"))[3]
        self.db_write("UPDATE account_tokens SET expires_usec = 1 WHERE purpose = 'verify-email' AND user_id = "
                      "(SELECT id FROM users WHERE name = 'heidi')")
        for t in (old_token, token):
            r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email", {"token": t})
            self.assertEqual((r.status, r.json["code"]), (400, "expired_token"), r.text)

        # A token mailed to an address the account no longer has proves nothing.
        r, _ = self.request_verification("heidi")
        token = link_of(self.mail_to("heidi@acme.example"))[3]
        self.t.ctl("user", "set", "heidi@acme", "--email", "heidi@new.example", check=True)
        r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_token"), r.text)
        u = json.loads(self.t.ctl("--json", "user", "show", "heidi@acme", check=True).stdout)
        self.assertFalse(u["email_verified"])

    def test_verify_page(self):
        r, _ = self.request_verification("ivan")
        self.assertEqual(r.status, 202)
        url = link_of(self.mail_to("ivan@acme.example"))[0]
        b = Client(self.t.base_url)
        # A GET (a mail scanner following the link) uses nothing up.
        for _ in range(2):
            page = b.get(url)
            self.assertEqual(page.status, 200, page.text[:300])
        self.assertEqual(page.header("Referrer-Policy"), "no-referrer")
        self.assertIn("frame-ancestors 'none'", page.header("Content-Security-Policy"))
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        r = Client(self.t.base_url).post("/t/acme/verify-email", form=form)
        self.assertEqual(r.status, 403, "a post without the browser's binding cookie was taken")
        r = b.post("/t/acme/verify-email", form=form)
        self.assertEqual(r.status, 200, r.text[:300])
        self.assertIn("confirmed", r.text)
        u = json.loads(self.t.ctl("--json", "user", "show", "ivan@acme", check=True).stdout)
        self.assertTrue(u["email_verified"])


@unittest.skipUnless(python_with_aiosmtpd(), "python3-aiosmtpd is missing (tools/install-deps installs it)")
class LimitTest(Base):
    limits = ("mail_address_burst = 4\nmail_address_rate = 1/h\nmail_account_burst = 2\nmail_account_rate = 1/h\n"
              "address_burst = 3\naddress_rate = 1/h")

    @classmethod
    def users(cls):
        return ("judy",)

    def assert_limited(self, r):
        self.assertEqual((r.status, r.json["code"]), (429, "rate_limited"), r.text)
        self.assertGreater(int(r.header("Retry-After")), 0)

    def test_forgot_limits(self):
        # Per account, from any address, the same for one that does not exist.
        for email in ("judy@acme.example", "nobody@acme.example"):
            for source in ("127.0.0.2", "127.0.0.3"):
                r = self.forgot(email, client=Client(self.t.base_url, source=source))
                self.assertEqual(r.status, 200, r.text)
            self.assert_limited(self.forgot(email, client=Client(self.t.base_url, source="127.0.0.4")))
        # Per address, whatever the account.
        c = Client(self.t.base_url, source="127.0.0.5")
        for i in range(4):
            self.assertEqual(self.forgot(f"n{i}@acme.example", client=c).status, 200)
        self.assert_limited(self.forgot("n9@acme.example", client=c))
        self.assertIn("denied", [row[0] for row in self.audit("auth.forgot")])

    def test_forgot_page_limited(self):
        # The page is the same "forgot": over the per-address limit, 429
        # with Retry-After, as a page.
        c = Client(self.t.base_url, source="127.0.0.7")
        page = c.get("/t/acme/forgot-password")
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        for i in range(4):
            r = c.post("/t/acme/forgot-password", form={**form, "email": f"p{i}@acme.example"})
            self.assertEqual(r.status, 200, r.text[:300])
        r = c.post("/t/acme/forgot-password", form={**form, "email": "p9@acme.example"})
        self.assertEqual(r.status, 429)
        self.assertIn("Please wait a while", r.text)
        self.assertGreater(int(r.header("Retry-After")), 0)

    def test_wrong_tokens_limited(self):
        c = Client(self.t.base_url, source="127.0.0.6")
        for _ in range(3):
            r = self.reset("B" * 43, client=c)
            self.assertEqual(r.status, 400)
        self.assert_limited(self.reset("B" * 43, client=c))
        r = self.api("POST", "/api/v1/tenants/acme/auth/verify-email", {"token": "B" * 43}, client=c)
        self.assert_limited(r)


@unittest.skipUnless(python_with_aiosmtpd(), "python3-aiosmtpd is missing (tools/install-deps installs it)")
class RelayDownTest(Base):
    relay_up = False

    @classmethod
    def users(cls):
        return ("kim", "lee")

    def outbox_row(self, recipient):
        rows = self.t.sqlite(f"SELECT state, attempts FROM outbox WHERE recipient = '{recipient}'")
        return rows[0] if rows else None

    def test_mail_waits_for_the_relay_across_a_restart(self):
        # Down: the request is answered all the same; the mail waits.
        self.assertEqual(self.forgot("kim@acme.example").status, 200)
        wait_for("a failed attempt", lambda: int((self.outbox_row("kim@acme.example") or ["", "0"])[1]) >= 1,
                 daemon=self.t)
        self.assertEqual(self.outbox_row("kim@acme.example")[0], "queued")
        # The relay comes back: the mail goes out, and its link works.
        relay = SmtpServer(os.path.join(self.dir, "smtp1"), port=self.port).start()
        try:
            got = relay.wait_message()
            self.assertIsNotNone(got, "the mail did not go out once the relay was back")
            self.assertEqual(got.rcpt_tos, ["kim@acme.example"])
            self.assertEqual(self.reset(link_of(got)[3]).status, 200)
        finally:
            relay.stop()

        # Down again, and the daemon restarts meanwhile (killed: no chance
        # to save anything): the mail is still sent once the relay is back.
        self.assertEqual(self.forgot("lee@acme.example").status, 200)
        wait_for("a failed attempt", lambda: int((self.outbox_row("lee@acme.example") or ["", "0"])[1]) >= 1,
                 daemon=self.t)
        self.t.kill_daemon()
        self.assertEqual(self.outbox_row("lee@acme.example")[0], "queued")
        relay = SmtpServer(os.path.join(self.dir, "smtp2"), port=self.port).start()
        try:
            self.t.start_daemon()
            got = relay.wait_message()
            self.assertIsNotNone(got, "the mail queued before the restart was not sent")
            self.assertEqual(got.rcpt_tos, ["lee@acme.example"])
            r = self.reset(link_of(got)[3])
            self.assertEqual(r.status, 200, r.text)
            self.assertIsNotNone(self.sign_in("lee", NEW_PASSWORD))
        finally:
            relay.stop()



class NoMailPagesTest(unittest.TestCase):
    """Without [mail], the sign-in page has no "forgot" link and the forgot
    page says at once that no mail goes out."""

    def test_forgot_page_without_mail(self):
        with Tessera() as t:
            t.ctl("tenant", "create", "acme", check=True)
            web = json.loads(t.ctl("--json", "app", "create", "web@acme", "--redirect-uri", "https://app.example/cb",
                                   "--first-party", check=True).stdout)
            _, challenge = pkce_pair()
            q = {"client_id": web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
                 "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
            signin = Client(t.base_url).get("/t/acme/authorize?" + urllib.parse.urlencode(q))
            self.assertEqual(signin.status, 200)
            self.assertIn('name="password"', signin.text)
            self.assertNotIn("forgot-password", signin.text)
            page = Client(t.base_url).get("/t/acme/forgot-password")
            self.assertEqual(page.status, 503)
            self.assertIn("No mail from this service", page.text)
            self.assertEqual(Client(t.base_url).get("/t/nosuch/forgot-password").status, 404)


if __name__ == "__main__":
    unittest.main()
