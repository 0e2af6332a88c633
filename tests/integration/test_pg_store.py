#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesserad on PostgreSQL (daemon/store/db-pg.c), on a real PostgreSQL 15
started here (tests/lib/pg_server.py): the server going away and coming
back while tesserad runs, and two tesserad processes on one database."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pg_server  # noqa: E402
from tessera_env import Tessera  # noqa: E402

WHY = pg_server.available()
# The longest back-off between connection attempts (5 s) and a connection
# attempt, with room for a sanitizer build on a loaded machine.
BACKOFF_BOUND = 30.0


@unittest.skipIf(WHY, WHY)
class PgStoreTest(unittest.TestCase):
    def setUp(self):
        self.pg = pg_server.PgServer().init().start()
        self.addCleanup(self.pg.close)
        self.url = self.pg.create_database("tessera")

    def instance(self, **kw):
        t = Tessera(default_tenant="acme", store_url=self.url, **kw).start()
        self.addCleanup(t.close)
        return t

    def user_names(self, t):
        return sorted(u["name"] for u in json.loads(t.ctl("--json", "user", "list", "--tenant", "acme",
                                                         check=True).stdout))

    def test_server_away_and_back(self):
        t = self.instance()
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("user", "add", "alice@acme", check=True)

        # The server stops (a fast shutdown closes every session): a
        # write fails with an error, and tesserad stays up.
        self.pg.stop()
        p = t.ctl("user", "add", "bob@acme")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIsNone(t.daemon.poll(), "tesserad exited when the database went away")

        # Back: requests work again, on new sessions, without a restart
        # of tesserad, once each thread's back-off between connection
        # attempts (at most 5 s, db-pg.c) has run out; what failed was not
        # stored, what was acknowledged is there.
        self.pg.start()
        deadline = time.monotonic() + BACKOFF_BOUND
        while True:
            p = t.ctl("user", "add", "carol@acme")
            if p.returncode == 0 or "exists" in p.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.user_names(t), ["alice", "carol"])
        self.assertIn("connected again", t.log())
        self.assertEqual(self.pg.psql("SELECT count(*) FROM users WHERE name = 'bob'", database="tessera"), "0")

    def test_two_instances_one_database(self):
        a = self.instance()
        b = self.instance()
        a.ctl("tenant", "create", "acme", check=True)
        a.ctl("user", "add", "alice@acme", check=True)
        # Made through A, seen and changed through B, seen again through A.
        self.assertEqual(self.user_names(b), ["alice"])
        b.ctl("user", "add", "bob@acme", check=True)
        self.assertEqual(self.user_names(a), ["alice", "bob"])
        # One namespace of IDs: B allocated past A's user, not onto it.
        uids = {u["name"]: u["uid"] for u in json.loads(a.ctl("--json", "user", "list", "--tenant", "acme",
                                                               check=True).stdout)}
        self.assertNotEqual(uids["alice"], uids["bob"])
        # A name taken through A is refused through B.
        self.assertNotEqual(b.ctl("user", "add", "alice@acme").returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
