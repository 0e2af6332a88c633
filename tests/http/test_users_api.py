#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The tenant administrator's view of users and groups over the JSON API,
against the real daemon: /api/v1/tenants/{tenant}/users (list and search
with cursor pagination and filters, create with and without a password,
show by name or id, update with If-Match, delete, disable, enable, unlock,
a reset mail, removing TOTP) and /groups with their members. A disabled
user's access tokens, refresh tokens and host logins stop at once. The bad
input of each route gets its status and code and leaves nothing written;
every refusal of the policy is audited."""

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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client  # noqa: E402

PASSWORD = "correct horse battery"
U = "/api/v1/tenants/acme/users"
G = "/api/v1/tenants/acme/groups"

# The authentication socket's protocol (pam_module), for a host login.
MAGIC, VERSION, AUTHENTICATE, REPLY = 0x54535731, 1, 2, 0x100
T_USER, T_PASSWORD, T_STATUS = 1, 2, 0x100
PAM_OK, PAM_ACCOUNT_DISABLED = 0, 5


def totp(secret_b32, step=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    h = hmac.new(key, struct.pack(">Q", int(time.time() // 30) + step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


class UsersApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Mail to a relay that is not there: a reset mail stays queued in
        # the outbox, where the test reads it.
        cls.t = Tessera(tenants=["globex"], config_extra=(
            "[mail]\nfrom = noreply@example.com\nrelay = smtp://127.0.0.1:9\nretry_initial = 60\n"
            "[limits]\naddress_burst = 1000\naccount_burst = 1000\n")).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role in (("olga@acme", "owner"), ("carol@acme", "admin"), ("alice@acme", "member"),
                           ("bob@acme", "member"), ("dave@globex", "admin")):
            t.ctl("user", "add", user, "--role", role, "--email", user.replace("@", "@mail."),
                  "--password-stdin", input=PASSWORD + "\n", check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        cls.reader = app("reader@acme", "--grant", "client_credentials", "--scope", "tessera:users:read")
        cls.writer = app("writer@acme", "--grant", "client_credentials", "--scope", "tessera:users:write",
                         "--scope", "tessera:groups:write")
        cls.c = Client(t.base_url)
        cls.tokens = {}

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    # -- helpers ------------------------------------------------------------

    def signin(self, login, tenant="acme", password=PASSWORD):
        return self.c.request("POST", f"/api/v1/tenants/{tenant}/auth/signin",
                              json_body={"login": login, "password": password})

    def token(self, login, tenant="acme"):
        if (login, tenant) not in self.tokens:
            r = self.signin(login, tenant)
            self.assertEqual(r.status, 200, r.text)
            self.tokens[(login, tenant)] = r.json["session"]["token"]
        return self.tokens[(login, tenant)]

    def client_token(self, app, scope):
        r = self.c.post("/t/acme/token", form={"grant_type": "client_credentials", "scope": scope},
                        basic=(app["client_id"], app["client_secret"]))
        self.assertEqual(r.status, 200, r.text)
        return r.json["access_token"]

    def api(self, method, path, body=None, token=None, raw=None, headers=None, as_user="carol"):
        headers = dict(headers or {})
        token = token if token is not None else self.token(as_user)
        if token:
            headers["Authorization"] = "Bearer " + token
        if raw is not None:
            return self.c.request(method, path, data=raw.encode(),
                                  headers={**headers, "Content-Type": "application/json"})
        return self.c.request(method, path, json_body=body, headers=headers)

    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text)
        j = r.json
        self.assertEqual(set(j), {"error", "code", "details"}, j)
        self.assertEqual(j["code"], code, j)
        self.assertTrue(j["error"])
        if field is not None:
            self.assertEqual(j["details"].get("field"), field, j)
        return j

    def audit(self, action, result, target=None):
        where = f"action = '{action}' AND result = '{result}'"
        if target:
            where += f" AND target = '{target}'"
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])

    def count(self, sql):
        return int(self.t.sqlite(sql)[0][0])

    def create(self, name, **fields):
        r = self.api("POST", U, {"name": name, **fields})
        self.assertEqual(r.status, 201, r.text)
        return r.json

    def pages(self, query, limit):
        """Every page of a list, following next_cursor."""
        names, cursor, n = [], None, 0
        while True:
            q = dict(query, limit=limit)
            if cursor:
                q["cursor"] = cursor
            r = self.api("GET", U + "?" + urllib.parse.urlencode(q))
            self.assertEqual(r.status, 200, r.text)
            self.assertLessEqual(len(r.json["items"]), limit)
            names += [u["name"] for u in r.json["items"]]
            cursor = r.json["next_cursor"]
            n += 1
            self.assertLess(n, 100)
            if not cursor:
                return names, n

    def pam_authenticate(self, user, password):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.t.pam_socket)
        try:
            payload = b"".join(struct.pack(">HI", tag, len(v)) + v for tag, v in
                               ((T_USER, user.encode()), (T_PASSWORD, password.encode())))
            s.sendall(struct.pack(">IHHI", MAGIC, VERSION, AUTHENTICATE, len(payload)) + payload)
            head = b""
            while len(head) < 12:
                head += s.recv(12 - len(head))
            magic, version, mtype, length = struct.unpack(">IHHI", head)
            self.assertEqual((magic, mtype), (MAGIC, REPLY))
            body = b""
            while len(body) < length:
                body += s.recv(length - len(body))
        finally:
            s.close()
        while body:
            tag, n = struct.unpack(">HI", body[:6])
            if tag == T_STATUS:
                return struct.unpack(">I", body[6:6 + n])[0]
            body = body[6 + n:]
        self.fail("no status in the reply")

    # -- users: create, show ------------------------------------------------

    def test_last_owner_kept_by_every_door(self):
        """olga is acme's only owner: neither DELETE .../users/olga (by an
        owner or an admin), nor tesseractl user set --role, nor D-Bus takes
        her away; nothing changes."""
        owner = self.token("olga")
        self.assertEnvelope(self.api("DELETE", f"{U}/olga", token=owner), 409, "last_owner")
        self.assertEnvelope(self.api("DELETE", f"{U}/olga"), 403, "forbidden")     # carol, an admin
        p = self.t.ctl("user", "set", "olga@acme", "--role", "member")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("last owner", p.stderr)
        self.assertEqual(self.t.sqlite("SELECT role FROM users WHERE name = 'olga'"), [["owner"]])
        self.assertGreaterEqual(self.count("SELECT coalesce(sum(count), 0) FROM audit_events WHERE target = "
                                           "'olga@acme' AND result != 'success' AND action IN "
                                           "('user.delete', 'user.update')"), 3)
        # With a second owner, the first may step down (and come back).
        self.t.ctl("user", "set", "carol@acme", "--role", "owner", check=True)
        try:
            self.t.ctl("user", "set", "olga@acme", "--role", "admin", check=True)
            self.t.ctl("user", "set", "olga@acme", "--role", "owner", check=True)
        finally:
            self.t.ctl("user", "set", "carol@acme", "--role", "admin", check=True)

    def test_create_at_once_grouped(self):
        """Creations without a password arriving together are committed
        together (one transaction, each in a savepoint of its own): each
        name is created once, its duplicate refused with its own code,
        uids all different, one audit event per outcome, nothing else
        written."""
        import concurrent.futures
        token = self.token("carol")
        names = [f"burst{i}" for i in range(12)]
        before = self.count("SELECT count(*) FROM users")

        def create(name):
            c = Client(self.t.base_url)
            return c.request("POST", U, json_body={"name": name}, headers={"Authorization": "Bearer " + token})

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(create, names + names))
        created = [r for r in answers if r.status == 201]
        refused = [r for r in answers if r.status != 201]
        self.assertEqual(sorted(r.json["name"] for r in created), sorted(names), [r.text for r in answers])
        self.assertEqual({(r.status, r.json["code"]) for r in refused}, {(409, "name_taken")})
        self.assertEqual(len({r.json["uid"] for r in created}), len(names))
        self.assertEqual(self.count("SELECT count(*) FROM users") - before, len(names))
        self.assertEqual(self.count("SELECT count(*) FROM audit_events WHERE action = 'user.create' AND "
                                    "target LIKE 'burst%' AND result = 'success'"), len(names))
        self.assertGreaterEqual(self.count("SELECT coalesce(sum(count), 0) FROM audit_events WHERE "
                                           "action = 'user.create' AND target LIKE 'burst%' AND result != 'success'"),
                                len(names))
        # Each is there as the answer said, with its private group.
        for r in created:
            got = self.api("GET", f"{U}/{r.json['name']}")
            self.assertEqual((got.status, got.json["uid"]), (200, r.json["uid"]))
        self.assertEqual(self.count("SELECT count(*) FROM groups WHERE name LIKE 'burst%'"), len(names))

    def test_create_and_show(self):
        u = self.create("newbie", real_name="New Bie", email="Newbie@Example.com")
        self.assertRegex(u["id"], r"^usr_[1-9][0-9]*$")
        self.assertEqual((u["name"], u["role"], u["state"], u["has_password"]), ("newbie", "member", "active", False))
        self.assertEqual(u["email"], "Newbie@Example.com")
        # By name and by id, the same user; an id of another tenant is none.
        by_name = self.api("GET", U + "/newbie")
        by_id = self.api("GET", U + "/" + u["id"])
        self.assertEqual(by_name.json, by_id.json)
        self.assertEqual(by_name.header("ETag"), by_id.header("ETag"))
        dave = self.api("GET", "/api/v1/tenants/globex/users/dave", token=self.token("dave", "globex")).json
        self.assertEnvelope(self.api("GET", U + "/" + dave["id"]), 404, "not_found")
        self.assertEnvelope(self.api("GET", U + "/usr_0"), 404, "not_found")
        # The host sees the user at once (NSS over the CLI's lookup).
        shown = json.loads(self.t.ctl("--json", "user", "show", "newbie@acme", check=True).stdout)
        self.assertEqual(shown["uid"], u["uid"])
        self.assertEqual(self.audit("user.create", "success", "newbie@acme"), 1)

    def test_create_with_password(self):
        r = self.api("POST", U, {"name": "withpw", "password": "a fine long passphrase"})
        self.assertEqual(r.status, 201, r.text)
        self.assertTrue(r.json["has_password"])
        self.assertEqual(r.header("Location"), "/api/v1/tenants/acme/users/withpw")
        self.assertEqual(self.signin("withpw", password="a fine long passphrase").status, 200)
        # A password the tenant's policy refuses: nothing created.
        r = self.api("POST", U, {"name": "weakpw", "password": "123"})
        self.assertEnvelope(r, 422, "weak_password", "password")
        self.assertEqual(self.count("SELECT count(*) FROM users WHERE name = 'weakpw'"), 0)

    def test_create_bad_input(self):
        before = self.count("SELECT count(*) FROM users")
        groups_before = self.count("SELECT count(*) FROM groups")
        cases = [
            ({"name": "x1", "admin": True}, 422, "unknown_field", "admin"),
            ({"name": 7}, 422, "wrong_type", "name"),
            ({"name": "x2", "email_verified": "yes"}, 422, "wrong_type", "email_verified"),
            ({"real_name": "No Name"}, 422, "missing_field", "name"),
            ({"name": "x" * 33}, 422, "too_long", "name"),
            ({"name": "x3", "real_name": "r" * 257}, 422, "too_long", "real_name"),
            ({"name": "x4", "email": "e" * 250 + "@a.example"}, 422, "too_long", "email"),
            ({"name": "Not-Valid"}, 422, "invalid", None),
            ({"name": "x5", "email": "not an address"}, 422, "invalid", None),
            ({"name": "x6", "role": "superuser"}, 422, "invalid", "role"),
            ({"name": "x7", "home": "relative/path"}, 422, "invalid", None),
            ({"name": "alice"}, 409, "name_taken", "name"),
            ({"name": "x8", "email": "ALICE@MAIL.ACME"}, 409, "email_taken", "email"),
        ]
        for body, status, code, field in cases:
            with self.subTest(body=body):
                self.assertEnvelope(self.api("POST", U, body), status, code, field)
        self.assertEnvelope(self.api("POST", U, raw='{"name": "x9",'), 400, "malformed_json")
        r = self.c.request("POST", U, data=b"name=x10", headers={
            "Authorization": "Bearer " + self.token("carol"), "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEnvelope(r, 415, "unsupported_media_type")
        # Nothing half-written: no user, no private group.
        self.assertEqual(self.count("SELECT count(*) FROM users"), before)
        self.assertEqual(self.count("SELECT count(*) FROM groups"), groups_before)
        self.assertGreaterEqual(self.audit("user.create", "invalid"), 1)

    # -- users: list and search ---------------------------------------------

    def test_list_pages_and_search(self):
        made = [self.create(f"page{i}", email=f"p{i}@Pages.example") for i in (3, 0, 6, 1, 5, 2, 4)]
        names, n = self.pages({"q": "page"}, 3)
        self.assertEqual(names, [f"page{i}" for i in range(7)])
        self.assertEqual(n, 3)
        # By e-mail prefix, whatever the case; sorted by name still.
        names, _ = self.pages({"q": "P1@pages"}, 50)
        self.assertEqual(names, ["page1"])
        # The users whose name begins so, by name, then those whose
        # address does, by address; each once, across pages (with a filter
        # too).
        self.create("apex", email="pzz@elsewhere.example")
        self.create("zed", email="Pq@elsewhere.example")
        expected = [f"page{i}" for i in range(7)] + ["zed", "apex"]
        for limit in (1, 2, 3, 50):
            with self.subTest(limit=limit):
                self.assertEqual(self.pages({"q": "p"}, limit)[0], expected)
                self.assertEqual(self.pages({"q": "p", "role": "member"}, limit)[0], expected)
                self.assertEqual(self.pages({"q": "p", "sort": "created"}, limit)[0],
                                 [u["name"] for u in made] + ["apex", "zed"])
        # By creation time, oldest first, in pages of 2.
        names, _ = self.pages({"q": "page", "sort": "created"}, 2)
        self.assertEqual(names, [u["name"] for u in made])
        # Every user of the tenant, each once, in name order.
        everyone, _ = self.pages({}, 4)
        self.assertEqual(everyone, sorted(everyone))
        self.assertEqual(len(everyone), len(set(everyone)))
        self.assertEqual(len(everyone), self.count(
            "SELECT count(*) FROM users WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')"))
        # A creation range (times in whole seconds): from the first one's
        # second to the second after the last one's, all of them; before
        # the first one's second, or after the last one's, none.
        def in_range(after=None, before=None):
            q = {"q": "page", "sort": "created"}
            if after:
                q["created_after"] = after
            if before:
                q["created_before"] = before
            r = self.api("GET", U + "?" + urllib.parse.urlencode(q))
            self.assertEqual(r.status, 200, r.text)
            return [u["name"] for u in r.json["items"]]
        first, last = made[0]["created_at"], max(u["created_at"] for u in made)
        after_last = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
            time.mktime(time.strptime(last, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone + 1))
        self.assertEqual(in_range(first, after_last), [u["name"] for u in made])
        self.assertEqual(in_range(before=first), [])
        self.assertEqual(in_range(after=after_last), [])
        # Role and state.
        r = self.api("GET", U + "?role=admin")
        self.assertEqual([u["name"] for u in r.json["items"]], ["carol"])
        self.assertEqual(self.api("POST", U + "/page4/disable").status, 200)
        r = self.api("GET", U + "?state=disabled&q=page")
        self.assertEqual([u["name"] for u in r.json["items"]], ["page4"])
        names, _ = self.pages({"state": "active", "q": "page"}, 2)
        self.assertEqual(names, ["page0", "page1", "page2", "page3", "page5", "page6"])
        # Listed with their e-mail addresses (admins read them).
        self.assertTrue(all("email" in u for u in r.json["items"]))

    def test_list_bad_input(self):
        for i in range(3):
            self.create(f"lbad{i}")
        r = self.api("GET", U + "?limit=2&q=lbad")
        cursor = r.json["next_cursor"]
        self.assertTrue(cursor)
        # One character changed, cut short, or taken to another query.
        flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
        for bad, query in ((flipped, "q=lbad"), (cursor[:-4], "q=lbad"), ("garbage", "q=lbad"),
                           (cursor, "q=lba"), (cursor, "q=lbad&sort=created"), (cursor, "q=lbad&state=active")):
            with self.subTest(query=query, cursor=bad[:10]):
                r = self.api("GET", U + f"?limit=2&{query}&cursor=" + urllib.parse.quote(bad))
                self.assertEnvelope(r, 400, "invalid_cursor", "cursor")
        for limit in ("0", "201", "-1", "ten", "1.5", ""):
            with self.subTest(limit=limit):
                self.assertEnvelope(self.api("GET", U + "?limit=" + limit), 400, "invalid_limit", "limit")
        for query, field in (("state=asleep", "state"), ("role=king", "role"), ("sort=uid", "sort"),
                             ("created_after=yesterday", "created_after"),
                             ("created_before=2026-13-01T00:00:00Z", "created_before"),
                             ("q=" + "a" * 255, "q"), ("q=%01", "q")):
            with self.subTest(query=query):
                self.assertEnvelope(self.api("GET", U + "?" + query), 400, "bad_request", field)
        self.assertEnvelope(self.api("GET", U + "?colour=red"), 400, "unknown_field", "colour")
        self.assertEnvelope(self.api("GET", U + "?q=a&q=b"), 400, "bad_request")
        r = self.api("GET", U + "?" + urllib.parse.urlencode(
            {"created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}))
        self.assertEnvelope(r, 422, "invalid")

    # -- users: update, delete ----------------------------------------------

    def test_update_with_if_match(self):
        self.create("editme", email="editme@example.com")
        r = self.api("GET", U + "/editme")
        etag = r.header("ETag")
        r = self.api("PATCH", U + "/editme", {"real_name": "Edit Me", "shell": "/bin/zsh"}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json["real_name"], r.json["shell"]), ("Edit Me", "/bin/zsh"))
        self.assertNotEqual(r.header("ETag"), etag)
        # The old ETag is stale now: refused, nothing changed.
        r = self.api("PATCH", U + "/editme", {"real_name": "Stale"}, headers={"If-Match": etag})
        self.assertEnvelope(r, 412, "precondition_failed")
        self.assertEqual(self.api("GET", U + "/editme").json["real_name"], "Edit Me")
        # null clears the address; a taken one is a conflict.
        r = self.api("PATCH", U + "/editme", {"email": None})
        self.assertEqual(r.status, 200, r.text)
        self.assertIsNone(r.json["email"])
        self.assertEnvelope(self.api("PATCH", U + "/editme", {"email": "bob@mail.acme"}), 409, "email_taken", "email")
        for body, status, code in (({}, 422, "missing_field"), ({"role": "owner"}, 422, "unknown_field"),
                                   ({"name": "other"}, 422, "unknown_field"), ({"shell": 1}, 422, "wrong_type"),
                                   ({"shell": "x" * 1025}, 422, "too_long"), ({"shell": "bash"}, 422, "invalid")):
            with self.subTest(body=body):
                self.assertEnvelope(self.api("PATCH", U + "/editme", body), status, code)
        self.assertEqual(self.api("GET", U + "/editme").json["shell"], "/bin/zsh")
        self.assertEnvelope(self.api("PATCH", U + "/nosuchuser", {"real_name": "x"}), 404, "not_found")

    def test_delete(self):
        u = self.create("goner")
        self.t.ctl("group", "add", "gonergroup@acme", check=True)
        self.t.ctl("group", "add-member", "gonergroup@acme", "goner", check=True)
        self.assertEnvelope(self.api("DELETE", U + "/goner", headers={"If-Match": '"1"'}), 412,
                            "precondition_failed")
        r = self.api("DELETE", U + "/" + u["id"])
        self.assertEqual(r.status, 204, r.text)
        self.assertEnvelope(self.api("GET", U + "/goner"), 404, "not_found")
        self.assertEnvelope(self.api("DELETE", U + "/goner"), 404, "not_found")
        self.assertEqual(self.count("SELECT count(*) FROM groups WHERE name = 'goner'"), 0)
        r = self.api("GET", G + "/gonergroup/members")
        self.assertEqual(r.json["items"], [])
        self.assertEqual(self.audit("user.delete", "success", "goner@acme"), 1)

    # -- users: state -------------------------------------------------------

    def test_disable_stops_tokens_and_logins_at_once(self):
        self.create("banned", password=PASSWORD)
        r = self.signin("banned")
        self.assertEqual(r.status, 200, r.text)
        sess = r.json["session"]
        session_path = "/api/v1/tenants/acme/auth/session"
        self.assertEqual(self.api("GET", session_path, token=sess["token"]).status, 200)
        self.assertEqual(self.pam_authenticate("banned", PASSWORD), PAM_OK)

        r = self.api("POST", U + "/banned/disable")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["state"], "disabled")
        # The access token issued before: refused on its next use, saying why.
        r = self.api("GET", session_path, token=sess["token"])
        self.assertEnvelope(r, 401, "account_disabled")
        self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))
        self.assertEnvelope(self.api("GET", "/api/v1/tenants/acme/me", token=sess["token"]), 401, "account_disabled")
        # Its refresh token, a new sign-in, a host login.
        r = self.c.request("POST", "/api/v1/tenants/acme/auth/refresh",
                           json_body={"refresh_token": sess["refresh_token"]})
        self.assertEnvelope(r, 401, "invalid_grant")
        self.assertNotEqual(self.signin("banned").status, 200)
        self.assertEqual(self.pam_authenticate("banned", PASSWORD), PAM_ACCOUNT_DISABLED)
        # Twice is the same.
        self.assertEqual(self.api("POST", U + "/banned/disable").json["state"], "disabled")

        r = self.api("POST", U + "/banned/enable")
        self.assertEqual((r.status, r.json["state"]), (200, "active"))
        self.assertEqual(self.signin("banned").status, 200)
        self.assertEqual(self.pam_authenticate("banned", PASSWORD), PAM_OK)
        self.assertEqual(self.audit("user.disable", "success", "banned@acme"), 2)
        self.assertEqual(self.audit("user.enable", "success", "banned@acme"), 1)
        # The routes take no body but {}.
        self.assertEnvelope(self.api("POST", U + "/banned/disable", {"now": True}), 422, "unknown_field")

    def test_unlock(self):
        self.create("locky")
        self.t.ctl("user", "lock", "locky@acme", check=True)
        self.assertEqual(self.api("GET", U + "/locky").json["state"], "locked")
        self.assertEqual([u["name"] for u in self.api("GET", U + "?state=locked").json["items"]], ["locky"])
        r = self.api("POST", U + "/locky/unlock", {})
        self.assertEqual((r.status, r.json["state"]), (200, "active"), r.text)
        self.assertEqual(self.api("GET", U + "?state=locked").json["items"], [])

    def test_reset_mail(self):
        self.create("forgetful", email="forgetful@example.com")
        r = self.api("POST", U + "/forgetful/reset-password")
        self.assertEqual(r.status, 202, r.text)
        rows = self.t.sqlite("SELECT template, tenant FROM outbox WHERE recipient = 'forgetful@example.com'")
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(self.count("SELECT count(*) FROM account_tokens WHERE purpose = 'reset-password' AND "
                                    "user_id = (SELECT id FROM users WHERE name = 'forgetful')"), 1)
        self.assertEqual(self.audit("user.send-reset", "success", "forgetful@acme"), 1)
        # No address, or an account that can't be used: said so, no mail.
        self.create("noaddress")
        self.assertEnvelope(self.api("POST", U + "/noaddress/reset-password"), 409, "no_email")
        self.create("offline", email="offline@example.com")
        self.api("POST", U + "/offline/disable")
        self.assertEnvelope(self.api("POST", U + "/offline/reset-password"), 403, "account_disabled")
        self.assertEqual(self.count("SELECT count(*) FROM outbox WHERE recipient = 'offline@example.com'"), 0)

    def test_remove_totp(self):
        self.create("phoneless")
        enroll = json.loads(self.t.ctl("--json", "user", "totp", "enroll", "phoneless@acme", check=True).stdout)
        self.t.ctl("--json", "user", "totp", "confirm", "phoneless@acme", totp(enroll["secret"]), check=True)
        r = self.api("DELETE", U + "/phoneless/totp")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json["enabled"], r.json["pending"]), (False, False))
        self.assertEqual(self.audit("totp.disable", "success", "phoneless@acme"), 1)
        self.assertEnvelope(self.api("DELETE", U + "/phoneless/totp", {"secret": "x"}), 422, "unknown_field")

    # -- who may ------------------------------------------------------------

    def test_who_may(self):
        alice = self.token("alice")
        # Anonymous: 401; a member: 403, audited; reading oneself is fine.
        self.assertEnvelope(self.api("GET", U, token=""), 401, "unauthenticated")
        before = self.audit("user.list", "denied")
        self.assertEnvelope(self.api("GET", U, token=alice), 403, "forbidden")
        self.assertEqual(self.audit("user.list", "denied"), before + 1)
        self.assertEqual(self.api("GET", U + "/alice", token=alice).status, 200)
        for method, path, body, action in (
                ("POST", U, {"name": "sneaky"}, "user.create"),
                ("PATCH", U + "/bob", {"real_name": "B"}, "user.update"),
                ("DELETE", U + "/bob", None, "user.delete"),
                ("POST", U + "/bob/disable", None, "user.disable"),
                ("POST", U + "/bob/enable", None, "user.enable"),
                ("POST", U + "/bob/unlock", None, "user.unlock"),
                ("POST", U + "/bob/reset-password", None, "user.send-reset"),
                ("DELETE", U + "/bob/totp", None, "totp.disable"),
                ("POST", G, {"name": "sneaky"}, "group.create")):
            with self.subTest(method=method, path=path):
                before = self.audit(action, "denied")
                self.assertEnvelope(self.api(method, path, body, token=alice), 403, "forbidden")
                self.assertEqual(self.audit(action, "denied"), before + 1)
        self.assertEqual(self.api("GET", U + "/bob").json["state"], "active")
        self.assertEqual(self.count("SELECT count(*) FROM users WHERE name = 'sneaky'"), 0)
        # Another tenant's admin: refused as such.
        dave = self.token("dave", "globex")
        j = self.assertEnvelope(self.api("GET", U, token=dave), 403, "forbidden")
        self.assertIn("another tenant", j["error"])
        self.assertEnvelope(self.api("POST", U + "/bob/disable", token=dave), 403, "forbidden")
        # A client with tessera:users:read lists; writing needs the write scope.
        reader = self.client_token(self.reader, "tessera:users:read")
        self.assertEqual(self.api("GET", U, token=reader).status, 200)
        j = self.assertEnvelope(self.api("POST", U, {"name": "byreader"}, token=reader), 403, "forbidden")
        self.assertEqual(j["details"]["required_scope"], "tessera:users:write")
        writer = self.client_token(self.writer, "tessera:users:write")
        r = self.api("POST", U, {"name": "bywriter"}, token=writer)
        self.assertEqual(r.status, 201, r.text)
        # The owner may do what an admin may, and make an owner, which an
        # admin or a client may not.
        self.assertEqual(self.api("GET", U + "?limit=1", as_user="olga").status, 200)
        before = self.audit("user.create", "denied", "coowner@acme")
        self.assertEnvelope(self.api("POST", U, {"name": "coowner", "role": "owner"}), 403, "forbidden")
        self.assertEnvelope(self.api("POST", U, {"name": "coowner", "role": "owner"}, token=writer), 403, "forbidden")
        self.assertEqual(self.audit("user.create", "denied", "coowner@acme"), before + 2)
        r = self.api("POST", U, {"name": "coowner", "role": "owner"}, as_user="olga")
        self.assertEqual((r.status, r.json.get("role")), (201, "owner"), r.text)

    # -- groups -------------------------------------------------------------

    def test_groups(self):
        self.create("gm1")
        self.create("gm2")
        r = self.api("POST", G, {"name": "devs", "description": "Developers"})
        self.assertEqual(r.status, 201, r.text)
        devs = r.json
        self.assertRegex(devs["id"], r"^grp_[1-9][0-9]*$")
        self.assertFalse(devs["user_private"])
        self.assertEqual(self.api("POST", G, {"name": "ops"}).status, 201)
        # Listed by name, without the users' private groups; paged.
        names, cursor = [], None
        while True:
            r = self.api("GET", G + "?limit=1" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else ""))
            self.assertEqual(r.status, 200, r.text)
            names += [g["name"] for g in r.json["items"]]
            cursor = r.json["next_cursor"]
            if not cursor:
                break
        self.assertIn("devs", names)
        self.assertIn("ops", names)
        self.assertNotIn("gm1", names)
        self.assertEqual(names, sorted(names))
        self.assertEqual(self.api("GET", G + "/" + devs["id"]).json["name"], "devs")
        r = self.api("PATCH", G + "/devs", {"description": "The developers"})
        self.assertEqual((r.status, r.json["description"]), (200, "The developers"))
        # Members by name or id, listed by name; gone again.
        self.assertEqual(self.api("POST", G + "/devs/members", {"user": "gm2"}).status, 201)
        gm1 = self.api("GET", U + "/gm1").json
        r = self.api("POST", G + "/devs/members", {"user": gm1["id"]})
        self.assertEqual((r.status, r.json["name"]), (201, "gm1"), r.text)
        r = self.api("GET", G + "/devs/members?limit=1")
        self.assertEqual([m["name"] for m in r.json["items"]], ["gm1"])
        r = self.api("GET", G + "/devs/members?limit=1&cursor=" + urllib.parse.quote(r.json["next_cursor"]))
        self.assertEqual([m["name"] for m in r.json["items"]], ["gm2"])
        groups = json.loads(self.t.ctl("--json", "user", "show", "gm1@acme", check=True).stdout).get("groups")
        if groups is not None:
            self.assertIn("devs", groups)
        self.assertEqual(self.api("DELETE", G + "/devs/members/gm1").status, 204)
        self.assertEqual([m["name"] for m in self.api("GET", G + "/devs/members").json["items"]], ["gm2"])
        self.assertEqual(self.api("DELETE", G + "/devs").status, 204)
        self.assertEnvelope(self.api("GET", G + "/devs"), 404, "not_found")

    def test_groups_bad_input(self):
        self.api("POST", G, {"name": "qa"})
        before = self.count("SELECT count(*) FROM groups")
        for body, status, code, field in (
                ({"name": "qa"}, 409, "name_taken", "name"),
                ({"name": "alice"}, 409, "name_taken", "name"),
                ({"name": "q2", "colour": "red"}, 422, "unknown_field", "colour"),
                ({"name": "q3", "gid": "10"}, 422, "wrong_type", "gid"),
                ({"name": "q4", "description": "d" * 257}, 422, "too_long", "description"),
                ({"name": "Bad Name"}, 422, "invalid", None)):
            with self.subTest(body=body):
                self.assertEnvelope(self.api("POST", G, body), status, code, field)
        self.assertEqual(self.count("SELECT count(*) FROM groups"), before)
        self.assertEnvelope(self.api("POST", G + "/qa/members", {"user": "nobody"}), 422, "invalid", "user")
        self.assertEnvelope(self.api("POST", G + "/qa/members", {}), 422, "missing_field", "user")
        self.assertEnvelope(self.api("DELETE", G + "/qa/members/bob"), 404, "not_found")
        self.assertEnvelope(self.api("GET", G + "/qa/members?limit=0"), 400, "invalid_limit")
        self.assertEnvelope(self.api("GET", G + "?cursor=nonsense"), 400, "invalid_cursor")
        # A user's private group is the user's: not deleted here.
        self.assertEnvelope(self.api("DELETE", G + "/alice"), 422, "invalid")
        self.assertEqual(self.count("SELECT count(*) FROM groups WHERE name = 'alice'"), 1)
        # A member may read groups, not change them (audited).
        alice = self.token("alice")
        self.assertEqual(self.api("GET", G, token=alice).status, 200)
        before = self.audit("group.add-member", "denied")
        self.assertEnvelope(self.api("POST", G + "/qa/members", {"user": "alice"}, token=alice), 403, "forbidden")
        self.assertEqual(self.audit("group.add-member", "denied"), before + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
