#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pam_tessera.so loaded by libpam (through pam_wrapper, with service files
in a private folder) and driven by pamtester, against the real tesserad:
every phase and option, TOTP codes computed with oathtool, and the bad
cases: wrong, replayed and over-long codes, unknown users, a caller that
isn't root asking for someone else, a daemon that is down or hangs."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tessera_env import PamServices, Tessera, require_root  # noqa: E402

AUTH_ERR = "Authentication failure"
USER_UNKNOWN = "User not known to the underlying authentication module"
UNAVAIL = "Authentication service cannot retrieve authentication info"
SERVICE_ERR = "Error in service module"
MAXTRIES = "Have exhausted maximum number of retries for service"
PERM_DENIED = "Permission denied"
EXPIRED = "User account has expired"
AUTHTOK_ERR = "Authentication token manipulation error"
RECOVERY_ERR = "Authentication information cannot be recovered"

PASSWORD = "correct horse"
LOCKOUT_FAILURES = 3


def oathtool(secret, offset_steps=0):
    when = f"now {'+' if offset_steps >= 0 else '-'} {abs(offset_steps) * 30} seconds"
    return subprocess.run(["oathtool", "--totp", "-b", "-N", when, secret], capture_output=True, text=True,
                          check=True).stdout.strip()


class PamModuleTest(unittest.TestCase):
    uid_counter = 200100

    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(default_tenant="acme", tenants=("globex",),
                        config_extra=f"[auth]\nlockout_failures = {LOCKOUT_FAILURES}\nlockout_time = 60\n").start()
        cls.addClassCleanup(cls.t.close)
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.t.ctl("tenant", "create", "globex", check=True)
        cls.pam = PamServices(cls.t)
        cls.pam.add("plain", "auth required {module} socket={socket} nodelay",
                    "account required {module} socket={socket}",
                    "password required {module} socket={socket}",
                    "session required {module} socket={socket}")

    # -- helpers ------------------------------------------------------------

    def user(self, name, password=PASSWORD, tenant="acme"):
        """Creates a user with a uid of its own; returns its uid."""
        PamModuleTest.uid_counter += 1
        uid = PamModuleTest.uid_counter + (200000 if tenant == "globex" else 0)
        self.t.ctl("user", "add", f"{name}@{tenant}", "--uid", str(uid), "--password-stdin", input=password + "\n",
                   check=True)
        return uid

    def enroll(self, name):
        """Enrolls TOTP (confirmed with the previous step's code, so that
        the current and next ones are free); returns the secret and the
        backup codes."""
        enrolled = json.loads(self.t.ctl("--json", "user", "totp", "enroll", name, check=True).stdout)
        secret = enrolled["secret"]
        confirmed = self.t.ctl("--json", "user", "totp", "confirm", name, oathtool(secret, -1))
        if confirmed.returncode != 0:
            # A 30-second step began between oathtool and the daemon: the
            # previous step's code is two steps old now, the next is fresh.
            confirmed = self.t.ctl("--json", "user", "totp", "confirm", name, oathtool(secret, -1), check=True)
        return secret, json.loads(confirmed.stdout)["backup_codes"]

    def pamtester(self, service, user, *ops, code=0, **kw):
        p = self.pam.pamtester(service, user, *ops, **kw)
        self.assertEqual(p.returncode, code, f"pamtester {service} {user} {ops}:\n{p.stdout}\n{p.stderr}")
        return p

    def fails(self, service, user, *ops, error, **kw):
        p = self.pamtester(service, user, *ops, code=1, **kw)
        self.assertIn(error, p.stdout + p.stderr)
        return p

    def audit(self, target=None, action=None):
        args = ["--json", "audit", "list", "--limit", "10000"]
        if target:
            args += ["--target", target]
        if action:
            args += ["--action", action]
        return json.loads(self.t.ctl(*args, check=True).stdout)

    def last_audit(self, target, action="auth.login"):
        events = self.audit(target, action)
        self.assertTrue(events, f"no {action} event for {target}")
        # A repeated refusal is counted on its first event: the latest is
        # the one seen last, not the one with the largest id.
        return max(events, key=lambda e: (e["last_usec"], e["id"]))

    # -- auth: passwords ----------------------------------------------------

    def test_password(self):
        self.user("alice")
        p = self.pamtester("plain", "alice", "authenticate", input=PASSWORD + "\n",
                           items=("rhost=192.0.2.7", "tty=pts/7", "ruser=bob"))
        self.assertIn("successfully authenticated", p.stdout + p.stderr)
        ev = self.last_audit("alice@acme")
        self.assertEqual((ev["channel"], ev["result"]), ("pam", "success"))
        self.assertEqual(ev["details"]["factor"], "password")
        self.assertEqual(ev["details"]["service"], "plain")
        self.assertEqual(ev["details"]["tty"], "pts/7")
        self.assertEqual(ev["details"]["remote_user"], "bob")

        self.fails("plain", "alice", "authenticate", input="wrong\n", error=AUTH_ERR)
        ev = self.last_audit("alice@acme")
        self.assertEqual((ev["result"], ev["details"]["reason"]), ("failure", "wrong password"))
        # The password never reaches the audit trail.
        self.assertNotIn(PASSWORD, json.dumps(self.audit()))
        self.assertNotIn("wrong", json.dumps([e["details"] for e in self.audit("alice@acme")
                                              if (e["details"] or {}).get("reason") != "wrong password"]))

    def test_remote_host_recorded(self):
        self.user("rhosty")
        self.pamtester("plain", "rhosty", "authenticate", input=PASSWORD + "\n", items=("rhost=198.51.100.9",))
        p = self.t.run(["sqlite3", "-readonly", os.path.join(self.t.state_dir, "tessera.db"),
                        "SELECT remote FROM audit_events WHERE target = 'rhosty@acme' AND action = 'auth.login'"])
        self.assertEqual(p.stdout.strip(), "198.51.100.9")

    def test_qualified_names(self):
        self.user("gina", tenant="globex")
        self.pamtester("plain", "gina@globex", "authenticate", input=PASSWORD + "\n")
        # Bare names are the default tenant's only.
        self.fails("plain", "gina", "authenticate", input=PASSWORD + "\n", error=USER_UNKNOWN)

    def test_unknown_user(self):
        self.fails("plain", "nosuchuser", "authenticate", input="whatever\n", error=USER_UNKNOWN)
        ev = self.last_audit("nosuchuser")
        self.assertEqual((ev["result"], ev["details"]["reason"]), ("invalid", "unknown user"))
        # Names tessera can't have are not even asked about, and account
        # checks of users that aren't ours are none of its business.
        before = len(self.audit())
        self.fails("plain", "Not-Valid", "authenticate", input="x\n", error=USER_UNKNOWN)
        self.fails("plain", "root", "acct_mgmt", error=USER_UNKNOWN)
        self.assertEqual(len(self.audit()), before)

    def test_empty_and_overlong_password(self):
        self.user("edgar")
        self.fails("plain", "edgar", "authenticate", input="\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("edgar@acme")["details"]["reason"], "wrong password")
        self.fails("plain", "edgar", "authenticate", input="x" * 600 + "\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("edgar@acme")["details"]["reason"], "no usable password given")

    def test_conversation_fails(self):
        self.user("connie")
        # pamtester's conversation fails on end of input.
        p = self.pamtester("plain", "connie", "authenticate", input="", code=1)
        self.assertNotIn("successfully", p.stdout + p.stderr)
        ev = self.last_audit("connie@acme")
        self.assertEqual((ev["result"], ev["details"]["reason"]), ("failure", "no usable password given"))

    def test_fail_delay(self):
        self.user("delia")
        self.pam.add("delay", "auth required {module} socket={socket}")
        start = time.monotonic()
        self.fails("delay", "delia", "authenticate", input="wrong\n", error=AUTH_ERR)
        self.assertGreater(time.monotonic() - start, 1.0)

    # -- auth: TOTP -----------------------------------------------------------

    def fails_unlocked(self, *args, **kw):
        """A failure, then the count forgotten (an administrator's unlock),
        for tests that fail more often than the lockout allows."""
        p = self.fails(*args, **kw)
        self.t.ctl("user", "unlock", args[1] + "@acme", check=True)
        return p

    def test_totp(self):
        self.user("tom")
        secret, codes = self.enroll("tom@acme")
        now, later = oathtool(secret), oathtool(secret, 1)
        wrong = next(c for c in ("000000", "111111", "222222") if c not in (now, later, oathtool(secret, -1)))

        # Two prompts: password, then "Verification code:".
        p = self.pamtester("plain", "tom", "authenticate", input=f"{PASSWORD}\n{now}\n")
        self.assertIn("Verification code:", p.stdout + p.stderr)
        self.assertEqual(self.last_audit("tom@acme")["details"]["factor"], "password+totp")
        # The same code again: refused (the step is spent).
        self.fails_unlocked("plain", "tom", "authenticate", input=f"{PASSWORD}\n{now}\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("tom@acme")["details"]["reason"], "code used before")
        self.fails_unlocked("plain", "tom", "authenticate", input=f"{PASSWORD}\n{wrong}\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("tom@acme")["details"]["reason"], "wrong code")
        # Empty, missing and over-long codes never satisfy it.
        self.fails_unlocked("plain", "tom", "authenticate", input=f"{PASSWORD}\n\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("tom@acme")["details"]["reason"], "code missing")
        self.fails_unlocked("plain", "tom", "authenticate", input=f"{PASSWORD}\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("tom@acme")["details"]["reason"], "code missing")
        self.fails_unlocked("plain", "tom", "authenticate", input=f"{PASSWORD}\n{'1' * 100}\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("tom@acme")["details"]["reason"], "malformed code")
        # A wrong password with the right code: no, and the code stays unspent.
        self.fails_unlocked("plain", "tom", "authenticate", input=f"wrong\n{later}\n", error=AUTH_ERR)
        self.pamtester("plain", "tom", "authenticate", input=f"{PASSWORD}\n{later}\n")

        # A backup code at the same prompt, once.
        p = self.pamtester("plain", "tom", "authenticate", input=f"{PASSWORD}\n{codes[0].upper()}\n")
        self.assertIn("A backup code was used; 9 left.", p.stdout + p.stderr)
        self.assertEqual(self.last_audit("tom@acme")["details"]["factor"], "password+backup-code")
        self.fails("plain", "tom", "authenticate", input=f"{PASSWORD}\n{codes[0]}\n", error=AUTH_ERR)
        # No code appears in the audit trail.
        trail = json.dumps(self.audit())
        for c in (now, later, codes[0], secret):
            self.assertNotIn(c, trail)

    def test_totp_prompt_says_nothing_about_the_password(self):
        self.user("pat")
        secret, _ = self.enroll("pat@acme")
        # A wrong password still gets the code prompt, and the same answer.
        p = self.fails("plain", "pat", "authenticate", input=f"wrong\n{oathtool(secret)}\n", error=AUTH_ERR)
        self.assertIn("Verification code:", p.stdout + p.stderr)

    @staticmethod
    def conversation(p):
        """What the person saw: the prompts and messages of an authenticate
        operation, without pam_wrapper's log lines and pamtester's verdict
        (the PAM return code, which goes to the program, not the person)."""
        text = re.sub(r"PWRAP_\w+\[[^\]]*\] - [^\n]*\n?", "", p.stdout + p.stderr)
        m = re.search(r"performing operation - authenticate\n(.*?)pamtester: ", text, re.S)
        return m.group(1) if m else text

    def test_prompts_say_nothing_about_who_exists(self):
        """With totp=required everybody is asked for a code, and an unknown
        name (or a disabled account) is told what a real account is told,
        "locked" included: the prompts tell an enrolled user, a user
        without TOTP, a disabled one and a name that is no user apart in
        nothing."""
        self.user("vera")
        self.user("walt")
        self.user("xena")
        self.t.ctl("user", "disable", "xena@acme", check=True)
        secret, _ = self.enroll("vera@acme")
        names = ("vera", "walt", "xena", "nosuchvera")
        seen = {name: [] for name in names}
        for _ in range(LOCKOUT_FAILURES):
            for name in names:
                p = self.pamtester("plain", name, "authenticate", input="wrong\n000000\n", code=1)
                seen[name].append(self.conversation(p))
        for name in names:
            p = self.pamtester("plain", name, "authenticate", input=f"{PASSWORD}\n{oathtool(secret)}\n", code=1)
            seen[name].append(self.conversation(p))
        self.assertEqual(seen["vera"][0], "Password: Verification code: ")
        self.assertEqual(seen["vera"][-2], "Password: Verification code: "
                                           "Too many failed attempts: the account is locked for a minute.\n")
        self.assertIn("try again in a minute", seen["vera"][-1])
        for name in names:
            self.assertEqual(seen[name], seen["vera"], name)
        # Still none of tessera's business for the stack: user unknown.
        p = self.fails("plain", "nosuchvera", "authenticate", input="x\n\n", error=USER_UNKNOWN)
        self.assertIn("locked", p.stdout + p.stderr)
        # A user without TOTP leaves the code empty, or types anything: the
        # password alone decides for them.
        self.t.ctl("user", "unlock", "walt@acme", check=True)
        self.pamtester("plain", "walt", "authenticate", input=f"{PASSWORD}\n\n")
        self.pamtester("plain", "walt", "authenticate", input=f"{PASSWORD}\nwhatever\n")

    def test_one_prompt(self):
        self.user("olga")
        self.user("digits", password="ends-in-804217")
        secret, codes = self.enroll("olga@acme")
        self.pam.add("oneprompt", "auth required {module} socket={socket} nodelay one_prompt")

        p = self.pamtester("oneprompt", "olga", "authenticate", input=PASSWORD + oathtool(secret) + "\n")
        self.assertNotIn("Verification code", p.stdout + p.stderr)
        self.assertEqual(self.last_audit("olga@acme")["details"]["factor"], "password+totp")
        self.pamtester("oneprompt", "olga", "authenticate", input=PASSWORD + codes[1] + "\n")
        # Without a code the required second factor is missing.
        self.fails("oneprompt", "olga", "authenticate", input=PASSWORD + "\n", error=AUTH_ERR)
        self.assertEqual(self.last_audit("olga@acme")["details"]["reason"], "code missing")
        # A user without TOTP: a password ending in digits is left whole.
        self.pamtester("oneprompt", "digits", "authenticate", input="ends-in-804217\n")

    def test_one_prompt_hands_on_the_password(self):
        self.user("hand")
        secret, _ = self.enroll("hand@acme")
        # pam_tessera in one_prompt mode, then a module that uses the
        # password it left: PAM_AUTHTOK is the password without the code.
        self.pam.add("handon", "auth required {module} socket={socket} nodelay one_prompt",
                     "auth required {module} socket={socket} nodelay use_first_pass totp=never")
        self.pamtester("handon", "hand", "authenticate", input=PASSWORD + oathtool(secret) + "\n")

    def test_totp_policies(self):
        self.user("polly")
        secret, _ = self.enroll("polly@acme")
        self.pam.add("optional", "auth required {module} socket={socket} nodelay totp=optional")
        self.pam.add("never", "auth required {module} socket={socket} nodelay totp=never")

        # optional: an empty code is the password alone; a given one must be right.
        self.pamtester("optional", "polly", "authenticate", input=f"{PASSWORD}\n\n")
        self.assertEqual(self.last_audit("polly@acme")["details"]["factor"], "password")
        self.fails("optional", "polly", "authenticate", input=f"{PASSWORD}\n000000x\n", error=AUTH_ERR)
        self.pamtester("optional", "polly", "authenticate", input=f"{PASSWORD}\n{oathtool(secret)}\n")
        # never: no prompt for a code.
        p = self.pamtester("never", "polly", "authenticate", input=f"{PASSWORD}\n")
        self.assertNotIn("Verification code", p.stdout + p.stderr)
        self.assertEqual(self.last_audit("polly@acme")["details"]["totp_policy"], "never")

    def test_totp_policy_of_callers_not_root(self):
        """A program that is not root (a screen locker, a user's script)
        can't weaken the second factor with totp=never: the daemon's [pam]
        totp applies to it, and the module asks for the code it demands."""
        require_root(self)
        uid = self.user("nina")
        secret, _ = self.enroll("nina@acme")
        self.pam.add("never-here", "auth required {module} socket={socket} nodelay totp=never")
        p = self.fails("never-here", "nina", "authenticate", input=f"{PASSWORD}\n\n", uid=uid, error=AUTH_ERR)
        self.assertIn("Verification code:", p.stdout + p.stderr)
        ev = self.last_audit("nina@acme")
        self.assertEqual((ev["details"]["totp_policy"], ev["details"]["reason"]), ("required", "code missing"))
        p = self.pamtester("never-here", "nina", "authenticate", input=f"{PASSWORD}\n{oathtool(secret)}\n", uid=uid)
        self.assertEqual(self.last_audit("nina@acme")["details"]["factor"], "password+totp")
        # Root's programs keep their configuration.
        p = self.pamtester("never-here", "nina", "authenticate", input=f"{PASSWORD}\n")
        self.assertNotIn("Verification code", p.stdout + p.stderr)

    # -- auth: options ----------------------------------------------------------

    def test_first_pass_options(self):
        self.user("fred")
        w = "{wrapper}/pam_set_items.so"
        self.pam.add("usefirst", f"auth required {w}", "auth required {module} socket={socket} nodelay use_first_pass")
        self.pam.add("tryfirst", f"auth required {w}", "auth required {module} socket={socket} nodelay try_first_pass")
        # With a password from an earlier module: no prompt.
        p = self.pamtester("usefirst", "fred", "authenticate", env={"PAM_AUTHTOK": PASSWORD})
        self.assertNotIn("Password:", p.stdout + p.stderr)
        self.pamtester("tryfirst", "fred", "authenticate", env={"PAM_AUTHTOK": PASSWORD})
        # Without one: use_first_pass fails, try_first_pass asks.
        self.fails("usefirst", "fred", "authenticate", input=PASSWORD + "\n", error=AUTH_ERR)
        p = self.pamtester("tryfirst", "fred", "authenticate", input=PASSWORD + "\n")
        self.assertIn("Password:", p.stdout + p.stderr)

    def test_bad_options_fail_closed(self):
        self.user("opti")
        for opt in ("totp=sometimes", "socket=relative/pam.sock", "timeout=soon", "timeout=0"):
            with self.subTest(option=opt):
                name = self.pam.add("bad", f"auth required {{module}} socket={{socket}} nodelay {opt}",
                                    f"account required {{module}} socket={{socket}} {opt}")
                p = self.fails(name, "opti", "authenticate", input=PASSWORD + "\n", error=SERVICE_ERR)
                self.assertIn("refusing", p.stderr)
                self.fails(name, "opti", "acct_mgmt", error=SERVICE_ERR)
        # Unknown options are only logged.
        self.pam.add("unknownopt", "auth required {module} socket={socket} nodelay frobnicate")
        p = self.pamtester("unknownopt", "opti", "authenticate", input=PASSWORD + "\n")
        self.assertIn("unknown option 'frobnicate'", p.stderr)

    def test_debug(self):
        self.user("debby")
        self.pam.add("debug", "auth required {module} socket={socket} nodelay debug")
        p = self.pamtester("debug", "debby", "authenticate", input=PASSWORD + "\n")
        self.assertIn("for 'debby': ok", p.stderr)
        self.assertNotIn(PASSWORD, p.stdout + p.stderr)

    def test_daemon_unreachable(self):
        self.user("dora")
        self.pam.add("nosocket", "auth required {module} socket=/nonexistent/pam.sock nodelay",
                     "account required {module} socket=/nonexistent/pam.sock",
                     "session required {module} socket=/nonexistent/pam.sock",
                     "password required {module} socket=/nonexistent/pam.sock")
        start = time.monotonic()
        self.fails("nosocket", "dora", "authenticate", input=PASSWORD + "\n", error=UNAVAIL)
        self.assertLess(time.monotonic() - start, 1.0)
        self.fails("nosocket", "dora", "acct_mgmt", error=UNAVAIL)
        self.fails("nosocket", "dora", "open_session", error="Cannot make/remove an entry for the specified session")
        self.fails("nosocket", "dora", "chauthtok", input="x\n", error=UNAVAIL)

        # A stack that goes on to another module when tessera is down.
        self.pam.add("fallback", "auth [success=done authinfo_unavail=ignore default=die] {module} "
                     "socket=/nonexistent/pam.sock nodelay", "auth required pam_permit.so")
        self.pamtester("fallback", "dora", "authenticate", input=PASSWORD + "\n")

    def test_daemon_hangs(self):
        self.user("hank")
        self.pam.add("quick", "auth required {module} socket={socket} nodelay timeout=1")
        self.t.daemon.send_signal(signal.SIGSTOP)
        try:
            start = time.monotonic()
            self.fails("quick", "hank", "authenticate", input=PASSWORD + "\n", error=UNAVAIL)
            elapsed = time.monotonic() - start
        finally:
            self.t.daemon.send_signal(signal.SIGCONT)
        self.assertGreater(elapsed, 0.9)
        self.assertLess(elapsed, 5)
        self.pamtester("quick", "hank", "authenticate", input=PASSWORD + "\n")

    # -- the caller rule ---------------------------------------------------------

    def test_caller_may_only_act_for_itself(self):
        require_root(self)
        ivy_uid = self.user("ivy")
        self.user("jack")
        # As ivy, for ivy: fine (a screen locker's case).
        self.pamtester("plain", "ivy", "authenticate", input=PASSWORD + "\n", uid=ivy_uid)
        # As ivy, for jack: refused, whatever the password, and recorded.
        self.fails("plain", "jack", "authenticate", input=PASSWORD + "\n", uid=ivy_uid, error=AUTH_ERR)
        ev = self.last_audit("jack@acme")
        self.assertEqual((ev["result"], ev["actor_uid"]), ("denied", ivy_uid))
        self.fails("plain", "jack", "acct_mgmt", uid=ivy_uid, error=PERM_DENIED)
        self.fails("plain", "jack", "open_session", uid=ivy_uid,
                   error="Cannot make/remove an entry for the specified session")

    # -- account ---------------------------------------------------------------

    def test_account(self):
        self.user("acct")
        self.pamtester("plain", "acct", "acct_mgmt")
        self.t.ctl("user", "disable", "acct@acme", check=True)
        p = self.fails("plain", "acct", "acct_mgmt", error=PERM_DENIED)
        self.assertIn("The account is disabled", p.stdout + p.stderr)
        # Disabled: not even the right password authenticates.
        self.fails("plain", "acct", "authenticate", input=PASSWORD + "\n", error=AUTH_ERR)
        self.t.ctl("user", "enable", "acct@acme", check=True)
        self.t.ctl("user", "lock", "acct@acme", check=True)
        p = self.fails("plain", "acct", "acct_mgmt", error=PERM_DENIED)
        self.assertIn("The account is locked", p.stdout + p.stderr)
        self.t.ctl("user", "unlock", "acct@acme", check=True)
        self.t.busctl("call", "org.tessera.Identity1", "/org/tessera/Identity1/user/acme/acct",
                      "org.tessera.Identity1.User", "Update", "a{sv}", "1", "ExpireTime", "t", "1000000", check=True)
        p = self.fails("plain", "acct", "acct_mgmt", error=EXPIRED)
        self.assertIn("The account has expired", p.stdout + p.stderr)
        self.fails("plain", "nosuchuser", "acct_mgmt", error=USER_UNKNOWN)
        self.assertEqual(self.last_audit("acct@acme", "auth.account")["result"], "denied")

    def test_lockout(self):
        self.user("lucy")
        for _ in range(LOCKOUT_FAILURES - 1):
            self.fails("plain", "lucy", "authenticate", input="wrong\n", error=AUTH_ERR)
        p = self.fails("plain", "lucy", "authenticate", input="wrong\n", error=AUTH_ERR)
        self.assertIn("Too many failed attempts: the account is locked for a minute.", p.stdout + p.stderr)
        # Locked: the right password is turned away with a message.
        p = self.fails("plain", "lucy", "authenticate", input=PASSWORD + "\n", error=MAXTRIES)
        self.assertIn("try again in a minute", p.stdout + p.stderr)
        self.fails("plain", "lucy", "acct_mgmt", error=PERM_DENIED)
        self.assertEqual(json.loads(self.t.ctl("--json", "user", "show", "lucy@acme", check=True).stdout)["state"],
                         "locked")
        self.assertEqual(len(self.audit("lucy@acme", "auth.lock")), 1)
        # An administrator's unlock over D-Bus lets her in and forgets the count.
        self.t.ctl("user", "unlock", "lucy@acme", check=True)
        self.pamtester("plain", "lucy", "authenticate", "acct_mgmt", input=PASSWORD + "\n")

    # -- password ----------------------------------------------------------------

    def test_password_change_by_the_user(self):
        require_root(self)
        uid = self.user("paul")
        new = "a much better one"
        # As paul: the current password, then the new one twice.
        p = self.pamtester("plain", "paul", "chauthtok", uid=uid, input=f"{PASSWORD}\n{new}\n{new}\n")
        self.assertIn("Current password:", p.stdout + p.stderr)
        self.pamtester("plain", "paul", "authenticate", input=new + "\n")
        self.fails("plain", "paul", "authenticate", input=PASSWORD + "\n", error=AUTH_ERR)
        # A wrong current password: refused before the new one is asked.
        p = self.fails("plain", "paul", "chauthtok", uid=uid, input=f"wrong\n{new}2\n{new}2\n", error=AUTH_ERR)
        self.assertNotIn("New password", p.stdout + p.stderr)
        self.assertEqual(self.last_audit("paul@acme", "auth.chauthtok")["result"], "failure")
        # The policy: too short, the name itself, the same as before.
        for bad, reason in (("short", "at least 8 characters"), (new, "must differ")):
            with self.subTest(new_password=bad):
                p = self.fails("plain", "paul", "chauthtok", uid=uid, input=f"{new}\n{bad}\n{bad}\n",
                               error=AUTHTOK_ERR)
                self.assertIn(reason, p.stdout + p.stderr)
        # Mistyped confirmation: libpam's own check.
        p = self.fails("plain", "paul", "chauthtok", uid=uid, input=f"{new}\nabcdefgh1\nabcdefgh2\n",
                       error="Failed preliminary check by password service")
        self.assertIn("Sorry, passwords do not match.", p.stdout + p.stderr)
        self.pamtester("plain", "paul", "authenticate", input=new + "\n")

    def test_password_name_refused(self):
        require_root(self)
        uid = self.user("quentin")
        p = self.fails("plain", "quentin", "chauthtok", uid=uid, input=f"{PASSWORD}\nquentin\nquentin\n",
                       error=AUTHTOK_ERR)
        self.assertIn("at least 8 characters", p.stdout + p.stderr)
        uid = self.user("rosalind")
        p = self.fails("plain", "rosalind", "chauthtok", uid=uid, input=f"{PASSWORD}\nROSALIND\nROSALIND\n",
                       error=AUTHTOK_ERR)
        self.assertIn("must not be the user name", p.stdout + p.stderr)

    def test_password_policy_of_the_tenant(self):
        # The tenant's own policy (tesseractl tenant set), its reason shown
        # to the user by the module.
        require_root(self)
        uid = self.user("penny")
        self.t.ctl("tenant", "set", "acme", "--password-min-length", "16", check=True)
        self.addCleanup(self.t.ctl, "tenant", "set", "acme", "--password-min-length", "default", check=True)
        for bad, reason in (("ab3#Kd9!xQ2mZ7", "at least 16 characters"), ("responsibilities", "dictionary")):
            with self.subTest(new_password=bad):
                p = self.fails("plain", "penny", "chauthtok", uid=uid, input=f"{PASSWORD}\n{bad}\n{bad}\n",
                               error=AUTHTOK_ERR)
                self.assertIn(reason, p.stdout + p.stderr)
        # Root, who needs no current password, is held to it too.
        p = self.fails("plain", "penny", "chauthtok", input="ab3#Kd9!xQ2mZ7\nab3#Kd9!xQ2mZ7\n", error=AUTHTOK_ERR)
        self.assertIn("at least 16 characters", p.stdout + p.stderr)
        self.pamtester("plain", "penny", "authenticate", input=PASSWORD + "\n")
        strong = "ab3#Kd9!xQ2mZ7-Lw5"
        self.pamtester("plain", "penny", "chauthtok", uid=uid, input=f"{PASSWORD}\n{strong}\n{strong}\n")
        self.pamtester("plain", "penny", "authenticate", input=strong + "\n")

    def test_password_change_by_root(self):
        self.user("rita")
        p = self.pamtester("plain", "rita", "chauthtok", input="brand new secret\nbrand new secret\n")
        self.assertNotIn("Current password", p.stdout + p.stderr)
        self.pamtester("plain", "rita", "authenticate", input="brand new secret\n")
        self.fails("plain", "nosuchuser", "chauthtok", input="x\nx\n", error=USER_UNKNOWN)

    # -- session -----------------------------------------------------------------

    def test_session(self):
        self.user("sam")
        self.pamtester("plain", "sam", "open_session", "close_session",
                       items=("rhost=203.0.113.5", "tty=pts/9", "ruser=admin"))
        self.pamtester("plain", "sam", "open_session", items=("tty=tty3",))
        sessions = json.loads(self.t.ctl("--json", "session", "list", "sam@acme", check=True).stdout)
        self.assertEqual(len(sessions), 2)
        still_open, closed = sessions
        self.assertEqual((still_open["tty"], still_open["closed_usec"]), ("tty3", 0))
        self.assertEqual((closed["service"], closed["tty"], closed["remote_host"], closed["remote_user"]),
                         ("plain", "pts/9", "203.0.113.5", "admin"))
        self.assertGreaterEqual(closed["closed_usec"], closed["opened_usec"])
        self.assertEqual(closed["kind"], "pam")
        out = self.t.ctl("session", "list", "--open", check=True).stdout
        self.assertIn("sam@acme", out)
        self.assertIn("tty3", out)
        # Users that aren't ours: no opinion.
        self.pamtester("plain", "root", "open_session", "close_session", code=1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
