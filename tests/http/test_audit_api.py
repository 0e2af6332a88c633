#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tenant's audit trail over the JSON API, against the real daemon:
GET /api/v1/tenants/{tenant}/audit (newest first, filters actor, target,
action, result, since, until, cursor pages that cover the selection once)
and GET .../audit/export (the same as JSON lines, bounded, the next
position in a header). The bad input: a tampered cursor, one from another
query, a limit out of range, unknown parameters, a result or a time that
is none; who may read it (the tenant's admins and owners) and who not (a
member, another tenant's owner, nobody), each refusal audited."""

import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client  # noqa: E402

PASSWORD = "correct horse battery"


class AuditApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(tenants=["globex"]).start()
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user, role in (("olivia@acme", "owner"), ("adam@acme", "admin"), ("mia@acme", "member"),
                           ("gus@globex", "owner")):
            t.ctl("user", "add", user, "--role", role, "--password-stdin", input=PASSWORD + "\n", check=True)
        # Events of acme to query: 40 users made (user.create), some
        # changed (user.update), one refusal per member asking for it.
        for i in range(40):
            t.ctl("user", "add", f"u{i:02d}@acme", check=True)
        for i in range(0, 40, 4):
            t.ctl("user", "set", f"u{i:02d}@acme", "--real-name", f"User {i}", check=True)
        for i in range(5):
            t.ctl("user", "add", f"g{i}@globex", check=True)
        cls.c = Client(t.base_url)
        cls.owner = cls.signin("olivia")
        cls.admin = cls.signin("adam")
        cls.member = cls.signin("mia")
        cls.foreign = cls.signin("gus", "globex")

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    @classmethod
    def signin(cls, name, tenant="acme"):
        r = cls.c.post(f"/api/v1/tenants/{tenant}/auth/signin", json_body={"login": name, "password": PASSWORD})
        assert r.status == 200, r.text
        return r.json["session"]["token"]

    def get(self, path, token=None, **params):
        q = ("?" + urllib.parse.urlencode(params)) if params else ""
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.c.request("GET", path + q, headers=headers)

    def audit(self, token=None, tenant="acme", **params):
        return self.get(f"/api/v1/tenants/{tenant}/audit", token or self.owner, **params)

    def assertEnvelope(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r.text)
        body = r.json
        self.assertEqual(body["code"], code, body)
        if field is not None:
            self.assertEqual(body["details"].get("field"), field, body)
        return body

    def count(self, where):
        return int(self.t.sqlite(f"SELECT coalesce(sum(count), 0) FROM audit_events WHERE {where}")[0][0])

    def stored_ids(self, where="TRUE"):
        """The ids of acme's events as the database has them, newest first."""
        rows = self.t.sqlite(f"SELECT id FROM audit_events WHERE tenant = 'acme' AND {where} "
                             "ORDER BY time_usec DESC, id DESC")
        return [f"evt_{r[0]}" for r in rows]

    def walk(self, token=None, **params):
        """Every page of a query: the events in order, and how many pages."""
        items, pages, cursor = [], 0, None
        while True:
            p = dict(params)
            if cursor:
                p["cursor"] = cursor
            r = self.audit(token, **p)
            self.assertEqual(r.status, 200, r.text)
            pages += 1
            items += r.json["items"]
            cursor = r.json["next_cursor"]
            if not cursor:
                return items, pages
            self.assertLess(pages, 100)

    # -- the query ---------------------------------------------------------

    def test_pages_cover_the_trail_once(self):
        before = self.stored_ids()
        items, pages = self.walk(limit=7)
        ids = [e["id"] for e in items]
        # The events up to the first page: those written by this very
        # query's refusals can't be there (there are none for an owner).
        self.assertEqual(ids, before)
        self.assertGreaterEqual(len(ids), 55)
        self.assertEqual(pages, len(ids) // 7 + 1)
        for e in items:
            self.assertEqual(set(e), {"id", "time", "last_time", "count", "channel", "actor", "actor_uid",
                                      "action", "target", "result", "remote", "details", "operator"})
        times = [e["time"] for e in items]
        self.assertEqual(times, sorted(times, reverse=True))
        # Only acme's: globex's users are not there.
        self.assertFalse([e for e in items if "globex" in (e["target"] or "")])
        self.assertTrue([e for e in items if e["target"] == "u05@acme" and e["action"] == "user.create"])

    def test_filters(self):
        items, _ = self.walk(action="user.update", limit=3)
        self.assertEqual([e["id"] for e in items], self.stored_ids("action = 'user.update'"))
        self.assertEqual(len(items), 10)
        self.assertTrue(all(e["action"] == "user.update" for e in items))

        items, _ = self.walk(target="u08@acme")
        self.assertEqual({e["action"] for e in items}, {"user.create", "user.update"})
        self.assertEqual(len(items), 2)

        root_actor = items[0]["actor"]
        items, _ = self.walk(actor=root_actor, action="user.create", limit=200)
        self.assertEqual([e["id"] for e in items],
                         self.stored_ids(f"actor = '{root_actor}' AND action = 'user.create'"))

        items, _ = self.walk(result="success", target="u08@acme")
        self.assertEqual(len(items), 2)
        self.assertEqual(self.walk(result="denied", target="u08@acme")[0], [])

        # A time range: the events of the middle of the trail.
        all_items, _ = self.walk(limit=200)
        lo, hi = all_items[-10]["time"], all_items[10]["time"]
        items, _ = self.walk(since=lo, until=hi, limit=4)
        self.assertTrue(items)
        self.assertTrue(all(lo <= e["time"] <= hi for e in items))
        self.assertEqual([e["id"] for e in items],
                         [e["id"] for e in all_items if lo <= e["time"] <= hi])
        # An offset is taken, and a time with a fraction.
        self.assertEqual(self.audit(since="2000-01-01T02:00:00.5+02:00", limit=1).status, 200)

    def test_refusals_are_found(self):
        r = self.audit(self.member)
        self.assertEnvelope(r, 403, "forbidden")
        items, _ = self.walk(result="denied", action="audit.read")
        self.assertTrue(items)
        self.assertEqual(items[0]["actor"], "mia")
        self.assertEqual(items[0]["result"], "denied")

    def test_admin_reads_it(self):
        r = self.audit(self.admin, limit=1)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(len(r.json["items"]), 1)
        self.assertEqual(r.header("Cache-Control"), "no-store")

    # -- the export --------------------------------------------------------

    def test_export(self):
        path = "/api/v1/tenants/acme/audit/export"
        r = self.get(path, self.owner, action="user.create")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "application/x-ndjson")
        lines = r.body.decode().splitlines()
        self.assertEqual([json.loads(line)["id"] for line in lines], self.stored_ids("action = 'user.create'"))
        self.assertIsNone(r.header("X-Tessera-Next-Cursor"))

        # Bounded: 10 a request, the rest from the header's position.
        got, cursor = [], None
        while True:
            params = {"action": "user.create", "limit": 10}
            if cursor:
                params["cursor"] = cursor
            r = self.get(path, self.owner, **params)
            self.assertEqual(r.status, 200, r.text)
            got += [json.loads(line)["id"] for line in r.body.decode().splitlines()]
            cursor = r.header("X-Tessera-Next-Cursor")
            if not cursor:
                break
        self.assertEqual(got, [json.loads(line)["id"] for line in lines])

        # The list's cursor continues an export of the same query, and
        # the reverse: one position, one query.
        page = self.audit(action="user.create", limit=5).json
        r = self.get(path, self.owner, action="user.create", cursor=page["next_cursor"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(json.loads(r.body.decode().splitlines()[0])["id"], json.loads(lines[5])["id"])

        self.assertEnvelope(self.get(path, self.owner, limit=10001), 400, "invalid_limit", "limit")
        self.assertEnvelope(self.get(path, self.owner, limit=0), 400, "invalid_limit", "limit")
        self.assertEnvelope(self.get(path, self.member), 403, "forbidden")

    # -- bad input ---------------------------------------------------------

    def test_tampered_cursor(self):
        page = self.audit(limit=2).json
        cursor = page["next_cursor"]
        self.assertTrue(cursor)
        flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
        self.assertEnvelope(self.audit(limit=2, cursor=flipped), 400, "invalid_cursor", "cursor")
        self.assertEnvelope(self.audit(limit=2, cursor=cursor[:-4]), 400, "invalid_cursor", "cursor")
        self.assertEnvelope(self.audit(limit=2, cursor="not a cursor"), 400, "invalid_cursor", "cursor")
        # A cursor of another query (another filter) is refused too.
        self.assertEnvelope(self.audit(limit=2, cursor=cursor, action="user.create"), 400, "invalid_cursor")
        # And of another tenant's trail, even to its own owner.
        other = self.audit(self.foreign, tenant="globex", limit=1).json["next_cursor"]
        self.assertTrue(other)
        self.assertEnvelope(self.audit(limit=1, cursor=other), 400, "invalid_cursor")

    def test_limit_out_of_range(self):
        for bad in ("0", "201", "-1", "abc", "1.5", ""):
            self.assertEnvelope(self.audit(limit=bad), 400, "invalid_limit", "limit")
        self.assertEqual(len(self.audit(limit=200).json["items"]), min(200, len(self.stored_ids())))

    def test_bad_parameters(self):
        self.assertEnvelope(self.audit(actr="root"), 400, "unknown_field", "actr")
        self.assertEnvelope(self.audit(result="maybe"), 400, "invalid_parameter", "result")
        self.assertEnvelope(self.audit(since="yesterday"), 400, "invalid_parameter", "since")
        self.assertEnvelope(self.audit(until="2026-02-30T00:00:00Z"), 400, "invalid_parameter", "until")
        self.assertEnvelope(self.audit(since="2026-01-02T00:00:00Z", until="2026-01-01T00:00:00Z"), 422, "invalid")
        self.assertEnvelope(self.audit(actor="x" * 600), 422, "invalid")
        r = self.c.request("GET", "/api/v1/tenants/acme/audit?limit=1&limit=2",
                           headers={"Authorization": "Bearer " + self.owner})
        self.assertEnvelope(r, 400, "bad_request")
        # The refusals of the core are audited.
        self.assertGreaterEqual(self.count("action = 'audit.read' AND result = 'invalid' AND actor = 'olivia'"), 2)

    def test_who_may_not(self):
        before = self.count("action = 'audit.read' AND result = 'denied'")
        self.assertEnvelope(self.audit(self.member), 403, "forbidden")
        self.assertEnvelope(self.audit(self.foreign), 403, "forbidden")
        r = self.c.request("GET", "/api/v1/tenants/acme/audit")
        self.assertEnvelope(r, 401, "unauthenticated")
        self.assertEnvelope(self.get("/api/v1/tenants/acme/audit/export", self.foreign), 403, "forbidden")
        # Each refusal of a principal is in the trail (the anonymous one too).
        self.assertEqual(self.count("action = 'audit.read' AND result = 'denied'"), before + 4)
        self.assertEnvelope(self.audit(tenant="initech"), 404, "unknown_tenant")


if __name__ == "__main__":
    unittest.main(verbosity=2)
