# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the fault suite shares: the control file of the power-cut VFS
(vfs-powercut.c), a load generator that records every write tesserad
acknowledged, and the checks that find each of them in the database after
a crash.

The load: users created over D-Bus (tesseractl), client-credentials tokens
over HTTP (each token's audit event carries its jti), logins with a TOTP
code over the authentication socket (each moves the user's last accepted
time step), and refresh-token rotations (each inserts the new token's
digest and marks the old one rotated). A write counts as acknowledged only
when its reply said so; writes in flight when the daemon died are not
counted (they may or may not be there).

Long runs: TESSERA_FAULT_LONG=1 (or tests/reliability/run-long) makes each
test use its on-demand figures; TESSERA_FAULT_SEED fixes the random choices
so that a failing run can be repeated.
"""

import base64
import hashlib
import hmac
import http.client
import json
import mmap
import os
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
import tessera_env  # noqa: E402
from tessera_env import Tessera, TesseraError  # noqa: E402
from oidc_client import Client, hidden_fields, html_unescape, pkce_pair  # noqa: E402

BUILD = tessera_env.BUILD
SHIM = os.path.join(BUILD, "tests", "reliability", "vfs-powercut.so")
NSS_MODULE = os.path.join(BUILD, "nss_module", "libnss_tessera.so.2")
NSS_PROBE = os.path.join(BUILD, "tests", "nss", "nss-probe")

LONG = os.environ.get("TESSERA_FAULT_LONG", "") not in ("", "0")
# Keeps the test's folder (database, logs) for a look after a failure.
KEEP = os.environ.get("TESSERA_FAULT_KEEP", "") not in ("", "0")
PASSWORD = "correct horse battery"
TENANT = "acme"
REDIRECT = "https://app.example/cb"
TOTP_WINDOW = 10

# Fast hashes: the load is about writes, not yescrypt; no lockout, so that
# the replay checks below never lock anyone out.
LOAD_CONFIG = ("[passwords]\nhash_cost = 1\n"
               f"[auth]\nlockout_failures = 0\ntotp_window = {TOTP_WINDOW}\n")


def figure(ci, long):
    """The CI figure, or the on-demand one under TESSERA_FAULT_LONG=1."""
    return long if LONG else ci


def seeded_random(name):
    """A random generator per test, seeded from TESSERA_FAULT_SEED when set;
    the seed is printed so that a failure can be run again."""
    seed = int(os.environ.get("TESSERA_FAULT_SEED") or random.SystemRandom().randrange(1 << 31))
    print(f"{name}: seed {seed} (TESSERA_FAULT_SEED={seed} repeats it)", flush=True)
    return random.Random(seed), seed


def report(name, **figures):
    """One line the lead can quote: the test's figures."""
    print(f"FIGURES {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


# -- the power-cut VFS -------------------------------------------------------------

CTL_FIELDS = ("magic", "faults", "cut_at", "ops", "failed_writes", "failed_syncs", "syncs", "early_sectors",
              "cut_written", "cut_torn", "cut_dropped", "cut", "writes", "max_pending", "db_writes", "db_syncs",
              "cut_at_db_write")
FAULT_EIO_WRITE, FAULT_EIO_SYNC, FAULT_FULL = 1, 2, 4


class VfsControl:
    """The shared control page of vfs-powercut.so: the test sets faults and
    the operation at which to cut the power; the shim counts."""

    def __init__(self, path):
        self.path = path
        with open(path, "wb") as f:
            f.write(b"TVFSCTL1".ljust(4096, b"\0"))
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        self.map = mmap.mmap(self.fd, 4096)

    def reset(self):
        """Zero every counter (between runs of the daemon)."""
        self.map[8:4096] = bytes(4096 - 8)

    def __getitem__(self, name):
        return struct.unpack_from("<Q", self.map, 8 * CTL_FIELDS.index(name))[0]

    def __setitem__(self, name, value):
        struct.pack_into("<Q", self.map, 8 * CTL_FIELDS.index(name), value)

    def stats(self):
        return {name: self[name] for name in CTL_FIELDS[1:]}

    def env(self, seed, flush_percent=10):
        """The environment that loads the shim into a process."""
        if not os.path.exists(SHIM):
            raise FileNotFoundError(f"{SHIM} not built")
        env = {"LD_PRELOAD": SHIM, "TESSERA_VFS_CONTROL": self.path, "TESSERA_VFS_SEED": str(seed),
               "TESSERA_VFS_FLUSH_PERCENT": str(flush_percent)}
        # A sanitized tesserad wants its runtime first; the shim is not
        # instrumented and may come before it.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "verify_asan_link_order=0"
        return env

    def close(self):
        self.map.close()
        os.close(self.fd)


# -- clients --------------------------------------------------------------------------

def totp_code(secret_b32, step):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


def now_step():
    return int(time.time() // 30)


# The authentication socket (pam-proto.h): big-endian header and fields.
PAM_MAGIC, PAM_VERSION, PAM_AUTHENTICATE, PAM_REPLY = 0x54535731, 1, 2, 0x100
T_USER, T_PASSWORD, T_CODE, T_SERVICE, T_POLICY = 1, 2, 3, 5, 9
T_STATUS, T_TEXT = 0x100, 0x101
PAM_STATUS = ("OK", "AUTH_FAILED", "USER_UNKNOWN", "LOCKED", "ACCOUNT_LOCKED", "ACCOUNT_DISABLED",
              "ACCOUNT_EXPIRED", "DENIED", "REJECTED", "BUSY", "ERROR", "BAD_REQUEST", "NEED_CODE")


def _pam_field(tag, value):
    value = struct.pack(">I", value) if isinstance(value, int) else value.encode()
    return struct.pack(">HI", tag, len(value)) + value


def _recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("closed")
        data += chunk
    return data


def pam_authenticate(sock_path, user, password, code=None, timeout=10):
    """One AUTHENTICATE over the authentication socket, TOTP required.
    Returns (status name, text)."""
    fields = [_pam_field(T_USER, user), _pam_field(T_PASSWORD, password), _pam_field(T_SERVICE, "faults"),
              _pam_field(T_POLICY, 0)]
    if code is not None:
        fields.append(_pam_field(T_CODE, code))
    payload = b"".join(fields)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(struct.pack(">IHHI", PAM_MAGIC, PAM_VERSION, PAM_AUTHENTICATE, len(payload)) + payload)
        magic, version, mtype, n = struct.unpack(">IHHI", _recv_exact(s, 12))
        if (magic, version, mtype) != (PAM_MAGIC, PAM_VERSION, PAM_REPLY):
            raise ValueError("not a reply")
        payload, out = _recv_exact(s, n), {}
    while payload:
        tag, k = struct.unpack(">HI", payload[:6])
        out[tag], payload = payload[6:6 + k], payload[6 + k:]
    status = struct.unpack(">I", out[T_STATUS])[0]
    return PAM_STATUS[status] if status < len(PAM_STATUS) else str(status), out.get(T_TEXT, b"").decode()


class Http:
    """A keep-alive HTTP connection to the daemon that reconnects after
    errors (a daemon that died and came back)."""

    def __init__(self, t):
        self.t = t
        self.conn = None

    def post_form(self, path, form, basic=None, timeout=10):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if basic:
            cred = f"{urllib.parse.quote(basic[0], safe='')}:{urllib.parse.quote(basic[1], safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        return self.request("POST", path, urllib.parse.urlencode(form), headers, timeout)

    def get(self, path, timeout=10):
        return self.request("GET", path, None, {}, timeout)

    def request(self, method, path, body, headers, timeout):
        """Returns (status, body, response)."""
        try:
            if not self.conn:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.t.http_port, timeout=timeout)
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            body = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, body, r
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def sign_in_for_refresh(t, app, login="alice", password=PASSWORD):
    """The authorization code flow through the sign-in page, as a browser
    without script: returns the first refresh token."""
    b = Client(t.base_url)
    verifier, challenge = pkce_pair()
    q = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
         "scope": "openid offline_access", "state": "s", "nonce": "n", "code_challenge": challenge,
         "code_challenge_method": "S256"}
    page = b.get(f"/t/{TENANT}/authorize?" + urllib.parse.urlencode(q))
    if page.status != 200 or 'name="password"' not in page.text:
        raise TesseraError(f"no sign-in page: {page.status} {page.text[:300]}")
    form = {k: html_unescape(v) for k, v in hidden_fields(page.text).items()}
    form.update(login=login, password=password)
    r = b.post(f"/t/{TENANT}/login", form=form)
    code = r.location_params().get("code") if r.status == 303 else None
    if not code:
        raise TesseraError(f"sign-in gave no code: {r.status} {r.text[:300]}")
    r = Client(t.base_url).post(f"/t/{TENANT}/token", form={"grant_type": "authorization_code", "code": code,
                                                              "redirect_uri": REDIRECT, "code_verifier": verifier},
                                basic=(app["client_id"], app["client_secret"]))
    if r.status != 200:
        raise TesseraError(f"code exchange failed: {r.status} {r.text[:300]}")
    return r.json["refresh_token"]


def nss_lookup(t, name, cache=False):
    """getpwnam through the built NSS module (nss-probe loads it as glibc
    does). Returns (exit code, output)."""
    env = dict(os.environ, TESSERA_NSS_SOCKET=t.nss_socket, TESSERA_NSS_CACHE="1" if cache else "0",
               TESSERA_NSS_TIMEOUT_MS="2000")
    env.pop("TESSERA_NSS_BYPASS", None)
    env.pop("LD_PRELOAD", None)
    p = subprocess.run([NSS_PROBE, NSS_MODULE, "getpwnam", name], capture_output=True, text=True, env=env,
                       timeout=60)
    return p.returncode, p.stdout.strip()


def nss_available():
    return os.path.exists(NSS_PROBE) and os.path.exists(NSS_MODULE)


def sanitized_build():
    """True in an AddressSanitizer build: its modules can't be loaded into
    programs built without it (pamtester, getent)."""
    try:
        with open(os.path.join(BUILD, "meson-info", "intro-buildoptions.json")) as f:
            options = json.load(f)
    except OSError:
        return False
    return any(o["name"] == "b_sanitize" and o["value"] not in ("none", "") for o in options)


# -- the load ----------------------------------------------------------------------------

class Acks:
    """Acknowledged writes, by kind, as the load generator saw them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.users = []              # names created over D-Bus
        self.tokens = []             # jti of client-credentials tokens
        self.totp = {}               # user -> highest acknowledged time step
        self.refresh = []            # (new token digest hex, old token digest hex or None)
        self.n_totp = 0

    def count(self):
        with self.lock:
            return len(self.users) + len(self.tokens) + self.n_totp + len(self.refresh)

    def by_kind(self):
        with self.lock:
            return {"users": len(self.users), "tokens": len(self.tokens), "totp_logins": self.n_totp,
                    "refresh_rotations": len(self.refresh)}


def digest_hex(token):
    return hashlib.sha256(token.encode()).hexdigest().upper()


class Load:
    """Mixed writes against one installation, from a few threads, each
    write recorded once acknowledged. Survives the daemon going away:
    failures while it is down are not acknowledgements."""

    def __init__(self, t, rng, n_totp_users=24, n_families=3):
        self.t = t
        self.rng = rng
        self.acks = Acks()
        self.n_totp_users = n_totp_users
        self.n_families = n_families
        self.totp_users = {}         # name -> secret
        self.totp_tried = {}         # name -> the highest step ever sent (acknowledged or not)
        self.families = []           # current refresh token per family (the last acknowledged one)
        self.next_user = 0
        self.anomalies = []          # answers that no crash explains
        self.failures = 0            # requests that failed (daemon down, in flight at a kill)
        self.running = threading.Event()
        self.stopping = False
        self.idle = {}
        self.threads = []

    # -- set-up, on a daemon without faults --

    def setup(self):
        t = self.t
        t.ctl("tenant", "create", TENANT, check=True)
        t.ctl("user", "add", f"alice@{TENANT}", "--password-stdin", input=PASSWORD + "\n", check=True)
        self.svc = json.loads(t.ctl("--json", "app", "create", f"svc@{TENANT}", "--grant", "client_credentials",
                                    "--signing-alg", "ES256", check=True).stdout)
        self.web = json.loads(t.ctl("--json", "app", "create", f"web@{TENANT}", "--redirect-uri", REDIRECT,
                                    "--first-party", "--signing-alg", "ES256", check=True).stdout)
        for i in range(self.n_totp_users):
            name = f"otp{i}"
            t.ctl("user", "add", f"{name}@{TENANT}", "--password-stdin", input=PASSWORD + "\n", check=True)
            secret = json.loads(t.ctl("--json", "user", "totp", "enroll", f"{name}@{TENANT}", check=True).stdout)["secret"]
            # The oldest code still accepted (with a step to spare)
            # confirms; the load goes on from there.
            confirm_step = now_step() - TOTP_WINDOW + 1
            t.ctl("user", "totp", "confirm", f"{name}@{TENANT}", totp_code(secret, confirm_step), check=True)
            self.totp_users[name] = secret
            self.totp_tried[name] = confirm_step
        for _ in range(self.n_families):
            self.families.append(sign_in_for_refresh(t, self.web))

    # -- the workers --

    def start(self):
        """Starts the workers, paused: resume() lets them go."""
        workers = [("dbus", self.dbus_worker), ("token-a", self.token_worker), ("token-b", self.token_worker),
                   ("totp", self.totp_worker), ("refresh", self.refresh_worker)]
        for name, fn in workers:
            self.idle[name] = threading.Event()
            th = threading.Thread(target=self.loop, args=(name, fn), name=name, daemon=True)
            th.start()
            self.threads.append(th)

    def loop(self, name, fn):
        state = {}
        while not self.stopping:
            if not self.running.is_set():
                self.idle[name].set()
                self.running.wait(0.2)
                continue
            self.idle[name].clear()
            try:
                fn(state)
            except (OSError, http.client.HTTPException, subprocess.TimeoutExpired):
                # The daemon died under us, or isn't back yet.
                self.failures += 1
                time.sleep(0.01)
            except Exception as e:  # noqa: BLE001 (an answer nothing explains fails the test)
                self.anomalies.append(f"{name}: {e!r}")
                time.sleep(0.01)
        if "http" in state:
            state["http"].close()
        self.idle[name].set()

    def pause(self, timeout=60):
        """Stops sending; returns once every worker finished what it had in
        flight."""
        self.running.clear()
        deadline = time.monotonic() + timeout
        for name, ev in self.idle.items():
            if not ev.wait(max(0.0, deadline - time.monotonic())):
                raise TesseraError(f"load worker {name} did not stop")

    def resume(self):
        for ev in self.idle.values():
            ev.clear()
        self.running.set()

    def stop(self):
        self.stopping = True
        self.running.set()
        for th in self.threads:
            th.join(60)

    def dbus_worker(self, state):
        name = f"load{self.next_user}"
        self.next_user += 1
        p = subprocess.run([tessera_env.binary("tesseractl"), "user", "add", f"{name}@{TENANT}"],
                           capture_output=True, text=True, env=self.t.env(), timeout=30)
        if p.returncode == 0:
            with self.acks.lock:
                self.acks.users.append(name)
        else:
            self.failures += 1
            time.sleep(0.01)

    def token_worker(self, state):
        conn = state.setdefault("http", Http(self.t))
        try:
            status, body, _ = conn.post_form(f"/t/{TENANT}/token", {"grant_type": "client_credentials"},
                                             basic=(self.svc["client_id"], self.svc["client_secret"]))
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        if status == 200:
            jti = jwt_claims(json.loads(body)["access_token"])["jti"]
            with self.acks.lock:
                self.acks.tokens.append(jti)
        elif status >= 500:
            self.failures += 1
        else:
            self.anomalies.append(f"client_credentials: {status} {body[:200]!r}")

    def totp_worker(self, state):
        # The user whose next code is the oldest still accepted.
        limit = now_step() + TOTP_WINDOW
        name = min(self.totp_tried, key=lambda n: self.totp_tried[n])
        step = max(self.totp_tried[name] + 1, now_step() - TOTP_WINDOW)
        if step > limit:
            time.sleep(0.05)
            return
        self.totp_tried[name] = step
        status, text = pam_authenticate(self.t.pam_socket, name, PASSWORD, totp_code(self.totp_users[name], step))
        if status == "OK":
            with self.acks.lock:
                self.acks.totp[name] = max(self.acks.totp.get(name, 0), step)
                self.acks.n_totp += 1
        elif status in ("ERROR", "BUSY"):
            self.failures += 1
        else:
            self.anomalies.append(f"TOTP login of {name} at step {step}: {status} {text}")

    def refresh_worker(self, state):
        conn = state.setdefault("http", Http(self.t))
        i = state.get("next", 0) % len(self.families)
        state["next"] = i + 1
        old = self.families[i]
        try:
            status, body, _ = conn.post_form(f"/t/{TENANT}/token", {"grant_type": "refresh_token",
                                                                     "refresh_token": old},
                                             basic=(self.web["client_id"], self.web["client_secret"]))
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        if status == 200:
            new = json.loads(body)["refresh_token"]
            self.families[i] = new
            with self.acks.lock:
                self.acks.refresh.append((digest_hex(new), digest_hex(old)))
        elif status == 400 and b"invalid_grant" in body:
            # A rotation in flight at the crash was committed but never
            # acknowledged: our token was rotated, and using it now is a
            # reuse. Start a new family, as a client would.
            self.families[i] = sign_in_for_refresh(self.t, self.web)
        elif status >= 500:
            self.failures += 1
        else:
            self.anomalies.append(f"refresh: {status} {body[:200]!r}")


# -- the checks -------------------------------------------------------------------------

def open_db(t):
    """A connection of our own to the daemon's database (WAL: it reads
    beside the daemon). Opening it runs SQLite's recovery when needed."""
    db = sqlite3.connect(os.path.join(t.state_dir, "tessera.db"), timeout=30)
    db.execute("PRAGMA query_only = ON")
    return db


def check_integrity(t):
    """PRAGMA integrity_check and foreign_key_check; returns the problems.
    On PostgreSQL, nothing to check from outside: the server enforces
    foreign keys on every commit and recovers from its WAL by itself."""
    if t.store_url:
        return []
    db = open_db(t)
    try:
        problems = [r[0] for r in db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in db.execute("PRAGMA foreign_key_check")]
        return problems
    finally:
        db.close()


def check_acks(t, acks):
    """Every acknowledged write, looked up in the database. Returns (number
    checked, list of what is missing)."""
    if t.store_url:
        return check_acks_pg(t, acks)
    db = open_db(t)
    missing = []
    try:
        with acks.lock:
            users, tokens = list(acks.users), list(acks.tokens)
            totp, refresh = dict(acks.totp), list(acks.refresh)
        stored_users = {r[0] for r in db.execute(
            "SELECT u.name FROM users u JOIN tenants t ON t.id = u.tenant_id "
            "JOIN groups g ON g.private_user_id = u.id WHERE t.slug = ?", (TENANT,))}
        missing += [f"user {n}" for n in users if n not in stored_users]
        stored_jti = {r[0] for r in db.execute(
            "SELECT json_extract(details, '$.jti') FROM audit_events WHERE action = 'oauth.token' "
            "AND result = 'success'")}
        missing += [f"token {j}" for j in tokens if j not in stored_jti]
        steps = dict(db.execute("SELECT u.name, o.last_step FROM totp o JOIN users u ON u.id = o.user_id"))
        missing += [f"TOTP step {s} of {n} (stored {steps.get(n)})" for n, s in totp.items() if steps.get(n, 0) < s]
        rows = {r[0]: r[1] for r in db.execute("SELECT hex(digest), rotated_usec FROM refresh_tokens")}
        for new, old in refresh:
            if new not in rows:
                missing.append(f"refresh token {new[:12]}")
            if old and not rows.get(old):
                missing.append(f"rotation of refresh token {old[:12]}")
        return len(users) + len(tokens) + acks.n_totp + len(refresh), missing
    finally:
        db.close()


def check_acks_pg(t, acks):
    """check_acks() on PostgreSQL: the same lookups with psql."""
    with acks.lock:
        users, tokens = list(acks.users), list(acks.tokens)
        totp, refresh = dict(acks.totp), list(acks.refresh)
    missing = []
    stored_users = {r[0] for r in t.sqlite(
        "SELECT u.name FROM users u JOIN tenants t ON t.id = u.tenant_id "
        f"JOIN groups g ON g.private_user_id = u.id WHERE t.slug = '{TENANT}'")}
    missing += [f"user {n}" for n in users if n not in stored_users]
    stored_jti = {r[0] for r in t.sqlite(
        "SELECT details::json->>'jti' FROM audit_events WHERE action = 'oauth.token' AND result = 'success'")}
    missing += [f"token {j}" for j in tokens if j not in stored_jti]
    steps = {r[0]: int(r[1]) for r in t.sqlite(
        "SELECT u.name, o.last_step FROM totp o JOIN users u ON u.id = o.user_id")}
    missing += [f"TOTP step {s} of {n} (stored {steps.get(n)})" for n, s in totp.items() if steps.get(n, 0) < s]
    rows = {r[0]: int(r[1]) for r in t.sqlite(
        "SELECT upper(encode(digest, 'hex')), rotated_usec FROM refresh_tokens")}
    for new, old in refresh:
        if new not in rows:
            missing.append(f"refresh token {new[:12]}")
        if old and not rows.get(old):
            missing.append(f"rotation of refresh token {old[:12]}")
    return len(users) + len(tokens) + acks.n_totp + len(refresh), missing


def check_live(t, load):
    """What the daemon itself answers after the restart: the newest
    acknowledged user is there over D-Bus, and the newest acknowledged TOTP
    code is refused when replayed (its step was kept). Returns problems."""
    problems = []
    with load.acks.lock:
        user = load.acks.users[-1] if load.acks.users else None
        totp = max(load.acks.totp.items(), key=lambda kv: kv[1], default=None)
    if user:
        p = t.ctl("user", "show", f"{user}@{TENANT}")
        if p.returncode != 0:
            problems.append(f"user {user} not shown over D-Bus: {p.stderr.strip()}")
    if totp:
        name, step = totp
        status, _ = pam_authenticate(t.pam_socket, name, PASSWORD, totp_code(load.totp_users[name], step))
        if status != "AUTH_FAILED":
            problems.append(f"a replayed TOTP code of {name} (step {step}) got {status}")
    return problems


def process_stats(pid):
    """Resident memory (KiB) and open descriptors of a process."""
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def wait_exit(proc, timeout):
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def kill(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(30)


# -- crash after crash ---------------------------------------------------------------------

def crash_cycles(test, name, cycles, power_cut, store_url=None, max_acks=120):
    """The loop of the power-cut and kill tests: the daemon under load is
    cut off (by the VFS at a random write or sync, or by SIGKILL at a random
    moment), then started again on the same files, without the shim, and
    must hold every acknowledged write with an intact database. store_url:
    the daemon on that PostgreSQL database instead (kills only); max_acks:
    the most writes of a cycle before its kill."""
    rng, seed = seeded_random(name)
    if power_cut and store_url:
        raise ValueError("the power-cut VFS is SQLite's")
    t = Tessera(config_extra=LOAD_CONFIG, keep=KEEP, store_url=store_url)
    test.addCleanup(t.close)
    t.start()
    if KEEP:
        print(f"{name}: files in {t.dir}", flush=True)
    load = Load(t, rng)
    load.setup()
    test.addCleanup(load.stop)
    load.start()
    ctl = VfsControl(os.path.join(t.dir, "vfs.ctl")) if power_cut else None
    if ctl:
        test.addCleanup(ctl.close)
    if ctl:
        figures = {"self_cuts": 0, "cuts_in_checkpoint": 0, "external_kills": 0, "sectors_written": 0,
                   "sectors_torn": 0, "sectors_dropped": 0, "early_sectors": 0, "checkpoints": 0}
    else:
        figures = {"external_kills": 0}
    started = time.monotonic()

    for cycle in range(cycles):
        if ctl:
            # The verifying daemon of the last cycle ran without the shim.
            ctl.reset()
            t.stop_daemon(signal.SIGKILL if rng.random() < 0.7 else signal.SIGTERM)
            t.start_daemon(env=ctl.env(seed * 1000 + cycle, flush_percent=rng.choice((0, 5, 10, 30))))
        base = load.acks.count()
        in_checkpoint = ctl and cycle % 5 == 4
        if in_checkpoint:
            # Every fifth cut falls inside a checkpoint, at a random page
            # it copies from the WAL into the database.
            ctl["cut_at_db_write"] = ctl["db_writes"] + rng.randint(1, 100)
        load.resume()
        # A random amount of work, then the cut at a random point of it.
        target, deadline = base + rng.randint(1, max_acks), time.monotonic() + 10
        while not in_checkpoint and load.acks.count() < target and time.monotonic() < deadline:
            time.sleep(0.005)
        if ctl:
            if not in_checkpoint:
                ctl["cut_at"] = ctl["ops"] + rng.randint(1, 60)
            if wait_exit(t.daemon, 60 if in_checkpoint else 10):
                figures["cuts_in_checkpoint" if in_checkpoint else "self_cuts"] += 1
            else:
                kill(t.daemon)
                figures["external_kills"] += 1
            st = ctl.stats()
            for k in ("cut_written", "cut_torn", "cut_dropped", "early_sectors"):
                figures[k.replace("cut_", "sectors_")] += st[k]
            figures["checkpoints"] += st["db_syncs"]
        else:
            time.sleep(rng.random() * 0.1)
            kill(t.daemon)
            figures["external_kills"] += 1
        test.assertIn(t.daemon.returncode, (-signal.SIGKILL,), t.log()[-2000:])
        load.pause()
        t.daemon = None

        t.start_daemon()
        problems = check_integrity(t)
        checked, missing = check_acks(t, load.acks)
        live = check_live(t, load)
        if problems or missing or live or load.anomalies:
            report(name, cycle=cycle, checked=checked, lost=len(missing))
        test.assertEqual(problems, [], f"cycle {cycle}: the database is damaged")
        test.assertEqual(missing, [], f"cycle {cycle}: acknowledged writes lost")
        test.assertEqual(live, [], f"cycle {cycle}: the daemon disagrees")
        test.assertEqual(load.anomalies, [], f"cycle {cycle}: answers no crash explains")

    checked, missing = check_acks(t, load.acks)
    kinds = load.acks.by_kind()
    for kind, n in kinds.items():
        test.assertGreater(n, 0, f"the load acknowledged no {kind}: the test proved nothing about them")
    report(name, cycles=cycles, **figures, acknowledged_writes_checked=checked, lost=len(missing), **kinds,
           failed_requests=load.failures, seconds=round(time.monotonic() - started, 1))
    return figures
