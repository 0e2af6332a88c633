#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Power cuts under load. tesserad runs on vfs-powercut.so, a SQLite VFS
that keeps unsynced writes in memory as a disk's write cache would; at a
random write or sync of the database or its WAL it cuts the power (every
fifth cut at a random page of a checkpoint): each pending 512-byte sector
reaches the disk, reaches it in part or is lost, and the process dies with
SIGKILL. Then tesserad starts on the real files
without the shim: the database must open, pass integrity_check and hold
every write it acknowledged (users over D-Bus, tokens over HTTP, TOTP
logins over the authentication socket, refresh rotations).

20 cuts in CI; 200 with TESSERA_FAULT_LONG=1."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import crash_cycles, figure  # noqa: E402


class PowerCutTest(unittest.TestCase):
    def test_power_cuts_lose_no_acknowledged_write(self):
        figures = crash_cycles(self, "power cuts", figure(20, 200), power_cut=True)
        # The shim must have cut mid-write and lost data, or the test
        # proved nothing.
        self.assertGreater(figures["self_cuts"], 0, figures)
        self.assertGreater(figures["cuts_in_checkpoint"], 0, figures)
        self.assertGreater(figures["sectors_dropped"] + figures["sectors_torn"], 0, figures)


if __name__ == "__main__":
    unittest.main(verbosity=2)
