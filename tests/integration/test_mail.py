#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mail from the real tesserad to a real SMTP server (aiosmtpd) on
loopback, triggered through Manager.SendTestMail and `tesseractl mail test`:
delivered with its headers and both bodies; a relay that is down, that
refuses (4xx, 5xx) or a daemon killed with -9 loses nothing; the
development folder; STARTTLS for a relay not on loopback; credentials from
a file; a clean stop in the middle of an attempt; bad input and bad
templates refused."""

import email
import email.policy
import email.utils
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from smtp_server import SmtpServer, free_port, make_certificate, python_with_aiosmtpd  # noqa: E402
from tessera_env import Tessera, TesseraError, binary, nss_wrapper_library  # noqa: E402

EXIT_DENIED, EXIT_REFUSED = 4, 5
ROOT = "/org/tessera/Identity1"
FROM = "noreply@example.com"
# Short back-off, so that retries come within a test: 1 s, then 2 s.
FAST_RETRY = "retry_initial = 1\nretry_max = 2\n"


def mail_config(relay=None, extra=""):
    text = f"[mail]\nfrom = {FROM}\n{FAST_RETRY}"
    if relay:
        text += f"relay = {relay}\n"
    return text + extra


def wait_for(what, predicate, timeout=60.0, daemon=None):
    """Polls a state the daemon writes (the outbox) until it holds; gives up
    at once when the daemon died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if daemon and daemon.daemon and daemon.daemon.poll() is not None:
            raise AssertionError(f"tesserad exited while waiting for {what}:\n{daemon.log()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@unittest.skipUnless(python_with_aiosmtpd(), "python3-aiosmtpd is missing (tools/install-deps installs it)")
class MailTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tessera-mail-")
        # Callers of other uids reach the bus socket below it.
        os.chmod(self.dir, 0o755)
        self.servers = []
        self.t = None

    def tearDown(self):
        try:
            for s in self.servers:
                s.stop()
            if self.t:
                self.t.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def server(self, **kw):
        s = SmtpServer(tempfile.mkdtemp(dir=self.dir), **kw)
        self.servers.append(s)
        return s.start()

    def start(self, config, env=None, display_name="Acme Corp"):
        self.t = Tessera(directory=os.path.join(self.dir, "tessera"), config_extra=config)
        self.t.start_bus()
        self.t.start_daemon(env=env)
        self.t.ctl("tenant", "create", "acme", "--display-name", display_name, check=True)
        return self.t

    def send_test(self, recipient="bob@example.org", *args):
        p = self.t.ctl("--json", "mail", "test", recipient, *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)["id"]

    def outbox(self, mail_id):
        rows = self.t.sqlite(f"SELECT state, attempts, COALESCE(last_error, ''), "
                             f"CASE WHEN body_text IS NULL THEN 1 ELSE 0 END "
                             f"FROM outbox WHERE id = {int(mail_id)}")
        self.assertEqual(len(rows), 1)
        state, attempts, error, wiped = rows[0]
        return {"state": state, "attempts": int(attempts), "error": error, "wiped": wiped == "1"}

    def delivered(self, relay, mail_id):
        """The mail as the relay got it, once the outbox says sent too."""
        got = relay.wait_message()
        self.assertIsNotNone(got, f"mail {mail_id} did not arrive")
        wait_for(f"mail {mail_id} to be sent", lambda: self.outbox(mail_id)["state"] == "sent", daemon=self.t)
        return got

    def attempted(self, mail_id, n=1):
        return wait_for(f"attempt {n} of mail {mail_id}",
                        lambda: self.outbox(mail_id) if self.outbox(mail_id)["attempts"] >= n else None,
                        daemon=self.t)

    # -- delivery -------------------------------------------------------------------

    def test_delivered_with_headers_and_both_bodies(self):
        relay = self.server()
        t = self.start(mail_config(f"smtp://127.0.0.1:{relay.port}"), display_name="Müller & Söhne")
        mail_id = self.send_test("bob@example.org")

        got = relay.wait_message()
        self.assertIsNotNone(got, "no mail arrived")
        m = got.message
        self.assertEqual(got.mail_from, FROM)
        self.assertEqual(got.rcpt_tos, ["bob@example.org"])
        self.assertFalse(got.tls)     # loopback: no STARTTLS needed
        # Headers, decoded the way a mail program decodes them (RFC 2047).
        self.assertEqual(m["Subject"], "Test mail from Müller & Söhne")
        self.assertEqual(m["From"].addresses[0].display_name, "Müller & Söhne")
        self.assertEqual(m["From"].addresses[0].addr_spec, FROM)
        self.assertEqual(m["To"].addresses[0].addr_spec, "bob@example.org")
        self.assertRegex(m["Message-ID"], r"^<[0-9a-f]{32}\.tessera@example\.com>$")
        self.assertEqual(m["Auto-Submitted"], "auto-generated")
        self.assertEqual(m["MIME-Version"], "1.0")
        sent = email.utils.parsedate_to_datetime(m["Date"]).timestamp()
        self.assertLess(abs(sent - time.time()), 300)
        self.assertEqual(m.get_content_type(), "multipart/alternative")
        parts = [p.get_content_type() for p in m.iter_parts()]
        self.assertEqual(parts, ["text/plain", "text/html"])
        text, html = got.part("text/plain"), got.part("text/html")
        self.assertIn("sent for Müller & Söhne to bob@example.org", text)
        self.assertIn("Müller &amp; Söhne", html)
        self.assertNotIn("Müller & Söhne", html)
        for line in got.raw.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)

        # Recorded: sent, its single-use bodies wiped, audited.
        row = wait_for("the outbox to say sent", lambda: self.outbox(mail_id)["state"] == "sent" and self.outbox(mail_id))
        self.assertEqual(row["attempts"], 1)
        self.assertTrue(row["wiped"])
        audit = json.loads(t.ctl("--json", "audit", "list", "--target", "bob@example.org", check=True).stdout)
        actions = {(e["action"], e["result"]) for e in audit}
        self.assertIn(("mail.test", "success"), actions)
        self.assertIn(("mail.sent", "success"), actions)

    def test_relay_down_then_back(self):
        port = free_port()
        self.start(mail_config(f"smtp://127.0.0.1:{port}"))
        mail_id = self.send_test()

        # Nobody listens: the attempt fails, the mail waits with the reason.
        row = self.attempted(mail_id)
        self.assertEqual(row["state"], "queued")
        self.assertIn(f"cannot reach the relay smtp://127.0.0.1:{port}", row["error"])
        self.assertFalse(row["wiped"])
        self.assertIn("not sent (attempt 1 of 16), trying again in", self.t.log())

        relay = self.server(port=port)
        got = relay.wait_message()
        self.assertIsNotNone(got, "the mail did not go out once the relay was back")
        self.assertEqual(got.rcpt_tos, ["bob@example.org"])
        row = wait_for("sent", lambda: self.outbox(mail_id)["state"] == "sent" and self.outbox(mail_id))
        self.assertGreaterEqual(row["attempts"], 2)

    def test_queued_mail_survives_kill_9(self):
        port = free_port()
        t = self.start(mail_config(f"smtp://127.0.0.1:{port}"))
        mail_id = self.send_test()
        self.attempted(mail_id)
        # A crash: no chance to save anything.
        t.kill_daemon()
        self.assertEqual(self.outbox(mail_id)["state"], "queued")

        relay = self.server(port=port)
        t.start_daemon()
        got = relay.wait_message()
        self.assertIsNotNone(got, "the mail queued before the crash was not sent after the restart")
        self.assertEqual(got.message["Subject"], "Test mail from Acme Corp")
        wait_for("sent", lambda: self.outbox(mail_id)["state"] == "sent")
        self.assertEqual(relay.received_count(), 1)

    def test_refusals_are_retried(self):
        port = free_port()
        self.start(mail_config(f"smtp://127.0.0.1:{port}"))
        # 451 at DATA (try later), then 550 at RCPT (a permanent no, for a
        # relay that may be misconfigured): both wait in the outbox.
        for kw, code in (({"refuse_data": 451}, "451"), ({"refuse_rcpt": 550}, "550")):
            with self.subTest(code=code):
                refusing = self.server(port=port, **kw)
                mail_id = self.send_test()
                row = self.attempted(mail_id)
                self.assertEqual(row["state"], "queued")
                self.assertIn(f"answered SMTP {code}", row["error"])
                self.assertEqual(refusing.received_count(), 0)
                refusing.stop()

                relay = self.server(port=port)
                got = relay.wait_message()
                self.assertIsNotNone(got)
                wait_for("sent", lambda: self.outbox(mail_id)["state"] == "sent")
                relay.stop()

    def test_gives_up_after_max_attempts(self):
        port = free_port()
        t = self.start(mail_config(f"smtp://127.0.0.1:{port}", "max_attempts = 2\n"))
        mail_id = self.send_test()
        row = wait_for("failed", lambda: self.outbox(mail_id)["state"] == "failed" and self.outbox(mail_id))
        self.assertEqual(row["attempts"], 2)
        self.assertTrue(row["wiped"])
        audit = json.loads(t.ctl("--json", "audit", "list", "--target", "bob@example.org", check=True).stdout)
        failed = [e for e in audit if e["action"] == "mail.failed"]
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0]["result"], "error")
        self.assertIn("cannot reach the relay", failed[0]["details"]["error"])

    def test_credentials_from_a_file(self):
        password = os.path.join(self.dir, "smtp-password")
        with open(password, "w") as f:
            f.write("correct horse\n")
        os.chmod(password, 0o600)
        relay = self.server(auth=("tessera", password))
        self.start(mail_config(f"smtp://127.0.0.1:{relay.port}",
                               f"username = tessera\npassword_file = {password}\n"))
        got = self.delivered(relay, self.send_test())
        self.assertTrue(got.authenticated)
        # Not on the daemon's command line, nor in its configuration.
        with open(f"/proc/{self.t.daemon.pid}/cmdline", "rb") as f:
            self.assertNotIn(b"correct horse", f.read())
        with open(self.t.config_path) as f:
            self.assertNotIn("correct horse", f.read())

    def test_credentials_refused_at_start(self):
        password = os.path.join(self.dir, "smtp-password")
        with open(password, "w") as f:
            f.write("correct horse\n")
        os.chmod(password, 0o644)
        t = Tessera(directory=os.path.join(self.dir, "tessera"),
                    config_extra=mail_config("smtp://127.0.0.1:25", f"username = u\npassword_file = {password}\n"))
        self.t = t
        t.start_bus()
        with self.assertRaises(TesseraError):
            t.start_daemon()
        self.assertIn("may be read by anybody; refusing to use the password", t.log())

    def test_systemd_credential(self):
        creds = os.path.join(self.dir, "credentials")
        os.makedirs(creds)
        with open(os.path.join(creds, "tessera.smtp-password"), "w") as f:
            f.write("from systemd")
        os.chmod(os.path.join(creds, "tessera.smtp-password"), 0o400)
        password = os.path.join(self.dir, "expected")
        with open(password, "w") as f:
            f.write("from systemd")
        relay = self.server(auth=("tessera", password))
        self.start(mail_config(f"smtp://127.0.0.1:{relay.port}", "username = tessera\n"),
                   env={"CREDENTIALS_DIRECTORY": creds})
        got = self.delivered(relay, self.send_test())
        self.assertTrue(got.authenticated)

    # -- TLS ------------------------------------------------------------------------

    def relay_name_env(self):
        """tesserad resolving relay.tessera.test to 127.0.0.1 (nss_wrapper):
        a relay by name, so not on loopback as far as the URL says."""
        hosts = os.path.join(self.dir, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 relay.tessera.test\n")
        asan = os.environ.get("ASAN_OPTIONS", "")
        # The sanitizers can't run a libc opened with RTLD_DEEPBIND, and
        # want to come first: nss_wrapper and ASan builds get along so.
        return {"LD_PRELOAD": nss_wrapper_library(), "NSS_WRAPPER_HOSTS": hosts,
                "NSS_WRAPPER_DISABLE_DEEPBIND": "1",
                "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}

    def test_starttls_required_off_loopback(self):
        plain = self.server()
        self.start(mail_config(f"smtp://relay.tessera.test:{plain.port}"), env=self.relay_name_env())
        self.assertIn("(STARTTLS required)", self.t.log())
        mail_id = self.send_test()

        # The relay offers no STARTTLS: nothing is sent in clear, the mail
        # waits, and the reason says what to do.
        row = self.attempted(mail_id)
        self.assertEqual(row["state"], "queued")
        self.assertIn("does not offer STARTTLS", row["error"])
        self.assertEqual(plain.received_count(), 0)

    def test_starttls_delivers(self):
        cert, key = make_certificate(self.dir, "relay.tessera.test")
        relay = self.server(tls=(cert, key))
        self.start(mail_config(f"smtp://relay.tessera.test:{relay.port}", f"ca_file = {cert}\n"),
                   env=self.relay_name_env())
        got = self.delivered(relay, self.send_test())
        self.assertTrue(got.tls)

    def test_untrusted_certificate_refused(self):
        cert, key = make_certificate(self.dir, "relay.tessera.test")
        relay = self.server(tls=(cert, key))
        # No ca_file: the self-signed certificate is not trusted.
        self.start(mail_config(f"smtp://relay.tessera.test:{relay.port}"), env=self.relay_name_env())
        mail_id = self.send_test()
        row = self.attempted(mail_id)
        self.assertEqual(row["state"], "queued")
        self.assertIn("certificate", row["error"])
        self.assertEqual(relay.received_count(), 0)

    # -- development folder ----------------------------------------------------------

    def test_development_folder(self):
        folder = os.path.join(self.dir, "mail")
        t = self.start(mail_config(None, f"outbox_directory = {folder}\n"))
        self.assertIn(f"written as .eml files into {folder}", t.log())
        mail_id = self.send_test("carol@example.org")
        wait_for("sent", lambda: self.outbox(mail_id)["state"] == "sent")
        files = [f for f in os.listdir(folder) if f.endswith(".eml")]
        self.assertEqual(len(files), 1)
        self.assertRegex(files[0], rf"^\d{{8}}T\d{{6}}Z-{mail_id}\.eml$")
        path = os.path.join(folder, files[0])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path, "rb") as f:
            m = email.message_from_bytes(f.read(), policy=email.policy.default)
        self.assertEqual(m["To"].addresses[0].addr_spec, "carol@example.org")
        self.assertEqual(m["Subject"], "Test mail from Acme Corp")
        self.assertEqual([p.get_content_type() for p in m.iter_parts()], ["text/plain", "text/html"])

    # -- stopping ------------------------------------------------------------------

    def test_stop_in_the_middle_of_an_attempt(self):
        # A relay that takes the connection and never says a word.
        stall = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stall.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        stall.bind(("127.0.0.1", 0))
        stall.listen(1)
        port = stall.getsockname()[1]
        try:
            t = self.start(mail_config(f"smtp://127.0.0.1:{port}", "timeout = 600\n"))
            mail_id = self.send_test()
            stall.settimeout(60)
            conn, _ = stall.accept()
            # SIGTERM while the attempt waits: tesserad stops (stop_daemon
            # raises when it doesn't within its timeout) and exits cleanly.
            self.assertEqual(t.stop_daemon(signal.SIGTERM), 0)
            self.assertIn(f"Mail {mail_id} stays queued: tesserad is stopping.", t.log())
            row = self.outbox(mail_id)
            self.assertEqual(row["state"], "queued")
            self.assertEqual(row["attempts"], 0)
            conn.close()
        finally:
            stall.close()

        relay = self.server(port=port)
        t.start_daemon()
        self.assertIsNotNone(relay.wait_message(), "the abandoned mail was not sent after the restart")
        wait_for("sent", lambda: self.outbox(mail_id)["state"] == "sent")

    # -- refusals --------------------------------------------------------------------

    def test_bad_input_refused(self):
        relay = self.server()
        t = self.start(mail_config(f"smtp://127.0.0.1:{relay.port}"))
        for address in ("not-an-address", "bob@example.org, eve@example.org", "bøb@example.org"):
            p = t.ctl("mail", "test", address)
            self.assertEqual(p.returncode, EXIT_REFUSED, p.stderr)
            self.assertIn("is not an e-mail address tessera can send to", p.stderr)
        # Header injection, straight over the bus.
        p = t.gdbus(ROOT, "org.tessera.Identity1.Manager.SendTestMail", "acme",
                    "bob@example.org\r\nBcc: eve@example.org")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("org.tessera.Identity1.Error.InvalidArgument", p.stderr)
        p = t.ctl("mail", "test", "bob@example.org", "--tenant", "nosuch")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(t.sqlite("SELECT COUNT(*) FROM outbox"), [["0"]])
        # Refusals are audited.
        audit = json.loads(t.ctl("--json", "audit", "list", "--action", "mail.test", check=True).stdout)
        self.assertGreaterEqual(len([e for e in audit if e["result"] == "invalid"]), 4)

    def test_not_for_ordinary_users(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (setpriv to another uid)")
        relay = self.server()
        t = self.start(mail_config(f"smtp://127.0.0.1:{relay.port}"))
        p = t.ctl("mail", "test", "bob@example.org", user=65534)
        self.assertEqual(p.returncode, EXIT_DENIED, p.stderr)
        self.assertEqual(t.sqlite("SELECT COUNT(*) FROM outbox"), [["0"]])

    def test_not_configured(self):
        t = Tessera(directory=os.path.join(self.dir, "tessera"))
        self.t = t
        t.start()
        t.ctl("tenant", "create", "acme", check=True)
        p = t.gdbus(ROOT, "org.tessera.Identity1.Manager.SendTestMail", "acme", "bob@example.org")
        self.assertIn("org.tessera.Identity1.Error.NotConfigured", p.stderr)
        p = t.ctl("mail", "test", "bob@example.org")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Mail is not set up on this host", p.stderr)

    def test_templates_from_files(self):
        templates = os.path.join(self.dir, "templates")
        os.makedirs(templates)
        with open(os.path.join(templates, "test.subject"), "w") as f:
            f.write("Hello from ${tenant} ($$0 cost)\n")
        relay = self.server()
        self.start(mail_config(f"smtp://127.0.0.1:{relay.port}", f"template_directory = {templates}\n"))
        got = self.delivered(relay, self.send_test())
        self.assertEqual(got.message["Subject"], "Hello from Acme Corp ($0 cost)")
        # The other parts stay built in.
        self.assertIn("this is a test mail from tesserad", got.part("text/plain"))

    def test_bad_template_refused_at_start(self):
        templates = os.path.join(self.dir, "templates")
        os.makedirs(templates)
        path = os.path.join(templates, "verify-email.txt")
        with open(path, "w") as f:
            f.write("Hello ${user},\n\nclick ${verify_link}\n")
        config = mail_config("smtp://127.0.0.1:25", f"template_directory = {templates}\n")
        t = Tessera(directory=os.path.join(self.dir, "tessera"), config_extra=config)
        self.t = t
        t.start_bus()
        with self.assertRaises(TesseraError):
            t.start_daemon()
        self.assertIn(f"{path}:3: unknown placeholder ${{verify_link}}", t.log())
        # --check-config says the same, without starting.
        p = t.run([binary("tesserad"), "--config", t.config_path, "--check-config"])
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{path}:3: unknown placeholder ${{verify_link}}", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
