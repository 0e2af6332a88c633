#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesserad's life: configuration errors, start-up, clean shutdown, data
kept across restarts and crashes, and work that must not block the loop."""

import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import Tessera, TesseraError, binary  # noqa: E402


def check_config(text):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    try:
        return subprocess.run([binary("tesserad"), "--config", f.name, "--check-config"], capture_output=True,
                              text=True), f.name
    finally:
        os.unlink(f.name)


class ConfigTest(unittest.TestCase):
    def test_valid_config(self):
        p, _ = check_config("[daemon]\nstate_directory = /tmp/x   # a comment\nadmin_group = wheel\n"
                            "[host]\ndefault_tenant = acme\ntenants = globex, initech\n"
                            "[passwords]\nhash_method = bcrypt\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("OK", p.stdout)

    def test_packaged_config_with_every_key(self):
        # packaging/tesserad.conf lists every key with its default,
        # commented out: uncommented, the file must still be valid.
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "tesserad.conf")
        with open(path) as f:
            text = f.read()
        uncommented = re.sub(r"(?m)^#([a-z_]+ =)", r"\1", text)
        self.assertGreater(len(re.findall(r"(?m)^[a-z_]+ =", uncommented)), 40)
        p, _ = check_config(uncommented)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_errors_name_file_and_line(self):
        cases = [
            ("[daemon]\nadmin_group = x\nfrobnicate = 1\n", ":3: unknown key 'frobnicate' in [daemon]"),
            ("[daemon]\n[nosuch]\nkey = 1\n", ":3: unknown section [nosuch]"),
            ("[host]\n\ndefault_tenant = Not-Valid\n", ":3: invalid value for 'default_tenant'"),
            ("[passwords]\nhash_method = md5\n", ":2: invalid value for 'hash_method'"),
            ("[daemon]\nstate_directory = relative/path\n", ":2: invalid value for 'state_directory'"),
            ("[ids]\nrange_min = -5\n", ":2: invalid value for 'range_min'"),
            ("[ids]\nslice_size = 10\n", "slice_size must be at least 1000"),
            ("[ids]\nrange_min = 60000\n", "must not include 65534 and 65535"),
            ("[ids]\nrange_max = 4294967295\n", "range_max must be below 2147483647"),
            ("[host]\ndefault_tenant = acme\ntenants = acme\n", "both the default and in [host] tenants"),
            ("this is not ini\n", ":1: syntax error"),
        ]
        for text, message in cases:
            with self.subTest(message=message):
                p, path = check_config(text)
                self.assertEqual(p.returncode, 1)
                self.assertIn(message, p.stderr)
                if message.startswith(":"):
                    self.assertIn(path + message, p.stderr)

    def test_check_config_file_argument(self):
        # "tesserad --check-config FILE", as tesserad(8) and a package's
        # maintainer scripts use it on a new file before it is put in place.
        with tempfile.TemporaryDirectory() as d:
            good, bad = os.path.join(d, "good.conf"), os.path.join(d, "bad.conf")
            with open(good, "w") as f:
                f.write("[daemon]\nadmin_group = wheel\n")
            with open(bad, "w") as f:
                f.write("[daemon]\nadmin_group = wheel\nfrobnicate = 1\n")
            p = subprocess.run([binary("tesserad"), "--check-config", good], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.strip(), f"{good}: OK")
            p = subprocess.run([binary("tesserad"), "--check-config", bad], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn(bad + ":3: unknown key 'frobnicate'", p.stderr)
            # A file named twice, or more than one file, is a mistake said so.
            p = subprocess.run([binary("tesserad"), "--config", good, "--check-config", bad], capture_output=True,
                               text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("once", p.stderr)
            p = subprocess.run([binary("tesserad"), "--check-config", good, bad], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("positional", p.stderr)
            # Without --check-config, a file argument is still refused.
            p = subprocess.run([binary("tesserad"), good], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("no positional arguments", p.stderr)

    def test_missing_named_config_fails(self):
        p = subprocess.run([binary("tesserad"), "--config", "/nonexistent/tesserad.conf"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent/tesserad.conf", p.stderr)

    def test_bad_arguments(self):
        p = subprocess.run([binary("tesserad"), "--log-level", "loud"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Unknown log level", p.stderr)
        p = subprocess.run([binary("tesserad"), "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--config", p.stdout)


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.t = Tessera(default_tenant="acme")
        self.addCleanup(self.t.close)
        self.t.start()
        self.t.ctl("tenant", "create", "acme", check=True)

    def user(self, name):
        p = self.t.ctl("--json", "user", "show", name)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def test_files_and_modes(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.t.state_dir).st_mode), 0o700)
        db = os.path.join(self.t.state_dir, "tessera.db")
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
        self.assertEqual(self.t.sqlite("PRAGMA journal_mode")[0][0], "wal")

    def test_clean_shutdown_on_sigterm_and_sigint(self):
        self.assertEqual(self.t.stop_daemon(signal.SIGTERM), 0)
        self.assertIn("shutting down", self.t.log())
        self.t.start_daemon()
        self.assertEqual(self.t.stop_daemon(signal.SIGINT), 0)

    def test_data_kept_across_restart(self):
        self.t.ctl("user", "add", "kept@acme", "--email", "kept@example.com", check=True)
        self.t.ctl("group", "add", "keepers@acme", check=True)
        self.t.ctl("group", "add-member", "keepers@acme", "kept", check=True)
        before = self.user("kept@acme")
        self.t.restart_daemon()
        self.assertEqual(self.user("kept@acme"), before)

    def test_acknowledged_changes_survive_sigkill(self):
        # Each change is acknowledged only after COMMIT (synchronous=FULL,
        # WAL): killing the daemon right after the reply loses nothing.
        for i in range(5):
            self.t.ctl("user", "add", f"k{i}@acme", check=True)
        self.t.ctl("user", "passwd", "k0@acme", "--password-stdin", input="durable-password\n", check=True)
        self.t.ctl("user", "lock", "k1@acme", check=True)
        self.assertEqual(self.t.kill_daemon(), -signal.SIGKILL)
        self.t.start_daemon()
        for i in range(5):
            self.assertIsNotNone(self.user(f"k{i}@acme"), f"k{i} lost")
        self.assertTrue(self.user("k0@acme")["has_password"])
        self.assertEqual(self.user("k1@acme")["state"], "locked")
        self.assertEqual(self.t.sqlite("PRAGMA integrity_check")[0][0], "ok")

    def test_second_daemon_refused(self):
        p = subprocess.run([binary("tesserad"), "--config", self.t.config_path], capture_output=True, text=True,
                           env=self.t.env(), timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is another tesserad running", p.stderr)
        self.assertIsNotNone(self.user("kept@acme") or True)
        self.assertEqual(self.t.ctl("tenant", "show", "acme").returncode, 0, "the first one still serves")

    def test_newer_database_refused(self):
        self.t.stop_daemon()
        db = os.path.join(self.t.state_dir, "tessera.db")
        subprocess.run(["sqlite3", db, "PRAGMA user_version = 9999"], check=True)
        with self.assertRaises(TesseraError) as e:
            self.t.start_daemon()
        self.assertIn("newer than this tesserad knows", str(e.exception))
        self.assertEqual(subprocess.run(["sqlite3", db, "SELECT slug FROM tenants"], capture_output=True,
                                        text=True).stdout.strip(), "acme", "the database was left alone")


class StoreConfigTest(unittest.TestCase):
    """[store] decides where the data goes: every connection of the daemon
    (the main loop's, the HTTP threads', the batch writer's, the audit
    retention's) opens the database it names, and no other."""

    def test_path_elsewhere(self):
        with tempfile.TemporaryDirectory() as elsewhere:
            db = os.path.join(elsewhere, "identity.db")
            with Tessera(default_tenant="acme", config_extra=f"[store]\nbackend = sqlite\npath = {db}\n") as t:
                t.ctl("tenant", "create", "acme", check=True)
                t.ctl("user", "add", "alice@acme", check=True)
                self.assertIn(f"store sqlite {db}", t.log())
                # An HTTP thread's connection reads the same database.
                with urllib.request.urlopen(t.base_url + "/readyz", timeout=30) as r:
                    self.assertEqual(json.loads(r.read())["store"], "ok")
                with urllib.request.urlopen(t.issuer("acme") + "/.well-known/openid-configuration",
                                            timeout=30) as r:
                    self.assertEqual(json.loads(r.read())["issuer"], t.issuer("acme"))
                self.assertFalse(os.path.exists(os.path.join(t.state_dir, "tessera.db")))
                self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
                self.assertEqual(subprocess.run(["sqlite3", "-readonly", db, "SELECT name FROM users"],
                                                capture_output=True, text=True, check=True).stdout.strip(), "alice")
                # Restarted on the same configuration: the same data.
                t.restart_daemon()
                self.assertEqual(t.ctl("user", "show", "alice@acme").returncode, 0)

    def test_unknown_backend_refused(self):
        p, path = check_config("[store]\nbackend = mysql\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{path}:2: invalid value for 'backend' in [store]", p.stderr)

    def test_postgresql_without_url_refused(self):
        p, path = check_config("[store]\nbackend = postgresql\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{path}: [store] lacks a setting of backend postgresql", p.stderr)
        p, path = check_config("[store]\nbackend = postgresql\nurl = postgresql://u:secret@db/tessera\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("url holds a password", p.stderr)
        self.assertNotIn("secret", p.stderr)


class SlowWorkTest(unittest.TestCase):
    """Password hashing runs on workers: lookups are served meanwhile, and a
    flood gets a clear 'busy' answer instead of an unbounded queue."""

    def test_hashing_does_not_block_reads(self):
        # One worker, a queue of two, and a costly yescrypt so that the
        # hashes below outlast the read by far.
        with Tessera(default_tenant="acme", daemon_extra="worker_threads = 1\nmax_queued_jobs = 2\n",
                     config_extra="[passwords]\nhash_cost = 9\n") as t:
            t.ctl("tenant", "create", "acme", check=True)
            for i in range(6):
                t.ctl("user", "add", f"s{i}@acme", check=True)
            procs = [subprocess.Popen([binary("tesseractl"), "user", "passwd", f"s{i}@acme", "--password-stdin"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=t.env()) for i in range(6)]
            for p in procs:
                p.stdin.write("a long enough password\n")
                p.stdin.close()
            # Wait until the first hash is surely running: the daemon has
            # logged nothing yet, so poll the bus with a read instead.
            read = t.ctl("user", "show", "s0@acme")
            still_running = sum(1 for p in procs if p.poll() is None)
            results = [(p.wait(120), p.stderr.read()) for p in procs]
            self.assertEqual(read.returncode, 0)
            self.assertGreater(still_running, 0, "the read waited for the hashes")
            busy = [err for code, err in results if code != 0]
            self.assertTrue(all("Too many password operations" in e for e in busy), busy)
            self.assertGreaterEqual(len(busy), 1, "a queue of 2 with 1 worker must turn some away")
            self.assertGreaterEqual(len([c for c, _ in results if c == 0]), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
