#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the end-to-end suite of the OpenID provider: starts tesserad (the
harness of tests/lib), creates a tenant, users and applications, and runs
e2e.test.mjs with node's test runner. The npm packages come from
package-lock.json through 'npm ci' (tools/test runs it; this script does
when node_modules is missing). Screenshots go to tests/artifacts/oidc/."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from tessera_env import REPO, Tessera  # noqa: E402

PASSWORD = "correct horse battery"
REDIRECT_BASE = "http://127.0.0.1:65001"  # the browser's requests there are intercepted, never sent


def totp(secret_b32, step=0):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    h = hmac.new(key, struct.pack(">Q", int(time.time() // 30) + step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


def main():
    node = shutil.which("node")
    chromium = "/usr/bin/chromium"
    if not node or not os.path.exists(chromium):
        print(f"skipped: needs node and {chromium} (tools/install-deps installs them)")
        return 77
    if not os.path.isdir(os.path.join(HERE, "node_modules", "openid-client")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)

    artifacts = os.path.join(REPO, "tests", "artifacts", "oidc")
    os.makedirs(artifacts, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tessera-e2e-")
    try:
        with Tessera(config_extra="[oidc]\nrefresh_reuse_grace = 1\n") as t:
            t.ctl("tenant", "create", "acme", check=True)
            for name, real in (("alice", "Alice Liddell"), ("bob", "Bob"), ("carol", "Carol")):
                t.ctl("user", "add", f"{name}@acme", "--real-name", real, "--email", f"{name}@acme.example",
                      "--password-stdin", input=PASSWORD + "\n", check=True)
            secret = json.loads(t.ctl("--json", "user", "totp", "enroll", "bob@acme", check=True).stdout)["secret"]
            t.ctl("user", "totp", "confirm", "bob@acme", totp(secret), check=True)

            def app(*args):
                return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
            web = app("web@acme", "--first-party", "--redirect-uri", REDIRECT_BASE + "/web/cb",
                      "--post-logout-redirect-uri", REDIRECT_BASE + "/web/bye")
            spa = app("spa@acme", "--public", "--first-party", "--redirect-uri", REDIRECT_BASE + "/spa/cb",
                      "--signing-alg", "ES256")
            third = app("third@acme", "--redirect-uri", REDIRECT_BASE + "/third/cb")
            svc = app("svc@acme", "--grant", "client_credentials", "--signing-alg", "ES256")
            env = {
                "issuer": t.issuer("acme"), "password": PASSWORD, "bob_totp": secret, "artifacts": artifacts,
                "tmp": tmp, "redirect_base": REDIRECT_BASE,
                "web": {"client_id": web["client_id"], "client_secret": web["client_secret"],
                        "redirect_uri": REDIRECT_BASE + "/web/cb", "post_logout_uri": REDIRECT_BASE + "/web/bye"},
                "spa": {"client_id": spa["client_id"], "redirect_uri": REDIRECT_BASE + "/spa/cb"},
                "third": {"client_id": third["client_id"], "client_secret": third["client_secret"],
                          "redirect_uri": REDIRECT_BASE + "/third/cb"},
                "svc": {"client_id": svc["client_id"], "client_secret": svc["client_secret"]},
            }
            p = subprocess.run([node, "--test", "--test-concurrency=1", os.path.join(HERE, "e2e.test.mjs")],
                               env={**os.environ, "TESSERA_E2E": json.dumps(env)}, cwd=HERE, timeout=240)
            if p.returncode != 0:
                print(t.log()[-6000:], file=sys.stderr)
            return p.returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
