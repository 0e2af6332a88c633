#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End to end: a tessera user logs in with password and TOTP code through
a real sshd (keyboard-interactive, driven by expect) and through a real
sudo, and is turned away with a wrong code.

Everything runs in a private mount namespace (the script re-executes
itself under unshare), where a fresh tmpfs is mounted on /run, the test
daemon's runtime directory is bound to /run/tessera (so that both modules
find their sockets at the default paths, as set-user-ID sudo requires),
and the test's nsswitch.conf, ld.so.cache (which adds the built
libnss_tessera.so.2), sudoers, and copies of /etc/pam.d and the PAM module
directory are bind-mounted over the system's. The common-* files are
written by Debian's pam-auth-update from its unix profile and ours
(packaging/pam-configs/tessera); sshd and sudo include them, as Debian's
services do. Nothing outside the namespace is touched. Needs root."""

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tessera_env  # noqa: E402
from tessera_env import Tessera  # noqa: E402

IN_NAMESPACE = "TESSERA_E2E_NAMESPACE"
PASSWORD = "correct horse battery"
ALICE, BOB = 200100, 200101
SSHD = "/usr/sbin/sshd"
TOOLS = ("unshare", "mount", "ssh", "ssh-keygen", "sudo", "expect", "oathtool", "ldconfig", "setpriv", "pam-auth-update")


def oathtool(secret, offset_steps=0):
    when = f"now {'+' if offset_steps >= 0 else '-'} {abs(offset_steps) * 30} seconds"
    return subprocess.run(["oathtool", "--totp", "-b", "-N", when, secret], capture_output=True, text=True,
                          check=True).stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def mount(cls, *args):
    """Mounts (the last argument is the mount point) until the class is done."""
    subprocess.run(["mount", *args], check=True)
    cls.addClassCleanup(subprocess.run, ["umount", "--lazy", args[-1]], check=True)


def bind(cls, src, dst):
    mount(cls, "--bind", src, dst)


# Answers the prompts of a login: the password, then the code; prints what
# the session printed. Exit 0: the expected text came; 1: refused; 2: timeout.
EXPECT_SCRIPT = r"""
set timeout 30
set password [lindex $argv 0]
set code [lindex $argv 1]
set success [lindex $argv 2]
set command [lrange $argv 3 end]
spawn -noecho {*}$command
expect {
    -re "(P|p)assword.*: ?$" { send -- "$password\r"; exp_continue }
    -re "Verification code: ?$" { send -- "$code\r"; exp_continue }
    -re "Permission denied|incorrect password|Sorry, try again|Authentication failed" { exit 1 }
    "$success" { expect eof; exit 0 }
    timeout { exit 2 }
    eof { exit 1 }
}
"""


def pam_module_dir():
    """Where libpam looks for modules given by bare name."""
    for d in ("/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security", "/lib/aarch64-linux-gnu/security",
              "/usr/lib64/security", "/lib/security"):
        if os.path.exists(os.path.join(d, "pam_unix.so")):
            return os.path.realpath(d)
    raise unittest.SkipTest("no PAM module directory with pam_unix.so")


# The services as Debian's include the common files.
SERVICE = "@include common-auth\n@include common-account\n@include common-session-noninteractive\n"


def latest_login(events):
    """The auth.login event seen last: a repeated refusal is counted on its
    first event, so the largest id need not be the latest."""
    return max((e for e in events if e["action"] == "auth.login"), key=lambda e: (e["last_usec"], e["id"]))


class LoginTest(unittest.TestCase):
    # How sshd and ssh authenticate: keyboard-interactive, a prompt each.
    SSHD_AUTH = "KbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
    SSH_AUTH = "keyboard-interactive"

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: a private mount namespace, sshd and sudo")
        missing = [t for t in TOOLS if not shutil.which(t)] + ([SSHD] if not os.path.exists(SSHD) else [])
        if missing:
            raise unittest.SkipTest("missing: " + ", ".join(missing) + " (tools/install-deps installs them)")
        if not os.environ.get(IN_NAMESPACE):
            raise unittest.SkipTest("not in a private mount namespace (run the script, not the class)")

        cls.work = tempfile.mkdtemp(prefix="tessera-e2e-")
        os.chmod(cls.work, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        cls.t = Tessera(default_tenant="acme").start()
        cls.addClassCleanup(cls.t.close)
        cls.module = tessera_env.built_module("pam_tessera.so")
        nss = tessera_env.built_module("libnss_tessera.so.2")

        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.secret = {}
        for name, uid in (("alice", ALICE), ("bob", BOB)):
            home = os.path.join(cls.work, "home", name)
            os.makedirs(home)
            os.chown(home, uid, uid)
            cls.t.ctl("user", "add", f"{name}@acme", "--uid", str(uid), "--home", home, "--shell", "/bin/sh",
                      "--password-stdin", input=PASSWORD + "\n", check=True)
            enrolled = json.loads(cls.t.ctl("--json", "user", "totp", "enroll", f"{name}@acme", check=True).stdout)
            cls.secret[name] = enrolled["secret"]
            # Confirmed with the previous step's code: the current one stays free.
            cls.t.ctl("user", "totp", "confirm", f"{name}@acme", oathtool(enrolled["secret"], -1), check=True)

        # /run: a tmpfs of our own, with the daemon's sockets at /run/tessera.
        mount(cls, "-t", "tmpfs", "-o", "mode=0755", "tessera-e2e-run", "/run")
        for d in ("/run/tessera", "/run/sshd"):
            os.makedirs(d, mode=0o755)
        bind(cls, cls.t.runtime_dir, "/run/tessera")

        # NSS: our module first found through ld.so.cache (sudo is
        # set-user-ID: LD_LIBRARY_PATH doesn't count there).
        libdir = os.path.join(cls.work, "lib")
        os.makedirs(libdir)
        shutil.copy(nss, os.path.join(libdir, "libnss_tessera.so.2"))
        conf = write(os.path.join(cls.work, "ld.so.conf"), f"{libdir}\ninclude /etc/ld.so.conf.d/*.conf\n")
        cache = os.path.join(cls.work, "ld.so.cache")
        subprocess.run(["ldconfig", "-X", "-C", cache, "-f", conf], check=True)
        bind(cls, cache, "/etc/ld.so.cache")
        with open("/etc/nsswitch.conf") as f:
            lines = [line for line in f.read().splitlines() if not line.startswith(("passwd:", "group:"))]
        bind(cls, write(os.path.join(cls.work, "nsswitch.conf"),
                   "passwd: files tessera\ngroup: files tessera\n" + "\n".join(lines) + "\n"), "/etc/nsswitch.conf")

        cls.setup_pam()
        bind(cls, write(os.path.join(cls.work, "sudoers"),
                   "Defaults env_reset, !lecture, timestamp_timeout=0, passwd_tries=1\n"
                   "root ALL=(ALL:ALL) ALL\nbob ALL=(ALL:ALL) ALL\n", 0o440), "/etc/sudoers")

        cls.expect = write(os.path.join(cls.work, "login.exp"), EXPECT_SCRIPT)
        cls.start_sshd()

    @classmethod
    def setup_pam(cls):
        """The common-* files as Debian's pam-auth-update writes them from
        the unix profile and ours (packaging/pam-configs/tessera), in a copy
        of /etc/pam.d; the module installed by name in a copy of the module
        directory."""
        moddir, pamd = os.path.join(cls.work, "security"), os.path.join(cls.work, "pam.d")
        shutil.copytree(pam_module_dir(), moddir, symlinks=True)
        shutil.copy(cls.module, os.path.join(moddir, "pam_tessera.so"))
        bind(cls, moddir, pam_module_dir())
        shutil.copytree("/etc/pam.d", pamd, symlinks=True)
        bind(cls, pamd, "/etc/pam.d")
        # pam-auth-update rewrites only files whose state it recorded.
        state, configs = os.path.join(cls.work, "pam-state"), os.path.join(cls.work, "pam-configs")
        shutil.copytree("/var/lib/pam", state)
        os.makedirs(configs)
        bind(cls, state, "/var/lib/pam")
        shutil.copy("/usr/share/pam-configs/unix", configs)
        shutil.copy(os.path.join(tessera_env.REPO, "packaging", "pam-configs", "tessera"), configs)
        bind(cls, configs, "/usr/share/pam-configs")
        subprocess.run(["pam-auth-update", "--package", "--enable", "tessera"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        for service in ("sshd", "sudo"):
            write(os.path.join(pamd, service), SERVICE)
        with open(os.path.join(pamd, "common-auth")) as f:
            cls.common_auth = f.read()

    @classmethod
    def start_sshd(cls):
        key = os.path.join(cls.work, "ssh_host_ed25519_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        cls.port = free_port()
        config = write(os.path.join(cls.work, "sshd_config"),
                       f"Port {cls.port}\nListenAddress 127.0.0.1\nHostKey {key}\n"
                       f"PidFile {cls.work}/sshd.pid\nUsePAM yes\n{cls.SSHD_AUTH}"
                       "PubkeyAuthentication no\nPermitRootLogin no\n"
                       "AuthorizedKeysFile none\nStrictModes no\nPrintMotd no\nLogLevel VERBOSE\n")
        cls.sshd_log = open(os.path.join(cls.work, "sshd.log"), "w+")
        cls.sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stdout=cls.sshd_log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

        def stop():
            cls.sshd.terminate()
            cls.sshd.wait(10)
            cls.sshd_log.close()
        cls.addClassCleanup(stop)
        # Readiness: sshd says it listens.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cls.sshd_log.seek(0)
            if f"Server listening on 127.0.0.1 port {cls.port}" in cls.sshd_log.read():
                return
            if cls.sshd.poll() is not None:
                break
            time.sleep(0.05)
        cls.sshd_log.seek(0)
        raise RuntimeError("sshd did not start:\n" + cls.sshd_log.read())

    def login(self, code, success, *command, password=PASSWORD):
        p = subprocess.run(["expect", "-f", self.expect, password, code, success, *command], capture_output=True,
                           text=True, timeout=90)
        return p.returncode, p.stdout

    def ssh(self, user, code, password=PASSWORD):
        return self.login(code, "tessera-login-ok", "ssh", "-F", "/dev/null", "-p", str(self.port),
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "-o", f"PreferredAuthentications={self.SSH_AUTH}", "-o", "NumberOfPasswordPrompts=1",
                          f"{user}@127.0.0.1", "echo tessera-login-ok as $(id -un)", password=password)

    def sudo(self, uid, code, password=PASSWORD):
        return self.login(code, "tessera-sudo-ok", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--init-groups",
                          "sudo", "-k", "sh", "-c", "echo tessera-sudo-ok as $(id -un)", password=password)

    def audit(self, target):
        return json.loads(self.t.ctl("--json", "audit", "list", "--target", target, check=True).stdout)

    def sshd_says(self):
        self.sshd_log.seek(0)
        return self.sshd_log.read()

    def test_pam_auth_update(self):
        # Our profile's lines, in order after pam_unix's.
        lines = [line.split() for line in self.common_auth.splitlines() if line.startswith("auth")]
        modules = [next(word for word in line if word.endswith(".so")) for line in lines]
        self.assertEqual(modules[:2], ["pam_unix.so", "pam_tessera.so"], self.common_auth)
        self.assertIn("use_first_pass", lines[1])

    def test_nss_sees_the_users(self):
        p = subprocess.run(["getent", "passwd", "alice"], capture_output=True, text=True)
        self.assertEqual(p.stdout.split(":")[2], str(ALICE), p.stdout + p.stderr)

    def test_1_ssh_keyboard_interactive(self):
        rc, out = self.ssh("alice", oathtool(self.secret["alice"]))
        self.assertEqual(rc, 0, out + self.sshd_says())
        self.assertIn("Verification code:", out)
        self.assertIn("tessera-login-ok as alice", out)
        events = self.audit("alice@acme")
        login = latest_login(events)
        self.assertEqual((login["result"], login["details"]["service"], login["details"]["factor"]),
                         ("success", "sshd", "password+totp"))
        self.assertIn("Accepted keyboard-interactive/pam for alice", self.sshd_says())
        # The session sshd opened, recorded with where it came from, and
        # closed once the connection ended (sshd closes it a moment after
        # the client is gone: poll for it, within a bound).
        deadline = time.monotonic() + 15
        while True:
            sessions = json.loads(self.t.ctl("--json", "session", "list", "alice@acme", check=True).stdout)
            ssh = [s for s in sessions if s["service"] == "sshd" and s["remote_host"] == "127.0.0.1"]
            if (ssh and ssh[0]["closed_usec"] > 0) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(ssh, sessions)
        self.assertGreater(ssh[0]["closed_usec"], ssh[0]["opened_usec"], ssh)

    def test_2_ssh_wrong_code(self):
        secret = self.secret["alice"]
        used = {oathtool(secret, o) for o in (-1, 0, 1)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in used)
        rc, out = self.ssh("alice", wrong)
        self.assertEqual(rc, 1, out)
        self.assertNotIn("tessera-login-ok", out)
        last = latest_login(self.audit("alice@acme"))
        self.assertEqual((last["result"], last["details"]["reason"]), ("failure", "wrong code"))
        # And the right code with a wrong password.
        rc, out = self.ssh("alice", oathtool(secret, 1), password="not the password")
        self.assertEqual(rc, 1, out)

    def test_3_sudo(self):
        rc, out = self.sudo(BOB, oathtool(self.secret["bob"]))
        self.assertEqual(rc, 0, out)
        self.assertIn("Verification code:", out)
        self.assertIn("tessera-sudo-ok as root", out)
        login = latest_login(self.audit("bob@acme"))
        self.assertEqual((login["result"], login["details"]["service"], login["details"]["factor"]),
                         ("success", "sudo", "password+totp"))

    def test_4_sudo_wrong_code(self):
        secret = self.secret["bob"]
        used = {oathtool(secret, o) for o in (-1, 0, 1)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in used)
        rc, out = self.sudo(BOB, wrong)
        self.assertEqual(rc, 1, out)
        self.assertNotIn("tessera-sudo-ok", out)
        last = latest_login(self.audit("bob@acme"))
        self.assertEqual((last["result"], last["details"]["service"]), ("failure", "sudo"))


class OnePromptTest(LoginTest):
    """Where only one answer can be given: sshd's PasswordAuthentication and
    sudo -S, with the module's one_prompt option: the code follows the
    password."""

    @classmethod
    def setup_pam(cls):
        """The common-* files as Debian's pam-auth-update writes them from
        the unix profile and ours (packaging/pam-configs/tessera), in a copy
        of /etc/pam.d; the module installed by name in a copy of the module
        directory."""
        moddir, pamd = os.path.join(cls.work, "security"), os.path.join(cls.work, "pam.d")
        shutil.copytree(pam_module_dir(), moddir, symlinks=True)
        shutil.copy(cls.module, os.path.join(moddir, "pam_tessera.so"))
        bind(cls, moddir, pam_module_dir())
        shutil.copytree("/etc/pam.d", pamd, symlinks=True)
        bind(cls, pamd, "/etc/pam.d")
        # pam-auth-update rewrites only files whose state it recorded.
        state, configs = os.path.join(cls.work, "pam-state"), os.path.join(cls.work, "pam-configs")
        shutil.copytree("/var/lib/pam", state)
        os.makedirs(configs)
        bind(cls, state, "/var/lib/pam")
        shutil.copy("/usr/share/pam-configs/unix", configs)
        shutil.copy(os.path.join(tessera_env.REPO, "packaging", "pam-configs", "tessera"), configs)
        bind(cls, configs, "/usr/share/pam-configs")
        subprocess.run(["pam-auth-update", "--package", "--enable", "tessera"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        for service in ("sshd", "sudo"):
            write(os.path.join(pamd, service), SERVICE)
        with open(os.path.join(pamd, "common-auth")) as f:
            cls.common_auth = f.read()

    @classmethod
    def setup_pam(cls):
        # The same files, with one_prompt; sshd asks for "the password" only.
        super().setup_pam()
        auth = os.path.join(cls.work, "pam.d", "common-auth")
        with open(auth) as f:
            text = f.read()
        write(auth, text.replace("pam_tessera.so use_first_pass", "pam_tessera.so use_first_pass one_prompt"))

    SSHD_AUTH = "KbdInteractiveAuthentication no\nPasswordAuthentication yes\n"
    SSH_AUTH = "password"

    def ssh(self, user, code, password=PASSWORD):
        return super().ssh(user, "", password=password + code)

    def sudo_stdin(self, uid, answer):
        p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--init-groups", "sudo", "-S", "-k",
                            "sh", "-c", "echo tessera-sudo-ok as $(id -un)"], input=answer + "\n",
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def test_1_ssh_keyboard_interactive(self):
        rc, out = self.ssh("alice", oathtool(self.secret["alice"]))
        self.assertEqual(rc, 0, out + self.sshd_says())
        self.assertNotIn("Verification code:", out)
        self.assertIn("tessera-login-ok as alice", out)
        self.assertIn("Accepted password for alice", self.sshd_says())

    def test_3_sudo(self):
        rc, out = self.sudo_stdin(BOB, PASSWORD + oathtool(self.secret["bob"]))
        self.assertEqual(rc, 0, out)
        self.assertIn("tessera-sudo-ok as root", out)
        self.assertNotIn("Verification code", out)

    def test_4_sudo_wrong_code(self):
        # No code at all: the required second factor is missing.
        rc, out = self.sudo_stdin(BOB, PASSWORD)
        self.assertNotEqual(rc, 0, out)
        last = latest_login(self.audit("bob@acme"))
        self.assertEqual((last["result"], last["details"]["reason"]), ("failure", "code missing"))


def main():
    if os.geteuid() == 0 and not os.environ.get(IN_NAMESPACE) and shutil.which("unshare"):
        # Into a private mount namespace, where the bind mounts stay.
        env = dict(os.environ, **{IN_NAMESPACE: "1"})
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, *sys.argv], env=env)
        if p.returncode != 0 and p.returncode != 1:
            print("unshare failed; skipped", file=sys.stderr)
        return p.returncode
    unittest.main(verbosity=2)


if __name__ == "__main__":
    sys.exit(main())
