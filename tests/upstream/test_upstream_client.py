#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The upstream client (daemon/upstream) against real providers on
loopback: node's oidc-provider as any OpenID provider and, through the
presets' overridable endpoints, as Google, Microsoft (Entra's multi-tenant
issuer) and GitLab; and the GitHub stand-in. Each flow is the real one:
the probe (upstream-probe.c, the client's code) makes the authorization
URL, this test plays the browser on the provider's own login form
(tests/lib/upstream_env.py), and the probe exchanges the code the provider
sent back and verifies what it gets. Every misbehaviour mode of the
stand-ins, one at a time, with the errno and the message the client gives;
and the caches: discovery and the key set fetched once across sign-ins,
the key set again for a rotated key, at most once a minute for an unknown
one."""

import base64
import hashlib
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from upstream_env import (DEFAULT_USERS, GitHubStandin, UpstreamOP, callback_params,  # noqa: E402
                          make_certificate, node_modules_ready, sign_in)

REDIRECT = "http://127.0.0.1:9/t/acme/upstream/callback"
CLIENT_ID, CLIENT_SECRET = "tessera-acme", "s3cret-of-the-client"
TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
# The probe's limits: a slow provider is one slower than this.
TIMEOUT_MS = 3000
SLOW_MS = 20000


class Probe:
    """upstream-probe: one UpstreamClient, requests as JSON lines."""

    def __init__(self, **limits):
        path = os.environ.get("UPSTREAM_PROBE") or os.path.join(os.environ.get("TESSERA_BUILD_DIR", "build"),
                                                                 "tests", "upstream", "upstream-probe")
        argv = [path, "--timeout-ms", str(limits.get("timeout_ms", TIMEOUT_MS)),
                "--connect-timeout-ms", str(limits.get("connect_timeout_ms", 1000))]
        if "max_response" in limits:
            argv += ["--max-response", str(limits["max_response"])]
        if "ca_file" in limits:
            argv += ["--ca-file", limits["ca_file"]]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert json.loads(self._line(30)) == {"ready": True}

    def _line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError("the probe did not answer")
        return self.proc.stdout.readline()

    def ask(self, request, timeout=60):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self._line(timeout)
        if not line:
            raise RuntimeError(f"the probe died ({self.proc.wait()})")
        answer = json.loads(line)
        if "identity" in answer:
            # Fields the identity lacks (NULL) are left out.
            answer["identity"] = {k: v for k, v in answer["identity"].items() if v is not None}
        return answer

    def stop(self):
        if self.proc:
            self.proc.stdin.close()
            try:
                rc = self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
            return rc
        return 0


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@unittest.skipUnless(shutil.which("node"), "needs node (tools/install-deps)")
class UpstreamClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not node_modules_ready():
            from upstream_env import ensure_node_modules
            ensure_node_modules()
        cls.tmp = tempfile.mkdtemp(prefix="tessera-upstream-")
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT]}]
        cls.op = UpstreamOP(os.path.join(cls.tmp, "op"), clients, slow_ms=SLOW_MS).start()
        try:
            cls.gh = GitHubStandin(os.path.join(cls.tmp, "gh"), clients, slow_ms=SLOW_MS).start()
        except Exception:
            cls.op.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gh.stop()
        cls.op.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.op.set_mode("good")
        self.gh.set_mode("good")
        self.probe = Probe()

    def tearDown(self):
        # Exits 0 only when it ran clean (ASan/UBSan builds abort otherwise).
        self.assertEqual(self.probe.stop(), 0)

    # Providers as a tenant would register them.
    def oidc(self, **over):
        p = {"name": "corp", "kind": "oidc", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             **self.op.registration("oidc")}
        p.update(over)
        return p

    def google(self):
        # The preset's issuer is Google's; the registration points it here.
        return self.oidc(name="google", kind="google")

    def gitlab(self):
        return self.oidc(name="gitlab", kind="gitlab")

    def microsoft(self, **over):
        return self.oidc(name="entra", kind="microsoft", **{**self.op.registration("microsoft"), **over})

    def github(self):
        return {"name": "github", "kind": "github", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                **self.gh.registration()}

    def authorize(self, provider, probe=None):
        verifier, challenge = pkce()
        flow = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16), "verifier": verifier,
                "challenge": challenge}
        answer = (probe or self.probe).ask({"op": "authorize", "provider": provider, "redirect_uri": REDIRECT,
                                            "state": flow["state"], "nonce": flow["nonce"],
                                            "code_challenge": challenge})
        return flow, answer

    def sign_in(self, provider, user=DEFAULT_USERS[0], probe=None):
        """authorize + the provider's login form: the flow and the code."""
        flow, answer = self.authorize(provider, probe)
        self.assertTrue(answer["ok"], answer)
        url = answer["url"]
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        self.assertEqual(q["client_id"], CLIENT_ID)
        self.assertEqual(q["redirect_uri"], REDIRECT)
        self.assertEqual(q["state"], flow["state"])
        self.assertEqual(q["code_challenge"], flow["challenge"])
        self.assertEqual(q["code_challenge_method"], "S256")
        if provider["kind"] == "github":
            self.assertNotIn("nonce", q)
        else:
            self.assertEqual(q["nonce"], flow["nonce"])
            self.assertIn("openid", q["scope"].split())
            self.assertEqual(q["response_type"], "code")
        back = callback_params(sign_in(url, user["login"], user["password"], REDIRECT))
        self.assertEqual(back["state"], flow["state"])
        flow["code"] = back["code"]
        return flow

    def complete(self, provider, flow, probe=None, **over):
        request = {"op": "complete", "provider": provider, "redirect_uri": REDIRECT, "code": flow["code"],
                   "code_verifier": flow["verifier"], "nonce": flow["nonce"]}
        request.update(over)
        return (probe or self.probe).ask(request)

    def flow(self, provider, user=DEFAULT_USERS[0], probe=None):
        return self.complete(provider, self.sign_in(provider, user, probe), probe)

    def assertRefused(self, answer, errno, words):
        self.assertFalse(answer["ok"], answer)
        self.assertEqual(answer["errno"], errno, answer)
        self.assertIn(words, answer["message"])

    # The good cases.
    def test_oidc_signs_in(self):
        ada = self.flow(self.oidc())
        self.assertTrue(ada["ok"], ada)
        self.assertEqual(ada["identity"], {"subject": "1001", "email": "ada@example.org", "email_verified": True,
                                           "name": "Ada Lovelace", "username": "ada", "issuer": self.op.issuer})
        bob = self.flow(self.oidc(), DEFAULT_USERS[1])
        self.assertTrue(bob["ok"], bob)
        self.assertEqual(bob["identity"]["subject"], "1002")
        self.assertFalse(bob["identity"]["email_verified"])

    def test_slow_provider_holds_up_nobody_else(self):
        # One provider hangs in discovery while another signs in, on the
        # same client (shared caches), each on its own thread.
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT]}]
        with UpstreamOP(os.path.join(self.tmp, "op-slow"), clients, mode="slow-discovery", slow_ms=60000) as slow:
            probe = Probe(timeout_ms=8000)
            try:
                verifier, challenge = pkce()
                ticket = probe.ask({"op": "start", "request": {
                    "op": "authorize", "provider": self.oidc(name="slow", issuer=slow.issuer),
                    "redirect_uri": REDIRECT, "state": "s", "nonce": "n", "code_challenge": challenge}})["ticket"]
                # Its request is at the slow provider (a readiness signal,
                # counted on arrival, before the provider sleeps).
                deadline = time.monotonic() + 30
                while slow.stats().get("discovery") != 1:
                    self.assertLess(time.monotonic(), deadline, "the slow request never arrived")
                    time.sleep(0.02)
                ada = self.flow(self.oidc(), probe=probe)
                self.assertTrue(ada["ok"], ada)
                # The other sign-in went through while the slow one still waits.
                self.assertFalse(probe.ask({"op": "done", "ticket": ticket})["done"])
                self.assertRefused(probe.ask({"op": "wait", "ticket": ticket}), "ETIMEDOUT", "did not answer within")
            finally:
                self.assertEqual(probe.stop(), 0)

    def test_wrong_client_secret(self):
        wrong = self.flow(self.oidc(client_secret="not-the-secret"))
        self.assertRefused(wrong, "EACCES", "invalid_client")

    def test_client_secret_post(self):
        # A provider that takes the client secret only in the body (its
        # discovery offers no HTTP Basic; the client is registered so).
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "client_secret_post"}]
        with UpstreamOP(os.path.join(self.tmp, "op-post"), clients,
                        client_auth_methods=["client_secret_post"]) as op:
            provider = self.oidc(issuer=op.issuer)
            ada = self.flow(provider)
            self.assertTrue(ada["ok"], ada)
            self.assertEqual(ada["identity"]["issuer"], op.issuer)

    def test_google_and_gitlab_presets(self):
        google = self.flow(self.google())
        self.assertTrue(google["ok"], google)
        self.assertEqual(google["identity"]["subject"], "1001")
        # Google's claims have no user name (claim_username unset).
        self.assertNotIn("username", google["identity"])
        self.op.reset_stats()
        gitlab = self.flow(self.gitlab())
        self.assertTrue(gitlab["ok"], gitlab)
        # GitLab's preset reads userinfo too; its user name is nickname.
        self.assertEqual(gitlab["identity"]["username"], "ada")
        self.assertEqual(self.op.stats().get("userinfo"), 1)

    def test_microsoft_multi_tenant(self):
        self.op.set_mode("microsoft")
        ada = self.flow(self.microsoft())
        self.assertTrue(ada["ok"], ada)
        self.assertEqual(ada["identity"]["tid"], TID)
        self.assertEqual(ada["identity"]["issuer"], f"{self.op.issuer}/{TID}/v2.0")
        # Entra's email_verified is xms_edov.
        self.assertTrue(ada["identity"]["email_verified"])
        bob = self.flow(self.microsoft(), DEFAULT_USERS[1])
        self.assertFalse(bob["identity"]["email_verified"])
        allowed = self.flow(self.microsoft(allowed_tid=f"00000000-0000-0000-0000-000000000000,{TID}"))
        self.assertTrue(allowed["ok"], allowed)
        other = self.flow(self.microsoft(allowed_tid="00000000-0000-0000-0000-000000000000"))
        self.assertRefused(other, "EPROTO", "not one this provider accepts")
        # A registration whose issuer is no tenant-independent authority
        # (one tenant's, which pins it) compares iss as it is: a token
        # whose iss names a tenant of its own is refused.
        self.op.set_mode("microsoft")
        pinned = self.flow(self.microsoft(issuer=self.op.issuer))
        self.assertRefused(pinned, "EPROTO", "issuer")

    def test_github_signs_in(self):
        ada = self.flow(self.github())
        self.assertTrue(ada["ok"], ada)
        self.assertEqual(ada["identity"], {"subject": "1001", "email": "ada@example.org", "email_verified": True,
                                           "name": "Ada Lovelace", "username": "ada"})
        bob = self.flow(self.github(), DEFAULT_USERS[1])
        self.assertEqual(bob["identity"]["email"], "bob@example.org")
        self.assertFalse(bob["identity"]["email_verified"])

    # Each misbehaviour of the OpenID provider, one at a time.
    def test_oidc_misbehaviours(self):
        cases = [
            ("foreign-key", "EKEYREJECTED", "does not verify"),
            ("unknown-kid", "EKEYREJECTED", "does not publish"),
            ("alg-none", "EKEYREJECTED", "not signed"),
            ("alg-hs256", "EKEYREJECTED", "shared secret"),
            ("wrong-iss", "EPROTO", "issuer"),
            ("wrong-aud", "EPROTO", "another client"),
            ("no-nonce", "EPROTO", "no nonce"),
            ("wrong-nonce", "EPROTO", "nonce is not this sign-in's"),
            ("azp-wrong", "EPROTO", "issued to another client (azp)"),
            ("azp-missing", "EPROTO", "names no authorized party"),
            ("expired", "ESTALE", "expired"),
            ("slow", "ETIMEDOUT", "did not answer within"),
            ("garbage", "EBADMSG", "did not answer JSON"),
            ("huge", "EFBIG", "answer over"),
            ("microsoft-tid-mismatch", "EPROTO", "issuer"),
        ]
        for mode, errno, words in cases:
            with self.subTest(mode=mode):
                provider = self.microsoft() if mode.startswith("microsoft") else self.oidc()
                self.op.set_mode("microsoft" if mode.startswith("microsoft") else "good")
                # The browser's part goes well; the provider misbehaves
                # from the moment tessera talks to it.
                flow = self.sign_in(provider)
                self.op.set_mode(mode)
                started = time.monotonic()
                self.assertRefused(self.complete(provider, flow), errno, words)
                if mode == "slow":
                    # Given up at the limit, not when the provider answered.
                    self.assertLess(time.monotonic() - started, SLOW_MS / 1000)

    def test_oidc_unverified_email_is_reported_as_such(self):
        self.op.set_mode("email-unverified")
        ada = self.flow(self.oidc())
        self.assertTrue(ada["ok"], ada)
        self.assertEqual(ada["identity"]["email"], "ada@example.org")
        self.assertFalse(ada["identity"]["email_verified"])

    def test_oidc_down(self):
        flow = self.sign_in(self.oidc())
        self.op.set_mode("down")
        try:
            self.assertRefused(self.complete(self.oidc(), flow), "ECONNREFUSED", "cannot be reached")
            # And a sign-in that starts while it is down (no discovery cached).
            fresh = Probe()
            try:
                self.assertRefused(self.authorize(self.oidc(), fresh)[1], "ECONNREFUSED", "cannot be reached")
            finally:
                self.assertEqual(fresh.stop(), 0)
        finally:
            self.op.set_mode("good")

    def test_oidc_garbage_metadata(self):
        self.op.set_mode("garbage-discovery")
        self.assertRefused(self.authorize(self.oidc())[1], "EBADMSG", "did not answer a JSON object")
        self.op.set_mode("good")
        flow = self.sign_in(self.oidc())
        self.op.set_mode("garbage-jwks")
        self.assertRefused(self.complete(self.oidc(), flow), "EBADMSG", "key set")
        # Not kept: with the provider well again, the next sign-in works.
        self.op.set_mode("good")
        self.assertTrue(self.flow(self.oidc())["ok"])

    def test_code_refusals(self):
        flow = self.sign_in(self.oidc())
        # The PKCE verifier of another sign-in.
        self.assertRefused(self.complete(self.oidc(), flow, code_verifier="x" * 43), "EACCES", "invalid_grant")
        self.assertTrue(self.complete(self.oidc(), flow)["ok"])
        # A code used once is refused (replayed).
        self.assertRefused(self.complete(self.oidc(), flow), "EACCES", "invalid_grant")
        self.assertRefused(self.complete(self.oidc(), flow, code=""), "EACCES", "no authorization code")

    def test_registration_refusals(self):
        # http only to loopback; an unknown kind.
        answer = self.authorize(self.oidc(issuer="http://idp.example"))[1]
        self.assertRefused(answer, "EINVAL", "not an https URL")
        answer = self.authorize(self.oidc(kind="myspace"))[1]
        self.assertRefused(answer, "EINVAL", "unknown kind")
        # An issuer whose discovery document names another issuer.
        answer = self.authorize(self.oidc(name="x", kind="oidc", issuer=self.op.issuer + "/"))[1]
        self.assertRefused(answer, "EBADMSG", "is for issuer")

    def test_response_limit(self):
        # oidc-provider's discovery document is over a KiB.
        small = Probe(max_response=512)
        try:
            self.assertRefused(self.authorize(self.oidc(), small)[1], "EFBIG", "over 512 bytes")
        finally:
            self.assertEqual(small.stop(), 0)

    # GitHub's stand-in, misbehaving.
    def test_github_misbehaviours(self):
        cases = [
            ("slow", "ETIMEDOUT", "did not answer within"),
            ("garbage", "EBADMSG", "did not answer JSON"),
            ("garbage-user", "EBADMSG", "/user did not answer"),
            ("huge", "EFBIG", "answer over"),
            ("down", "ECONNREFUSED", "cannot be reached"),
        ]
        for mode, errno, words in cases:
            with self.subTest(mode=mode):
                self.gh.set_mode("good")
                flow = self.sign_in(self.github())
                self.gh.set_mode(mode)
                self.assertRefused(self.complete(self.github(), flow), errno, words)
        self.gh.set_mode("email-unverified")
        ada = self.flow(self.github())
        self.assertTrue(ada["ok"], ada)
        self.assertFalse(ada["identity"]["email_verified"])
        self.gh.set_mode("good")
        flow = self.sign_in(self.github())
        self.assertTrue(self.complete(self.github(), flow)["ok"])
        self.assertRefused(self.complete(self.github(), flow), "EACCES", "bad_verification_code")
        flow = self.sign_in(self.github())
        self.assertRefused(self.complete(self.github(), flow, code_verifier="y" * 43), "EACCES",
                           "bad_verification_code")

    def test_tls_verified(self):
        # GitHub's stand-in on HTTPS with a certificate of its own: refused
        # against the system's CAs, accepted with it as [upstream] ca_file.
        cert, key = make_certificate(self.tmp, "github-tls")
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT]}]
        with GitHubStandin(os.path.join(self.tmp, "gh-tls"), clients, tls=(cert, key)) as gh:
            self.assertTrue(gh.base.startswith("https://127.0.0.1:"))
            provider = {"name": "github", "kind": "github", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                        **gh.registration()}

            def code(probe):
                flow, answer = self.authorize(provider, probe)
                self.assertTrue(answer["ok"], answer)
                back = sign_in(answer["url"], "ada", "ada-upstream-pw", REDIRECT, cafile=cert)
                flow["code"] = callback_params(back)["code"]
                return flow

            self.assertRefused(self.complete(provider, code(self.probe)), "EHOSTUNREACH", "securely (TLS)")
            trusting = Probe(ca_file=cert)
            try:
                ada = self.complete(provider, code(trusting), trusting)
                self.assertTrue(ada["ok"], ada)
                self.assertEqual(ada["identity"]["username"], "ada")
            finally:
                self.assertEqual(trusting.stop(), 0)

    # The caches.
    def test_discovery_and_keys_fetched_once(self):
        self.op.reset_stats()
        for _ in range(2):
            self.assertTrue(self.flow(self.oidc())["ok"])
        stats = self.op.stats()
        self.assertEqual(stats.get("discovery"), 1, stats)
        self.assertEqual(stats.get("jwks"), 1, stats)
        self.assertEqual(stats.get("token"), 2, stats)

        # The provider rotates its key: one fetch of the new set, and the
        # sign-in goes through.
        self.op.rotate()
        self.assertTrue(self.flow(self.oidc())["ok"])
        stats = self.op.stats()
        self.assertEqual(stats.get("jwks"), 2, stats)
        self.assertEqual(stats.get("discovery"), 1, stats)

        # The registration changed: what was cached for it goes.
        self.assertTrue(self.probe.ask({"op": "forget", "provider": self.oidc()})["ok"])
        self.assertTrue(self.flow(self.oidc())["ok"])
        stats = self.op.stats()
        self.assertEqual(stats.get("discovery"), 2, stats)
        self.assertEqual(stats.get("jwks"), 3, stats)

    def test_unknown_kid_fetches_keys_at_most_once_a_minute(self):
        self.op.reset_stats()
        self.assertTrue(self.flow(self.oidc())["ok"])
        self.assertEqual(self.op.stats().get("jwks"), 1)
        self.op.set_mode("unknown-kid")
        for _ in range(3):
            flow = self.sign_in(self.oidc())
            self.assertRefused(self.complete(self.oidc(), flow), "EKEYREJECTED", "does not publish")
        # One fetch for the first unknown kid, none for the next ones.
        self.assertEqual(self.op.stats().get("jwks"), 2)


if __name__ == "__main__":
    unittest.main()
