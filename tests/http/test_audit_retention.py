#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Audit retention against the real daemon: events older than [audit]
max_age (90 days by default) and past max_rows go, in small batches on a
thread of the daemon's own, each batch appended to export_file and synced
before it is deleted; sign-ins, token requests and D-Bus changes keep
working while a large backlog is pruned.

The old events are written into the database while the daemon is stopped,
as a daemon of an earlier day would have left them."""

import json
import os
import sqlite3
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402

PASSWORD = "correct horse battery"
DAY = 86400 * 10**6
# Generous: the sanitizer build on a loaded 2-CPU machine.
PRUNE_DEADLINE = 180.0


def now_usec():
    return int(time.time() * 10**6)


class RetentionTest(unittest.TestCase):
    def setUp(self):
        self.t = None

    def tearDown(self):
        if self.t:
            self.t.close()

    def start_with_old_events(self, config_extra, batches):
        """A daemon whose database holds the events of batches, a list of
        (count, age in usec, tag), oldest first, with ids before any other."""
        t = self.t = Tessera(config_extra=config_extra)
        t.start()
        t.stop_daemon()
        db = sqlite3.connect(os.path.join(t.state_dir, "tessera.db"))
        with db:
            self.assertEqual(db.execute("SELECT count(*) FROM audit_events").fetchone()[0], 0)
            now = now_usec()
            for count, age, tag in batches:
                db.executemany(
                    "INSERT INTO audit_events (time_usec, channel, actor_uid, actor, action, tenant, target, result, "
                    "remote, details) VALUES (?, 'http', NULL, 'app_x', 'oauth.token', 'acme', ?, 'success', "
                    "'192.0.2.1', '{\"grant\":\"client_credentials\"}')",
                    ((now - age + i, f"{tag}-{i}") for i in range(count)))
        db.close()
        t.start_daemon()
        return t

    def count(self, tag=None):
        sql = "SELECT count(*) FROM audit_events"
        if tag:
            sql += f" WHERE target LIKE '{tag}-%'"
        return int(self.t.sqlite(sql)[0][0])

    def wait_for(self, condition, what):
        deadline = time.monotonic() + PRUNE_DEADLINE
        while not condition():
            if time.monotonic() > deadline:
                self.fail(f"{what}: not within {PRUNE_DEADLINE} s\n" + self.t.log()[-3000:])
            time.sleep(0.1)

    def test_default_max_age(self):
        # No [audit] section: 90 days.
        self.start_with_old_events("", [(1500, 100 * DAY, "ancient"), (5, 89 * DAY, "kept")])
        self.wait_for(lambda: "Audit retention: deleted" in self.t.log(), "the first pass done")
        self.assertIn("Audit retention: deleted 1500 old events", self.t.log())
        self.assertEqual(self.count("ancient"), 0)
        self.assertEqual(self.count("kept"), 5)

    def test_max_rows_and_export(self):
        # Two hours old: within max_age, past max_rows. Every hundredth a
        # refusal counted 7 times.
        t = self.t = Tessera()
        export = os.path.join(t.dir, "export", "audit.jsonl")
        os.makedirs(os.path.dirname(export))
        t.config_extra = f"[audit]\nmax_rows = 1000\nexport_file = {export}\n"
        t.start()
        t.stop_daemon()
        db = sqlite3.connect(os.path.join(t.state_dir, "tessera.db"))
        now = now_usec()
        with db:
            db.executemany(
                "INSERT INTO audit_events (time_usec, channel, action, target, result, remote, details, count, "
                "last_usec) VALUES (?, 'http', 'oauth.token', ?, ?, '192.0.2.1', ?, ?, ?)",
                ((now - 2 * 3600 * 10**6 + i, f"old-{i}", "denied" if i % 100 == 0 else "success",
                  '{"why":"wrong secret"}' if i % 100 == 0 else None, 7 if i % 100 == 0 else 1,
                  now - 3600 * 10**6 if i % 100 == 0 else None) for i in range(2300)))
            first, last = db.execute("SELECT min(id), max(id) FROM audit_events").fetchone()
        db.close()
        t.start_daemon()

        self.wait_for(lambda: self.count() <= 1000, "pruned to max_rows")
        self.assertEqual(self.count(), 1000)
        # The newest 1000 stayed.
        ids = [int(r[0]) for r in t.sqlite("SELECT id FROM audit_events ORDER BY id")]
        self.assertEqual(ids, list(range(last - 999, last + 1)))
        # Every event deleted is in the export, once, in order, whole.
        with open(export) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual([e["id"] for e in lines], list(range(first, last - 999)))
        self.assertEqual(oct(os.stat(export).st_mode & 0o777), "0o600")
        e = lines[100]
        self.assertEqual((e["target"], e["result"], e["count"], e["remote"], e["details"]),
                         ("old-100", "denied", 7, "192.0.2.1", {"why": "wrong secret"}))
        self.assertEqual(e["last_usec"], now - 3600 * 10**6)
        self.assertEqual(lines[1]["count"], 1)
        self.assertEqual(lines[1]["last_usec"], lines[1]["time_usec"])

    def test_export_failure_keeps_events(self):
        t = self.t = Tessera()
        # A directory where the file should be: the export fails.
        export = os.path.join(t.dir, "not-a-file")
        os.makedirs(export)
        t.config_extra = f"[audit]\nmax_age = 1d\nexport_file = {export}\n"
        t.start()
        t.stop_daemon()
        db = sqlite3.connect(os.path.join(t.state_dir, "tessera.db"))
        with db:
            db.executemany("INSERT INTO audit_events (time_usec, channel, action, result) "
                           "VALUES (?, 'dbus', 'user.create', 'success')", ((now_usec() - 2 * DAY,),) * 50)
        db.close()
        t.start_daemon()
        self.wait_for(lambda: "Failed to export audit events" in t.log(), "the export refused")
        self.assertEqual(self.count(), 50)

    def test_logins_during_a_large_prune(self):
        t = self.start_with_old_events("", [(60000, 100 * DAY, "ancient")])
        # The daemon prunes from its start on; meanwhile it is set up and
        # used as ever.
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("user", "add", "alice@acme", "--password-stdin", input=PASSWORD + "\n", check=True)
        web = json.loads(t.ctl("--json", "app", "create", "web@acme", "--redirect-uri", "https://app.example/cb",
                               "--first-party", check=True).stdout)
        svc = json.loads(t.ctl("--json", "app", "create", "svc@acme", "--grant", "client_credentials",
                               check=True).stdout)
        slowest, during, seen = 0.0, 0, set()
        while during < 400:
            left = self.count("ancient")
            if left == 0:
                break
            seen.add(left)
            start = time.monotonic()
            c = Client(t.base_url)
            verifier, challenge = pkce_pair()
            q = {"client_id": web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
                 "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
            page = c.get("/t/acme/authorize?" + urllib.parse.urlencode(q))
            form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
            r = c.post("/t/acme/login", form={**form, "login": "alice", "password": PASSWORD})
            self.assertEqual(r.status, 303, r.text[:300])
            self.assertIn("code", r.location_params())
            r = c.post("/t/acme/token", form={"grant_type": "client_credentials"},
                       basic=(svc["client_id"], svc["client_secret"]))
            self.assertEqual(r.status, 200, r.text)
            t.ctl("user", "set", "alice@acme", "--shell", "/bin/sh" if during % 2 else "/bin/bash", check=True)
            slowest = max(slowest, time.monotonic() - start)
            during += 1
        # Some rounds ran while events were still being deleted, and none
        # waited for the write lock anywhere near SQLite's busy timeout (5 s).
        self.assertGreaterEqual(during, 3)
        self.assertLess(slowest, 4.0)
        self.wait_for(lambda: self.count("ancient") == 0, "the backlog deleted")
        # Deleted a batch of 1000 at a time, and seen half-way.
        self.assertTrue(all((60000 - n) % 1000 == 0 for n in seen), sorted(seen))
        self.assertTrue(any(0 < n < 60000 for n in seen), sorted(seen))
        print(f"\n{during} rounds of sign-in, token and a D-Bus change during the prune; "
              f"slowest round {slowest * 1000:.0f} ms", file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
