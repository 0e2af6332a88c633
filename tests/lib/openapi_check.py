# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every answer of the JSON API that a test receives is checked against
http/openapi.json (the document the daemon serves at
/api/v1/openapi.json): the operation of its method and path, the response
of its status (or "default"), its JSON against that response's schema. An
answer of a path or method the document does not list must be an error in
the envelope (the router's 404, 405, 400). tests/http/oidc_client.py calls
check() for each /api/v1 answer; a mismatch fails the test there."""

import atexit
import json
import os
import subprocess
import sys
import threading
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCUMENT = os.path.join(REPO, "http", "openapi.json")
VALIDATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi_validator.py")
ERROR_SCHEMA = "#/components/schemas/Error"

_lock = threading.Lock()
_validator = None
_doc = None


def document():
    global _doc
    if _doc is None:
        with open(DOCUMENT, encoding="utf-8") as f:
            _doc = json.load(f)
    return _doc


def python_with_jsonschema():
    """An interpreter that has jsonschema: this one, or Debian's."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if candidate and os.path.exists(candidate):
            p = subprocess.run([candidate, "-c", "import jsonschema"], capture_output=True)
            if p.returncode == 0:
                return candidate
    raise FileNotFoundError("jsonschema not found: install python3-jsonschema (tools/install-deps)")


def _stop():
    global _validator
    if _validator:
        _validator.stdin.close()
        _validator.wait(timeout=10)
        _validator = None


def validate(pointer, instance):
    """What is wrong with instance against the schema at pointer ("" when
    nothing)."""
    global _validator
    with _lock:
        if _validator is None:
            _validator = subprocess.Popen([python_with_jsonschema(), VALIDATOR, DOCUMENT], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True)
            atexit.register(_stop)
        _validator.stdin.write(json.dumps({"pointer": pointer, "instance": instance}) + "\n")
        _validator.stdin.flush()
        line = _validator.stdout.readline()
        if not line:
            raise RuntimeError("the OpenAPI validator stopped")
        return json.loads(line)


def escape(segment):
    """A JSON pointer segment (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")


def operation(method, path):
    """(template, operation) documented for method and path, or (None, None)."""
    # Matched as the router does: a segment compares decoded, and a literal
    # segment wins over a capture (".../auth/oauth/callback" is no provider's
    # name: the route table lists it first).
    segments = [urllib.parse.unquote(s) for s in path.split("/")]
    best, best_literals = (None, None), -1
    for template, item in document()["paths"].items():
        t = template.split("/")
        if len(t) != len(segments):
            continue
        if all(a == b or (a.startswith("{") and a.endswith("}") and b) for a, b in zip(t, segments)):
            op = item.get(method.lower())
            literals = sum(1 for a in t if not a.startswith("{"))
            if op is not None and literals > best_literals:
                best, best_literals = (template, op), literals
    return best


def resolve(obj, pointer):
    """A local reference followed: (its target, the pointer it is at)."""
    while "$ref" in obj:
        pointer = obj["$ref"]
        obj = document()
        for part in pointer[2:].split("/"):
            obj = obj[part.replace("~1", "/").replace("~0", "~")]
    return obj, pointer


def check(method, path, status, content_type, body):
    """Raises AssertionError when the answer is not as documented."""
    path = path.split("?", 1)[0]
    is_json = (content_type or "").split(";")[0].strip() == "application/json"
    template, op = operation(method, path)
    where = f"{method} {path} {status}"
    if op is None:
        # The router's own answers: errors, in the envelope.
        if status < 400:
            raise AssertionError(f"{where}: answered, but openapi.json has no such operation")
        if not is_json:
            raise AssertionError(f"{where}: an error not in the JSON envelope ({content_type})")
        pointer = ERROR_SCHEMA
    else:
        key = str(status) if str(status) in op["responses"] else "default"
        if key not in op["responses"]:
            raise AssertionError(f"{where}: status not documented for {method} {template}")
        base = f"#/paths/{escape(template)}/{method.lower()}/responses/{key}"
        response, base = resolve(op["responses"][key], base)
        content = response.get("content", {})
        if not content:
            if body:
                raise AssertionError(f"{where}: documented without a body, answered {len(body)} bytes")
            return
        media = (content_type or "").split(";")[0].strip()
        if media == "application/x-ndjson" and media in content:
            # JSON lines: each line as the line schema says.
            lines = body.decode("utf-8").split("\n")
            if lines[-1] != "":
                raise AssertionError(f"{where}: JSON lines not ending in a newline")
            pointer = f"{base}/content/application~1x-ndjson/x-tessera-line-schema"
            for n, line in enumerate(lines[:-1]):
                wrong = validate(pointer, json.loads(line))
                if wrong:
                    raise AssertionError(f"{where}: line {n + 1} not as openapi.json says ({pointer}): {wrong}")
            return
        if not is_json or "application/json" not in content:
            raise AssertionError(f"{where}: {content_type}, documented as {sorted(content)}")
        pointer = f"{base}/content/application~1json/schema"
    try:
        instance = json.loads(body)
    except ValueError as e:
        raise AssertionError(f"{where}: not JSON ({e})")
    wrong = validate(pointer, instance)
    if wrong:
        raise AssertionError(f"{where}: not as openapi.json says ({pointer}): {wrong}")
