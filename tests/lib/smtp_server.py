#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real SMTP server on loopback for the mail tests: aiosmtpd (Debian's
python3-aiosmtpd), run as a process of its own on a port chosen at run
time, recording each message it accepts into a folder.

As a module, SmtpServer starts and stops it by its pid and reads what it
says on stdout: "LISTENING <port>" once it listens (readiness), then
"RECEIVED <path>" for each message, written before the line: the tests
wait on these lines, never on a clock.

As a program (what SmtpServer runs):
    smtp_server.py --out DIR [--host H] [--port P] [--refuse-data CODE]
                   [--refuse-rcpt CODE] [--tls CERT KEY] [--auth USER PASSWORD_FILE]
"""

import argparse
import email
import email.policy
import json
import os
import select
import socket
import subprocess
import sys
import time

START_TIMEOUT = 30.0


def python_with_aiosmtpd():
    """An interpreter that has aiosmtpd: this one, or Debian's (a python3
    of pyenv or a venv on PATH does not see Debian's packages)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if candidate and os.path.exists(candidate):
            p = subprocess.run([candidate, "-c", "import aiosmtpd"], capture_output=True)
            if p.returncode == 0:
                return candidate
    return None


def free_port(host="127.0.0.1"):
    """A port nothing listens on now (for a relay that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Received:
    """One message the server accepted: the envelope and the parsed mail."""

    def __init__(self, base):
        with open(base + ".json") as f:
            meta = json.load(f)
        with open(base + ".eml", "rb") as f:
            self.raw = f.read()
        self.mail_from = meta["mail_from"]
        self.rcpt_tos = meta["rcpt_tos"]
        self.tls = meta["tls"]
        self.authenticated = meta["authenticated"]
        self.message = email.message_from_bytes(self.raw, policy=email.policy.default)

    def part(self, content_type):
        for p in self.message.walk():
            if p.get_content_type() == content_type:
                return p.get_content()
        return None


class SmtpServer:
    def __init__(self, directory, host="127.0.0.1", port=0, refuse_data=None, refuse_rcpt=None, tls=None,
                 auth=None):
        self.dir = directory
        self.out = os.path.join(directory, "received")
        self.host = host
        self.port = port
        self.refuse_data = refuse_data
        self.refuse_rcpt = refuse_rcpt
        self.tls = tls            # (certificate, key)
        self.auth = auth          # (user, password file)
        self.proc = None
        self._buffer = b""

    def start(self):
        python = python_with_aiosmtpd()
        if not python:
            raise FileNotFoundError("aiosmtpd not found: install python3-aiosmtpd (tools/install-deps)")
        os.makedirs(self.out, exist_ok=True)
        argv = [python, os.path.abspath(__file__), "--out", self.out, "--host", self.host, "--port", str(self.port)]
        if self.refuse_data:
            argv += ["--refuse-data", str(self.refuse_data)]
        if self.refuse_rcpt:
            argv += ["--refuse-rcpt", str(self.refuse_rcpt)]
        if self.tls:
            argv += ["--tls", *self.tls]
        if self.auth:
            argv += ["--auth", *self.auth]
        log = open(os.path.join(self.dir, "smtp-server.log"), "a")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        log.close()
        line = self._line(START_TIMEOUT)
        if not line or not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"the SMTP server did not start ({line!r}); see {self.dir}/smtp-server.log")
        self.port = int(line.split()[1])
        return self

    def _line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def wait_message(self, timeout=60.0):
        """The next message received, or None when none came in time."""
        line = self._line(timeout)
        if line is None:
            return None
        if not line.startswith("RECEIVED "):
            raise RuntimeError(f"unexpected line from the SMTP server: {line!r}")
        return Received(line[len("RECEIVED "):])

    def received_count(self):
        return len([f for f in os.listdir(self.out) if f.endswith(".eml")])

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
            self._buffer = b""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def make_certificate(directory, name):
    """A self-signed certificate (and its key) for name, with openssl(1)."""
    cert, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


# -- the server process ---------------------------------------------------------------

def serve(args):
    import asyncio
    import signal
    import ssl

    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    password = None
    if args.auth:
        with open(args.auth[1]) as f:
            password = f.read().strip()

    class Recorder:
        def __init__(self):
            self.n = 0

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if args.refuse_rcpt:
                return f"{args.refuse_rcpt} Not here (the test server refuses)"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if args.refuse_data:
                return f"{args.refuse_data} Not now (the test server refuses)"
            self.n += 1
            base = os.path.join(args.out, f"{os.getpid()}-{self.n:04d}")
            with open(base + ".eml.tmp", "wb") as f:
                f.write(envelope.original_content or envelope.content)
            with open(base + ".json", "w") as f:
                json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                           "tls": session.ssl is not None, "authenticated": bool(session.authenticated)}, f)
            os.rename(base + ".eml.tmp", base + ".eml")
            print(f"RECEIVED {base}", flush=True)
            return "250 Message accepted for delivery"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.auth[0]
              and auth_data.password.decode() == password)
        return AuthResult(success=ok)

    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls[0], args.tls[1])

    handler = Recorder()

    def factory():
        return SMTP(handler, hostname="relay.test", tls_context=context, require_starttls=context is not None,
                    authenticator=authenticate if args.auth else None, auth_required=bool(args.auth),
                    auth_require_tls=context is not None)

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server = await loop.create_server(factory, host=args.host, port=args.port)
        print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
        await stop.wait()
        server.close()

    asyncio.run(main())


def parse_args():
    p = argparse.ArgumentParser(description="An SMTP server that records what it receives (tests).")
    p.add_argument("--out", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--refuse-data", type=int)
    p.add_argument("--refuse-rcpt", type=int)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD_FILE"))
    return p.parse_args()


if __name__ == "__main__":
    serve(parse_args())
