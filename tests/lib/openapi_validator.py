#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Validates JSON answers against schemas of http/openapi.json, for
openapi_check.py: run by an interpreter that has jsonschema (Debian's
python3-jsonschema), so that the tests' own interpreter needs nothing.

    openapi_validator.py OPENAPI_JSON

Reads lines {"pointer": "#/components/...", "instance": ...} and answers
each with one line: "" when the instance is valid, else what is wrong."""

import json
import sys

import jsonschema


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    validators = {}
    for line in sys.stdin:
        req = json.loads(line)
        pointer = req["pointer"]
        if pointer not in validators:
            # The whole document is the root, so that its "#/components/..."
            # references resolve; its other members are no keywords.
            root = dict(doc, **{"$ref": pointer})
            validators[pointer] = jsonschema.Draft202012Validator(root)
        errors = sorted(validators[pointer].iter_errors(req["instance"]), key=lambda e: list(e.path))
        answer = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:5])
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
