#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A PostgreSQL failover under load: two tesserad instances on a primary
with a synchronous streaming standby (tests/lib/pg_server.py), reached by
one multi-host URL with target_session_attrs=read-write. While users are
created over D-Bus and client-credentials tokens issued over HTTP through
both instances, the primary is killed (SIGKILL) and the standby promoted:
each instance must find the new primary by itself, the load must go on
within seconds, and every write the load generator saw acknowledged must
be on the new primary (synchronous replication: a commit returns only
once the standby has it).

And tesserad itself killed (SIGKILL) under load 50 times on PostgreSQL,
restarted each time: every acknowledged write is there afterwards (the
loop of test_kill_under_load.py, faultlib.crash_cycles(), on a database
of a server started here).

The figures (how long the load stopped, how many writes) are printed on a
FIGURES line."""

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import LOAD_CONFIG, TENANT, Http, crash_cycles, figure, jwt_claims, report  # noqa: E402
import pg_server  # noqa: E402  (faultlib put tests/lib on the path)
import tessera_env  # noqa: E402
from tessera_env import Tessera  # noqa: E402

WHY = pg_server.available()
# From the promotion to the first write acknowledged through each instance
# by each kind of load: a generous bound. What it takes: each connection's
# back-off between attempts (at most 5 s, db-pg.c) has to run out, then
# one connection attempt that skips the dead primary's socket.
RESUME_BOUND = 30.0
# Writes acknowledged through each instance, of each kind, before the kill
# and again after the load resumed (so that the new primary took some).
ACKS_BEFORE = 20
ACKS_AFTER = 20
# For those, on a loaded machine or a sanitizer build.
ACKS_BOUND = 120.0
KEYS = [(label, kind) for label in ("A", "B") for kind in ("user", "token")]
# tesserad killed under load on PostgreSQL: 50 kills in CI (short cycles,
# at most KILL_CYCLE_ACKS writes each), 500 with TESSERA_FAULT_LONG=1.
KILLS = figure(50, 500)
KILL_CYCLE_ACKS = 40


def multi_host_url(servers, database="tessera"):
    """One libpq URL naming every server: libpq tries them in order and,
    with target_session_attrs=read-write, keeps the first that takes
    writes. Unix sockets: host is a list of folders (percent-encoded in a
    URL query), port one per host."""
    q = {"host": ",".join(s.socket_dir for s in servers),
         "port": ",".join(str(pg_server.PORT) for _ in servers),
         "user": pg_server.SUPERUSER, "target_session_attrs": "read-write"}
    return f"postgresql:///{database}?" + "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in q.items())


class Ack:
    __slots__ = ("instance", "kind", "key", "sent", "acked")

    def __init__(self, instance, kind, key, sent, acked):
        self.instance, self.kind, self.key, self.sent, self.acked = instance, kind, key, sent, acked


class TwoInstanceLoad:
    """Per instance, a thread that creates users over D-Bus (tesseractl)
    and one that asks for client-credentials tokens over HTTP. Every
    acknowledged write is recorded with the time its request was sent;
    failures (the database away) are counted, never recorded."""

    def __init__(self, instances, svc):
        self.instances = instances
        self.svc = svc
        self.lock = threading.Lock()
        self.acks = []
        self.failures = {}
        self.anomalies = []
        self.stopping = threading.Event()
        self.threads = []
        self.next_user = 0

    def start(self):
        for label, t in self.instances.items():
            for kind, fn in (("user", self.user_worker), ("token", self.token_worker)):
                th = threading.Thread(target=self.loop, args=(label, t, kind, fn), name=f"{label}-{kind}",
                                      daemon=True)
                th.start()
                self.threads.append(th)

    def stop(self):
        self.stopping.set()
        for th in self.threads:
            th.join(90)
        self.threads = []

    def loop(self, label, t, kind, fn):
        state = {}
        while not self.stopping.is_set():
            sent = time.monotonic()
            try:
                key = fn(t, state)
            except (OSError, http.client.HTTPException, subprocess.TimeoutExpired):
                key = None
            except Exception as e:  # noqa: BLE001 (an answer nothing explains fails the test)
                with self.lock:
                    self.anomalies.append(f"{label} {kind}: {e!r}")
                key = None
            with self.lock:
                if key is not None:
                    self.acks.append(Ack(label, kind, key, sent, time.monotonic()))
                else:
                    self.failures[(label, kind)] = self.failures.get((label, kind), 0) + 1
            if key is None:
                # The database is away: a client that retries, not a flood.
                time.sleep(0.05)
        if "http" in state:
            state["http"].close()

    def user_worker(self, t, state):
        with self.lock:
            name = f"load{self.next_user}"
            self.next_user += 1
        p = subprocess.run([tessera_env.binary("tesseractl"), "user", "add", f"{name}@{TENANT}"],
                           capture_output=True, text=True, env=t.env(), timeout=60)
        if p.returncode == 0:
            return name
        if "exists" in p.stderr:
            # A creation whose reply was lost at the kill (committed, not
            # acknowledged) cannot make a name that was never sent exist.
            raise AssertionError(f"user {name} exists before it was acknowledged: {p.stderr.strip()}")
        return None

    def token_worker(self, t, state):
        conn = state.setdefault("http", Http(t))
        try:
            status, body, _ = conn.post_form(f"/t/{TENANT}/token", {"grant_type": "client_credentials"},
                                             basic=(self.svc["client_id"], self.svc["client_secret"]))
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        if status == 200:
            return jwt_claims(json.loads(body)["access_token"])["jti"]
        if status >= 500:
            return None
        raise AssertionError(f"client_credentials: {status} {body[:200]!r}")

    def snapshot(self):
        with self.lock:
            return list(self.acks)

    def wait(self, since, n, timeout):
        """Until every (instance, kind) has n acknowledged writes sent at
        or after since, or timeout seconds passed. Returns, for each that
        got there, the seconds from since to its first such
        acknowledgement; and those that did not."""
        deadline = time.monotonic() + timeout
        while True:
            counts, first = {}, {}
            for x in self.snapshot():
                key = (x.instance, x.kind)
                if x.sent >= since:
                    counts[key] = counts.get(key, 0) + 1
                    first[key] = min(first.get(key, x.acked), x.acked)
            waiting = [k for k in KEYS if counts.get(k, 0) < n]
            if not waiting or time.monotonic() > deadline:
                return {k: v - since for k, v in first.items()}, waiting
            time.sleep(0.05)


@unittest.skipIf(WHY, WHY)
class PgFailoverTest(unittest.TestCase):
    def setUp(self):
        self.primary = pg_server.PgServer(name="primary").init().start()
        self.addCleanup(self.primary.close)
        self.primary.create_database("tessera")
        self.standby = self.primary.standby(name="standby")
        self.addCleanup(self.standby.close)
        self.primary.set_synchronous_standby("standby")
        self.assertEqual(self.primary.psql("SELECT sync_state FROM pg_stat_replication"), "sync")
        self.url = multi_host_url([self.primary, self.standby])

    def instance(self, key_from=None):
        t = Tessera(default_tenant=TENANT, store_url=self.url, config_extra=LOAD_CONFIG)
        if key_from:
            # Secrets at rest are sealed with the key in the state folder:
            # every instance on one database needs the same one.
            os.makedirs(t.state_dir, mode=0o700, exist_ok=True)
            shutil.copy2(os.path.join(key_from.state_dir, "secret.key"), os.path.join(t.state_dir, "secret.key"))
        t.start()
        self.addCleanup(t.close)
        return t

    def stored(self, server):
        """The users of the tenant and the jti of every successful token
        audit, as the server holds them."""
        users = set(server.psql(
            f"SELECT u.name FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = '{TENANT}'",
            database="tessera").split())
        jtis = set(server.psql("SELECT details::json->>'jti' FROM audit_events "
                               "WHERE action = 'oauth.token' AND result = 'success'", database="tessera").split())
        return users, jtis

    def test_failover_loses_no_acknowledged_write(self):
        a = self.instance()
        a.ctl("tenant", "create", TENANT, check=True)
        svc = json.loads(a.ctl("--json", "app", "create", f"svc@{TENANT}", "--grant", "client_credentials",
                               "--signing-alg", "ES256", check=True).stdout)
        b = self.instance(key_from=a)
        # The tenant's signing keys are made at the first token, through A.
        for t in (a, b):
            http_conn = Http(t)
            status, body, _ = http_conn.post_form(f"/t/{TENANT}/token", {"grant_type": "client_credentials"},
                                                  basic=(svc["client_id"], svc["client_secret"]))
            http_conn.close()
            self.assertEqual(status, 200, body)

        load = TwoInstanceLoad({"A": a, "B": b}, svc)
        self.addCleanup(load.stop)
        load.start()
        _, waiting = load.wait(0, ACKS_BEFORE, ACKS_BOUND)
        self.assertEqual(waiting, [], f"too few writes acknowledged before the kill: {load.anomalies}")

        # Nothing failed while both servers were up: two instances
        # writing at once is not itself a fault.
        with load.lock:
            self.assertEqual(load.failures, {}, "requests failed before the kill")
            self.assertEqual(load.anomalies, [])
        killed = time.monotonic()
        self.primary.kill()
        dead = time.monotonic()
        self.standby.promote()
        promoted = time.monotonic()

        # Until each instance acknowledged each kind of write sent after
        # the promotion: the first one says when the load resumed.
        resumed, waiting = load.wait(promoted, 1, RESUME_BOUND)
        for t in (a, b):
            self.assertIsNone(t.daemon.poll(), "tesserad exited during the failover:\n" + t.log()[-3000:])
        self.assertEqual(waiting, [], f"the load did not resume within {RESUME_BOUND} s through "
                                      f"{waiting}; failures {load.failures}\nA:\n{a.log()[-3000:]}"
                                      f"\nB:\n{b.log()[-3000:]}")
        _, waiting = load.wait(promoted, ACKS_AFTER, ACKS_BOUND)
        self.assertEqual(waiting, [], f"too few writes acknowledged after the promotion: {load.anomalies}")
        load.stop()
        self.assertEqual(load.anomalies, [])

        acks = load.snapshot()
        users, jtis = self.stored(self.standby)
        missing = [f"user {x.key} (through {x.instance})" for x in acks if x.kind == "user" and x.key not in users]
        missing += [f"token {x.key} (through {x.instance})" for x in acks
                    if x.kind == "token" and x.key not in jtis]
        self.assertEqual(missing, [], "acknowledged writes missing on the new primary")

        in_flight = [x for x in acks if x.sent < killed < x.acked]
        report("pg failover",
               acknowledged_users=sum(x.kind == "user" for x in acks),
               acknowledged_tokens=sum(x.kind == "token" for x in acks),
               after_promotion=sum(x.sent >= promoted for x in acks),
               acked_across_kill=len(in_flight),
               failed_requests=sum(load.failures.values()),
               kill_seconds=round(dead - killed, 2),
               promote_seconds=round(promoted - dead, 2),
               **{f"resume_{label}_{kind}_s": round(v, 2) for (label, kind), v in sorted(resumed.items())},
               lost=len(missing))


@unittest.skipIf(WHY, WHY)
class PgTwoWritersTest(unittest.TestCase):
    """What the failover load does before the kill, alone: users created
    at the same time through two instances each get a UID of their own
    (IDs are allocated past the highest in use: two transactions must not
    both read the same highest one)."""

    def test_users_created_through_two_instances_at_once(self):
        pg = pg_server.PgServer().init().start()
        self.addCleanup(pg.close)
        url = pg.create_database("tessera")
        a = Tessera(default_tenant=TENANT, store_url=url).start()
        self.addCleanup(a.close)
        a.ctl("tenant", "create", TENANT, check=True)
        b = Tessera(default_tenant=TENANT, store_url=url)
        b.start()
        self.addCleanup(b.close)

        errors, lock = [], threading.Lock()

        def create(t, prefix, n=15):
            for i in range(n):
                p = t.ctl("user", "add", f"{prefix}{i}@{TENANT}")
                if p.returncode != 0:
                    with lock:
                        errors.append(f"{prefix}{i}: {p.stderr.strip()}")
        threads = [threading.Thread(target=create, args=(t, f"{label}{k}x")) for label, t in (("a", a), ("b", b))
                   for k in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(300)
        self.assertEqual(errors, [])
        uids = [r[0] for r in a.sqlite(f"SELECT u.uid FROM users u JOIN tenants t ON t.id = u.tenant_id "
                                       f"WHERE t.slug = '{TENANT}'")]
        self.assertEqual(len(uids), 60)
        self.assertEqual(len(set(uids)), 60)


@unittest.skipIf(WHY, WHY)
class PgKillUnderLoadTest(unittest.TestCase):
    def test_kills_lose_no_acknowledged_write(self):
        pg = pg_server.PgServer().init().start()
        self.addCleanup(pg.close)
        url = pg.create_database("tessera")
        figures = crash_cycles(self, "kill -9 under load on PostgreSQL", KILLS, power_cut=False, store_url=url,
                               max_acks=KILL_CYCLE_ACKS)
        self.assertEqual(figures["external_kills"], KILLS)


if __name__ == "__main__":
    unittest.main(verbosity=2)
