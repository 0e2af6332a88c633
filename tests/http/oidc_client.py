# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small HTTP client for the tests of tessera's HTTP face: plain urllib
(Debian's python3 only), cookies kept, redirects not followed, so that each
test sees exactly what the server said."""

import base64
import functools
import hashlib
import http.client
import http.cookiejar
import json
import os
import re
import secrets
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import openapi_check  # noqa: E402


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class SourceAddressHandler(urllib.request.HTTPHandler):
    """Connects from a given local address: on loopback, 127.0.0.2 and
    127.0.0.3 are two clients to the server, for the limits per address."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.source, 0)), req)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name):
        return self.headers.get(name)

    def location_params(self):
        loc = self.headers.get("Location")
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query)) if loc else {}


class Client:
    def __init__(self, base_url, cafile=None, source=None):
        self.base = base_url
        self.jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()]
        if source:
            handlers.append(SourceAddressHandler(source))
        if cafile:
            ctx = ssl.create_default_context(cafile=cafile)
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, method, url, data=None, headers=None, form=None, json_body=None, basic=None):
        headers = dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif json_body is not None:
            data = json.dumps(json_body).encode() if not isinstance(json_body, (bytes, str)) else (
                json_body.encode() if isinstance(json_body, str) else json_body)
            headers.setdefault("Content-Type", "application/json")
        if basic:
            cred = f"{urllib.parse.quote(basic[0], safe='')}:{urllib.parse.quote(basic[1], safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as r:
                resp = Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            resp = Response(e.code, e.headers, e.read())
        # Every answer of the JSON API as its OpenAPI document says.
        path = urllib.parse.urlsplit(url).path
        if path.startswith("/api/v1/") and method != "HEAD":
            openapi_check.check(method, path, resp.status, resp.header("Content-Type"), resp.body)
        return resp

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)


def pkce_pair():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def jwt_parts(token):
    def dec(s):
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    h, p, _ = token.split(".")
    return dec(h), dec(p)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hidden_fields(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def html_unescape(s):
    import html
    return html.unescape(s)


def raw_request(host, port, data, timeout=10):
    """Sends bytes as they are and returns the raw answer (status line first)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
                if b"\r\n\r\n" in b"".join(chunks):
                    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                    m = re.search(rb"Content-Length: (\d+)", head, re.I)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except socket.timeout:
            pass
        return b"".join(chunks)
