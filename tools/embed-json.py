#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Build step: embed a JSON document in the daemon as a C string.

    embed-json.py INPUT OUTPUT SYMBOL

Writes OUTPUT, a C file defining `const char SYMBOL[]` (the document,
compacted) and `const size_t SYMBOL_len`. A document that is not valid JSON
fails the build, with the line and column."""

import json
import sys


def c_char(b):
    """One byte inside a C string literal: printable ASCII as it is, the
    rest as a three-digit octal escape (which never runs into a digit)."""
    if b in (0x22, 0x5c):
        return "\\" + chr(b)
    if 32 <= b < 127:
        return chr(b)
    return f"\\{b:03o}"


def main():
    src, out, symbol = sys.argv[1:4]
    with open(src, encoding="utf-8") as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as e:
            sys.exit(f"{src}:{e.lineno}:{e.colno}: {e.msg}")
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    lines = [f"/* Generated from {src.split('/')[-1]} by tools/embed-json.py; do not edit. */",
             "#include <stddef.h>", "",
             f"extern const char {symbol}[];", f"extern const size_t {symbol}_len;", "",
             f"const char {symbol}[] ="]
    for i in range(0, len(text), 96):
        chunk = text[i:i + 96]
        lines.append('        "' + "".join(c_char(b) for b in chunk) + '"')
    lines[-1] += ";"
    lines.append(f"const size_t {symbol}_len = {len(text)};")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
