#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bash completion of tesseractl, run in bash with bash-completion
loaded as an interactive shell loads it: every object and verb that
`tesseractl --help` lists completes, every verb completes exactly the
options its own --help lists, option values complete, and tenant names
come from the real tesserad."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from tessera_env import Tessera, binary  # noqa: E402

SCRIPT = os.path.join(HERE, "..", "..", "packaging", "completion", "tesseractl.bash")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
COMMON = {"--tenant=", "--json", "--help"}


def verbs_from_help():
    out = subprocess.run([binary("tesseractl"), "--help"], capture_output=True, text=True, check=True).stdout
    return [tuple(m.groups()) for m in re.finditer(r"(?m)^  ([a-z][a-z-]*)\s+([a-z-]+)\s{2,}", out)]


def options_from_help(obj, verb):
    out = subprocess.run([binary("tesseractl"), obj, verb, "--help"], capture_output=True, text=True).stdout
    opts = set()
    for m in re.finditer(r"(?m)^\s+(--[a-z-]+)(=?)", out):
        opts.add(m.group(1) + m.group(2))
    return opts


def comp_words(line):
    """The words bash hands a completion function: split at blanks and at
    the '=' of COMP_WORDBREAKS, which stands as a word of its own."""
    words = []
    for token in line.split():
        parts = re.split(r"(=)", token)
        words += [p for p in parts if p]
    if line.endswith(" ") or not words:
        words.append("")
    return words


class CompletionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BASH_COMPLETION):
            raise unittest.SkipTest("bash-completion is not installed (tools/install-deps installs it)")
        # tesseractl as an installed one is found: on PATH.
        cls.bin = tempfile.mkdtemp(prefix="tessera-completion-")
        os.symlink(binary("tesseractl"), os.path.join(cls.bin, "tesseractl"))
        cls.env = None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.bin, ignore_errors=True)

    def complete(self, line, env=None):
        """COMPREPLY for the command line `line`, the cursor at its end."""
        script = f"""
            source {BASH_COMPLETION}
            source {SCRIPT}
            line={line!r}
            COMP_WORDS=({" ".join(shlex.quote(w) for w in comp_words(line))})
            COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
            COMP_LINE=$line
            COMP_POINT=${{#line}}
            _tesseractl tesseractl "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
            printf '%s\\n' "${{COMPREPLY[@]}}"
        """
        run_env = dict(env or os.environ)
        run_env["PATH"] = self.bin + ":" + run_env.get("PATH", "/usr/bin:/bin")
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                           env=run_env, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted(w for w in p.stdout.split("\n") if w)

    def test_objects_and_verbs_match_the_help(self):
        listed = verbs_from_help()
        self.assertGreater(len(listed), 30)
        objects = sorted({o for o, _ in listed})
        self.assertEqual(self.complete("tesseractl "), objects)
        for obj in objects:
            with self.subTest(object=obj):
                self.assertEqual(self.complete(f"tesseractl {obj} "), sorted(v for o, v in listed if o == obj))
        self.assertEqual(self.complete("tesseractl us"), ["user"])
        self.assertEqual(self.complete("tesseractl --json group add-"), ["add-member"])

    def test_options_match_each_verbs_help(self):
        for obj, verb in verbs_from_help():
            with self.subTest(verb=f"{obj} {verb}"):
                expected = options_from_help(obj, verb)
                self.assertTrue(COMMON <= expected, expected)
                self.assertEqual(set(self.complete(f"tesseractl {obj} {verb} --")), expected)
        self.assertEqual(self.complete("tesseractl --"), ["--help", "--json", "--tenant=", "--version"])

    def test_option_values(self):
        self.assertEqual(self.complete("tesseractl user add alice --role="), ["admin", "member", "owner"])
        self.assertEqual(self.complete("tesseractl user set alice --role o"), ["owner"])
        self.assertEqual(self.complete("tesseractl user add alice --email-verified="), ["no", "yes"])
        self.assertEqual(self.complete("tesseractl app create web --grant=c"), ["client_credentials"])
        self.assertEqual(self.complete("tesseractl app create web --signing-alg "), ["ES256", "RS256"])
        self.assertEqual(self.complete("tesseractl user totp "), ["backup-codes", "confirm", "disable", "enroll"])
        # A tenant's settings, each also back to the site's default.
        self.assertEqual(self.complete("tesseractl tenant set acme --mfa-required="),
                         ["admins", "default", "everyone", "none"])
        self.assertEqual(self.complete("tesseractl tenant set acme --open-signup "), ["default", "no", "yes"])
        self.assertEqual(self.complete("tesseractl tenant set acme --password-min-length d"), ["default"])
        self.assertEqual(self.complete("tesseractl tenant set acme --refresh-idle-lifetime="), ["default"])
        # A value nobody can guess completes to nothing, not to options.
        self.assertEqual(self.complete("tesseractl user add alice --uid "), [])

    def test_tenant_names_from_the_daemon(self):
        with Tessera() as t:
            for slug in ("acme", "globex", "initech"):
                t.ctl("tenant", "create", slug, check=True)
            env = t.env()
            self.assertEqual(self.complete("tesseractl tenant show ", env), ["acme", "globex", "initech"])
            self.assertEqual(self.complete("tesseractl user list --tenant g", env), ["globex"])
            self.assertEqual(self.complete("tesseractl --tenant=i", env), ["initech"])
        # tesserad gone: no names, and no error either.
        self.assertEqual(self.complete("tesseractl tenant show ", env), [])


if __name__ == "__main__":
    unittest.main()
