#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for GitHub on loopback for the tests of "sign in with
GitHub": OAuth 2.0 (GET/POST /login/oauth/authorize with a login form,
POST /login/oauth/access_token) and the REST API's GET /user and
GET /user/emails, answering as GitHub documents them (a wrong code is a
200 with {"error": "bad_verification_code"}, as GitHub does).

    github_standin.py --config FILE [--mode MODE] [--port P] [--slow-ms MS]

FILE: {"clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
       "users": [{"id": 1234, "login", "password", "name"?,
                  "emails": [{"email", "primary", "verified"}]}]}

Readiness: one JSON line on stdout once both listeners listen:
    {"base": "http://127.0.0.1:P", "api_url": ..., "port": P,
     "control_port": C, "mode": M}
Stopped by its pid (SIGTERM).

The control listener (for the test driver): POST /mode {"mode", "slow_ms"?},
GET /stats (how often each endpoint was asked), POST /stats/reset.
"""

import argparse
import base64
import hashlib
import html
import json
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = {
    "good": "everything as it should be",
    "email-unverified": "every address of the user unverified",
    "slow": "the token endpoint answers after slow_ms (default 60 s)",
    "garbage": "the token endpoint answers 200 with a body that is not JSON",
    "garbage-user": "GET /user answers 200 with a body that is not JSON",
    "huge": "the token endpoint answers 200 with 5 MB of valid JSON",
    "down": "the port is closed",
}


class State:
    def __init__(self, config, mode, slow_ms):
        self.clients = {c["client_id"]: c for c in config.get("clients", [])}
        self.users = config.get("users", [])
        self.mode = mode
        self.slow_ms = slow_ms
        self.stats = {}
        self.codes = {}           # code -> (client_id, redirect_uri, challenge, user)
        self.tokens = {}          # access token -> user
        self.lock = threading.Lock()

    def count(self, what):
        with self.lock:
            self.stats[what] = self.stats.get(what, 0) + 1


def login_page(params, message=None):
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in params.items() if k not in ("login", "password"))
    error = f'<p id="error" role="alert">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to GitHub (stand-in)</title></head>
<body>
<h1>Sign in to GitHub</h1>
{error}
<form method="post" action="/login/oauth/authorize">
{hidden}
<label>Username <input id="login" name="login" autocomplete="username" autofocus></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="submit" type="submit">Sign in</button>
</form>
</body></html>"""


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("github-standin: " + (fmt % a) + "\n")

        def send(self, status, body, content_type="application/json", headers=()):
            data = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def json(self, status, obj, headers=()):
            self.send(status, json.dumps(obj), "application/json; charset=utf-8", headers)

        def form(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            return {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

        def query(self):
            q = urllib.parse.urlsplit(self.path).query
            return {k: v[-1] for k, v in urllib.parse.parse_qs(q, keep_blank_values=True).items()}

        def route(self):
            return urllib.parse.urlsplit(self.path).path

        def do_GET(self):
            path = self.route()
            if path == "/login/oauth/authorize":
                state.count("authorization")
                params = self.query()
                client = state.clients.get(params.get("client_id"))
                if not client or params.get("redirect_uri") not in client.get("redirect_uris", []):
                    return self.send(400, "<p>The redirect_uri MUST match the registered callback URL "
                                          "for this application.</p>", "text/html; charset=utf-8")
                return self.send(200, login_page(params), "text/html; charset=utf-8")
            if path in ("/user", "/user/emails"):
                return self.api(path)
            return self.json(404, {"message": "Not Found"})

        def do_POST(self):
            path = self.route()
            if path == "/login/oauth/authorize":
                return self.login()
            if path == "/login/oauth/access_token":
                return self.access_token()
            return self.json(404, {"message": "Not Found"})

        def login(self):
            state.count("login")
            params = self.form()
            client = state.clients.get(params.get("client_id"))
            if not client or params.get("redirect_uri") not in client.get("redirect_uris", []):
                return self.send(400, "<p>bad client or redirect_uri</p>", "text/html; charset=utf-8")
            user = next((u for u in state.users
                         if u["login"] == params.get("login") and u["password"] == params.get("password")), None)
            if not user:
                return self.send(401, login_page(params, "Incorrect username or password."),
                                 "text/html; charset=utf-8")
            code = secrets.token_hex(10)
            with state.lock:
                state.codes[code] = (client["client_id"], params["redirect_uri"],
                                     params.get("code_challenge"), params.get("code_challenge_method"), user)
            back = {"code": code}
            if "state" in params:
                back["state"] = params["state"]
            sep = "&" if "?" in params["redirect_uri"] else "?"
            location = params["redirect_uri"] + sep + urllib.parse.urlencode(back)
            self.send(302, "", "text/plain", [("Location", location)])

        def access_token(self):
            state.count("token")
            params = self.form()
            if state.mode == "slow":
                time.sleep(state.slow_ms / 1000)
            if state.mode == "garbage":
                return self.send(200, '{"access_token": <<garbage>>', "application/json")
            if state.mode == "huge":
                return self.json(200, {"access_token": "x", "token_type": "bearer",
                                       "padding": "x" * (5 * 1024 * 1024)})
            client_id, client_secret = params.get("client_id"), params.get("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
                client_id = urllib.parse.unquote(client_id)
                client_secret = urllib.parse.unquote(client_secret)
            client = state.clients.get(client_id)
            if not client or client.get("client_secret") != client_secret:
                return self.json(200, {"error": "incorrect_client_credentials",
                                       "error_description": "The client_id and/or client_secret passed are incorrect."})
            with state.lock:
                grant = state.codes.pop(params.get("code", ""), None)
            if not grant or grant[0] != client_id:
                return self.json(200, {"error": "bad_verification_code",
                                       "error_description": "The code passed is incorrect or expired."})
            _, redirect_uri, challenge, method, user = grant
            if params.get("redirect_uri") and params["redirect_uri"] != redirect_uri:
                return self.json(200, {"error": "redirect_uri_mismatch",
                                       "error_description": "The redirect_uri MUST match the registered callback URL for this application."})
            if challenge:
                verifier = params.get("code_verifier", "")
                if method == "S256":
                    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                else:
                    computed = verifier
                if computed != challenge:
                    return self.json(200, {"error": "bad_verification_code",
                                           "error_description": "The code_verifier does not match the code_challenge."})
            token = "gho_" + secrets.token_hex(18)
            with state.lock:
                state.tokens[token] = user
            answer = {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}
            if "application/json" in self.headers.get("Accept", ""):
                return self.json(200, answer)
            return self.send(200, urllib.parse.urlencode(answer), "application/x-www-form-urlencoded")

        def api(self, path):
            state.count(path.strip("/").replace("/", "_"))
            auth = self.headers.get("Authorization", "")
            token = auth.split(" ", 1)[1] if " " in auth else ""
            with state.lock:
                user = state.tokens.get(token)
            if not user:
                return self.json(401, {"message": "Bad credentials",
                                       "documentation_url": "https://docs.github.com/rest"})
            if path == "/user":
                if state.mode == "garbage-user":
                    return self.send(200, "<html>unicorn</html>", "application/json; charset=utf-8")
                primary = next((e["email"] for e in user.get("emails", []) if e.get("primary")), None)
                return self.json(200, {"login": user["login"], "id": user["id"], "name": user.get("name"),
                                       "email": primary, "type": "User"})
            emails = [dict(e, visibility="private") for e in user.get("emails", [])]
            if state.mode == "email-unverified":
                for e in emails:
                    e["verified"] = False
            return self.json(200, emails)

    return Handler


class Listener:
    """The stand-in's own port, which "down" closes and any other mode opens."""

    def __init__(self, state, port):
        self.state = state
        self.port = port
        self.server = None
        self.thread = None

    def open(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), make_handler(self.state))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def make_control(state, listener):
    class Control(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            pass

        def reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/stats":
                with state.lock:
                    return self.reply(200, dict(state.stats))
            if self.path == "/modes":
                return self.reply(200, MODES)
            self.reply(404, {"error": "no such control"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if self.path == "/stats/reset":
                with state.lock:
                    state.stats = {}
                return self.reply(200, {})
            if self.path == "/mode":
                want = json.loads(body or "{}")
                if want.get("mode") not in MODES:
                    return self.reply(400, {"error": f"unknown mode {want.get('mode')}"})
                if "slow_ms" in want:
                    state.slow_ms = int(want["slow_ms"])
                was_down = state.mode == "down"
                state.mode = want["mode"]
                if state.mode == "down" and not was_down:
                    listener.close()
                elif state.mode != "down" and was_down:
                    listener.open()
                return self.reply(200, {"mode": state.mode})
            self.reply(404, {"error": "no such control"})

    return Control


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--mode", default="good", choices=sorted(MODES))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--slow-ms", type=int, default=60000)
    args = ap.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    state = State(config, args.mode, args.slow_ms)
    listener = Listener(state, args.port)
    listener.open()
    if state.mode == "down":
        listener.close()
    control = ThreadingHTTPServer(("127.0.0.1", 0), make_control(state, listener))
    control.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    base = f"http://127.0.0.1:{listener.port}"
    print(json.dumps({"base": base, "api_url": base, "port": listener.port,
                      "control_port": control.server_address[1], "mode": state.mode}), flush=True)
    try:
        control.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
