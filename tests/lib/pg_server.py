#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real PostgreSQL 15 server for tests, started and stopped by the test.

PgServer runs Debian's postgresql-15 binaries directly: initdb in a private
temporary folder, the postmaster as our own child, listening only on a Unix
socket in that folder (listen_addresses = ''), so that nothing else on the
machine can reach it and every test gets its own. The server never runs as
root (it refuses to): when the tests run as root, the folder is handed to an
unprivileged user ("postgres", which the package creates, else "nobody") and
the server is started as that user with setpriv. Readiness is the "ready"
status line the postmaster writes into postmaster.pid; it is stopped by its
pid (SIGINT: a fast shutdown, which rolls back open transactions).

fsync is off: the tests kill servers (SIGKILL) but never the machine, and
what a killed process wrote is in the page cache. The failover test relies
on replication for durability, not on the disk.

A standby (PgServer.standby()) is a streaming replica made with
pg_basebackup -R; the primary can make it synchronous
(set_synchronous_standby()) and the test can promote it.

As a command, for shell tests and by hand:

    pg_server.py run [--database NAME] -- COMMAND ARGS...
        starts a server, creates the database (default "tessera"), runs
        COMMAND with TESSERA_TEST_STORE_URL, PGHOST and PGUSER set, stops
        the server and exits with COMMAND's status.
    pg_server.py start [--database NAME]
        starts a server that outlives the command and prints shell
        exports for eval (TESSERA_PG_DIR, TESSERA_PG_PID, TESSERA_TEST_STORE_URL,
        PGHOST, PGUSER); stop it with:
    pg_server.py stop DIR
"""

import argparse
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

PG_BINDIR = os.environ.get("TESSERA_PG_BINDIR", "/usr/lib/postgresql/15/bin")
SUPERUSER = "tessera"
# Only the name of the socket file depends on it: nothing listens on TCP.
PORT = 5432
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


class PgServerError(RuntimeError):
    pass


def available():
    """None when a server can be started here, else why not (for a skip)."""
    for prog in ("initdb", "postgres", "pg_basebackup", "pg_ctl"):
        if not os.access(os.path.join(PG_BINDIR, prog), os.X_OK):
            return f"{PG_BINDIR}/{prog} is missing (apt-get install postgresql-15)"
    if os.geteuid() == 0 and _unprivileged_user() is None:
        return "no unprivileged user to run PostgreSQL as (postgres or nobody)"
    return None


def _unprivileged_user():
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes; /proc says which.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class PgServer:
    """One PostgreSQL server in its own temporary folder."""

    def __init__(self, name="primary", settings=None, directory=None):
        self.name = name
        self.settings = dict(settings or {})
        self.user = _unprivileged_user() if os.geteuid() == 0 else None
        # Our own folder under /tmp (not under the test's folder: that
        # one is private to the test's user, and the server's user must
        # reach its folder). The socket's path must stay short (108 bytes).
        self.dir = directory or tempfile.mkdtemp(prefix=f"tessera-pg-{name}-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = self.dir
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.pid = None
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.dir, 0o700)

    # -- running programs as the server's user --------------------------------

    def _as_user(self, argv):
        if not self.user:
            return list(argv)
        return ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
                "--clear-groups", "--inh-caps=-all", "--"] + list(argv)

    def _env(self):
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        env.pop("PGDATA", None)
        env["HOME"] = self.dir
        return env

    def _run(self, argv, check=True, timeout=120):
        p = subprocess.run(self._as_user(argv), env=self._env(), cwd=self.dir, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise PgServerError(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout}")
        return p

    # -- life cycle -------------------------------------------------------------

    def init(self):
        """initdb: C locale and UTF-8, the same byte order of text as
        SQLite's; trust on the socket, which only we can reach."""
        self._run([os.path.join(PG_BINDIR, "initdb"), "-D", self.data, "-U", SUPERUSER, "-E", "UTF8",
                   "--locale=C", "--auth=trust", "--no-sync", "--no-instructions"])
        self.configure({
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "port": str(PORT),
            "fsync": "off",
            "full_page_writes": "off",
            # Many test databases and several daemons at once.
            "max_connections": "200",
            "shared_buffers": "32MB",
            "max_wal_senders": "4",
            "wal_level": "replica",
            "log_line_prefix": "'%m [%p] %d '",
        })
        self.configure(self.settings)
        return self

    def configure(self, settings):
        """Appends settings to postgresql.conf (they take effect at the
        next start, or reload for those that allow it)."""
        if not settings:
            return
        text = "".join(f"{k} = {v}\n" for k, v in settings.items())
        path = os.path.join(self.data, "postgresql.conf")
        with open(path, "a") as f:
            f.write(text)

    def start(self):
        if self.proc:
            raise PgServerError("already running")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self._as_user([os.path.join(PG_BINDIR, "postgres"), "-D", self.data]),
                                         env=self._env(), cwd=self.dir, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        finally:
            log.close()
        self.pid = self.proc.pid
        self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        """Until postmaster.pid says "ready" (or "standby" for a
        standby that accepts reads), the status pg_ctl waits for."""
        deadline = time.monotonic() + timeout
        pidfile = os.path.join(self.data, "postmaster.pid")
        while True:
            if self.proc and self.proc.poll() is not None:
                raise PgServerError(f"postgres exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with open(pidfile) as f:
                    lines = f.read().split("\n")
                if len(lines) > 7 and int(lines[0]) == self.pid and lines[7].strip() in ("ready", "standby"):
                    return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise PgServerError(f"postgres did not become ready in {timeout} s:\n{self.log()}")
            time.sleep(0.02)

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        """SIGINT: fast shutdown. SIGKILL: a crash, as in the failover
        test (its children, the backends, then stop on their own once
        they see the postmaster gone)."""
        if not self.proc:
            return
        try:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.pid = None

    def kill(self):
        self.stop(sig=signal.SIGKILL)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self.init()
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    # -- clients ------------------------------------------------------------------

    def url(self, database="postgres", **params):
        """A libpq URL for the socket; params are added as query
        parameters (e.g. application_name)."""
        q = {"host": self.socket_dir, "port": str(PORT), "user": SUPERUSER}
        q.update(params)
        return f"postgresql:///{urllib.parse.quote(database)}?{urllib.parse.urlencode(q)}"

    def client_env(self):
        return {"PGHOST": self.socket_dir, "PGPORT": str(PORT), "PGUSER": SUPERUSER}

    def psql(self, sql, database="postgres", check=True):
        """Runs sql with psql; returns its output (unaligned, tuples only)."""
        env = dict(os.environ)
        env.update(self.client_env())
        p = subprocess.run([os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", database, "-c", sql], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        if check and p.returncode != 0:
            raise PgServerError(f"psql: {sql}: {p.stderr}")
        return p.stdout.strip()

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name):
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- replication ----------------------------------------------------------------

    def standby(self, name="standby"):
        """A streaming replica of this (running) server, started; its
        application_name is its name, which set_synchronous_standby()
        takes."""
        s = PgServer(name=name)
        conninfo = f"host={self.socket_dir} port={PORT} user={SUPERUSER} application_name={name}"
        s._run([os.path.join(PG_BINDIR, "pg_basebackup"), "-D", s.data, "-d", conninfo, "-R",
                "-X", "stream", "--no-sync", "-c", "fast"])
        # The copied configuration names the primary's socket folder.
        s.configure({"unix_socket_directories": f"'{s.socket_dir}'", "hot_standby": "on"})
        return s.start()

    def set_synchronous_standby(self, name, timeout=START_TIMEOUT):
        """A commit on this server returns once name has it too. Returns
        once the server says so (pg_stat_replication: sync): the reload
        reaches the walsenders a moment after pg_reload_conf() returns,
        and a commit before that waits for nobody. Call it after
        standby(): ALTER SYSTEM writes postgresql.auto.conf, which a base
        backup taken afterwards would copy, and a promoted standby would
        then wait for itself forever."""
        self.psql(f"ALTER SYSTEM SET synchronous_standby_names = '{name}'")
        self.psql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + timeout
        while self.psql(f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'") != "sync":
            if time.monotonic() > deadline:
                raise PgServerError(f"{name} did not become a synchronous standby in {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def promote(self, timeout=START_TIMEOUT):
        """Promotes this standby and waits until it takes writes."""
        self._run([os.path.join(PG_BINDIR, "pg_ctl"), "promote", "-w", "-t", str(int(timeout)), "-D", self.data])
        if self.psql("SELECT pg_is_in_recovery()") != "f":
            raise PgServerError(f"{self.name} is still in recovery after pg_ctl promote")


# -- the command -------------------------------------------------------------------


def _stop_by_dir(directory, timeout=STOP_TIMEOUT):
    """Stops the server of a folder made by "start", by the pid in its
    postmaster.pid, and removes the folder."""
    pidfile = os.path.join(directory, "data", "postmaster.pid")
    try:
        with open(pidfile) as f:
            pid = int(f.readline())
    except (OSError, ValueError):
        pid = None
    if pid:
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pid = None
        deadline = time.monotonic() + timeout
        while pid and _pid_alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + timeout
            time.sleep(0.05)
    shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start a server, run a command against it, stop it")
    run.add_argument("--database", default="tessera")
    run.add_argument("command", nargs=argparse.REMAINDER)
    start = sub.add_parser("start", help="start a server and print its settings")
    start.add_argument("--database", default="tessera")
    stop = sub.add_parser("stop", help="stop the server a start printed")
    stop.add_argument("dir")
    args = ap.parse_args(argv)

    if args.cmd == "stop":
        if not os.path.exists(os.path.join(args.dir, "data", "PG_VERSION")):
            print(f"pg_server: {args.dir} holds no server", file=sys.stderr)
            return 1
        _stop_by_dir(args.dir)
        return 0

    why = available()
    if why:
        print(f"pg_server: cannot start PostgreSQL: {why}", file=sys.stderr)
        return 77       # meson's "skipped"

    server = PgServer().init().start()
    try:
        url = server.create_database(args.database)
    except Exception:
        server.close()
        raise
    settings = dict(server.client_env(), TESSERA_TEST_STORE_URL=url)

    if args.cmd == "start":
        settings.update(TESSERA_PG_DIR=server.dir, TESSERA_PG_PID=str(server.pid))
        for k, v in settings.items():
            print(f"export {k}={shlex.quote(v)}")
        # The postmaster outlives us; "stop DIR" ends it.
        server.proc = None
        return 0

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        server.close()
        ap.error("run needs a command")
    env = dict(os.environ, **settings)
    try:
        return subprocess.run(command, env=env).returncode
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
