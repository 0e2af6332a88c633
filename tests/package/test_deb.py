#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian packages, as an administrator gets them: built with
dpkg-buildpackage from a clean copy of the checkout, checked by lintian,
installed with `apt-get install ./*.deb` into a fresh Debian 12 root made
by mmdebstrap and booted with systemd (systemd-nspawn), and used there:
the installed units run tesserad as the tessera user with the sockets
handed over, getent and id resolve through nsswitch.conf as the package
set it, pamtester logs in through the pam-auth-update stack, busctl and
tesseractl talk to it on the system bus, the OIDC discovery document is
served. Then an upgrade over the previous build, removal, reinstallation
and purge, checking what stays and what goes.

The steps run in order (test_01 ... test_08), each on what the ones before
left. Needs root, mmdebstrap, systemd-nspawn and Debian's archive, as CI
has (tools/install-deps installs the tools); skipped otherwise, saying why.
TESSERA_PKG_KEEP=1 keeps the work folder (packages, root, logs)."""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pkglib  # noqa: E402

PACKAGES = ["tesserad", "libnss-tessera", "libpam-tessera", "tessera-tools"]
PASSWORD = "correct horse battery"
UNITS = ["tesserad.service", "tessera-nss.socket", "tessera-pam.socket"]
UNIT_DIR = "/lib/systemd/system"
# What the root holds besides Debian's essential packages and apt: systemd
# to boot, the bus, and what the test drives the packages with.
INCLUDE = ["systemd", "dbus", "passwd", "login", "libpam-runtime", "pamtester", "curl", "man-db",
           "bash-completion"]
MAX_EXPOSURE = 2.0


def figures(**kw):
    print("FIGURES " + " ".join(f"{k}={v}" for k, v in kw.items()), flush=True)


class DebianPackages(unittest.TestCase):
    work = None
    container = None
    steps_done = 0

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (mmdebstrap, systemd-nspawn)")
        missing = pkglib.missing_tools("dpkg-buildpackage", "lintian", "mmdebstrap", "systemd-nspawn", "nsenter",
                                       "systemd-analyze")
        if missing:
            raise unittest.SkipTest("missing " + ", ".join(missing) + " (tools/install-deps installs them)")
        cls.work = tempfile.mkdtemp(prefix="tessera-deb-", dir="/var/tmp")
        cls.log = os.path.join(cls.work, "log")
        try:
            cls.prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        t0 = time.monotonic()
        cls.version = pkglib.changelog_version()
        # The previous build: the same tree with a lower version, so that
        # the one under test installs over it as an upgrade would.
        cls.prev_version = cls.version + "~prev1"
        cls.debs, cls.changes = pkglib.build_debs(cls.work, "current", log=cls.log)
        t_build = time.monotonic() - t0
        prev, _ = pkglib.build_debs(cls.work, "previous", version=cls.prev_version, log=cls.log)
        for name in PACKAGES:
            if name not in cls.debs or name not in prev:
                raise pkglib.PackageTestError(f"dpkg-buildpackage made no {name} package")
        debs_dir = os.path.join(cls.work, "debs")
        for sub, debs in (("current", cls.debs), ("previous", prev)):
            os.makedirs(os.path.join(debs_dir, sub))
            for name in PACKAGES:
                shutil.copy(debs[name], os.path.join(debs_dir, sub))
        cls.deb_names = {sub: sorted(os.listdir(os.path.join(debs_dir, sub))) for sub in ("current", "previous")}
        cls.lintian = pkglib.run(["lintian", "--pedantic", "--display-info", cls.changes], check=False,
                                 timeout=900)
        t1 = time.monotonic()
        root = os.path.join(cls.work, "root")
        pkglib.make_root(root, INCLUDE, debs_dir, ["previous/" + d for d in cls.deb_names["previous"]],
                         log=cls.log)
        t2 = time.monotonic()
        cls.container = pkglib.Container(root, cls.log)
        cls.container.boot()
        figures(deb_build_s=round(t_build), mmdebstrap_s=round(t2 - t1), boot_s=round(time.monotonic() - t2))

    @classmethod
    def tearDownClass(cls):
        if cls.container:
            cls.container.stop()
            cls.container = None
        if cls.work and os.environ.get("TESSERA_PKG_KEEP") != "1":
            shutil.rmtree(cls.work, ignore_errors=True)
        elif cls.work:
            print(f"kept {cls.work}", flush=True)

    def setUp(self):
        # Each step builds on the one before: after a failure, say so
        # instead of failing again for the same reason.
        step = int(self._testMethodName[5:7])
        if type(self).steps_done != step - 1:
            self.skipTest(f"step {step - 1} did not finish")

    def done(self):
        type(self).steps_done = int(self._testMethodName[5:7])

    # -- helpers ----------------------------------------------------------

    def sh(self, script, **kw):
        return self.container.sh(script, **kw)

    def run_in(self, *argv, **kw):
        return self.container.run(list(argv), **kw)

    def apt_install(self, sub):
        names = " ".join("./" + d for d in self.deb_names[sub])
        return self.sh(f"cd /root/debs/{sub} && apt-get install -y -q {names}", timeout=600)

    def stat_in(self, path, fmt):
        """stat(1) inside: /run and /proc are the container's own."""
        return self.run_in("stat", "-c", fmt, path).stdout.strip()

    def exists_in(self, path):
        return self.run_in("test", "-e", path, check=False).returncode == 0

    def unit_state(self, unit, prop):
        return self.run_in("systemctl", "show", "-p", prop, "--value", unit).stdout.strip()

    def main_pid(self):
        return int(self.unit_state("tesserad.service", "MainPID"))

    def bus_version(self):
        p = self.run_in("busctl", "--system", "get-property", "org.tessera.Identity1", "/org/tessera/Identity1",
                        "org.tessera.Identity1.Manager", "Version")
        return p.stdout.strip().split(" ", 1)[1].strip('"')

    def login(self, user, as_user=None, service="login", password=PASSWORD):
        # The password, then an empty line for the code prompt tesserad asks
        # of everybody while its policy asks for codes.
        return self.run_in("pamtester", service, user, "authenticate", input=f"{password}\n\n", check=False,
                           user=as_user)

    def nsswitch_lines(self):
        with open(self.container.path("/etc/nsswitch.conf")) as f:
            return {line.split(":")[0]: line.split()[1:] for line in f if re.match(r"^(passwd|group):", line)}

    def pam_stack_mentions_tessera(self):
        found = []
        for name in ("common-auth", "common-account", "common-password", "common-session"):
            with open(self.container.path(f"/etc/pam.d/{name}")) as f:
                if re.search(r"(?m)^[^#]*pam_tessera\.so", f.read()):
                    found.append(name)
        return found

    def wait_active(self, unit, timeout=30):
        # systemctl's own answer, asked until it says so: no fixed sleep.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.run_in("systemctl", "is-active", unit, check=False).stdout.strip() == "active":
                return
            time.sleep(0.1)
        self.fail(f"{unit} did not become active")

    # -- the steps ----------------------------------------------------------

    def test_01_lintian(self):
        out = self.lintian.stdout + self.lintian.stderr
        tags = [line for line in out.splitlines() if re.match(r"^[EWIPX]: ", line)]
        print("lintian:\n" + "\n".join(tags), flush=True)
        errors = [t for t in tags if t.startswith(("E:", "W:"))]
        figures(lintian_errors=sum(t.startswith("E:") for t in tags),
                lintian_warnings=sum(t.startswith("W:") for t in tags),
                lintian_info=sum(t.startswith("I:") for t in tags),
                lintian_pedantic=sum(t.startswith("P:") for t in tags))
        self.assertEqual(errors, [], "lintian found errors or warnings")
        self.assertEqual(self.lintian.returncode, 0, out)
        self.done()

    def test_02_install_previous(self):
        self.apt_install("previous")
        # The service user and its folders, from sysusers.d and tmpfiles.d.
        user = self.run_in("getent", "passwd", "tessera").stdout.strip().split(":")
        self.assertEqual(user[5:], ["/var/lib/tessera", "/usr/sbin/nologin"])
        self.assertLess(int(user[2]), 1000, "tessera must be a system user")
        self.assertTrue(self.run_in("getent", "group", "tessera-admin").stdout.startswith("tessera-admin:"))
        st = self.run_in("stat", "-c", "%U:%G %a", "/var/lib/tessera").stdout.split()
        self.assertEqual(st, ["tessera:tessera", "700"])
        # nsswitch.conf and the PAM stacks, as the maintainer scripts set them.
        lines = self.nsswitch_lines()
        self.assertEqual(lines["passwd"][-1], "tessera")
        self.assertEqual(lines["group"][-1], "tessera")
        self.assertEqual(lines["passwd"][0], "files")
        self.assertEqual(self.pam_stack_mentions_tessera(),
                         ["common-auth", "common-account", "common-password", "common-session"])
        # The units: sockets listening, the service running as tessera with
        # no capabilities, the sockets' mode set by systemd.
        for unit in UNITS:
            self.wait_active(unit)
        for sock in ("nss", "pam"):
            st = self.run_in("stat", "-c", "%F %a %U", f"/run/tessera/{sock}.sock").stdout.strip()
            self.assertEqual(st, "socket 666 root")
        status_text = self.run_in("cat", f"/proc/{self.main_pid()}/status").stdout
        status = dict(line.split(":\t", 1) for line in status_text.splitlines() if ":\t" in line)
        tessera_uid = user[2]
        self.assertEqual(status["Uid"].split(), [tessera_uid] * 4)
        self.assertEqual(status["CapEff"], "0000000000000000")
        self.assertEqual(status["CapBnd"], "0000000000000000")
        self.assertEqual(status["NoNewPrivs"], "1")
        self.assertEqual(self.bus_version(), self.prev_version)
        journal = self.run_in("journalctl", "-u", "tesserad", "--no-pager").stdout
        self.assertNotIn("Failed to acquire", journal)
        self.assertNotIn("Permission denied", journal)
        self.done()

    def test_03_units(self):
        # systemd-analyze on the installed units; the man pages their
        # Documentation= names must be installed too.
        paths = [f"{UNIT_DIR}/{u}" for u in UNITS]
        p = self.run_in("systemd-analyze", "verify", *paths, check=False)
        print("systemd-analyze verify:", p.returncode, (p.stdout + p.stderr).strip() or "(no output)", flush=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual((p.stdout + p.stderr).strip(), "")
        offline = self.run_in("systemd-analyze", "security", "--offline=true", "--no-pager",
                              f"{UNIT_DIR}/tesserad.service")
        online = self.run_in("systemd-analyze", "security", "--no-pager", "tesserad.service")
        scores = []
        for p in (offline, online):
            m = re.search(r"Overall exposure level for tesserad.service: ([0-9.]+)", p.stdout)
            self.assertTrue(m, p.stdout)
            scores.append(float(m.group(1)))
        print("systemd-analyze security --offline=true:\n" + "\n".join(
            line for line in offline.stdout.splitlines() if "✗" in line or "Overall" in line), flush=True)
        figures(exposure_offline=scores[0], exposure_running=scores[1])
        self.assertLessEqual(max(scores), MAX_EXPOSURE)
        self.done()

    def test_04_use(self):
        # The administrator's first steps: a default tenant in the conffile
        # (so that the upgrade must keep a changed conffile), users, groups.
        self.sh("sed -i 's/^#default_tenant =.*/default_tenant = acme/' /etc/tessera/tesserad.conf")
        self.run_in("tesserad", "--check-config", "/etc/tessera/tesserad.conf")
        self.run_in("systemctl", "restart", "tesserad.service")
        self.run_in("tesseractl", "tenant", "create", "acme")
        self.run_in("tesseractl", "user", "add", "alice", "--password-stdin", input=PASSWORD + "\n")
        self.run_in("tesseractl", "group", "add", "devs")
        self.run_in("tesseractl", "group", "add-member", "devs", "alice")
        # NSS through nsswitch.conf as the package left it.
        alice = self.run_in("getent", "passwd", "alice").stdout.strip().split(":")
        self.assertEqual(alice[0], "alice")
        self.assertGreaterEqual(int(alice[2]), 200000)
        self.assertIn("devs", self.run_in("id", "-nG", "alice").stdout.split())
        # PAM through the stacks pam-auth-update wrote: pam_unix first, then us.
        p = self.login("alice")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("successfully authenticated", p.stdout + p.stderr)
        self.assertNotEqual(self.login("alice", password="wrong").returncode, 0)
        self.assertEqual(self.run_in("pamtester", "login", "alice", "acct_mgmt", check=False).returncode, 0)
        # The unix_chkpwd rule with tesserad not root: a local user may not
        # check alice's password, alice may check her own.
        self.run_in("useradd", "-m", "carol")
        self.run_in("useradd", "-m", "-G", "tessera-admin", "dave")
        self.assertNotEqual(self.login("alice", as_user="carol", service="other").returncode, 0)
        p = self.login("alice", as_user="alice", service="other")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # The admin group from the bus caller's credentials, as a non-root
        # tesserad sees them: dave may change things, carol may not.
        p = self.run_in("tesseractl", "group", "add", "ops", user="dave", check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = self.run_in("tesseractl", "group", "add", "ops2", user="carol", check=False)
        self.assertEqual(p.returncode, 4, p.stdout + p.stderr)
        # The bus and the HTTP face.
        p = self.run_in("busctl", "--system", "introspect", "org.tessera.Identity1", "/org/tessera/Identity1")
        self.assertIn("org.tessera.Identity1.Manager", p.stdout)
        p = self.run_in("curl", "-fsS", "http://127.0.0.1:8080/t/acme/.well-known/openid-configuration")
        discovery = json.loads(p.stdout)
        self.assertEqual(discovery["issuer"], "http://127.0.0.1:8080/t/acme")
        self.assertIn("S256", discovery["code_challenge_methods_supported"])
        # The completion the package installed, in an interactive shell.
        p = self.sh("echo 'source /usr/share/bash-completion/bash_completion; _completion_loader tesseractl; "
                    "COMP_LINE=\"tesseractl user to\"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(tesseractl user to); "
                    "COMP_CWORD=2; _tesseractl; echo ${COMPREPLY[@]}' | bash --norc --noprofile")
        self.assertEqual(p.stdout.split(), ["totp"])
        self.done()

    def test_05_activation(self):
        # Stopped, tesserad is started again by what reaches for it, and
        # what reached waits for it: a login queued on the socket, a bus call.
        self.run_in("systemctl", "stop", "tesserad.service")
        self.assertEqual(self.unit_state("tesserad.service", "ActiveState"), "inactive")
        for unit in ("tessera-nss.socket", "tessera-pam.socket"):
            self.assertEqual(self.unit_state(unit, "ActiveState"), "active")
        p = self.login("alice")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.unit_state("tesserad.service", "ActiveState"), "active")

        self.run_in("systemctl", "stop", "tesserad.service")
        self.run_in("busctl", "--system", "call", "org.tessera.Identity1", "/org/tessera/Identity1",
                    "org.freedesktop.DBus.Peer", "Ping")
        self.assertEqual(self.unit_state("tesserad.service", "ActiveState"), "active")

        # A lookup starts it too (and gives up after its 250 ms deadline if
        # tesserad is not up by then: local accounts never wait).
        self.run_in("systemctl", "stop", "tesserad.service")
        self.run_in("getent", "passwd", "alice", check=False)
        self.wait_active("tesserad.service")
        self.assertTrue(self.run_in("getent", "passwd", "alice").stdout.startswith("alice:"))
        self.done()

    def test_06_upgrade(self):
        pid = self.main_pid()
        sockets_since = {u: self.unit_state(u, "ActiveEnterTimestampMonotonic") for u in UNITS[1:]}
        inodes = {s: self.stat_in(f"/run/tessera/{s}.sock", "%i") for s in ("nss", "pam")}
        self.apt_install("current")
        # Restarted onto the new files; the sockets were never closed.
        self.wait_active("tesserad.service")
        self.assertNotEqual(self.main_pid(), pid)
        self.assertEqual(self.bus_version(), pkglib.changelog_version().split("-")[0])
        for unit, since in sockets_since.items():
            self.assertEqual(self.unit_state(unit, "ActiveEnterTimestampMonotonic"), since, f"{unit} restarted")
        for s, ino in inodes.items():
            self.assertEqual(self.stat_in(f"/run/tessera/{s}.sock", "%i"), ino)
        # Data, changed conffile, nsswitch.conf and PAM as they were.
        self.assertTrue(self.run_in("getent", "passwd", "alice").stdout.startswith("alice:"))
        self.assertEqual(self.login("alice").returncode, 0)
        with open(self.container.path("/etc/tessera/tesserad.conf")) as f:
            self.assertIn("\ndefault_tenant = acme\n", f.read())
        self.assertFalse(os.path.exists(self.container.path("/etc/tessera/tesserad.conf.dpkg-dist")))
        self.assertEqual(self.nsswitch_lines()["passwd"].count("tessera"), 1)
        self.assertEqual(len(self.pam_stack_mentions_tessera()), 4)
        self.done()

    def test_07_remove_and_reinstall(self):
        self.run_in("apt-get", "remove", "-y", "-q", *PACKAGES, timeout=600)
        for unit in UNITS:
            self.assertIn(self.unit_state(unit, "ActiveState"), ("inactive", ""))
        for s in ("nss", "pam"):
            self.assertFalse(self.exists_in(f"/run/tessera/{s}.sock"))
        # Gone from nsswitch.conf and the PAM stacks; local accounts fine.
        self.assertNotIn("tessera", self.nsswitch_lines()["passwd"])
        self.assertNotIn("tessera", self.nsswitch_lines()["group"])
        self.assertEqual(self.pam_stack_mentions_tessera(), [])
        self.assertTrue(self.run_in("getent", "passwd", "root").stdout.startswith("root:"))
        self.assertNotEqual(self.run_in("getent", "passwd", "alice", check=False).returncode, 0)
        # What removal keeps: the database, its key, the conffile, the user.
        for path in ("/var/lib/tessera/tessera.db", "/var/lib/tessera/secret.key", "/etc/tessera/tesserad.conf"):
            self.assertTrue(self.exists_in(path), path)
        self.assertEqual(self.run_in("getent", "passwd", "tessera", check=False).returncode, 0)
        # Installed again, everything is back as it was.
        self.apt_install("current")
        self.wait_active("tesserad.service")
        self.assertTrue(self.run_in("getent", "passwd", "alice").stdout.startswith("alice:"))
        self.assertEqual(self.login("alice").returncode, 0)
        self.done()

    def test_08_purge(self):
        self.run_in("apt-get", "purge", "-y", "-q", *PACKAGES, timeout=600)
        for path in ("/var/lib/tessera", "/var/log/tessera", "/etc/tessera", "/run/tessera"):
            self.assertFalse(self.exists_in(path), path)
        for unit in UNITS:
            self.assertFalse(os.path.exists(self.container.path(f"/etc/systemd/system/sockets.target.wants/{unit}")))
            self.assertFalse(os.path.exists(
                self.container.path(f"/etc/systemd/system/multi-user.target.wants/{unit}")))
        self.assertNotIn("tessera", self.nsswitch_lines()["passwd"])
        self.assertEqual(self.pam_stack_mentions_tessera(), [])
        # The user stays, as system users do: its uid is never reused.
        self.assertEqual(self.run_in("getent", "passwd", "tessera", check=False).returncode, 0)
        self.done()


if __name__ == "__main__":
    unittest.main(verbosity=2)
