#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A full disk and failing I/O under load.

Disk full: the state directory is a small tmpfs (in a private mount
namespace: the script re-executes itself under unshare, as root, as CI
runs), filled up while the load runs. I/O errors: vfs-powercut.so fails
every write, or every sync, of the database and its WAL.

Meanwhile writes fail with a clear error at every door (D-Bus
org.tessera.Identity1.Error.StorageFull or .Internal with a sentence that
says so, HTTP 507 storage_full or 503 storage_unavailable in the JSON
envelope, and a login fails closed: PAM_AUTHINFO_UNAVAIL), while lookups of
existing users keep working (NSS through the module, D-Bus reads, HTTP
reads). Once space returns, or the I/O errors stop, tesserad writes again
by itself, without a restart. A kill -9 at the end, then a start without
faults: every acknowledged write is there and integrity_check is ok.

What a login does while the disk is full: it fails closed. Every login
must record its audit event, and a failure must count towards the lockout
and a TOTP code be marked used before the answer goes out; when that
cannot be written, tesserad answers ERROR (the module: PAM_AUTHINFO_UNAVAIL,
so pam_unix and local accounts go on as when tesserad is down)."""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import (FAULT_EIO_SYNC, FAULT_EIO_WRITE, FAULT_FULL, LOAD_CONFIG, PASSWORD, TENANT, Http,  # noqa: E402
                      Load, Tessera, VfsControl, check_acks, check_integrity, nss_available, nss_lookup,
                      pam_authenticate, report, sanitized_build, seeded_random)
from tessera_env import PamServices  # noqa: E402

IN_NAMESPACE = "TESSERA_FAULT_NAMESPACE"
TMPFS_SIZE = "6m"
FULL_ERROR = "org.tessera.Identity1.Error.StorageFull"
IO_ERROR = "org.tessera.Identity1.Error.Internal"


class StorageFaults:
    """What every storage fault test does: a daemon under load, faults on,
    each door checked, faults off, each door checked again."""

    def start(self, prepare=None, figures_name="storage"):
        self.rng, self.seed = seeded_random(figures_name)
        self.t = Tessera(config_extra=LOAD_CONFIG)
        self.addCleanup(self.t.close)
        if prepare:
            prepare(self.t)
        self.t.start()
        self.load = Load(self.t, self.rng, n_totp_users=8, n_families=2)
        self.load.setup()
        self.addCleanup(self.load.stop)
        self.t.ctl("user", "add", f"bob@{TENANT}", "--password-stdin", input=PASSWORD + "\n", check=True)
        self.http = Http(self.t)
        self.addCleanup(self.http.close)
        self.pam = PamServices(self.t)
        self.pam.add("faults", "auth required {module} socket={socket} totp=never")
        self.refusals, self.went_through = {}, {}

    def token(self):
        return self.http.post_form(f"/t/{TENANT}/token", {"grant_type": "client_credentials"},
                                   basic=(self.load.svc["client_id"], self.load.svc["client_secret"]))

    def create_user(self, name):
        """CreateUser over D-Bus with gdbus, which prints the error name."""
        return self.t.gdbus(f"/org/tessera/Identity1/tenant/{TENANT}", "org.tessera.Identity1.Tenant.CreateUser",
                            name, "@a{sv} {}")

    def until_refused(self, what, attempt, attempts=200):
        """Repeats a write until it is refused. A write may still go through
        while the fault lasts (SQLite reuses a WAL that has room), but one
        that neither succeeds nor fails with the clear error fails the
        test: attempt() returns its refusal, None when the write went
        through, and asserts everything else."""
        for _ in range(attempts):
            refusal = attempt()
            if refusal is not None:
                self.refusals[what] = self.refusals.get(what, 0) + 1
                return refusal
            self.went_through[what] = self.went_through.get(what, 0) + 1
        self.fail(f"{what}: {attempts} writes went through the fault")

    def dbus_attempt(self, error_name, words):
        def attempt():
            p = self.create_user(f"probe{self.rng.randrange(1 << 30)}")
            if p.returncode == 0:
                return None
            self.assertIn(error_name, p.stderr)
            self.assertIn(words, p.stderr)
            return p
        return attempt

    def check_writes_refused(self, error_name, http_status, http_code, words):
        self.until_refused("D-Bus", self.dbus_attempt(error_name, words))

        def ctl():
            # tesseractl says the same sentence, and fails.
            c = self.t.ctl("user", "add", f"refused{self.rng.randrange(1 << 30)}@{TENANT}")
            if c.returncode == 0:
                return None
            self.assertIn(words, c.stderr)
            return c
        self.until_refused("tesseractl", ctl)

        def http():
            status, body, resp = self.token()
            if status == 200:
                return None
            self.assertEqual(status, http_status, body)
            envelope = json.loads(body)
            self.assertEqual(envelope["code"], http_code)
            self.assertIn("request_id", envelope["details"])
            self.assertTrue(resp.getheader("Retry-After"))
            return status
        self.until_refused("HTTP", http)

        def login():
            # A login fails closed: the daemon can't record it.
            status, _ = pam_authenticate(self.t.pam_socket, "bob", PASSWORD)
            if status == "OK":
                return None
            self.assertEqual(status, "ERROR")
            return status
        self.until_refused("PAM socket", login)

        def pamtester():
            p = self.pam.pamtester("faults", "bob", "authenticate", input=PASSWORD + "\n")
            if p.returncode == 0:
                return None
            self.assertIn("Authentication service cannot retrieve authentication info", p.stderr + p.stdout)
            return p
        # A sanitized module can't be loaded into pamtester; the socket's
        # answer above is what it would act on.
        if not sanitized_build():
            self.until_refused("pam_tessera.so", pamtester, attempts=30)

    def check_reads_work(self):
        self.assertEqual(self.t.ctl("user", "show", f"bob@{TENANT}").returncode, 0)
        p = self.t.ctl("user", "list", "--tenant", TENANT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("bob", p.stdout)
        for path in ("/healthz", "/readyz", f"/t/{TENANT}/jwks"):
            self.assertEqual(self.http.get(path)[0], 200, path)
        if not nss_available():
            print("the NSS module is not built: lookups checked over D-Bus and HTTP only", flush=True)
        else:
            for cache in (False, True):
                code, out = nss_lookup(self.t, "bob", cache=cache)
                self.assertEqual(code, 0, out)
                self.assertTrue(out.startswith("SUCCESS bob:"), out)

    def check_writes_work(self):
        """Right after the fault went away, without a restart."""
        name = f"back{self.rng.randrange(1 << 30)}"
        p = self.t.ctl("user", "add", f"{name}@{TENANT}")
        self.assertEqual(p.returncode, 0, p.stderr)
        status, body, _ = self.token()
        self.assertEqual(status, 200, body)
        self.assertEqual(pam_authenticate(self.t.pam_socket, "bob", PASSWORD)[0], "OK")
        if not sanitized_build():
            p = self.pam.pamtester("faults", "bob", "authenticate", input=PASSWORD + "\n")
            self.assertEqual(p.returncode, 0, p.stderr)
        return name

    def finish(self, name, **figures):
        """kill -9, a start without faults, and every acknowledged write."""
        self.load.pause()
        self.t.kill_daemon()
        self.t.start_daemon()
        self.assertEqual(check_integrity(self.t), [])
        checked, missing = check_acks(self.t, self.load.acks)
        report(name, **figures, refused=self.refusals, went_through_the_fault=self.went_through, acknowledged_writes_checked=checked, lost=len(missing),
               **self.load.acks.by_kind(), failed_requests=self.load.failures)
        self.assertEqual(missing, [])
        self.assertEqual(self.load.anomalies, [])

    def run_load_for(self, seconds):
        before = self.load.acks.count()
        self.load.resume()
        time.sleep(seconds)
        return self.load.acks.count() - before


class DiskFullTest(StorageFaults, unittest.TestCase):
    """The state directory on a small tmpfs, filled up."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: a tmpfs in a private mount namespace")
        if not os.environ.get(IN_NAMESPACE):
            self.skipTest("not in a private mount namespace (run the script, not the class)")

    def mount_tmpfs(self, t):
        os.makedirs(t.state_dir, mode=0o700, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", t.state_dir],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", "--lazy", t.state_dir], check=True)

    def fill(self):
        """Takes every free byte of the tmpfs."""
        path = os.path.join(self.t.state_dir, "filler")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            for chunk in (1 << 20, 65536, 4096, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError:
                    pass
        finally:
            os.close(fd)
        return path

    def test_disk_full(self):
        self.start(prepare=self.mount_tmpfs, figures_name="disk full")
        self.load.start()
        self.assertGreater(self.run_load_for(0.5), 0)

        filler = self.fill()
        self.check_writes_refused(FULL_ERROR, 507, "storage_full", "disk holding tesserad's database is full")
        during = self.run_load_for(1.0)
        self.load.pause()
        self.check_reads_work()

        # A crash while the disk is full, and a start on the full disk: the
        # database opens (recovery only reads the WAL), lookups work.
        self.t.kill_daemon()
        self.t.start_daemon()
        self.http.close()
        self.check_reads_work()
        self.check_writes_refused(FULL_ERROR, 507, "storage_full", "disk holding tesserad's database is full")

        # Space returns: tesserad writes again at once, without a restart.
        os.unlink(filler)
        back = self.check_writes_work()
        after = self.run_load_for(0.5)
        self.assertGreater(after, 0, "no write acknowledged after space returned")
        self.assertEqual(self.t.ctl("user", "show", f"{back}@{TENANT}").returncode, 0)
        self.finish("disk full", acknowledged_while_full=during, acknowledged_after=after)


class IoErrorTest(StorageFaults, unittest.TestCase):
    """vfs-powercut.so fails the writes, then the syncs, of the database
    and the WAL; then the disk is full as far as SQLite can tell."""

    def test_io_errors(self):
        self.start(figures_name="I/O errors")
        ctl = VfsControl(os.path.join(self.t.dir, "vfs.ctl"))
        self.addCleanup(ctl.close)
        self.t.stop_daemon()
        self.t.start_daemon(env=ctl.env(self.seed, flush_percent=10))
        self.load.start()
        self.assertGreater(self.run_load_for(0.3), 0)
        figures = {}
        for fault, error, status, code, words in [
                (FAULT_EIO_WRITE, IO_ERROR, 503, "storage_unavailable", "could not write its database"),
                (FAULT_EIO_SYNC, IO_ERROR, 503, "storage_unavailable", "could not write its database"),
                (FAULT_FULL, FULL_ERROR, 507, "storage_full", "disk holding tesserad's database is full")]:
            with self.subTest(fault=fault):
                ctl["faults"] = fault
                self.run_load_for(0.3)
                self.check_writes_refused(error, status, code, words)
                self.load.pause()
                self.check_reads_work()
                ctl["faults"] = 0
                self.check_writes_work()
                self.assertGreater(self.run_load_for(0.3), 0, "no write acknowledged once the fault stopped")
        stats = ctl.stats()
        self.assertGreater(stats["failed_writes"], 0)
        self.assertGreater(stats["failed_syncs"], 0)
        figures.update(failed_writes=stats["failed_writes"], failed_syncs=stats["failed_syncs"])
        self.finish("I/O errors", **figures)


def main():
    if os.geteuid() == 0 and not os.environ.get(IN_NAMESPACE) and shutil.which("unshare"):
        # Into a private mount namespace, where the tmpfs stays ours.
        env = dict(os.environ, **{IN_NAMESPACE: "1"})
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, *sys.argv], env=env)
        return p.returncode
    unittest.main(verbosity=2)


if __name__ == "__main__":
    sys.exit(main())
