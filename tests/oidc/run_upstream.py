#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs upstream.test.mjs: "Continue with ..." in headless Chromium against
the real tesserad, node's oidc-provider (tests/oidc/upstream-op.mjs) as any
OpenID provider and the GitHub stand-in (tests/lib/github_standin.py), all
on loopback with ports chosen at run time. This script registers the
providers through the JSON API and hands the browser test what it needs in
TESSERA_UPSTREAM (JSON). Screenshots go to
{build}/tests/screenshots/upstream/."""

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from tessera_env import REPO, Tessera  # noqa: E402
from upstream_env import GitHubStandin, UpstreamOP, ensure_node_modules  # noqa: E402

PASSWORD = "correct horse battery staple"
REDIRECT_URI = "http://127.0.0.1:65001/cb"  # intercepted by the browser test, never sent
CLIENT_ID = "tessera-e2e"
CLIENT_SECRET = "upstream-e2e-secret-0123456789"
USERS = [
    {"sub": "1003", "login": "carl", "password": "carl-pw", "email": "carl@example.net", "email_verified": True,
     "name": "Carl Friedrich"},
    {"sub": "1006", "login": "hedy", "password": "hedy-pw", "email": "hedy@example.net", "email_verified": True,
     "name": "Hedy Lamarr"},
    {"sub": "1007", "login": "grace", "password": "grace-pw", "email": "grace@example.org", "email_verified": True,
     "name": "Grace Hopper"},
    {"sub": "2001", "login": "m1", "password": "m-pw", "email": "m1@example.net", "email_verified": True,
     "name": "M One"},
]


def api(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, data = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    return status, json.loads(data) if data else None


def main():
    node = shutil.which("node")
    chromium = "/usr/bin/chromium"
    if not node or not os.path.exists(chromium):
        print(f"skipped: needs node and {chromium} (tools/install-deps installs them)")
        return 77
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    ensure_node_modules()

    build = os.environ.get("TESSERA_BUILD_DIR") or os.path.join(REPO, "build")
    screenshots = os.path.join(build, "tests", "screenshots", "upstream")
    shutil.rmtree(screenshots, ignore_errors=True)
    os.makedirs(screenshots)
    with Tessera() as t:
        t.ctl("tenant", "create", "acme", check=True)
        for user, role, email in (("olga@acme", "owner", "olga@acme.example"),
                                  ("grace@acme", "member", "grace@example.org")):
            t.ctl("user", "add", user, "--role", role, "--email", email, "--password-stdin",
                  input=PASSWORD + "\n", check=True)
        base, callback = t.base_url, t.issuer("acme") + "/upstream/callback"
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback]}]
        with UpstreamOP(os.path.join(t.dir, "op"), clients=clients, users=USERS) as op, \
                GitHubStandin(os.path.join(t.dir, "gh"), clients=clients, users=USERS) as gh:
            status, signin = api(base, "POST", "/api/v1/tenants/acme/auth/signin",
                                 {"login": "olga", "password": PASSWORD})
            assert status == 200, (status, signin)
            token = signin["session"]["token"]
            oidc = {"kind": "oidc", "issuer": op.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "signup": "jit"}
            for spec in ({"name": "op", "display_name": "Example OP", "link_by_email": True, **oidc},
                         {"name": "strict", "display_name": "Strict OP", "link_by_email": False, **oidc},
                         {"name": "gh", "kind": "github", "display_name": "GitHub", "client_id": CLIENT_ID,
                          "client_secret": CLIENT_SECRET, "signup": "jit",
                          "authorization_endpoint": gh.endpoint("authorization"),
                          "token_endpoint": gh.endpoint("token"), "api_url": gh.api_url}):
                status, body = api(base, "POST", "/api/v1/tenants/acme/providers", spec, token)
                assert status == 201, (status, body)
            app = json.loads(t.ctl("--json", "app", "create", "web@acme", "--first-party",
                                   "--redirect-uri", REDIRECT_URI, check=True).stdout)
            env = {
                "base": base, "issuer": t.issuer("acme"), "api": f"{base}/api/v1/tenants/acme",
                "admin_token": token, "password": PASSWORD,
                "client_id": app["client_id"], "client_secret": app["client_secret"],
                "redirect_uri": REDIRECT_URI, "screenshots": screenshots,
                "upstreams": {"op": op.issuer, "strict": op.issuer, "gh": gh.base},
                "op_control": f"http://127.0.0.1:{op.control_port}",
            }
            p = subprocess.run([node, "--test", "--test-concurrency=1", os.path.join(HERE, "upstream.test.mjs")],
                               env={**os.environ, "TESSERA_UPSTREAM": json.dumps(env)}, cwd=HERE, timeout=240)
            if p.returncode != 0:
                print(t.log()[-6000:], file=sys.stderr)
            else:
                print(f"screenshots in {screenshots}: {', '.join(sorted(os.listdir(screenshots)))}")
            return p.returncode


if __name__ == "__main__":
    sys.exit(main())
