#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The layering of the tree, checked from the sources (DESIGN.md, "Layout").

Every C file belongs to a part by where it lives, and may include headers of
the parts listed for it in ALLOWED, nothing else:

  - the client modules and the CLI see lib/ only (nss_module, pam_module,
    cli: never the daemon, which they reach through sockets and the bus);
  - lib/ sees only itself;
  - the core (daemon/core, store, oauth, crypto, mail, metrics, upstream) sees lib/ and itself,
    never a face;
  - each face (dbus/, http/, host/) sees lib/, the core and itself, never
    another face;
  - daemon/main.c, which wires the core to its faces, sees everything.

Of the system headers, sd-bus's belongs to the D-Bus face (and to lib/'s
D-Bus API, the CLI and main()): the core and the other faces keep no bus
type (FORBIDDEN_SYSTEM).

The database is the store's alone, and inside the store its backend's: a
database client library's header belongs to that backend's files
(daemon/store/db-sqlite.*, db-pg.*: BACKEND_SYSTEM), so the store-*.c files
speak db.h only; and db.h, the backends' headers and store-internal.h are
included only inside daemon/store (STORE_PRIVATE), so nothing above the
store sees SQL or a connection.

The build enforces the same with per-target include directories; this
check also catches a path written around them ("../daemon/core/user.h")
and names the offending line. Tests and benchmarks may look at anything.

    tests/layering/check_layers.py [SOURCE_ROOT]     check the tree
    tests/layering/check_layers.py --self-test        prove it catches a breach
"""

import os
import re
import sys
import tempfile
import unittest

PARTS = {
    "lib": "lib",
    "nss_module": "nss_module",
    "pam_module": "pam_module",
    "cli": "cli",
    "daemon/core": "core",
    "daemon/store": "core",
    "daemon/oauth": "core",
    "daemon/crypto": "core",
    "daemon/mail": "core",
    "daemon/metrics": "core",
    "daemon/upstream": "core",
    "daemon/main.c": "main",
    # The offline store copy (tesseractl store migrate-to): lib/ and the core, no face.
    "daemon/tessera-store-copy.c": "core",
    "dbus": "dbus",
    "http": "http",
    "host": "host",
}

ALLOWED = {
    "lib": {"lib"},
    "nss_module": {"lib", "nss_module"},
    "pam_module": {"lib", "pam_module"},
    "cli": {"lib", "cli"},
    "core": {"lib", "core"},
    "dbus": {"lib", "core", "dbus"},
    "http": {"lib", "core", "http"},
    "host": {"lib", "core", "host"},
    "main": {"lib", "core", "dbus", "http", "host", "main"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SYSTEM_INCLUDE = re.compile(r'^\s*#\s*include\s+<([^>]+)>')

FORBIDDEN_SYSTEM = {
    "core": {"systemd/sd-bus.h"},
    "http": {"systemd/sd-bus.h"},
    "host": {"systemd/sd-bus.h"},
}

# A database library's header: the prefix of the files allowed to use it.
BACKEND_SYSTEM = {
    "sqlite3.h": "daemon/store/db-sqlite.",
    "libpq-fe.h": "daemon/store/db-pg.",
}

STORE_PRIVATE = {"db.h", "db-backend.h", "db-sqlite.h", "db-pg.h", "store-internal.h"}


def part_of(rel):
    """The part of a path relative to the source root, or None (tests, ...)."""
    best = None
    for prefix, part in PARTS.items():
        if rel == prefix or rel.startswith(prefix + "/"):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, part)
    return best[1] if best else None


def sources(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not d.startswith("build")
                       and d != "node_modules"]
        for f in filenames:
            if f.endswith((".c", ".h")):
                path = os.path.join(dirpath, f)
                yield os.path.relpath(path, root)


def check(root):
    """Returns a list of breaches, each a line for a person."""
    files = list(sources(root))
    headers = {}
    for rel in files:
        if rel.endswith(".h") and part_of(rel):
            headers.setdefault(os.path.basename(rel), []).append(rel)

    problems = []
    # One header name, one place: include directories resolve bare names,
    # and two headers of one name would make that depend on their order.
    for name, places in sorted(headers.items()):
        if len(places) > 1:
            problems.append(f"{name} exists more than once: {', '.join(sorted(places))}")

    for rel in sorted(files):
        part = part_of(rel)
        if part is None:
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = SYSTEM_INCLUDE.match(line)
                if m and m.group(1) in FORBIDDEN_SYSTEM.get(part, ()):
                    problems.append(f"{rel}:{number}: includes <{m.group(1)}>, which {part} may not use")
                    continue
                if m and m.group(1) in BACKEND_SYSTEM and not rel.startswith(BACKEND_SYSTEM[m.group(1)]):
                    problems.append(f"{rel}:{number}: includes <{m.group(1)}>, which only "
                                    f"{BACKEND_SYSTEM[m.group(1)]}* may use (the rest speaks db.h)")
                    continue
                m = INCLUDE.match(line)
                if not m:
                    continue
                written = m.group(1)
                if os.path.basename(written) in STORE_PRIVATE and not rel.startswith("daemon/store/"):
                    problems.append(f"{rel}:{number}: includes {written}, which only daemon/store may use")
                    continue
                if "/" in written:
                    target = os.path.normpath(os.path.join(os.path.dirname(rel), written))
                    targets = [target] if os.path.exists(os.path.join(root, target)) else []
                else:
                    targets = headers.get(written, [])
                for target in targets:
                    target_part = part_of(target)
                    if target_part and target_part not in ALLOWED[part]:
                        problems.append(f"{rel}:{number}: includes {written} ({target_part}), "
                                        f"but {part} may only use {', '.join(sorted(ALLOWED[part]))}")
    return problems


class SelfTest(unittest.TestCase):
    """The check finds what it must: a tree with each kind of breach."""

    def tree(self, files):
        root = tempfile.mkdtemp(prefix="layers-")
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        return root

    BASE = {
        "lib/macro.h": "",
        "daemon/core/user.h": '#include "macro.h"\n',
        "daemon/core/user.c": '#include "user.h"\n',
        "daemon/store/db.h": "",
        "daemon/store/store-internal.h": '#include "db.h"\n',
        "daemon/store/store-user.c": '#include "store-internal.h"\n',
        "daemon/store/db-sqlite.c": '#include <sqlite3.h>\n#include "db.h"\n',
        "tests/unit/test-store.c": '#include <sqlite3.h>\n#include "store-internal.h"\n',
        "dbus/bus-user.c": '#include "user.h"\n#include "bus-util.h"\n',
        "dbus/bus-util.h": "",
        "http/http-server.h": "",
        "host/pam-server.h": "",
        "daemon/main.c": '#include "bus-util.h"\n#include "http-server.h"\n#include "pam-server.h"\n',
        "nss_module/nss.c": '#include "macro.h"\n',
        "tests/unit/test.c": '#include "user.h"\n#include "bus-util.h"\n',
    }

    def test_clean_tree_passes(self):
        self.assertEqual(check(self.tree(self.BASE)), [])

    def test_breaches_are_found(self):
        cases = {
            "nss module includes the core": ("nss_module/nss.c", '#include "user.h"\n'),
            "cli includes a face": ("cli/cli.c", '#include "bus-util.h"\n'),
            "lib includes the core": ("lib/names.c", '#include "user.h"\n'),
            "core includes a face": ("daemon/core/user.c", '#include "http-server.h"\n'),
            "dbus includes http": ("dbus/bus-user.c", '#include "http-server.h"\n'),
            "http includes dbus": ("http/http-server.c", '#include "bus-util.h"\n'),
            "host includes dbus": ("host/pam-server.c", '#include "bus-util.h"\n'),
            "a path around the include directories": ("pam_module/pam.c", '#include "../daemon/core/user.h"\n'),
            "a header name twice": ("http/user.h", ""),
            "core uses sd-bus": ("daemon/core/user.h", '#include <systemd/sd-bus.h>\n'),
            "a store file uses sqlite": ("daemon/store/store-user.c", '#include <sqlite3.h>\n'),
            "the core uses sqlite": ("daemon/core/user.c", '#include <sqlite3.h>\n'),
            "the core sees db.h": ("daemon/core/user.c", '#include "db.h"\n'),
            "a face sees the store's insides": ("http/http-server.c", '#include "store-internal.h"\n'),
        }
        for what, (rel, text) in cases.items():
            with self.subTest(what):
                files = dict(self.BASE)
                files[rel] = text
                self.assertNotEqual(check(self.tree(files)), [], what)


def main():
    if sys.argv[1:] == ["--self-test"]:
        sys.argv[1:] = []
        unittest.main(defaultTest="SelfTest", verbosity=1)
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} breach(es) of the layering (DESIGN.md, \"Layout\").")
        return 1
    print("The layering holds: no file includes across a forbidden boundary.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
