#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kill -9 under load: tesserad is killed at a random moment while users
are created over D-Bus, tokens issued over HTTP, TOTP codes used over the
authentication socket and refresh tokens rotated; after each restart every
acknowledged write is there and integrity_check is ok.

25 kills in CI; 500 with TESSERA_FAULT_LONG=1."""

import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import LOAD_CONFIG, Http, Tessera, crash_cycles, figure  # noqa: E402


class KillUnderLoadTest(unittest.TestCase):
    def test_kills_lose_no_acknowledged_write(self):
        figures = crash_cycles(self, "kill -9 under load", figure(25, 500), power_cut=False)
        self.assertEqual(figures["external_kills"], figure(25, 500))

    def test_outside_reader_then_kill(self):
        # Another process reads the database while tesserad runs (sqlite3,
        # a backup, a monitoring script) and closes it again. tesserad's
        # connections must still hold their locks, or that process
        # checkpoints and deletes the WAL on closing, and what tesserad
        # commits afterwards goes into an unlinked file.
        t = Tessera(config_extra=LOAD_CONFIG)
        self.addCleanup(t.close)
        t.start()
        t.ctl("tenant", "create", "acme", check=True)
        svc = json.loads(t.ctl("--json", "app", "create", "svc@acme", "--grant", "client_credentials",
                               check=True).stdout)
        http = Http(t)
        self.addCleanup(http.close)
        self.assertEqual(http.post_form("/t/acme/token", {"grant_type": "client_credentials"},
                                        basic=(svc["client_id"], svc["client_secret"]))[0], 200)
        t.ctl("user", "add", "before@acme", check=True)
        wal = os.path.join(t.state_dir, "tessera.db-wal")
        self.assertTrue(os.path.exists(wal))
        db = sqlite3.connect(os.path.join(t.state_dir, "tessera.db"))
        self.assertEqual(db.execute("SELECT count(*) FROM users WHERE name = 'before'").fetchone()[0], 1)
        db.close()
        self.assertTrue(os.path.exists(wal), "an outside reader deleted the WAL tesserad writes to")
        t.ctl("user", "add", "after@acme", check=True)
        t.kill_daemon()
        t.start_daemon()
        self.assertEqual(t.ctl("user", "show", "after@acme").returncode, 0, "an acknowledged user was lost")


if __name__ == "__main__":
    unittest.main(verbosity=2)
