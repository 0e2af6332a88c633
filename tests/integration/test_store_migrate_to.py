#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tesseractl store migrate-to postgresql URL (daemon/store/store-copy.c,
run through tessera-store-copy): a deployment on SQLite, filled through
the real faces, stopped, copied into a real PostgreSQL 15
(tests/lib/pg_server.py), and started again on the copy with the same
state directory (the sealing key): its users sign in (password, password
and TOTP), its application's client_credentials grant works with the
same signing key, NSS answers with the same IDs, new rows get new ids,
and every table holds as many rows on both sides. The refusals: a
running tesserad, a target that is not empty (left untouched), a URL
that is none, a server that is not there, a password in the URL."""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
import pg_server  # noqa: E402
import tessera_env  # noqa: E402
from tessera_env import Tessera  # noqa: E402
from oidc_client import Client, jwt_parts  # noqa: E402
from test_me_api import PASSWORD, REDIRECT, MeHelpers, totp  # noqa: E402

WHY = pg_server.available()
STORE_COPY = os.path.join(tessera_env.BUILD, "daemon", "tessera-store-copy")
NSS_MODULE = os.path.join(tessera_env.BUILD, "nss_module", "libnss_tessera.so.2")
NSS_PROBE = os.path.join(tessera_env.BUILD, "tests", "nss", "nss-probe")


def nss(t, *args):
    """One lookup through libnss_tessera.so.2 on t's socket, without the
    module's memory cache: the daemon answers."""
    env = dict(os.environ, TESSERA_NSS_SOCKET=t.nss_socket, TESSERA_NSS_CACHE="0", TESSERA_NSS_TIMEOUT_MS="5000")
    env.pop("TESSERA_NSS_BYPASS", None)
    p = subprocess.run([NSS_PROBE, NSS_MODULE, *args], capture_output=True, text=True, env=env, timeout=60)
    return p.stdout.strip()


@unittest.skipIf(WHY, WHY)
class MigrateToTest(MeHelpers, unittest.TestCase):
    def setUp(self):
        # This test makes its own SQLite deployment, whatever the suite's
        # backend.
        os.environ.pop("TESSERA_TEST_STORE_URL", None)
        self.pg = pg_server.PgServer().init().start()
        self.addCleanup(self.pg.close)
        self.url = self.pg.create_database("tessera")

    def migrate(self, t, url=None, *extra):
        argv = [tessera_env.binary("tesseractl"), "--json", "store", "migrate-to", "postgresql", url or self.url,
                "--config", t.config_path, *extra]
        return t.run(argv, env={"TESSERACTL_STORE_COPY": STORE_COPY}, timeout=120)

    def pg_relations(self):
        return int(self.pg.psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE n.nspname = 'public'", database="tessera"))

    def sqlite_count(self, t, table):
        return int(t.sqlite(f"SELECT count(*) FROM {table}")[0][0])

    def test_migrate_and_serve(self):
        self.t = t = Tessera(default_tenant="acme", tenants=["globex"]).start()
        self.addCleanup(t.close)
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("tenant", "create", "globex", check=True)
        for user in ("alice@acme", "bob@acme", "dave@globex"):
            t.ctl("user", "add", user, "--email", user.replace("@", "@mail."), "--password-stdin",
                  input=PASSWORD + "\n", check=True)
        t.ctl("group", "add", "devs@acme", check=True)
        t.ctl("group", "add-member", "devs@acme", "alice", check=True)
        enrolled = json.loads(t.ctl("--json", "user", "totp", "enroll", "bob@acme", check=True).stdout)
        secret = enrolled["secret"]
        t.ctl("user", "totp", "confirm", "bob@acme", totp(secret), check=True)

        def app(*args):
            return json.loads(t.ctl("--json", "app", "create", *args, check=True).stdout)
        self.web = {"acme": app("web@acme", "--first-party", "--redirect-uri", REDIRECT)}
        svc = app("svc@acme", "--grant", "client_credentials")
        # Sign-ins and a token on SQLite: sessions, refresh tokens, a
        # signing key and the audit trail to copy.
        self.sign_in("alice", offline=True)
        kid_before = jwt_parts(self.client_token(svc))[0]["kid"]
        alice_before = nss(t, "getpwnam", "alice")
        self.assertTrue(alice_before.startswith("SUCCESS alice:"), alice_before)

        # Refused while tesserad runs on the database: nothing is created.
        p = self.migrate(t)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("in use: stop tesserad", p.stderr)
        self.assertEqual(self.pg_relations(), 0)

        t.stop_daemon()
        tables = ("tenants", "users", "groups", "group_members", "totp", "backup_codes", "applications",
                  "signing_keys", "oidc_sessions", "refresh_tokens", "audit_events")
        sqlite_counts = {table: self.sqlite_count(t, table) for table in tables}
        for table in tables:
            self.assertGreater(sqlite_counts[table], 0, table)

        p = self.migrate(t)
        self.assertEqual(p.returncode, 0, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["schema_version"], int(t.sqlite("PRAGMA user_version")[0][0]))
        by_table = {r["table"]: r for r in report["tables"]}
        for r in report["tables"]:
            self.assertEqual(r["source_rows"], r["target_rows"], r)
            self.assertTrue(r["checksum_equal"], r)
        for table in tables:
            self.assertEqual(by_table[table]["source_rows"], sqlite_counts[table], table)
            self.assertEqual(int(self.pg.psql(f"SELECT count(*) FROM {table}", database="tessera")),
                             sqlite_counts[table], table)
        self.assertEqual(self.pg.psql("SELECT version FROM tessera_schema", database="tessera"),
                         str(report["schema_version"]))

        # The same deployment on the copy: same state directory (the
        # sealing key of the TOTP secrets and signing keys), PostgreSQL.
        t.store_url = self.url
        t.start_daemon()
        self.assertEqual(t.sqlite("SELECT count(*) FROM users")[0][0], str(sqlite_counts["users"]))
        # Password, then password and TOTP (the secret unsealed with the
        # same key), through the real sign-in form.
        self.assertIn("access_token", self.sign_in("alice"))
        self.assertIn("access_token", self.sign_in("bob", secret=secret))
        # The application's secret and the tenant's signing key came along.
        token = self.client_token(svc)
        self.assertEqual(jwt_parts(token)[0]["kid"], kid_before)
        jwks = {k["kid"] for k in Client(t.base_url).get("/t/acme/jwks").json["keys"]}
        self.assertIn(kid_before, jwks)
        # NSS: the same answer, IDs and all; the group with its member.
        self.assertEqual(nss(t, "getpwnam", "alice"), alice_before)
        self.assertIn("alice", nss(t, "getgrnam", "devs"))
        # The identity sequences moved past the copied ids: new rows fit.
        t.ctl("user", "add", "carol@acme", check=True)
        t.ctl("group", "add", "ops@acme", check=True)
        app("svc2@acme", "--grant", "client_credentials")
        self.assertEqual(t.ctl("user", "show", "carol@acme").returncode, 0)

    def test_refusals(self):
        t = Tessera(default_tenant="acme").start()
        self.addCleanup(t.close)
        t.ctl("tenant", "create", "acme", check=True)
        t.ctl("user", "add", "alice@acme", check=True)
        t.stop_daemon()

        # A database that holds anything is not ours to fill: untouched.
        self.pg.psql("CREATE TABLE keep (x BIGINT); INSERT INTO keep VALUES (42)", database="tessera")
        p = self.migrate(t)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("is not empty", p.stderr)
        self.assertEqual(self.pg.psql("SELECT x FROM keep", database="tessera"), "42")
        self.assertEqual(self.pg.psql("SELECT to_regclass('tessera_schema') IS NULL", database="tessera"), "t")
        self.assertEqual(self.pg.psql("SELECT to_regclass('users') IS NULL", database="tessera"), "t")

        # Not a URL libpq reads; a password in it; a server that is not there.
        p = self.migrate(t, "postgresql://[nonsense")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("is not a PostgreSQL connection URL", p.stderr)
        p = self.migrate(t, "postgresql://tessera:secret@localhost/tessera")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("holds a password", p.stderr)
        self.assertNotIn("secret", p.stderr)
        p = self.migrate(t, f"postgresql:///tessera?host={t.dir}/nothing-here&connect_timeout=2")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Failed to connect", p.stderr)
        # Another backend than postgresql; no database file.
        p = t.run([tessera_env.binary("tesseractl"), "store", "migrate-to", "mysql", self.url],
                  env={"TESSERACTL_STORE_COPY": STORE_COPY})
        self.assertEqual(p.returncode, 2, p.stderr)
        p = self.migrate(t, None, "--database", os.path.join(t.dir, "no-such.db"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no-such.db", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(t.dir, "no-such.db")))
        # The SQLite database was not changed by any of it.
        self.assertEqual(t.sqlite("SELECT name FROM users"), [["alice"]])


if __name__ == "__main__":
    unittest.main()
