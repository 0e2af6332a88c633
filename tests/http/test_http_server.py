#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The HTTP server of tesserad: routing, the error envelope, request ids,
limits, HTTPS and shutdown, against the real daemon."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_env import Tessera, TesseraError  # noqa: E402
from oidc_client import Client, raw_request  # noqa: E402


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tessera(http_extra="max_body_size = 4096\nmax_header_size = 4096\n").start()
        cls.t.ctl("tenant", "create", "acme", check=True)
        cls.c = Client(cls.t.base_url)

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def assertEnvelope(self, r, status, code):
        self.assertEqual(r.status, status, r.text)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        j = r.json
        self.assertEqual(j["code"], code)
        self.assertIsInstance(j["error"], str)
        self.assertIsInstance(j["details"], dict)
        self.assertEqual(j["details"]["request_id"], r.header("X-Request-Id"))

    def test_health(self):
        r = self.c.get("/healthz")
        self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        r = self.c.get("/readyz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["store"], "ok")
        self.assertEqual(r.header("Cache-Control"), "no-store")

    def test_request_id(self):
        a, b = self.c.get("/healthz"), self.c.get("/healthz")
        self.assertRegex(a.header("X-Request-Id"), r"^[0-9a-f]{24}$")
        self.assertNotEqual(a.header("X-Request-Id"), b.header("X-Request-Id"))
        # A harmless id from a proxy is kept and logged; a harmful one is replaced.
        r = self.c.get("/nope", headers={"X-Request-Id": "proxy-42.a_b"})
        self.assertEqual(r.header("X-Request-Id"), "proxy-42.a_b")
        # The access line is written once the reply is out: wait for it.
        for _ in range(100):
            if "[proxy-42.a_b]" in self.t.log():
                break
            time.sleep(0.05)
        self.assertIn("[proxy-42.a_b]", self.t.log())
        r = self.c.get("/healthz", headers={"X-Request-Id": "bad id\"<script>"})
        self.assertRegex(r.header("X-Request-Id"), r"^[0-9a-f]{24}$")

    def test_router(self):
        self.assertEnvelope(self.c.get("/nope"), 404, "not_found")
        self.assertEnvelope(self.c.get("/t/acme/nope"), 404, "not_found")
        self.assertEnvelope(self.c.get("/t/ACME/jwks"), 404, "not_found")
        self.assertEnvelope(self.c.get("/t/globex/jwks"), 404, "unknown_tenant")
        r = self.c.request("DELETE", "/healthz")
        self.assertEnvelope(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "GET")
        r = self.c.get("/t/acme/token")
        self.assertEnvelope(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "POST")
        r = self.c.request("HEAD", "/healthz")
        self.assertEqual((r.status, r.body), (200, b""))

    def test_body_limit(self):
        r = self.c.post("/t/acme/token", data=b"a=" + b"x" * 5000,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEnvelope(r, 413, "body_too_large")
        # Without a Content-Length (chunked), the limit holds while reading.
        body = b"a=" + b"x" * 6000
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        out = raw_request("127.0.0.1", self.t.http_port,
                          b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n" + chunked)
        self.assertTrue(out.startswith(b"HTTP/1.1 413"), out[:200])
        self.assertIn(b'"code":"body_too_large"', out)

    def test_header_limit(self):
        r = self.c.get("/healthz", headers={"X-Padding": "p" * 5000})
        self.assertEnvelope(r, 431, "headers_too_large")

    def test_malformed_input(self):
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r = self.c.post("/t/acme/token", data=b"grant_type=%zz", headers=form)
        self.assertEnvelope(r, 400, "invalid_request")
        self.assertEqual(r.json["error"], "invalid_request")
        r = self.c.post("/t/acme/token", data=b"a=1&a=2", headers=form)
        self.assertEnvelope(r, 400, "invalid_request")
        self.assertIn("more than once", r.json["error_description"])
        r = self.c.post("/t/acme/token", data=b"a=%ff%fe", headers=form)
        self.assertEnvelope(r, 400, "invalid_request")
        r = self.c.post("/t/acme/token", data=b"{\"grant_type\": ", headers={"Content-Type": "application/json"})
        self.assertEnvelope(r, 400, "invalid_request")
        self.assertIn("Malformed JSON", r.json["error_description"])
        r = self.c.post("/t/acme/token", json_body={"grant_type": "client_credentials", "admin": "yes"})
        self.assertEnvelope(r, 400, "invalid_request")
        self.assertIn("Unknown field 'admin'", r.json["error_description"])
        r = self.c.post("/t/acme/token", json_body={"grant_type": 1})
        self.assertEnvelope(r, 400, "invalid_request")
        r = self.c.post("/t/acme/token", json_body='["a"]')
        self.assertEnvelope(r, 400, "invalid_request")
        r = self.c.post("/t/acme/token", data=b"x", headers={"Content-Type": "text/plain"})
        self.assertEnvelope(r, 415, "invalid_request")
        # Garbage on the wire: MHD answers, the daemon lives on.
        out = raw_request("127.0.0.1", self.t.http_port, b"\x00\x01GARBAGE\r\n\r\n")
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 400"), out[:100])
        self.assertEqual(self.c.get("/healthz").status, 200)

    def raw(self, data):
        out = raw_request("127.0.0.1", self.t.http_port, data)
        head, _, body = out.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), head, body

    def test_bad_methods(self):
        # Not a method at all (not UTF-8, control bytes): 400 in the
        # envelope, the bytes not echoed.
        for method in (b"G\xffT", b"\xc3", b"GE\x1bT", b"A" * 40):
            with self.subTest(method=method):
                status, head, body = self.raw(method + b" /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                self.assertEqual(status, 400, head + body)
                j = json.loads(body)
                self.assertEqual(j["code"], "bad_request")
                self.assertNotIn(method, body)
        # A method, just not one of ours: 405, naming it and what to use.
        status, head, body = self.raw(b"BREW /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 405)
        self.assertIn(b"Allow: GET", head)
        self.assertEqual(json.loads(body)["error"], "BREW is not allowed here; use GET.")

    def test_error_messages_quoting_the_request_stay_json(self):
        # The message quotes the field name cut at 64 bytes: mid-character
        # here. Still a 400 with a JSON body, not a 500.
        key = "a" * 63 + "\u00e9"
        r = self.c.post("/t/acme/token", json_body={key: "x"})
        self.assertEnvelope(r, 400, "invalid_request")
        self.assertIn("Unknown field 'aaaa", r.json["error_description"])

    def log_after(self, marker):
        """The log once the access line of the request for marker is in it
        (access lines are written after the reply has gone out)."""
        for _ in range(100):
            if marker in self.t.log():
                break
            time.sleep(0.05)
        return self.t.log()

    def test_log_injection(self):
        form = "/x%0atesserad[1]:%20notice:%20Accepted%20password%20for%20root"
        self.raw(b"GET " + form.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.raw(b"GET /%1b[2J%1b]0;owned%07%c2%9b31m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.raw(b"G\x1b[1mT /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.raw(b"GET /end-of-injection HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        log = self.log_after("/end-of-injection")
        # Every line is one of ours: none was forged by a decoded %0a...
        self.assertFalse([line for line in log.splitlines() if not line.startswith("tesserad[")])
        self.assertNotRegex(log, r"(?m)^tesserad\[1\]")
        self.assertIn("/x\\ntesserad[1]: notice: Accepted password for root -> 404", log)
        # ...and no terminal escape gets through, as ESC or as C1 CSI.
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\u009b", log)
        self.assertIn("/\\x1b[2J\\x1b]0;owned\\x07\\u009b31m -> 404", log)
        self.assertIn("G\\x1b[1mT /healthz -> 400", log)

    def test_discovery_and_jwks(self):
        d = self.c.get("/t/acme/.well-known/openid-configuration")
        self.assertEqual(d.status, 200)
        j = d.json
        issuer = self.t.issuer("acme")
        self.assertEqual(j["issuer"], issuer)
        for k in ("authorization", "token", "userinfo", "revocation", "introspection", "end_session"):
            self.assertTrue(j[k + "_endpoint"].startswith(issuer + "/"), k)
        self.assertEqual(j["code_challenge_methods_supported"], ["S256"])
        self.assertEqual(j["response_types_supported"], ["code"])
        self.assertIn("RS256", j["id_token_signing_alg_values_supported"])
        self.assertTrue(j["authorization_response_iss_parameter_supported"])
        k = self.c.get(j["jwks_uri"]).json["keys"]
        self.assertEqual(sorted(x["alg"] for x in k), ["ES256", "RS256"])
        for key in k:
            self.assertEqual(key["use"], "sig")
            self.assertNotIn("d", key)
            self.assertNotIn("p", key)

    def test_html_headers(self):
        r = self.c.get("/t/acme/authorize?client_id=nope")
        self.assertEqual(r.status, 400)
        self.assertIn("frame-ancestors 'none'", r.header("Content-Security-Policy"))
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
        self.assertEqual(r.header("Cache-Control"), "no-store")


class HttpsTest(unittest.TestCase):
    def test_https(self):
        tmp = tempfile.mkdtemp(prefix="tessera-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        with Tessera(http_extra=f"certificate = {cert}\nprivate_key = {key}\n") as t:
            t.ctl("tenant", "create", "acme", check=True)
            c = Client(t.base_url, cafile=cert)
            self.assertTrue(t.base_url.startswith("https://"))
            d = c.get("/t/acme/.well-known/openid-configuration").json
            self.assertEqual(d["issuer"], f"https://127.0.0.1:{t.http_port}/t/acme")
            # Plain HTTP to the TLS port gets nothing useful.
            out = raw_request("127.0.0.1", t.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
            self.assertNotIn(b'"status":"ok"', out)

    def test_bad_config(self):
        for extra, what in (("certificate = /nonexistent.pem\n", "go together"),
                            ("listen = 999.1.1.1:80\n", "not a numeric address"),
                            ("listen = 127.0.0.1\n", "invalid value"),
                            ("public_url = ftp://x\n", "invalid value"),
                            ("max_body_size = 10\n", "max_body_size")):
            with self.subTest(extra=extra):
                t = Tessera(http_extra=extra)
                # A failed start() cleans up after itself, its folder and
                # log too: what tesserad said is in the error.
                with self.assertRaises(TesseraError) as cm:
                    t.start()
                self.assertIn(what, str(cm.exception))


class ShutdownTest(unittest.TestCase):
    def test_graceful_stop_with_requests_in_flight(self):
        with Tessera() as t:
            t.ctl("tenant", "create", "acme", check=True)
            import json as _json
            app = _json.loads(t.ctl("--json", "app", "create", "svc@acme", "--grant", "client_credentials",
                                    check=True).stdout)
            c = Client(t.base_url)
            results, stop = [], threading.Event()

            def hammer():
                while not stop.is_set():
                    try:
                        r = c.post("/t/acme/token", form={"grant_type": "client_credentials"},
                                   basic=(app["client_id"], app["client_secret"]))
                        results.append(r.status)
                    except Exception:
                        results.append("conn")
                        return

            threads = [threading.Thread(target=hammer) for _ in range(4)]
            for th in threads:
                th.start()
            while len(results) < 20:
                pass
            code = t.stop_daemon(signal.SIGTERM)
            stop.set()
            for th in threads:
                th.join()
            self.assertEqual(code, 0, t.log())
            # Every answer that came was a real one: no half-written replies.
            self.assertTrue(set(results) <= {200, 503, "conn"}, set(results))
            self.assertNotIn("suspended connections", t.log())
            # Every token answered was recorded before its reply.
            ok = results.count(200)
            events = t.sqlite("SELECT count(*) FROM audit_events WHERE action = 'oauth.token' AND result = 'success'")
            self.assertGreaterEqual(int(events[0][0]), ok)


if __name__ == "__main__":
    unittest.main(verbosity=2)
