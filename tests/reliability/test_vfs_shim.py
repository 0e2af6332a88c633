#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The power-cut VFS (vfs-powercut.so) itself, under a small SQLite client
(python's sqlite3 in a child process): it must lose what was never synced,
keep what was, and fail writes and syncs when told, or the fault tests
that rely on it would prove nothing."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import (FAULT_EIO_SYNC, FAULT_EIO_WRITE, FAULT_FULL, VfsControl, figure,  # noqa: E402
                      report, seeded_random)

# The client: one connection writes, another reads; commands on stdin.
CLIENT = r"""
import sqlite3, sys
path, sync = sys.argv[1], sys.argv[2]
w = sqlite3.connect(path, isolation_level=None)
w.execute("PRAGMA journal_mode = WAL")
w.execute("PRAGMA synchronous = " + sync)
r = sqlite3.connect(path, isolation_level=None)
for line in sys.stdin:
    cmd, *arg = line.split()
    try:
        if cmd == "insert":
            w.execute("BEGIN IMMEDIATE")
            w.execute("INSERT INTO t VALUES (?, randomblob(3000))", (int(arg[0]),))
            w.execute("COMMIT")
            print("ok", flush=True)
        elif cmd == "count":
            print(r.execute("SELECT count(*) FROM t").fetchone()[0], flush=True)
    except sqlite3.Error as e:
        if w.in_transaction:
            w.execute("ROLLBACK")
        print("error", e, flush=True)
"""


class ShimTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tessera-vfs-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "t.db")
        # Closed before the client runs: a power cut stops every process,
        # and one that kept the shared memory open would vouch for WAL
        # frames that never reached the disk.
        db = sqlite3.connect(self.db)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, pad BLOB)")
        db.commit()
        db.close()
        self.ctl = VfsControl(os.path.join(self.dir, "ctl"))
        self.addCleanup(self.ctl.close)

    def client(self, sync, seed=1, flush_percent=10):
        p = subprocess.Popen([sys.executable, "-c", CLIENT, self.db, sync], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ, **self.ctl.env(seed, flush_percent)))
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stdin.close)
        return p

    @staticmethod
    def ask(p, line):
        p.stdin.write(line + "\n")
        p.stdin.flush()
        return p.stdout.readline().strip()

    def stored(self):
        """Opened without the shim, as after the power came back."""
        db = sqlite3.connect(self.db)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            return {r[0] for r in db.execute("SELECT i FROM t")}
        finally:
            db.close()

    def test_unsynced_writes_are_lost_and_seen_meanwhile(self):
        # synchronous=OFF never syncs, and no writeback: every commit lives
        # in the shim's memory only, where the other connection sees it.
        p = self.client("OFF", flush_percent=0)
        for i in range(20):
            self.assertEqual(self.ask(p, f"insert {i}"), "ok")
        self.assertEqual(self.ask(p, "count"), "20")
        self.assertEqual(self.ctl["syncs"], 0)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.assertEqual(self.stored(), set(), "a kill must lose what was never synced")

    def test_synced_commits_survive_cuts(self):
        rng, seed = seeded_random("vfs shim")
        cuts, lost_off, lost_full, acked_total, dropped, torn = figure(15, 100), 0, 0, 0, 0, 0
        for cut in range(cuts):
            # FULL: each commit synced before it is acknowledged. OFF in
            # every fourth round shows that the check finds losses.
            sync = "OFF" if cut % 4 == 3 else "FULL"
            self.ctl.reset()
            p = self.client(sync, seed=seed + cut, flush_percent=rng.choice((0, 10, 50)))
            base = max(self.stored(), default=0) + 1
            acked = set()
            self.ctl["cut_at"] = rng.randint(20, 120)
            for i in range(base, base + 1000):
                if self.ask(p, f"insert {i}") != "ok":
                    break
                acked.add(i)
            p.wait(30)
            self.assertEqual(p.returncode, -signal.SIGKILL, "the shim did not cut the power")
            self.assertEqual(self.ctl["cut"], 1)
            dropped += self.ctl["cut_dropped"]
            torn += self.ctl["cut_torn"]
            lost = acked - self.stored()
            if sync == "FULL":
                acked_total += len(acked)
                lost_full += len(lost)
                self.assertEqual(lost, set(), f"cut {cut}: synced commits lost")
            else:
                lost_off += len(lost)
        self.assertGreater(lost_off, 0, "commits never synced survived every cut: the shim loses nothing")
        self.assertGreater(dropped + torn, 0)
        report("vfs shim", cuts=cuts, synced_commits_checked=acked_total, lost=lost_full,
               unsynced_commits_lost=lost_off, sectors_dropped=dropped, sectors_torn=torn)

    def test_faults_on_demand(self):
        p = self.client("FULL")
        self.assertEqual(self.ask(p, "insert 1"), "ok")
        self.ctl["faults"] = FAULT_EIO_WRITE
        self.assertIn("disk I/O error", self.ask(p, "insert 2"))
        self.ctl["faults"] = FAULT_FULL
        self.assertIn("full", self.ask(p, "insert 3"))
        self.ctl["faults"] = FAULT_EIO_SYNC
        self.assertIn("disk I/O error", self.ask(p, "insert 4"))
        self.assertGreaterEqual(self.ctl["failed_writes"], 2)
        self.assertGreaterEqual(self.ctl["failed_syncs"], 1)
        self.ctl["faults"] = 0
        self.assertEqual(self.ask(p, "insert 5"), "ok")
        self.assertEqual(self.ask(p, "count"), "2")
        p.stdin.close()
        p.wait(30)
        self.assertEqual(self.stored(), {1, 5})


if __name__ == "__main__":
    unittest.main(verbosity=2)
