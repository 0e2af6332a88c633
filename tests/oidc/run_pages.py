#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs pages.test.mjs: the account pages a mailed link opens, and the
provider's sign-in with a TOTP second factor, in headless Chromium against
the real tesserad. This script signs a tenant's owner up through the JSON
API (open sign-up), enrols TOTP, takes the verification link from the mail
the daemon writes into its development outbox folder ([mail]
outbox_directory, decoded with python's email module) and hands it to the
browser test in TESSERA_PAGES (JSON). The browser test asks for the reset on
the "forgot" page and runs this script with --mailed-link for the link of
that mail; last it signs up on the sign-up pages (/signup, and
/t/{tenant}/signup from the sign-in page). Screenshots go to
{build}/tests/screenshots/account-pages/."""

import email
import email.policy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from tessera_env import REPO, Tessera  # noqa: E402
from run_e2e import totp  # noqa: E402

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a new staple for the horse"
EMAIL = "ada@analytical.example"
REDIRECT_URI = "http://127.0.0.1:65001/cb"  # intercepted by the browser test, never sent
LINK = re.compile(r"https?://\S+/t/[a-z0-9-]+/(?:reset-password|verify-email)\?token=[A-Za-z0-9_-]+")


def api(base, method, path, body=None, token=None):
    """(status, parsed JSON or None) of a JSON API call."""
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


def mailed_link(outbox, page, seen, daemon=None, timeout=30.0):
    """The link to page (verify-email or reset-password) in the first .eml
    of the outbox folder not in seen that has one; polls the folder the
    daemon's mail worker writes into."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(glob.glob(os.path.join(outbox, "*.eml"))):
            if path in seen:
                continue
            seen.add(path)
            with open(path, "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            text = m.get_body(("plain",)).get_content()      # quoted-printable decoded
            links = [u for u in LINK.findall(text) if f"/{page}?" in u]
            if links:
                return {"url": links[0], "to": str(m["To"]), "file": os.path.basename(path)}
        if daemon and daemon.daemon.poll() is not None:
            raise AssertionError(f"tesserad exited while waiting for the {page} mail:\n{daemon.log()}")
        time.sleep(0.05)
    raise AssertionError(f"no {page} mail in {outbox} after {timeout} s")


def main():
    if sys.argv[1:2] == ["--mailed-link"]:
        # run_pages.py --mailed-link OUTBOX PAGE [FILE...]: the link of the
        # first mail not among FILE..., as JSON (for pages.test.mjs).
        outbox, page = sys.argv[2], sys.argv[3]
        print(json.dumps(mailed_link(outbox, page, {os.path.join(outbox, f) for f in sys.argv[4:]})))
        return 0
    node = shutil.which("node")
    chromium = "/usr/bin/chromium"
    if not node or not os.path.exists(chromium):
        print(f"skipped: needs node and {chromium} (tools/install-deps installs them)")
        return 77
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)

    build = os.environ.get("TESSERA_BUILD_DIR") or os.path.join(REPO, "build")
    screenshots = os.path.join(build, "tests", "screenshots", "account-pages")
    shutil.rmtree(screenshots, ignore_errors=True)      # none left over from an earlier run
    os.makedirs(screenshots)
    tmp = tempfile.mkdtemp(prefix="tessera-pages-")
    outbox = os.path.join(tmp, "mail")
    os.makedirs(outbox)
    try:
        config = (f"[auth]\nopen_signup = yes\nforgot_delay = 20\n"
                  f"[mail]\nfrom = noreply@tessera.test\noutbox_directory = {outbox}\n")
        with Tessera(config_extra=config) as t:
            base, seen = t.base_url, set()
            status, signup = api(base, "POST", "/api/v1/signup", {
                "email": EMAIL, "password": PASSWORD, "name": "Ada Lovelace",
                "organization_name": "Analytical Engines"})
            assert status == 201, (status, signup)
            tenant, token = signup["organization"]["slug"], signup["session"]["token"]
            verify = mailed_link(outbox, "verify-email", seen, t)
            assert verify["to"] == EMAIL, verify

            status, secret = api(base, "POST", f"/api/v1/tenants/{tenant}/me/totp", token=token)
            assert status in (200, 201), (status, secret)
            status, confirmed = api(base, "POST", f"/api/v1/tenants/{tenant}/me/totp/confirm",
                                    {"code": totp(secret["secret"])}, token=token)
            assert status == 200, (status, confirmed)

            app = json.loads(t.ctl("--json", "app", "create", f"web@{tenant}", "--first-party",
                                   "--redirect-uri", REDIRECT_URI, check=True).stdout)
            env = {
                "base": base, "issuer": t.issuer(tenant), "tenant": tenant, "email": EMAIL,
                "password": PASSWORD, "new_password": NEW_PASSWORD, "signup_token": token,
                "totp": secret["secret"], "verify_url": verify["url"], "outbox": outbox,
                "client_id": app["client_id"], "client_secret": app["client_secret"],
                "redirect_uri": REDIRECT_URI, "screenshots": screenshots,
            }
            p = subprocess.run([node, "--test", "--test-concurrency=1", os.path.join(HERE, "pages.test.mjs")],
                               env={**os.environ, "TESSERA_PAGES": json.dumps(env)}, cwd=HERE, timeout=240)
            if p.returncode != 0:
                print(t.log()[-6000:], file=sys.stderr)
            else:
                print(f"screenshots in {screenshots}: {', '.join(sorted(os.listdir(screenshots)))}")
            return p.returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
