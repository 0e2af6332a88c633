#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The RPM packages: packaging/rpm/tessera.spec built with rpmbuild -bb
(Debian's rpm, --nodeps: its database knows no packages) from a tarball of
a clean copy of the checkout, into tesserad, nss-tessera, pam_tessera and
tessera-tools, which rpmlint finds no error in (with the filters of
packaging/rpm/tessera.rpmlintrc, each explained there). Their files and
scriptlets are checked against what the Debian packages do."""

import os
import re
import shutil
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pkglib  # noqa: E402

SPEC = os.path.join(pkglib.REPO, "packaging", "rpm", "tessera.spec")
RPMLINTRC = os.path.join(pkglib.REPO, "packaging", "rpm", "tessera.rpmlintrc")
PACKAGES = ["tesserad", "nss-tessera", "pam_tessera", "tessera-tools"]


def figures(**kw):
    print("FIGURES " + " ".join(f"{k}={v}" for k, v in kw.items()), flush=True)


class RpmPackages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = pkglib.missing_tools("rpmbuild", "rpmlint", "rpm", "meson", "ninja")
        if missing:
            raise unittest.SkipTest("missing " + ", ".join(missing) + " (tools/install-deps installs them)")
        cls.work = tempfile.mkdtemp(prefix="tessera-rpm-")
        with open(SPEC) as f:
            cls.spec = f.read()
        version = re.search(r"(?m)^Version:\s*(\S+)", cls.spec).group(1)
        src = os.path.join(cls.work, f"tessera-{version}")
        os.makedirs(src)
        pkglib.copy_checkout(src)
        os.makedirs(os.path.join(cls.work, "SOURCES"))
        with tarfile.open(os.path.join(cls.work, "SOURCES", f"tessera-{version}.tar.gz"), "w:gz") as tar:
            tar.add(src, arcname=f"tessera-{version}")
        log = os.path.join(cls.work, "rpmbuild.log")
        try:
            pkglib.run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {cls.work}", SPEC], log=log,
                       timeout=1800)
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise
        with open(log) as f:
            cls.build_log = f.read()
        rpms = os.path.join(cls.work, "RPMS")
        cls.rpms = {}
        for top, _, names in os.walk(rpms):
            for n in names:
                m = re.match(r"^(.+)-[^-]+-[^-]+\.[a-z0-9_]+\.rpm$", n)
                if m:
                    cls.rpms[m.group(1)] = os.path.join(top, n)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def files(self, package):
        return pkglib.run(["rpm", "-qlp", self.rpms[package]]).stdout.split()

    def test_four_packages(self):
        print("\n".join(line for line in self.build_log.splitlines() if line.startswith("Wrote:")), flush=True)
        self.assertEqual(sorted(self.rpms), sorted(PACKAGES))
        self.assertNotIn("warning: File listed twice", self.build_log)
        self.assertNotIn("does not exist - using root", self.build_log)

    def test_rpmlint_finds_no_error(self):
        p = pkglib.run(["rpmlint", "-r", RPMLINTRC, *self.rpms.values()], check=False)
        out = p.stdout + p.stderr
        print(out, flush=True)
        m = re.search(r"(\d+) packages and \d+ specfiles checked; (\d+) errors, (\d+) warnings", out)
        self.assertTrue(m, out)
        figures(rpmlint_packages=m.group(1), rpmlint_errors=m.group(2), rpmlint_warnings=m.group(3))
        self.assertEqual(m.group(2), "0", out)
        self.assertEqual(p.returncode, 0, out)

    def test_files(self):
        daemon = self.files("tesserad")
        for path in ("/usr/sbin/tesserad", "/etc/tessera/tesserad.conf", "/usr/lib/sysusers.d/tessera.conf",
                     "/usr/lib/tmpfiles.d/tessera.conf", "/usr/share/dbus-1/system.d/org.tessera.Identity1.conf",
                     "/usr/share/dbus-1/system-services/org.tessera.Identity1.service",
                     "/usr/lib/systemd/system/tesserad.service", "/usr/lib/systemd/system/tessera-nss.socket",
                     "/usr/lib/systemd/system/tessera-pam.socket", "/usr/share/man/man8/tesserad.8"):
            self.assertIn(path, daemon)
        self.assertIn("/usr/lib64/libnss_tessera.so.2", self.files("nss-tessera"))
        pam = self.files("pam_tessera")
        self.assertIn("/usr/lib64/security/pam_tessera.so", pam)
        self.assertIn("/usr/share/tessera/authselect/tessera.pam", pam)
        self.assertFalse([f for f in pam if "pam-configs" in f], "pam-auth-update is Debian's")
        tools = self.files("tessera-tools")
        self.assertIn("/usr/bin/tesseractl", tools)
        self.assertIn("/usr/share/bash-completion/completions/tesseractl", tools)
        # The config is kept when changed, as a Debian conffile is.
        p = pkglib.run(["rpm", "-qp", "--configfiles", self.rpms["tesserad"]])
        self.assertEqual(p.stdout.split(), ["/etc/tessera/tesserad.conf"])
        # The state is not in any payload: rpm -e must leave the database.
        for package in PACKAGES:
            self.assertFalse([f for f in self.files(package) if f.startswith("/var/lib/tessera")])

    def test_scriptlets(self):
        scripts = pkglib.run(["rpm", "-qp", "--scripts", self.rpms["tesserad"]]).stdout
        # The user before the files: the same lines as sysusers.d/tessera.conf.
        with open(os.path.join(pkglib.REPO, "packaging", "sysusers", "tessera.conf")) as f:
            sysusers = f.read().strip()
        m = re.search(r"<<'SYSUSERS'.*?\n(.*?)\nSYSUSERS", scripts, re.S)
        self.assertTrue(m, scripts)
        self.assertEqual(m.group(1).strip(), sysusers)
        self.assertRegex(scripts, r"preinstall scriptlet[^\n]*\n[^%]*systemd-sysusers")
        self.assertIn("systemd-tmpfiles --create", scripts)
        self.assertIn("ReloadConfig", scripts)
        self.assertRegex(scripts, r"try-restart tesserad\.service")
        self.assertNotRegex(scripts, r"try-restart[^\n]*socket", "the sockets must not restart on upgrade")
        nss = pkglib.run(["rpm", "-qp", "--scripts", self.rpms["nss-tessera"]]).stdout
        self.assertRegex(nss, r"postinstall scriptlet[\s\S]*nsswitch\.conf[\s\S]*postuninstall scriptlet"
                              r"[\s\S]*nsswitch\.conf")

    def test_nsswitch_scriptlets_edit_as_debian_does(self):
        # The sed programs of %post and %postun, run on a sample file.
        scripts = pkglib.run(["rpm", "-qp", "--scripts", self.rpms["nss-tessera"]]).stdout
        add = re.search(r"sed -E -i /etc/nsswitch.conf -e '([^']*)'", scripts.split("postuninstall")[0]).group(1)
        remove = re.search(r"sed -E -i /etc/nsswitch.conf -e '([^']*)'", scripts.split("postuninstall")[1]).group(1)
        original = "passwd:     files systemd\ngroup:      files systemd # local\nshadow:     files\n"
        path = os.path.join(self.work, "nsswitch.conf")
        with open(path, "w") as f:
            f.write(original)
        for _ in range(2):
            pkglib.run(["sed", "-E", "-i", path, "-e", add])
        with open(path) as f:
            self.assertEqual(f.read(), "passwd:     files systemd tessera\ngroup:      files systemd tessera # local\n"
                                       "shadow:     files\n")
        pkglib.run(["sed", "-E", "-i", path, "-e", remove])
        with open(path) as f:
            self.assertEqual(f.read(), original)


if __name__ == "__main__":
    unittest.main(verbosity=2)
