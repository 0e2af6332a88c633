#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tenant's members and invitations over the JSON API, against the real
daemon, mails through a real SMTP server on loopback (aiosmtpd):
GET .../members (cursor pages; e-mail addresses for admins only),
PATCH .../members/{user} (owners only; the last owner can't be demoted:
409 last_owner), DELETE .../members/{user} (admins; an owner by an owner
only; never the last owner; the removed member's tokens stop at once),
invitations (create with a mailed single-use token stored as its digest,
list the pending ones, resend with a new token, revoke), accept (a new
account with the invited role, a verified address, the tenant's password
policy, a session and the TOTP enrolment offered; or, where the tenant
requires TOTP, an enrolment first; a signed-in account is never linked:
409) and the accept page. Bad input: a role that does not exist, unknown
fields, an expired, used, revoked, unknown or foreign invitation, a weak
password, a taken name, a tampered cursor, a limit out of range; every
refusal of a principal audited; nothing half-written."""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape  # noqa: E402
from smtp_server import SmtpServer, free_port, python_with_aiosmtpd  # noqa: E402
from test_tenant_api import ApiHelpers, totp  # noqa: E402

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new staple"
LINK = re.compile(r"(https?://\S+/t/([a-z0-9-]+)/accept-invitation\?token=([A-Za-z0-9_-]+))")


@unittest.skipUnless(python_with_aiosmtpd(), "python3-aiosmtpd is missing (tools/install-deps installs it)")
class MembersApiTest(ApiHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera-members-")
        os.chmod(cls.dir, 0o755)
        cls.port = free_port()
        cls.stash = {}
        cls.relay = SmtpServer(os.path.join(cls.dir, "smtp"), port=cls.port).start()
        cls.t = Tessera(directory=os.path.join(cls.dir, "tessera"), default_tenant="acme", tenants=["globex"],
                        config_extra=(f"[mail]\nfrom = tessera@example.com\nrelay = smtp://127.0.0.1:{cls.port}\n"
                                      "retry_initial = 1\nretry_max = 2\n"
                                      "[limits]\nmail_address_burst = 10000\nmail_account_burst = 10000\n")).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", "--display-name", "Acme Corp", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role in (("olga@acme", "owner"), ("adam@acme", "admin"), ("mia@acme", "member"),
                           ("max@acme", "member"), ("moe@acme", "member"), ("gus@globex", "owner")):
            cls.add_user(cls, user, role)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.t.close()
        finally:
            cls.relay.stop()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def mail_to(self, address):
        stash = self.__class__.stash
        while not stash.get(address):
            got = self.relay.wait_message()
            self.assertIsNotNone(got, f"no mail for {address} arrived")
            stash.setdefault(got.rcpt_tos[0], []).append(got)
        return stash[address].pop(0)

    def token_of(self, address):
        received = self.mail_to(address)
        text = received.part("text/plain")
        m = LINK.search(text)
        self.assertIsNotNone(m, text)
        self.assertIn(m.group(3), received.part("text/html"))
        self.assertEqual(m.group(2), "acme")
        return m.group(3)

    def db_write(self, sql):
        self.t.db_write(sql)

    def invite(self, email, role="member", token=None):
        r = self.api("POST", "/api/v1/tenants/acme/invitations", token or self.token("acme", "adam"),
                     {"email": email, "role": role})
        self.assertEqual(r.status, 201, r.text)
        return r.json

    def accept(self, token, name, password=PASSWORD, bearer=None, tenant="acme", **extra):
        return self.api("POST", f"/api/v1/tenants/{tenant}/auth/accept-invitation", bearer,
                        {"token": token, "name": name, "password": password, **extra})

    def users_named(self, name):
        return int(self.t.sqlite(f"SELECT count(*) FROM users WHERE name = '{name}'")[0][0])

    # -- members ------------------------------------------------------------

    def test_list_pages(self):
        member, admin = self.token("acme", "mia"), self.token("acme", "adam")
        r = self.api("GET", "/api/v1/tenants/acme/members", member)
        self.assertEqual(r.status, 200, r.text)
        names = [m["name"] for m in r.json["items"]]
        self.assertEqual(names, sorted(names))
        self.assertTrue({"olga", "adam", "mia"} <= set(names))
        self.assertTrue(all("email" not in m for m in r.json["items"]))
        self.assertIsNone(r.json["next_cursor"])
        by_admin = self.api("GET", "/api/v1/tenants/acme/members", admin).json["items"]
        self.assertEqual({m["name"]: m["email"] for m in by_admin}["mia"], "mia@mail.acme")
        self.assertEqual({m["name"]: m["role"] for m in by_admin}["olga"], "owner")
        # Two at a time, to the end.
        seen, cursor = [], None
        while True:
            q = "?limit=2" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
            page = self.api("GET", "/api/v1/tenants/acme/members" + q, admin).json
            self.assertLessEqual(len(page["items"]), 2)
            seen += [m["name"] for m in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [m["name"] for m in by_admin])
        first = self.api("GET", "/api/v1/tenants/acme/members?limit=2", admin).json["next_cursor"]
        tampered = first[:-2] + ("AA" if first[-2:] != "AA" else "BB")
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/members?cursor=" + tampered, admin), 400,
                            "invalid_cursor")
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/members?limit=0", admin), 400, "invalid_limit")
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/members?limit=201", admin), 400, "invalid_limit")
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/members", self.token("globex", "gus")), 403,
                            "forbidden")
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/members"), 401, "unauthenticated")

    def test_roles(self):
        owner, admin = self.token("acme", "olga"), self.token("acme", "adam")
        path = "/api/v1/tenants/acme/members/"
        denied = self.audit_count("member.set-role", "denied", "max@acme")
        self.assertEnvelope(self.api("PATCH", path + "max", admin, {"role": "admin"}), 403, "forbidden")
        self.assertEnvelope(self.api("PATCH", path + "max", self.token("acme", "max"), {"role": "owner"}), 403,
                            "forbidden")
        self.assertEqual(self.audit_count("member.set-role", "denied", "max@acme"), denied + 2)
        self.assertEnvelope(self.api("PATCH", path + "max", owner, {"role": "boss"}), 422, "invalid", "role")
        self.assertEnvelope(self.api("PATCH", path + "max", owner, {"role": "admin", "x": 1}), 422, "unknown_field")
        self.assertEnvelope(self.api("PATCH", path + "max", owner, {"role": 1}), 422, "wrong_type")
        self.assertEnvelope(self.api("PATCH", path + "max", owner, {}), 422, "missing_field")
        self.assertEnvelope(self.api("PATCH", path + "nobody", owner, {"role": "admin"}), 404, "not_found")
        # The last owner stays one.
        self.assertEnvelope(self.api("PATCH", path + "olga", owner, {"role": "admin"}), 409, "last_owner")
        self.assertEqual(self.t.sqlite("SELECT role FROM users WHERE name = 'olga'")[0][0], "owner")
        r = self.api("PATCH", path + "max", owner, {"role": "admin"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["role"], "admin")
        # The new role counts at once: max, now an admin, lists e-mail addresses.
        items = self.api("GET", "/api/v1/tenants/acme/members", self.token("acme", "max")).json["items"]
        self.assertIn("email", items[0])
        # Two owners: one may step down, then not the other.
        self.assertEqual(self.api("PATCH", path + "max", owner, {"role": "owner"}).status, 200)
        r = self.api("PATCH", path + "olga", owner, {"role": "admin"})
        self.assertEqual(r.status, 200, r.text)
        max_owner = self.token("acme", "max")
        self.assertEnvelope(self.api("PATCH", path + "max", max_owner, {"role": "member"}), 409, "last_owner")
        # Back as it was, through tesseractl's core too.
        self.assertEqual(self.api("PATCH", path + "olga", max_owner, {"role": "owner"}).status, 200)
        self.assertEqual(self.api("PATCH", path + "max", owner, {"role": "member"}).status, 200)
        self.assertGreaterEqual(self.audit_count("member.set-role", "success", "max@acme"), 3)
        details = self.t.sqlite("SELECT details FROM audit_events WHERE action = 'member.set-role' AND "
                                "result = 'success' AND target = 'max@acme' ORDER BY id DESC LIMIT 1")[0][0]
        self.assertEqual(json.loads(details), {"from": "owner", "role": "member"})

    def test_remove(self):
        self.add_user("rita@acme", "member")
        self.add_user("omar@acme", "owner")
        owner, admin = self.token("acme", "olga"), self.token("acme", "adam")
        rita = self.signin("acme", "rita").json["session"]
        path = "/api/v1/tenants/acme/members/"
        self.assertEnvelope(self.api("DELETE", path + "rita", self.token("acme", "mia")), 403, "forbidden")
        # An owner goes by an owner only: refused and audited, nothing removed.
        denied = self.audit_count("member.remove", "denied", "omar@acme")
        self.assertEnvelope(self.api("DELETE", path + "omar", admin), 403, "forbidden")
        self.assertEqual(self.audit_count("member.remove", "denied", "omar@acme"), denied + 1)
        self.assertEqual(self.users_named("omar"), 1)
        self.assertEnvelope(self.api("DELETE", path + "rita", admin, raw='{"x": 1}'), 422, "unknown_field")
        r = self.api("DELETE", path + "rita", admin)
        self.assertEqual(r.status, 204, r.text)
        self.assertEqual(self.users_named("rita"), 0)
        # Her sessions ended: the access token and the refresh token open nothing.
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/me", rita["token"]), 401, "invalid_token")
        r = self.api("POST", "/api/v1/tenants/acme/auth/refresh", body={"refresh_token": rita["refresh_token"]})
        self.assertEqual(r.status, 401, r.text)
        self.assertEqual(self.audit_count("member.remove", "success", "rita@acme"), 1)
        self.assertEnvelope(self.api("DELETE", path + "rita", admin), 404, "not_found")
        # Owners: one removes another, not the last one.
        self.assertEqual(self.api("DELETE", path + "omar", owner).status, 204)
        self.assertEnvelope(self.api("DELETE", path + "olga", owner), 409, "last_owner")
        self.assertEqual(self.users_named("olga"), 1)

    def client_token(self, name, scope):
        app = json.loads(self.t.ctl("--json", "app", "create", f"{name}@acme", "--grant", "client_credentials",
                                    "--scope", scope, check=True).stdout)
        r = Client(self.t.base_url).post("/t/acme/token", form={"grant_type": "client_credentials", "scope": scope},
                                         basic=(app["client_id"], app["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        return r.json["access_token"]

    def test_client_scopes(self):
        reader = self.client_token("members-reader", "tessera:members:read")
        other = self.client_token("users-reader", "tessera:users:read")
        r = self.api("GET", "/api/v1/tenants/acme/members", reader)
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("olga", [m["name"] for m in r.json["items"]])
        body = self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/members", other), 403, "forbidden")
        self.assertEqual(body["details"]["required_scope"], "tessera:members:read")
        # Reading is not writing; and no key or client ever gives roles.
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/invitations", reader, {"email": "k@example.org"}),
                            403, "forbidden")
        writer = self.client_token("members-writer", "tessera:members:write")
        self.assertEnvelope(self.api("PATCH", "/api/v1/tenants/acme/members/mia", writer, {"role": "owner"}), 403,
                            "forbidden")
        self.assertEqual(self.t.sqlite("SELECT role FROM users WHERE name = 'mia'")[0][0], "member")
        r = self.api("POST", "/api/v1/tenants/acme/invitations", writer, {"email": "kim@example.org"})
        self.assertEqual(r.status, 201, r.text)
        self.token_of("kim@example.org")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/invitations", writer,
                                     {"email": "kip@example.org", "role": "owner"}), 403, "forbidden")

    # -- invitations --------------------------------------------------------

    def test_invite_and_accept(self):
        admin = self.token("acme", "adam")
        inv = self.invite("nora@example.org", "admin", admin)
        self.assertTrue(inv["id"].startswith("inv_"))
        self.assertEqual((inv["email"], inv["role"], inv["invited_by"]), ("nora@example.org", "admin", "adam"))
        token = self.token_of("nora@example.org")
        # Only the digest is kept.
        row = self.t.sqlite(f"SELECT {self.t.sql_hex('digest')}, email, role, coalesce(invited_by, '') FROM invitations "
                            f"WHERE id = {inv['id'][4:]}")[0]
        self.assertEqual(row[0], hashlib.sha256(token.encode()).hexdigest().upper())
        self.assertNotIn(token, "|".join(row))
        # Pending: listed for admins, not for members.
        listed = self.api("GET", "/api/v1/tenants/acme/invitations", admin).json
        self.assertIn(inv["id"], [i["id"] for i in listed["items"]])
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/invitations", self.token("acme", "mia")), 403,
                            "forbidden")
        # The accept page shows the invitation without using it.
        page = Client(self.t.base_url).get("/t/acme/accept-invitation?token=" + token)
        self.assertEqual(page.status, 200, page.text[:300])
        self.assertIn("nora@example.org", page.text)
        # Bad input, nothing written.
        self.assertEnvelope(self.accept("x" * 43, "nora"), 400, "invalid_invitation")
        self.assertEnvelope(self.accept(token, "nora", tenant="globex"), 400, "invalid_invitation")
        self.assertEnvelope(self.accept(token, "nora", password="short"), 422, "weak_password", "password")
        self.assertEnvelope(self.accept(token, "Nora!"), 422, "invalid", "name")
        self.assertEnvelope(self.accept(token, "mia"), 409, "name_taken", "name")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/accept-invitation",
                                     body={"token": token, "name": "nora"}), 422, "missing_field", "password")
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/auth/accept-invitation",
                                     body={"token": token, "name": "nora", "password": PASSWORD, "x": 1}), 422,
                            "unknown_field")
        self.assertEqual(self.users_named("nora"), 0)
        # A signed-in account is not linked: a user belongs to one tenant.
        self.assertEnvelope(self.accept(token, "nora", bearer=self.token("globex", "gus")), 409,
                            "other_tenant_account")
        self.assertEnvelope(self.accept(token, "nora", bearer=self.token("acme", "mia")), 409, "already_member")
        self.assertEqual(self.users_named("nora"), 0)
        # Accepted: the account with the invited role and a verified address, signed in.
        r = self.accept(token, "nora", real_name="Nora N.")
        self.assertEqual(r.status, 201, r.text)
        j = r.json
        self.assertEqual(j["status"], "signed_in")
        self.assertEqual((j["user"]["name"], j["user"]["role"], j["user"]["email"]), ("nora", "admin",
                                                                                      "nora@example.org"))
        self.assertIs(j["user"]["email_verified"], True)
        self.assertEqual(j["totp_enrolment"], "/api/v1/tenants/acme/me/totp")
        tok = j["session"]["token"]
        self.assertEqual(self.api("POST", "/api/v1/tenants/acme/me/totp", tok).status, 201)
        self.assertEqual(self.signin("acme", "nora").json["status"], "signed_in")
        # Once only; no longer pending.
        self.assertEnvelope(self.accept(token, "nora2"), 409, "invitation_used")
        self.assertEqual(self.users_named("nora2"), 0)
        listed = self.api("GET", "/api/v1/tenants/acme/invitations", admin).json
        self.assertNotIn(inv["id"], [i["id"] for i in listed["items"]])
        self.assertEqual(self.audit_count("invitation.accept", "success", "nora@acme"), 1)
        # Already a member now: inviting the address again is a conflict.
        self.assertEnvelope(self.api("POST", "/api/v1/tenants/acme/invitations", admin,
                                     {"email": "nora@example.org"}), 409, "already_invited", "email")

    def test_invite_bad_input(self):
        admin = self.token("acme", "adam")
        path = "/api/v1/tenants/acme/invitations"
        cases = [
            ({"email": "x@example.org", "role": "boss"}, 422, "invalid", "role"),
            ({"email": "not an address"}, 422, "invalid", "email"),
            ({"email": "x@example.org", "extra": 1}, 422, "unknown_field", "extra"),
            ({"role": "member"}, 422, "missing_field", "email"),
            ({"email": 3}, 422, "wrong_type", "email"),
        ]
        for body, status, code, fld in cases:
            with self.subTest(body=body):
                self.assertEnvelope(self.api("POST", path, admin, body), status, code, fld)
        self.assertEqual(int(self.t.sqlite("SELECT count(*) FROM invitations WHERE email LIKE 'x@%'")[0][0]), 0)
        # Members don't invite; admins don't invite owners.
        denied = self.audit_count("invitation.create", "denied")
        self.assertEnvelope(self.api("POST", path, self.token("acme", "mia"), {"email": "y@example.org"}), 403,
                            "forbidden")
        self.assertEnvelope(self.api("POST", path, admin, {"email": "y@example.org", "role": "owner"}), 403,
                            "forbidden")
        self.assertEqual(self.audit_count("invitation.create", "denied"), denied + 2)
        self.assertEqual(int(self.t.sqlite("SELECT count(*) FROM invitations WHERE email LIKE 'y@%'")[0][0]), 0)
        # One pending invitation per address.
        self.invite("twice@example.org")
        self.token_of("twice@example.org")
        self.assertEnvelope(self.api("POST", path, admin, {"email": "TWICE@example.org"}), 409, "already_invited")
        self.assertEnvelope(self.api("POST", path + "/inv_x/resend", admin), 404, "not_found")
        self.assertEnvelope(self.api("DELETE", path + "/inv_999999", admin), 404, "not_found")
        self.assertEnvelope(self.api("GET", path + "?limit=0", admin), 400, "invalid_limit")
        self.assertEnvelope(self.api("GET", path + "?cursor=abc", admin), 400, "invalid_cursor")

    def test_expired(self):
        inv = self.invite("late@example.org")
        token = self.token_of("late@example.org")
        created, expires = map(int, self.t.sqlite("SELECT created_usec, expires_usec FROM invitations WHERE "
                                                  f"id = {inv['id'][4:]}")[0])
        self.assertEqual(expires - created, 7 * 86400 * 1000000)
        self.db_write(f"UPDATE invitations SET expires_usec = {created} WHERE id = {inv['id'][4:]}")
        self.assertEnvelope(self.accept(token, "late"), 410, "invitation_expired")
        self.assertEqual(self.users_named("late"), 0)
        # A resend makes it good again, with a new link.
        r = self.api("POST", f"/api/v1/tenants/acme/invitations/{inv['id']}/resend", self.token("acme", "adam"))
        self.assertEqual(r.status, 200, r.text)
        new = self.token_of("late@example.org")
        self.assertNotEqual(new, token)
        self.assertEnvelope(self.accept(token, "late"), 400, "invalid_invitation")
        self.assertEqual(self.accept(new, "late").status, 201)

    def test_revoke(self):
        admin = self.token("acme", "adam")
        inv = self.invite("gone@example.org")
        token = self.token_of("gone@example.org")
        self.assertEnvelope(self.api("DELETE", f"/api/v1/tenants/acme/invitations/{inv['id']}",
                                     self.token("acme", "mia")), 403, "forbidden")
        r = self.api("DELETE", f"/api/v1/tenants/acme/invitations/{inv['id']}", admin)
        self.assertEqual(r.status, 204, r.text)
        self.assertEnvelope(self.accept(token, "gone"), 400, "invalid_invitation")
        self.assertEnvelope(self.api("DELETE", f"/api/v1/tenants/acme/invitations/{inv['id']}", admin), 404,
                            "not_found")
        self.assertEnvelope(self.api("POST", f"/api/v1/tenants/acme/invitations/{inv['id']}/resend", admin), 404,
                            "not_found")
        self.assertEqual(self.audit_count("invitation.revoke", "success", "gone@example.org"), 1)
        # Another tenant's admin does not see or revoke it.
        inv2 = self.invite("kept@example.org")
        self.token_of("kept@example.org")
        self.assertEnvelope(self.api("DELETE", f"/api/v1/tenants/globex/invitations/{inv2['id']}",
                                     self.token("globex", "gus")), 404, "not_found")

    def test_accept_where_totp_is_required(self):
        admin = self.token("acme", "adam")
        self.t.ctl("tenant", "set", "acme", "--mfa-required", "admins", check=True)
        self.addCleanup(self.t.ctl, "tenant", "set", "acme", "--mfa-required", "default", check=True)
        self.invite("tina@example.org", "admin", admin)
        token = self.token_of("tina@example.org")
        r = self.accept(token, "tina")
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json["status"], "mfa_enrolment_required")
        self.assertNotIn("session", r.json)
        mfa = r.json["mfa_token"]
        secret = self.api("POST", r.json["enrol"], body={"mfa_token": mfa}).json["secret"]
        r = self.api("POST", r.json["enrol"] + "/confirm", body={"mfa_token": mfa, "code": totp(secret)})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["user"]["role"], "admin")

    def test_accept_page(self):
        self.invite("paul@example.org")
        token = self.token_of("paul@example.org")
        c = Client(self.t.base_url)
        page = c.get("/t/acme/accept-invitation?token=" + token)
        self.assertEqual(page.status, 200, page.text[:300])
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        self.assertEqual(form.get("token"), token)
        r = c.post("/t/acme/accept-invitation", form={**form, "name": "paul", "password": "short", "password2": "short"})
        self.assertEqual(r.status, 422, r.text[:300])
        self.assertEqual(self.users_named("paul"), 0)
        r = c.post("/t/acme/accept-invitation", form={**form, "name": "paul", "password": PASSWORD, "password2": PASSWORD})
        self.assertEqual(r.status, 200, r.text[:300])
        self.assertIn("paul", r.text)
        self.assertEqual(self.signin("acme", "paul").json["status"], "signed_in")
        r = c.get("/t/acme/accept-invitation?token=" + token)
        self.assertEqual(r.status, 409, r.text[:300])
        r = Client(self.t.base_url).get("/t/acme/accept-invitation?token=nonsense")
        self.assertEqual(r.status, 400, r.text[:300])


if __name__ == "__main__":
    unittest.main(verbosity=2)
