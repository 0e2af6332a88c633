#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The upstream identity providers of the tests, started and stopped by
their pid, each on a port chosen at run time:

  UpstreamOP       node's oidc-provider (tests/oidc/upstream-op.mjs): any
                   OpenID provider, and through the presets' overridable
                   endpoints Google, Microsoft (mode "microsoft"), GitLab
  GitHubStandin    GitHub's OAuth and REST endpoints (github_standin.py)

Both read their clients and users from a JSON file this module writes,
print one JSON line when they listen (readiness: no sleeps), and have a
control port for the test driver: set_mode() (a misbehaviour, see MODES of
each file, or "down" which closes the port), stats() (how often each
endpoint was asked: discovery and JWKS caching), rotate() (a new signing
key, oidc only).

sign_in(url, login, password, redirect_uri) plays the browser with
urllib: follows the authorization URL to the provider's login form, fills
it, and returns the URL the provider sends the browser back to (with code
and state), without fetching it.

    with UpstreamOP(tmpdir, clients=[...], users=[...]) as op:
        op.issuer, op.set_mode("expired"), op.stats()["jwks"]
"""

import http.cookiejar
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
OIDC_DIR = os.path.join(SOURCE, "tests", "oidc")
START_TIMEOUT = 60.0

# Users both stand-ins know by default: a verified and an unverified
# address, for linking by e-mail and its refusal.
DEFAULT_USERS = [
    {"sub": "1001", "login": "ada", "password": "ada-upstream-pw", "email": "ada@example.org",
     "email_verified": True, "name": "Ada Lovelace", "tid": "9188040d-6c67-4c5b-b112-36a304b66dad"},
    {"sub": "1002", "login": "bob", "password": "bob-upstream-pw", "email": "bob@example.org",
     "email_verified": False, "name": "Bob Unverified", "tid": "9188040d-6c67-4c5b-b112-36a304b66dad"},
]


def node_modules_ready():
    return os.path.isdir(os.path.join(OIDC_DIR, "node_modules", "oidc-provider"))


def ensure_node_modules():
    """npm ci in tests/oidc when oidc-provider is missing (tools/test runs it too)."""
    if node_modules_ready():
        return
    if not shutil.which("npm"):
        raise FileNotFoundError("npm not found: install nodejs and npm (tools/install-deps)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR, check=True)


class _Process:
    """A stand-in process: started, its readiness line read, stopped by pid."""

    name = "upstream"

    def __init__(self, directory):
        self.dir = directory
        self.proc = None
        self.ready = None
        self.control_port = None

    def _argv(self, config_path):
        raise NotImplementedError

    def _config(self):
        raise NotImplementedError

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        config_path = os.path.join(self.dir, f"{self.name}.json")
        with open(config_path, "w") as f:
            json.dump(self._config(), f)
        log = open(os.path.join(self.dir, f"{self.name}.log"), "a")
        self.proc = subprocess.Popen(self._argv(config_path), stdout=subprocess.PIPE, stderr=log,
                                     start_new_session=True, cwd=self.dir)
        log.close()
        line = self._line(START_TIMEOUT)
        if not line:
            self.stop()
            raise RuntimeError(f"{self.name} did not start; see {self.dir}/{self.name}.log")
        self.ready = json.loads(line)
        self.port = self.ready["port"]
        self.control_port = self.ready["control_port"]
        return self

    def _line(self, timeout):
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            buf += chunk
        return buf.split(b"\n", 1)[0].decode()

    def _control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def set_mode(self, mode, slow_ms=None):
        body = {"mode": mode}
        if slow_ms is not None:
            body["slow_ms"] = slow_ms
        return self._control("POST", "/mode", body)

    def stats(self):
        return self._control("GET", "/stats")

    def reset_stats(self):
        return self._control("POST", "/stats/reset")

    def modes(self):
        return self._control("GET", "/modes")

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class UpstreamOP(_Process):
    """node's oidc-provider on loopback.

    clients: [{"client_id", "client_secret", "redirect_uris": [...],
               "token_endpoint_auth_method"?}]
    users: [{"sub", "login", "password", "email", "email_verified", "name"?, "tid"?}]
    """

    name = "upstream-op"

    def __init__(self, directory, clients, users=None, mode="good", slow_ms=None):
        super().__init__(directory)
        self.clients = clients
        self.users = users if users is not None else DEFAULT_USERS
        self.mode = mode
        self.slow_ms = slow_ms

    def _config(self):
        return {"clients": self.clients, "users": self.users}

    def _argv(self, config_path):
        ensure_node_modules()
        argv = [shutil.which("node") or "node", os.path.join(OIDC_DIR, "upstream-op.mjs"),
                "--config", config_path, "--mode", self.mode]
        if self.slow_ms is not None:
            argv += ["--slow-ms", str(self.slow_ms)]
        return argv

    @property
    def issuer(self):
        return self.ready["issuer"]

    def endpoint(self, name):
        """oidc-provider's endpoints, for registrations that override a preset's."""
        return self.issuer + {"authorization": "/auth", "token": "/token", "userinfo": "/me",
                              "jwks": "/jwks"}[name]

    @property
    def microsoft_issuer(self):
        """The multi-tenant issuer template (mode "microsoft")."""
        return self.issuer + "/{tenantid}/v2.0"

    def rotate(self):
        """A new signing key; returns its kid."""
        return self._control("POST", "/rotate")["kid"]


class GitHubStandin(_Process):
    """GitHub's OAuth and REST endpoints on loopback.

    users: as UpstreamOP's (sub numeric: GitHub's id; email_verified for
    the primary address) or GitHub-shaped ({"id", "login", "password",
    "emails": [...]}).
    """

    name = "github-standin"

    def __init__(self, directory, clients, users=None, mode="good", slow_ms=None):
        super().__init__(directory)
        self.clients = clients
        self.users = users if users is not None else DEFAULT_USERS
        self.mode = mode
        self.slow_ms = slow_ms

    def _config(self):
        users = []
        for u in self.users:
            if "id" in u:
                users.append(u)
                continue
            users.append({"id": int(u["sub"]), "login": u["login"], "password": u["password"],
                          "name": u.get("name"),
                          "emails": [{"email": u["email"], "primary": True,
                                      "verified": bool(u.get("email_verified"))}] if u.get("email") else []})
        return {"clients": self.clients, "users": users}

    def _argv(self, config_path):
        argv = [sys.executable, os.path.join(HERE, "github_standin.py"), "--config", config_path,
                "--mode", self.mode]
        if self.slow_ms is not None:
            argv += ["--slow-ms", str(self.slow_ms)]
        return argv

    @property
    def base(self):
        return self.ready["base"]

    @property
    def api_url(self):
        return self.ready["api_url"]

    def endpoint(self, name):
        return self.base + {"authorization": "/login/oauth/authorize",
                            "token": "/login/oauth/access_token"}[name]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class SignInError(RuntimeError):
    def __init__(self, message, status=None, body=""):
        super().__init__(message)
        self.status = status
        self.body = body


def _form_inputs(page):
    """The form's action and its inputs' names and values (hidden ones kept)."""
    action = re.search(r'<form[^>]*action="([^"]*)"', page)
    fields = {}
    for m in re.finditer(r"<input([^>]*)>", page):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if "name" in attrs:
            fields[attrs["name"]] = _unescape(attrs.get("value", ""))
    return (_unescape(action.group(1)) if action else None), fields


def _unescape(s):
    import html
    return html.unescape(s)


def sign_in(url, login, password, redirect_uri, max_steps=12):
    """Follows url (an authorization URL) as a browser would, signs in on the
    provider's form and returns the URL the browser is sent back to (one
    that starts with redirect_uri), without fetching it."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    method, data = "GET", None
    filled = False
    for _ in range(max_steps):
        if url.startswith(redirect_uri):
            return url
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with opener.open(req, timeout=30) as r:
                status, headers, body = r.status, r.headers, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            status, headers, body = err.code, err.headers, err.read().decode("utf-8", "replace")
        if status in (301, 302, 303, 307, 308):
            url = urllib.parse.urljoin(url, headers["Location"])
            method, data = "GET", None
            continue
        if status != 200 or filled:
            raise SignInError(f"the provider answered {status} at {url}", status, body)
        action, fields = _form_inputs(body)
        if action is None or "login" not in fields:
            raise SignInError(f"no login form at {url}", status, body)
        fields["login"], fields["password"] = login, password
        url = urllib.parse.urljoin(url, action)
        method, data = "POST", urllib.parse.urlencode(fields).encode()
        filled = True
    raise SignInError(f"too many steps signing in (last {url})")


def callback_params(url):
    """The query of the URL the provider sent the browser back to."""
    return {k: v[-1] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}
