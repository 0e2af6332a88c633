# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private tessera installation for tests and development.

Starts a dbus-daemon with a system-bus-like policy (our policy file
included), and the real tesserad on it with its state in a folder of its
own. Readiness comes from the processes themselves: dbus-daemon prints its
address, tesserad sends READY=1 over $NOTIFY_SOCKET. Every process started
here is stopped by its pid.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TESSERA_BUILD_DIR") or os.path.join(REPO, "build")

LISTEN_FDS_EXEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "listen_fds_exec.py")

NOBODY = 65534
PG_BINDIR = os.environ.get("TESSERA_PG_BINDIR", "/usr/lib/postgresql/15/bin")
_pg_databases = 0
START_TIMEOUT = 30.0   # generous for sanitizer builds on a loaded 2-core machine


def binary(name):
    """Path of a built program: tesserad, tesseractl, ..."""
    for sub in (".", "cli"):
        path = os.path.join(BUILD, sub, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{name} not built in {BUILD}")


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- A private bus with the default policy of Debian's system bus: nobody
     owns names or calls methods unless a policy file allows it. -->
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <include>{policy}</include>
{owner_policy}
</busconfig>
"""

# When not run as root, the policy file's <policy user="root"> doesn't
# apply to the daemon: let the developer's own user stand in for root.
OWNER_POLICY = """  <policy user="{user}">
    <allow own="org.tessera.Identity1"/>
    <allow send_destination="org.tessera.Identity1"/>
  </policy>"""


class TesseraError(RuntimeError):
    pass


def check_sanitizers(what, output):
    """In sanitizer builds a report fails the test, even when the program
    went on (UBSan) or the test did not look at its exit code."""
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        if marker in output:
            raise TesseraError(f"{what}: sanitizer report:\n{output}")


class Tessera:
    """A private bus and tesserad. Use as a context manager, or call
    start() and close() yourself."""

    def __init__(self, directory=None, default_tenant="acme", tenants=(), config_extra="",
                 daemon_extra="", log_level="info", keep=False, bus_users=(), http_listen="127.0.0.1:0",
                 http_extra="", nofile=None, store_url=None):
        if directory is None:
            directory = tempfile.mkdtemp(prefix="tessera-test-")
            self.owned_dir = not keep
        else:
            os.makedirs(directory, exist_ok=True)
            self.owned_dir = False
        self.dir = os.path.abspath(directory)
        # Unprivileged test callers (setpriv to nobody) must reach the
        # sockets in here; the state directory inside stays 0700.
        os.chmod(self.dir, 0o755)
        self.state_dir = os.path.join(self.dir, "state")
        self.runtime_dir = os.path.join(self.dir, "run")
        self.bus_socket = os.path.join(self.dir, "bus", "system_bus_socket")
        self.config_path = os.path.join(self.dir, "tesserad.conf")
        self.bus_config_path = os.path.join(self.dir, "bus.conf")
        self.log_path = os.path.join(self.dir, "tesserad.log")
        self.default_tenant = default_tenant
        self.tenants = list(tenants)
        # (name, uid) of accounts the bus must resolve besides the local
        # ones: dbus-daemon refuses peers whose uid it can't look up, and on
        # a host it would find tessera's users through NSS.
        self.bus_users = list(bus_users)
        self.config_extra = config_extra    # INI text after the [host] section
        self.daemon_extra = daemon_extra    # lines for the [daemon] section
        self.log_level = log_level
        self.bus_proc = None
        self.daemon = None
        self.bus_address = None
        # Port 0: the daemon binds a free port and says which in its READY
        # notification; later starts keep that port, so issuers stay put.
        self.http_listen = http_listen
        self.http_extra = http_extra
        # The descriptor limit (soft and hard) tesserad starts with, as
        # LimitNOFILE= in its unit sets it; None: ours.
        self.nofile = nofile
        self.http_port = None
        # PostgreSQL: the URL of this instance's database; None: SQLite.
        self.store_url = store_url
        self.owned_database = None
        if store_url is None and os.environ.get("TESSERA_TEST_STORE_URL"):
            self.store_url, self.owned_database = create_pg_database(os.environ["TESSERA_TEST_STORE_URL"])

    @property
    def nss_socket(self):
        """The lookup socket of libnss_tessera.so.2 ($TESSERA_NSS_SOCKET for it)."""
        return os.path.join(self.runtime_dir, "nss.sock")

    # -- set-up ---------------------------------------------------------

    def write_configs(self):
        os.makedirs(os.path.dirname(self.bus_socket), exist_ok=True)
        os.chmod(os.path.dirname(self.bus_socket), 0o755)
        owner = ""
        if os.geteuid() != 0:
            owner = OWNER_POLICY.format(user=pwd.getpwuid(os.geteuid()).pw_name)
        with open(self.bus_config_path, "w") as f:
            f.write(BUS_CONFIG.format(socket=self.bus_socket,
                                      policy=os.path.join(REPO, "dbus", "org.tessera.Identity1.conf"),
                                      owner_policy=owner))
        with open(self.config_path, "w") as f:
            f.write(self.config_text())

    def config_text(self):
        host = ""
        if self.default_tenant:
            host += f"default_tenant = {self.default_tenant}\n"
        if self.tenants:
            host += "tenants = " + ", ".join(self.tenants) + "\n"
        return (f"[daemon]\n"
                f"state_directory = {self.state_dir}\n"
                f"runtime_directory = {self.runtime_dir}\n"
                f"bus_address = {self.bus_address or 'unix:path=' + self.bus_socket}\n"
                f"log_level = {self.log_level}\n"
                f"{self.daemon_extra}"
                f"{self.store_text()}"
                f"[host]\n{host}"
                f"[http]\nlisten = {self.http_listen or ''}\n{self.http_extra}"
                f"{self.config_extra}")

    def store_text(self):
        if not self.store_url:
            return ""
        return f"[store]\nbackend = postgresql\nurl = {self.store_url}\n"

    def env(self, extra=None):
        env = dict(os.environ)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address or f"unix:path={self.bus_socket}"
        env.pop("NOTIFY_SOCKET", None)
        if extra:
            env.update(extra)
        return env

    def bus_env(self):
        """The bus daemon's environment: nss_wrapper with the local accounts
        plus bus_users, when there are any."""
        if not self.bus_users:
            return None
        passwd, group = os.path.join(self.dir, "bus-passwd"), os.path.join(self.dir, "bus-group")
        with open("/etc/passwd") as src, open(passwd, "w") as f:
            f.write(src.read())
            for name, uid in self.bus_users:
                f.write(f"{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n")
        with open("/etc/group") as src, open(group, "w") as f:
            f.write(src.read())
            for name, uid in self.bus_users:
                f.write(f"{name}:x:{uid}:\n")
        env = dict(os.environ, LD_PRELOAD=nss_wrapper_library(), NSS_WRAPPER_PASSWD=passwd,
                   NSS_WRAPPER_GROUP=group)
        return env

    def start_bus(self):
        self.write_configs()
        self.bus_proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={self.bus_config_path}", "--nofork", "--nopidfile",
             "--print-address"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, "dbus.log"), "w"),
            text=True, start_new_session=True, env=self.bus_env())
        # dbus-daemon prints its address once it listens: that is readiness.
        line = self.bus_proc.stdout.readline().strip()
        if not line:
            raise TesseraError("dbus-daemon did not start; see " + os.path.join(self.dir, "dbus.log"))
        self.bus_address = line

    def start_daemon(self, extra_args=(), env=None, output=None, listen_fds=None):
        """Starts tesserad and waits for READY=1 on a notify socket. Its log
        goes to tesserad.log, or to the file object `output`. listen_fds,
        a list of (name, socket), are handed over as systemd hands over
        socket units' sockets (name None: no FileDescriptorName=)."""
        with open(self.config_path, "w") as f:
            f.write(self.config_text())
        notify_path = os.path.join(self.dir, "notify.sock")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        notify.bind(notify_path)
        try:
            daemon_env = self.env(env)
            daemon_env["NOTIFY_SOCKET"] = notify_path
            log = output or open(self.log_path, "a")
            # A session of its own: a Ctrl-C in the terminal reaches only us,
            # and we stop the daemon in order.
            argv = [binary("tesserad"), "--config", self.config_path, "--log-target", "console", *extra_args]
            pass_fds = ()
            if listen_fds:
                # The launcher execs too: the pid is tesserad's, as LISTEN_PID says.
                argv = [sys.executable, LISTEN_FDS_EXEC, *(f"{name or '-'}={s.fileno()}" for name, s in listen_fds),
                        "--", *argv]
                pass_fds = tuple(s.fileno() for _, s in listen_fds)
            if self.nofile:
                # prlimit sets the limit and execs: the pid is tesserad's.
                argv = ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--", *argv]
            self.daemon = subprocess.Popen(
                argv,
                env=daemon_env, stdout=log, stderr=log, start_new_session=True, pass_fds=pass_fds)
            if not output:
                log.close()
            self.wait_ready(notify)
        finally:
            notify.close()
            os.unlink(notify_path)

    def wait_ready(self, notify):
        deadline = time.monotonic() + START_TIMEOUT
        notify.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                msg = notify.recv(4096).decode(errors="replace")
            except socket.timeout:
                if self.daemon.poll() is not None:
                    raise TesseraError(f"tesserad exited with {self.daemon.returncode}:\n" + self.log())
                continue
            lines = msg.split("\n")
            for line in lines:
                if line.startswith("HTTP_PORT="):
                    self.http_port = int(line[len("HTTP_PORT="):])
                    if self.http_listen and self.http_listen.endswith(":0"):
                        self.http_listen = self.http_listen[:-2] + f":{self.http_port}"
            if "READY=1" in lines:
                return
        raise TesseraError("tesserad did not become ready:\n" + self.log())

    def start(self):
        # Whatever started before a failure is stopped here: a caller whose
        # set-up raised never gets to call close().
        try:
            self.start_bus()
            self.start_daemon()
        except BaseException:
            self.close()
            raise
        return self

    # -- stopping ---------------------------------------------------------

    def stop_daemon(self, sig=signal.SIGTERM, timeout=20.0):
        """Stops tesserad by its pid; returns its exit code."""
        if not self.daemon:
            return None
        if self.daemon.poll() is None:
            self.daemon.send_signal(sig)
            try:
                self.daemon.wait(timeout)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
                raise TesseraError("tesserad did not stop on " + signal.Signals(sig).name)
        code = self.daemon.returncode
        self.daemon = None
        return code

    def kill_daemon(self):
        return self.stop_daemon(signal.SIGKILL)

    def restart_daemon(self):
        self.stop_daemon()
        self.start_daemon()

    def close(self):
        try:
            self.stop_daemon()
            check_sanitizers("tesserad", self.log())
        finally:
            if self.bus_proc and self.bus_proc.poll() is None:
                self.bus_proc.terminate()
                self.bus_proc.wait(10)
            if self.bus_proc and self.bus_proc.stdout:
                self.bus_proc.stdout.close()
            self.bus_proc = None
            if self.owned_database:
                drop_pg_database(self.store_url, self.owned_database)
                self.owned_database = None
            if self.owned_dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- talking to it ------------------------------------------------------

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def run(self, argv, input=None, user=None, check=False, env=None, timeout=60):
        """Runs argv against this installation, as `user` (a uid) if given,
        through setpriv. Returns the CompletedProcess."""
        if user is not None:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
        p = subprocess.run(argv, input=input, capture_output=True, text=True, env=self.env(env),
                           timeout=timeout)
        check_sanitizers(argv[0], p.stderr)
        if check and p.returncode != 0:
            raise TesseraError(f"{argv} failed with {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    @property
    def base_url(self):
        """The HTTP server's base URL (issuers are {base_url}/t/{tenant})."""
        if not self.http_port:
            raise TesseraError("tesserad runs no HTTP server")
        scheme = "https" if "certificate" in self.http_extra else "http"
        host = self.http_listen.rsplit(":", 1)[0]
        return f"{scheme}://{host}:{self.http_port}"

    def issuer(self, tenant=None):
        return f"{self.base_url}/t/{tenant or self.default_tenant}"

    def ctl(self, *args, **kw):
        return self.run([binary("tesseractl"), *args], **kw)

    @staticmethod
    def ctl_path():
        return binary("tesseractl")

    def busctl(self, *args, **kw):
        return self.run(["busctl", "--system", *args], **kw)

    def gdbus(self, path, method, *args, **kw):
        """Calls a method with gdbus (arguments in GVariant text form), which
        prints error names as they are: "GDBus.Error:org.tessera...NotFound"."""
        return self.run(["gdbus", "call", "--system", "--dest", "org.tessera.Identity1", "--object-path", path,
                         "--method", method, *args], **kw)

    @property
    def pam_socket(self):
        """The authentication socket pam_tessera.so talks to."""
        return os.path.join(self.runtime_dir, "pam.sock")

    def sqlite(self, sql):
        """Reads the daemon's database directly (WAL lets us read while it
        runs); on PostgreSQL with psql, rows in the same form."""
        if self.store_url:
            return pg_query(self.store_url, sql)
        p = subprocess.run(["sqlite3", "-readonly", os.path.join(self.state_dir, "tessera.db"), sql],
                           capture_output=True, text=True, check=True)
        return [line.split("|") for line in p.stdout.splitlines()]

    def sql_hex(self, column):
        """SQL for a blob column in upper-case hex, in the running
        backend's dialect (SQLite's hex(), PostgreSQL's encode())."""
        return f"upper(encode({column}, 'hex'))" if self.store_url else f"hex({column})"

    def db_write(self, sql):
        """A change behind the daemon's back (to make a token old, say):
        SQL common to both dialects, on the database the daemon runs on,
        waiting out the daemon's own writes."""
        if self.store_url:
            pg_query(self.store_url, sql)
            return
        subprocess.run(["sqlite3", "-cmd", ".timeout 10000", os.path.join(self.state_dir, "tessera.db"), sql],
                       check=True, capture_output=True)


def _pg_url_with_database(url, database):
    parts = urllib.parse.urlsplit(url)
    # By hand: urlunsplit() drops the "//" of an empty host (a socket's).
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}/{urllib.parse.quote(database)}{query}"


def pg_query(url, sql):
    """Runs sql on the database of url with psql; rows as lists of columns."""
    p = subprocess.run([os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
                        "-d", url, "-c", sql], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise TesseraError(f"psql: {sql}: {p.stderr}")
    return [line.split("|") for line in p.stdout.splitlines()]


def create_pg_database(server_url):
    """A new, empty database on the server of server_url (a URL of the
    form tests/lib/pg_server.py prints); returns its URL and name."""
    global _pg_databases
    _pg_databases += 1
    name = f"tessera_{os.getpid()}_{_pg_databases}"
    pg_query(server_url, f'CREATE DATABASE "{name}"')
    return _pg_url_with_database(server_url, name), name


def drop_pg_database(url, name):
    server_url = _pg_url_with_database(url, "postgres")
    pg_query(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def nss_wrapper_library():
    """libnss_wrapper.so from Debian's libnss-wrapper."""
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        path = os.path.join(d, "libnss_wrapper.so")
        if os.path.exists(path):
            return path
    p = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if "libnss_wrapper.so" in line:
            return line.split("=>")[-1].strip()
    raise FileNotFoundError("libnss_wrapper.so not found: install libnss-wrapper")


def built_module(name):
    """Path of a built PAM or NSS module: pam_tessera.so, ..."""
    for sub in ("pam_module", "nss_module"):
        path = os.path.abspath(os.path.join(BUILD, sub, name))
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{name} not built in {BUILD}")


def pam_wrapper_library():
    """libpam_wrapper.so from Debian's libpam-wrapper."""
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        path = os.path.join(d, "libpam_wrapper.so")
        if os.path.exists(path):
            return path
    raise FileNotFoundError("libpam_wrapper.so not found: install libpam-wrapper")


def pam_wrapper_modules():
    """The directory of pam_wrapper's test modules (pam_set_items.so, ...)."""
    return os.path.join(os.path.dirname(pam_wrapper_library()), "pam_wrapper")


class PamServices:
    """PAM service files in a folder of their own, and pamtester running
    them through pam_wrapper, so that nothing in /etc/pam.d is touched. In
    service lines, {module} stands for the built pam_tessera.so, {socket}
    for the daemon's authentication socket, {wrapper} for pam_wrapper's
    module directory."""

    def __init__(self, tessera):
        self.t = tessera
        self.dir = os.path.join(tessera.dir, "pam.d")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)

    def add(self, name, *lines):
        text = "\n".join(lines).format(module=built_module("pam_tessera.so"), socket=self.t.pam_socket,
                                       wrapper=pam_wrapper_modules())
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o644)
        return name

    def env(self, extra=None):
        env = {"PAM_WRAPPER": "1", "LD_PRELOAD": pam_wrapper_library(), "PAM_WRAPPER_SERVICE_DIR": self.dir,
               "PAM_WRAPPER_DEBUGLEVEL": "2"}
        if extra:
            env.update(extra)
        return env

    def pamtester(self, service, user, *operations, input="", items=(), uid=None, env=None, timeout=60):
        """Runs pamtester; answers to prompts come from input, one a line.
        items: ("rhost=192.0.2.1", "tty=pts/7") for pamtester -I."""
        argv = ["pamtester", "-v"]
        for item in items:
            argv += ["-I", item]
        argv += [service, user, *operations]
        return self.t.run(argv, input=input, user=uid, env=self.env(env), timeout=timeout)


def require_root(testcase):
    """Skips a unittest.TestCase method's class when not root, saying why."""
    if os.geteuid() != 0:
        testcase.skipTest("needs root (setpriv to another uid, private mount namespaces)")
