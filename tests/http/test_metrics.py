#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""GET /metrics against the real daemon: traffic through every door (a
login and a wrong password on the authentication socket, lookups on the
lookup socket, tokens and a failed sign-in over HTTP) moves exactly the
counters it should; routes are counted by their template; the text passes
Debian's `promtool check metrics`; and only allowed addresses, or the
holder of the metrics token, may read it.

Clients on loopback come from addresses of their own (127.0.0.2): the
daemon allows only 127.0.0.1 here, so 127.0.0.2 is a client it refuses."""

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera, TesseraError, binary  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402

PASSWORD = "correct horse battery"
TOKEN = "m" * 8 + "0123456789abcdef0123456789abcdef"

# The sockets' framing (lib/wire.h) and the few messages used here.
MAGIC, VERSION = 0x54535731, 1
PAM_AUTHENTICATE = 2
PAM_T_USER, PAM_T_PASSWORD, PAM_T_SERVICE = 1, 2, 5
PAM_T_STATUS = 0x100
PAM_OK, PAM_AUTH_FAILED, PAM_LOCKED = 0, 1, 3
NSS_USER_BY_NAME, NSS_USER_BY_UID = 0x0101, 0x0102
NSS_T_NAME, NSS_T_ID = 1, 2
NSS_REPLY_USERS, NSS_REPLY_NOTFOUND = 0x0201, 0x0204


def frame(mtype, payload):
    return struct.pack(">IHHI", MAGIC, VERSION, mtype, len(payload)) + payload


def field(tag, value):
    if isinstance(value, int):
        value = struct.pack(">I", value)
    elif isinstance(value, str):
        value = value.encode()
    return struct.pack(">HI", tag, len(value)) + value


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def ask(path, mtype, *fields):
    """One request on a socket of the daemon: (reply type, {tag: bytes})."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        s.sendall(frame(mtype, b"".join(fields)))
        _, _, rtype, n = struct.unpack(">IHHI", recv_exact(s, 12))
        payload, out = recv_exact(s, n), {}
        while payload:
            tag, m = struct.unpack(">HI", payload[:6])
            out[tag] = payload[6:6 + m]
            payload = payload[6 + m:]
        return rtype, out


def pam_login(t, user, password):
    _, f = ask(t.pam_socket, PAM_AUTHENTICATE, field(PAM_T_USER, user), field(PAM_T_PASSWORD, password),
               field(PAM_T_SERVICE, "metrics-test"))
    return struct.unpack(">I", f[PAM_T_STATUS])[0]


# -- the text format, read back ------------------------------------------------------

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse(text):
    """{(name, frozenset of (label, value))): value}, and the TYPE of each family."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset((k, re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), v))
                           for k, v in LABEL.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in samples, f"sample twice: {line!r}"
        samples[key] = float(m.group(3))
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def http_requests(samples):
    """HTTP requests counted, but for the scrapes themselves."""
    return sum(v for (name, labels), v in samples.items()
               if name == "tessera_http_requests_total" and ("route", "/metrics") not in labels)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(http_extra="", config_extra="[auth]\nlockout_failures = 3\n")
        token_path = os.path.join(cls.t.dir, "metrics.token")
        with open(os.open(token_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")
        cls.t.config_extra += f"[metrics]\nallow = 127.0.0.1\ntoken_file = {token_path}\n"
        cls.t.start()
        cls.addClassCleanup(cls.t.close)
        t = cls.t
        t.ctl("tenant", "create", "acme", check=True)
        for name, uid in (("alice", 200010), ("bob", 200011), ("carol", 200012), ("dave", 200013)):
            t.ctl("user", "add", f"{name}@acme", "--uid", str(uid), "--password-stdin", input=PASSWORD + "\n",
                  check=True)

        def app(*a):
            return json.loads(t.ctl("--json", "app", "create", *a, check=True).stdout)
        cls.svc = app("svc@acme", "--grant", "client_credentials")
        cls.web = app("web@acme", "--first-party", "--redirect-uri", "https://app.example/cb")

    def scrape(self, source=None, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        return Client(self.t.base_url, source=source).get("/metrics", headers=h)

    def samples(self):
        r = self.scrape()
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return parse(r.text)[0]

    def samples_when(self, ready, timeout=10):
        """The samples once ready(samples) holds (or at the deadline, for
        the assertions to say what is wrong): a request is counted when the
        server has finished with it, which may be just after its client got
        the answer."""
        deadline = time.monotonic() + timeout
        while True:
            samples = self.samples()
            if ready(samples) or time.monotonic() > deadline:
                return samples
            time.sleep(0.02)

    def token(self):
        return Client(self.t.base_url).post("/t/acme/token", form={"grant_type": "client_credentials"},
                                            basic=(self.svc["client_id"], self.svc["client_secret"]))

    # -- what moves ---------------------------------------------------------------

    def test_pam_logins_and_failures(self):
        before = self.samples()
        self.assertEqual(pam_login(self.t, "alice", PASSWORD), PAM_OK)
        self.assertEqual(pam_login(self.t, "alice", "wrong"), PAM_AUTH_FAILED)
        # A name that is no user counts as a real account's failure would.
        self.assertEqual(pam_login(self.t, "ghost", "wrong"), 2)   # USER_UNKNOWN to the module
        after = self.samples()

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)
        self.assertEqual(delta("tessera_signins_total", channel="pam", result="success"), 1)
        self.assertEqual(delta("tessera_signins_total", channel="pam", result="failure"), 2)
        self.assertEqual(delta("tessera_signins_total", channel="oidc", result="failure"), 0)
        self.assertEqual(delta("tessera_pam_requests_total", type="authenticate", status="ok"), 1)
        self.assertEqual(delta("tessera_pam_requests_total", type="authenticate", status="auth_failed"), 1)
        self.assertEqual(delta("tessera_pam_requests_total", type="authenticate", status="user_unknown"), 1)
        # Each answer waited for a hash: three observations, all counted
        # in +Inf and in _count alike, with time spent.
        self.assertEqual(delta("tessera_pam_request_duration_seconds_count", type="authenticate"), 3)
        self.assertEqual(delta("tessera_pam_request_duration_seconds_bucket", type="authenticate", le="+Inf"), 3)
        self.assertGreater(delta("tessera_pam_request_duration_seconds_sum", type="authenticate"), 0)

    def test_lockout(self):
        before = self.samples()
        statuses = [pam_login(self.t, "bob", "wrong") for _ in range(3)]
        self.assertEqual(statuses, [PAM_AUTH_FAILED] * 3)
        self.assertEqual(pam_login(self.t, "bob", PASSWORD), PAM_LOCKED)
        after = self.samples()
        self.assertEqual(value(after, "tessera_lockouts_total", channel="pam") -
                         value(before, "tessera_lockouts_total", channel="pam"), 1)
        self.assertEqual(value(after, "tessera_signins_total", channel="pam", result="locked") -
                         value(before, "tessera_signins_total", channel="pam", result="locked"), 1)

    def test_nss_lookups_through_the_socket(self):
        before = self.samples()
        rtype, _ = ask(self.t.nss_socket, NSS_USER_BY_NAME, field(NSS_T_NAME, "alice"))
        self.assertEqual(rtype, NSS_REPLY_USERS)
        rtype, _ = ask(self.t.nss_socket, NSS_USER_BY_NAME, field(NSS_T_NAME, "nobody-here"))
        self.assertEqual(rtype, NSS_REPLY_NOTFOUND)
        rtype, _ = ask(self.t.nss_socket, NSS_USER_BY_UID, field(NSS_T_ID, 200010))
        self.assertEqual(rtype, NSS_REPLY_USERS)
        after = self.samples()

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)
        self.assertEqual(delta("tessera_nss_requests_total", type="user_by_name", result="found"), 1)
        self.assertEqual(delta("tessera_nss_requests_total", type="user_by_name", result="not_found"), 1)
        self.assertEqual(delta("tessera_nss_requests_total", type="user_by_uid", result="found"), 1)
        self.assertEqual(delta("tessera_nss_request_duration_seconds_count", type="user_by_name"), 2)
        # The cache was published at start and is current.
        self.assertEqual(value(after, "tessera_nss_cache_valid"), 1)
        self.assertGreater(value(after, "tessera_nss_cache_size_bytes"), 0)
        self.assertGreaterEqual(value(after, "tessera_nss_cache_rebuilds_total", result="published"), 1)
        # The time the published image took to build: something, and far
        # less than a minute for the few accounts here.
        self.assertGreater(value(after, "tessera_nss_cache_rebuild_seconds"), 0)
        self.assertLess(value(after, "tessera_nss_cache_rebuild_seconds"), 60)

    def test_tokens_and_routes(self):
        before = self.samples()
        for _ in range(2):
            self.assertEqual(self.token().status, 200)
        self.assertEqual(Client(self.t.base_url).get("/t/acme/jwks").status, 200)
        self.assertEqual(Client(self.t.base_url).get("/no/such/thing").status, 404)
        self.assertEqual(Client(self.t.base_url).get("/t/acme/token").status, 405)
        after = self.samples_when(lambda s: http_requests(s) - http_requests(before) >= 5)

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)
        self.assertEqual(delta("tessera_tokens_issued_total", grant="client_credentials"), 2)
        self.assertEqual(delta("tessera_http_requests_total", route="/t/{tenant}/token", method="POST",
                               status="200"), 2)
        self.assertEqual(delta("tessera_http_requests_total", route="/t/{tenant}/jwks", method="GET", status="200"),
                         1)
        self.assertEqual(delta("tessera_http_requests_total", route="unmatched", method="GET", status="404"), 1)
        # No route took it: the method is not the route's.
        self.assertEqual(delta("tessera_http_requests_total", route="unmatched", method="GET", status="405"), 1)
        self.assertEqual(delta("tessera_http_request_duration_seconds_count", route="/t/{tenant}/token"), 2)
        # A route is its template, never the path that matched it.
        for (name, labels) in after:
            for k, v in labels:
                self.assertNotIn("acme", v, f"{name}{dict(labels)}")

    def sign_in(self, login, password):
        """The sign-in page of the code flow: (the answer, the PKCE verifier)."""
        b = Client(self.t.base_url)
        verifier, challenge = pkce_pair()
        q = {"client_id": self.web["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
             "scope": "openid offline_access", "state": "s", "code_challenge": challenge,
             "code_challenge_method": "S256"}
        page = b.get("/t/acme/authorize?" + urllib.parse.urlencode(q))
        self.assertEqual(page.status, 200, page.text[:300])
        form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
        return b.post("/t/acme/login", form={**form, "login": login, "password": password}), verifier

    def test_oidc_sign_in_failure(self):
        before = self.samples()
        r, _ = self.sign_in("carol", "not it")
        self.assertEqual(r.status, 401)
        after = self.samples()
        self.assertEqual(value(after, "tessera_signins_total", channel="oidc", result="failure") -
                         value(before, "tessera_signins_total", channel="oidc", result="failure"), 1)
        self.assertEqual(value(after, "tessera_signins_total", channel="http", result="failure") -
                         value(before, "tessera_signins_total", channel="http", result="failure"), 0)

    def test_code_flow(self):
        before = self.samples()
        r, verifier = self.sign_in("dave", PASSWORD)
        self.assertEqual(r.status, 303, r.text[:300])
        code = r.location_params()["code"]
        creds = (self.web["client_id"], self.web["client_secret"])
        r = Client(self.t.base_url).post("/t/acme/token", basic=creds, form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example/cb",
            "code_verifier": verifier})
        self.assertEqual(r.status, 200, r.text)
        refresh = r.json["refresh_token"]
        r = Client(self.t.base_url).post("/t/acme/token", basic=creds,
                                         form={"grant_type": "refresh_token", "refresh_token": refresh})
        self.assertEqual(r.status, 200, r.text)
        # The same code again is refused: no token, nothing counted.
        r = Client(self.t.base_url).post("/t/acme/token", basic=creds, form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example/cb",
            "code_verifier": verifier})
        self.assertEqual(r.status, 400)
        # authorize, login, three token requests
        after = self.samples_when(lambda s: http_requests(s) - http_requests(before) >= 5)

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)
        self.assertEqual(delta("tessera_signins_total", channel="oidc", result="success"), 1)
        self.assertEqual(delta("tessera_tokens_issued_total", grant="authorization_code"), 1)
        self.assertEqual(delta("tessera_tokens_issued_total", grant="refresh_token"), 1)
        self.assertEqual(delta("tessera_http_requests_total", route="/t/{tenant}/token", method="POST",
                               status="400"), 1)

    def test_promtool_check_metrics(self):
        promtool = shutil.which("promtool")
        # tools/install-deps installs it: its absence is a broken set-up.
        self.assertIsNotNone(promtool, "promtool not found (Debian's prometheus package: tools/install-deps)")
        # Traffic first, so that sparse families have series to check.
        self.assertEqual(self.token().status, 200)
        pam_login(self.t, "alice", PASSWORD)
        ask(self.t.nss_socket, NSS_USER_BY_NAME, field(NSS_T_NAME, "alice"))
        r = self.scrape()
        self.assertEqual(r.status, 200)
        p = subprocess.run([promtool, "check", "metrics"], input=r.body, capture_output=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, b""))
        samples, types = parse(r.text)
        for family in ("tessera_http_request_duration_seconds", "tessera_nss_request_duration_seconds",
                       "tessera_pam_request_duration_seconds"):
            self.assertEqual(types.get(family), "histogram", family)
        version = self.t.run([binary("tesserad"), "--version"], check=True).stdout.split()[1]
        self.assertEqual(value(samples, "tessera_build_info", version=version), 1)
        self.assertGreater(value(samples, "process_open_fds"), 0)
        self.assertGreaterEqual(value(samples, "process_max_fds"), value(samples, "tessera_fd_budget", part="http"))

    # -- who may read it -------------------------------------------------------------------

    def test_access(self):
        # 127.0.0.2 is not in allow: the token is needed.
        r = self.scrape(source="127.0.0.2")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json["code"], "unauthorized")
        self.assertIn("Bearer", r.header("WWW-Authenticate"))
        self.assertEqual(self.scrape(source="127.0.0.2", token=TOKEN).status, 200)
        # A credential presented must be the right one, from any address.
        for source in ("127.0.0.1", "127.0.0.2"):
            r = self.scrape(source=source, token=TOKEN[:-1] + "x")
            self.assertEqual(r.status, 401)
            self.assertEqual(r.json["code"], "invalid_token")
        r = self.scrape(headers={"Authorization": "Basic " + "eDp5"})
        self.assertEqual(r.status, 401)
        # Refusals are in the audit trail.
        rows = self.t.sqlite("SELECT result, sum(count) FROM audit_events WHERE action = 'metrics.read' "
                             "GROUP BY result ORDER BY result")
        self.assertEqual(dict((k, int(v)) for k, v in rows), {"denied": 1, "failure": 3})


class NoTokenTest(unittest.TestCase):
    """Without a token, an address outside allow is simply refused; and a
    token file anybody may read keeps the daemon from starting."""

    def test_refused_without_token(self):
        with Tessera(config_extra="[metrics]\nallow = 127.0.0.1/32, ::1\n") as t:
            r = Client(t.base_url, source="127.0.0.2").get("/metrics")
            self.assertEqual(r.status, 403)
            self.assertEqual(r.json["code"], "forbidden")
            self.assertEqual(Client(t.base_url).get("/metrics").status, 200)
            # The token of another daemon opens nothing here.
            r = Client(t.base_url).get("/metrics", headers={"Authorization": "Bearer " + TOKEN})
            self.assertEqual(r.status, 401)

    def test_readable_token_file_refused(self):
        t = Tessera()
        try:
            path = os.path.join(t.dir, "metrics.token")
            with open(path, "w") as f:
                f.write(TOKEN + "\n")
            os.chmod(path, 0o644)
            t.config_extra = f"[metrics]\ntoken_file = {path}\n"
            with self.assertRaises(TesseraError) as e:
                t.start()
            self.assertIn("may be read by anybody", str(e.exception))
        finally:
            t.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
