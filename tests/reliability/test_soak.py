#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Soak: a steady mixed load (NSS lookups through the module, with and
without its memory cache; PAM logins over the authentication socket, some
with a wrong password; client-credentials tokens over HTTP; users created
and deleted over D-Bus) while tesserad's resident memory, descriptors and
database are sampled. After a warm-up they must stop growing: the samples
are printed, and a growth from the first half of the run to the second
beyond a tolerance fails the test.

The database is judged without its audit trail, which is append-only and
grows with every audited request by design (its growth is printed as bytes
per event); the WAL is judged on its own (a WAL that keeps growing means
checkpoints stopped).

About 30 s in CI, as a smoke test of the harness with a loose check; 30
minutes with TESSERA_FAULT_LONG=1 (TESSERA_SOAK_SECONDS sets another
length), with a tight one."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import (LONG, LOAD_CONFIG, NSS_MODULE, NSS_PROBE, PASSWORD, TENANT, Http, Tessera,  # noqa: E402
                      TesseraError, check_integrity, figure, nss_available, pam_authenticate, process_stats, report)

SECONDS = int(os.environ.get("TESSERA_SOAK_SECONDS") or figure(30, 1800))
# Tolerances, second half of the run against the first (after the
# warm-up): (relative, absolute). CI's run is too short for a tight one.
TOLERANCE = {
    "rss_kib": (0.10, 4096) if LONG else (0.50, 16384),
    "fds": (0.0, 2) if LONG else (0.0, 8),
    "db_kib_without_audit": (0.05, 64) if LONG else (0.50, 256),
    "wal_kib": (0.10, 512) if LONG else (0.50, 8192),
}
# The load, per second, per kind: steady, not a benchmark.
RATES = {"tokens": 100, "logins": 10, "lookups": 40, "dbus_changes": 4}


class Soak:
    def __init__(self, t, svc):
        self.t = t
        self.svc = svc
        self.stop = threading.Event()
        self.counts = {k: 0 for k in RATES}
        self.errors = []
        self.threads = []

    def paced(self, kind, fn):
        """Calls fn at RATES[kind] per second (fn may do several at once
        and return how many)."""
        period = 1.0 / RATES[kind]
        next_at = time.monotonic()
        state = {}
        while not self.stop.is_set():
            try:
                n = fn(state) or 1
            except (OSError, ValueError, TesseraError, subprocess.SubprocessError) as e:
                self.errors.append(f"{kind}: {e!r}")
                n = 1
            self.counts[kind] += n
            next_at += n * period
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                next_at = time.monotonic()
        if "http" in state:
            state["http"].close()

    def start(self):
        for kind, fn in (("tokens", self.token), ("logins", self.login), ("lookups", self.lookups),
                         ("dbus_changes", self.dbus_change)):
            th = threading.Thread(target=self.paced, args=(kind, fn), daemon=True)
            th.start()
            self.threads.append(th)

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(60)

    def token(self, state):
        http = state.setdefault("http", Http(self.t))
        status, body, _ = http.post_form(f"/t/{TENANT}/token", {"grant_type": "client_credentials"},
                                         basic=(self.svc["client_id"], self.svc["client_secret"]))
        if status != 200:
            self.errors.append(f"token: {status} {body[:200]!r}")

    def login(self, state):
        i = state["i"] = state.get("i", 0) + 1
        wrong = i % 5 == 0
        status, text = pam_authenticate(self.t.pam_socket, f"s{i % 10}", "wrong password" if wrong else PASSWORD)
        if status != ("AUTH_FAILED" if wrong else "OK"):
            self.errors.append(f"login {i}: {status} {text}")

    def lookups(self, state):
        if not nss_available():
            return 1
        # A process per batch: each new process connects afresh and, with
        # the cache, is handed the cache's descriptor.
        cache = state["cache"] = not state.get("cache", False)
        n = 20
        env = dict(os.environ, TESSERA_NSS_SOCKET=self.t.nss_socket, TESSERA_NSS_CACHE="1" if cache else "0",
                   TESSERA_NSS_TIMEOUT_MS="2000")
        env.pop("TESSERA_NSS_BYPASS", None)
        p = subprocess.run([NSS_PROBE, NSS_MODULE, "repeat", str(n), "getpwnam", "s3"], capture_output=True,
                           text=True, env=env, timeout=60)
        if p.returncode != 0 or not p.stdout.startswith("SUCCESS s3:"):
            self.errors.append(f"lookup: {p.returncode} {p.stdout.strip()} {p.stderr.strip()}")
        return n

    def dbus_change(self, state):
        # A pool of ten users that turns over: the tables stay the same size.
        i = state["i"] = state.get("i", 0) + 1
        p = self.t.ctl("user", "add", f"c{i}@{TENANT}")
        if p.returncode != 0:
            self.errors.append(f"user add: {p.stderr.strip()}")
        if i > 10:
            p = self.t.ctl("user", "delete", f"c{i - 10}@{TENANT}")
            if p.returncode != 0:
                self.errors.append(f"user delete: {p.stderr.strip()}")


def db_sample(t):
    """Sizes of the database: the file, the WAL, the pages of every table
    and index but the audit trail's, and the audit trail's rows."""
    path = os.path.join(t.state_dir, "tessera.db")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') "
                                          "AND name NOT LIKE 'audit%'")]
        pages = sum(db.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?", (n,)).fetchone()[0]
                    for n in names)
        audit = db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        db.close()
    wal = path + "-wal"
    return {"db_kib": os.path.getsize(path) // 1024, "wal_kib": (os.path.getsize(wal) if os.path.exists(wal) else 0) // 1024,
            "db_kib_without_audit": pages // 1024, "audit_events": audit}


def growth(values, relative, absolute):
    """Max of the second half against the max of the first, after a
    warm-up of a quarter. Returns (first, second, allowed)."""
    v = values[len(values) // 4:]
    half = len(v) // 2
    first, second = max(v[:half]), max(v[half:])
    return first, second, first * (1 + relative) + absolute


class SoakTest(unittest.TestCase):
    def test_soak(self):
        t = Tessera(config_extra=LOAD_CONFIG)
        self.addCleanup(t.close)
        t.start()
        t.ctl("tenant", "create", TENANT, check=True)
        for i in range(10):
            t.ctl("user", "add", f"s{i}@{TENANT}", "--password-stdin", input=PASSWORD + "\n", check=True)
        svc = json.loads(t.ctl("--json", "app", "create", f"svc@{TENANT}", "--grant", "client_credentials",
                               "--signing-alg", "ES256", check=True).stdout)

        soak = Soak(t, svc)
        self.addCleanup(soak.finish)
        interval = max(2.0, SECONDS / 60)
        samples = []
        started = time.monotonic()
        soak.start()
        print(f"soak: {SECONDS} s, a sample every {interval:.0f} s", flush=True)
        print("  second  rss_kib  fds  db_kib  wal_kib  db_kib_without_audit  audit_events", flush=True)
        while True:
            elapsed = time.monotonic() - started
            rss, fds = process_stats(t.daemon.pid)
            s = {"second": int(elapsed), "rss_kib": rss, "fds": fds, **db_sample(t)}
            samples.append(s)
            print(f"  {s['second']:6d}  {s['rss_kib']:7d}  {s['fds']:3d}  {s['db_kib']:6d}  {s['wal_kib']:7d}  "
                  f"{s['db_kib_without_audit']:20d}  {s['audit_events']:12d}", flush=True)
            if elapsed >= SECONDS:
                break
            time.sleep(min(interval, max(0.0, SECONDS - elapsed)))
        soak.finish()

        self.assertEqual(soak.errors[:10], [], "the load got wrong answers")
        self.assertIsNone(t.daemon.poll(), "tesserad died")
        self.assertEqual(check_integrity(t), [])
        for kind, n in soak.counts.items():
            self.assertGreater(n, 0, f"no {kind} in the soak")
        self.assertGreaterEqual(len(samples), 8)

        verdicts = {}
        for metric, (relative, absolute) in TOLERANCE.items():
            first, second, allowed = growth([s[metric] for s in samples], relative, absolute)
            verdicts[metric] = (first, second, allowed)
        # What an audited request costs the database file, after the
        # warm-up (the WAL has reached its size by then).
        warm = samples[len(samples) // 4]
        audit_growth = samples[-1]["audit_events"] - warm["audit_events"]
        bytes_per_event = (samples[-1]["db_kib"] - warm["db_kib"]) * 1024 // max(1, audit_growth)
        report("soak", seconds=SECONDS, **soak.counts,
               **{f"{m}_first_half_max": v[0] for m, v in verdicts.items()},
               **{f"{m}_second_half_max": v[1] for m, v in verdicts.items()},
               audit_events_after_warmup=audit_growth, db_bytes_per_audit_event=bytes_per_event)
        for metric, (first, second, allowed) in verdicts.items():
            self.assertLessEqual(second, allowed, f"{metric} keeps growing: {first} in the first half, {second} "
                                                  f"in the second (allowed {allowed:.0f})")


if __name__ == "__main__":
    unittest.main(verbosity=2)
