# SPDX-License-Identifier: LGPL-2.1-or-later
"""Building tessera's packages from a clean copy of the checkout, and a
fresh Debian root booted with systemd to install them in.

The root is made by mmdebstrap from Debian's archive (the mirrors this
machine's apt uses), and booted with systemd-nspawn on a private network:
systemd is PID 1 in there, so the packages' maintainer scripts, the units,
their sandbox, the socket units and D-Bus activation all run for real.
The packages' dependencies are downloaded into the root's apt cache while
it is made, so that `apt-get install ./*.deb` works inside without a
network. Every process started here is stopped by its pid."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = "bookworm"
BOOT_TIMEOUT = 120
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class PackageTestError(RuntimeError):
    pass


def missing_tools(*tools):
    return [t for t in tools if not shutil.which(t)]


def run(argv, timeout=900, check=True, log=None, **kw):
    """Runs argv; its output goes to `log` (a path) when given, else is
    returned. A failure raises with the output's tail."""
    if log:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(argv)}\n")
            f.flush()
            p = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, text=True, **kw)
        if check and p.returncode != 0:
            with open(log) as f:
                tail = f.read()[-4000:]
            raise PackageTestError(f"{argv[0]} failed ({p.returncode}):\n{tail}")
        return p
    p = subprocess.run(argv, capture_output=True, timeout=timeout, text=True, **kw)
    if check and p.returncode != 0:
        raise PackageTestError(f"{argv} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def checkout_files():
    """The files of a clean checkout: what git tracks, and what is new but
    not ignored (so that uncommitted work is built too); no build folders."""
    if os.path.isdir(os.path.join(REPO, ".git")) or os.path.isfile(os.path.join(REPO, ".git")):
        out = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout
        return [f for f in out.decode().split("\0") if f and os.path.lexists(os.path.join(REPO, f))]
    files = []
    for top, dirs, names in os.walk(REPO):
        rel = os.path.relpath(top, REPO)
        dirs[:] = [d for d in dirs if not (rel == "." and (d.startswith("build") or d.startswith(".")))
                   and d != "node_modules"]
        files += [os.path.normpath(os.path.join(rel, n)) for n in names]
    return files


def copy_checkout(dest):
    for rel in checkout_files():
        src, dst = os.path.join(REPO, rel), os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


def changelog_version(source_dir=REPO):
    return run(["dpkg-parsechangelog", "-l", os.path.join(source_dir, "debian", "changelog"), "-S", "Version"]) \
        .stdout.strip()


def set_version(source_dir, deb_version, upstream_version):
    """Gives a copy of the tree another version: the top changelog entry's
    and meson's (which tesserad reports on the bus)."""
    path = os.path.join(source_dir, "debian", "changelog")
    with open(path) as f:
        text = f.read()
    text = re.sub(r"^(\S+) \([^)]*\)", lambda m: f"{m.group(1)} ({deb_version})", text, count=1)
    with open(path, "w") as f:
        f.write(text)
    path = os.path.join(source_dir, "meson.build")
    with open(path) as f:
        text = f.read()
    text, n = re.subn(r"(version\s*:\s*)'[^']*'", lambda m: f"{m.group(1)}'{upstream_version}'", text, count=1)
    if n != 1:
        raise PackageTestError("no project version in meson.build")
    with open(path, "w") as f:
        f.write(text)


def build_debs(workdir, name="tessera", version=None, upstream_version=None, log=None):
    """dpkg-buildpackage -us -uc -b in a clean copy of the checkout; returns
    {package: path of its .deb} (debug symbol packages left out)."""
    top = os.path.join(workdir, name)
    src = os.path.join(top, "tessera")
    os.makedirs(src)
    copy_checkout(src)
    if version:
        set_version(src, version, upstream_version or version)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2", LC_ALL="C.UTF-8")
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, log=log, timeout=1800)
    debs = {}
    for f in os.listdir(top):
        m = re.match(r"^([a-z0-9.+-]+)_[^_]+_[a-z0-9]+\.deb$", f)
        if m and not m.group(1).endswith("-dbgsym"):
            debs[m.group(1)] = os.path.join(top, f)
    changes = [os.path.join(top, f) for f in os.listdir(top) if f.endswith(".changes")]
    return debs, changes[0] if changes else None


def apt_sources():
    """The deb822 sources of this machine's apt for Debian's archive, for
    mmdebstrap; None: mmdebstrap's default mirror."""
    path = "/etc/apt/sources.list.d/debian.sources"
    return path if os.path.exists(path) else None


def make_root(root, include, debs_dir, resolve, log=None):
    """A fresh Debian root (mmdebstrap --variant=apt plus `include`), with
    the folder debs_dir copied to /root/debs and the dependencies of the
    packages `resolve` (paths relative to it) in apt's cache."""
    cmd = ["mmdebstrap", "--variant=apt", "--include=" + ",".join(include),
           # Keep apt's lists and cache: the packages' dependencies go there.
           "--skip=cleanup/apt",
           "--customize-hook=mkdir -p \"$1/root/debs\"",
           "--customize-hook=sync-in " + debs_dir + " /root/debs",
           # Resolved as the real installation will be, downloaded now:
           # recommends too (mmdebstrap's own apt leaves them out, the
           # booted root's apt installs them: cracklib-runtime's wordlist).
           "--customize-hook=chroot \"$1\" sh -c 'cd /root/debs && apt-get install --download-only -y -q "
           "-o APT::Install-Recommends=true "
           + " ".join("./" + d for d in resolve) + "'",
           SUITE, root]
    sources = apt_sources()
    if sources:
        cmd.append(sources)
    run(cmd, log=log, timeout=1200)


class Container:
    """A Debian root booted with systemd-nspawn: systemd as PID 1, a
    private network (its own loopback), commands run inside with nsenter."""

    def __init__(self, root, log):
        self.root = root
        self.log = log
        self.proc = None
        self.leader = None

    def boot(self):
        notify_dir = tempfile.mkdtemp(prefix="tessera-nspawn-")
        notify_path = os.path.join(notify_dir, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        notify.bind(notify_path)
        try:
            # nspawn tells its manager the container's init (X_NSPAWN_LEADER_PID)
            # and, with --notify-ready, READY=1 once that init finished booting.
            with open(self.log, "a") as log:
                self.proc = subprocess.Popen(
                    ["systemd-nspawn", "--quiet", "--directory", self.root, "--machine", "tessera-pkgtest",
                     "--register=no", "--keep-unit", "--private-network", "--console=passive",
                     "--link-journal=no", "--resolv-conf=off", "--timezone=off", "--notify-ready=yes", "--boot"],
                    env=dict(os.environ, NOTIFY_SOCKET=notify_path), stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            deadline = time.monotonic() + BOOT_TIMEOUT
            notify.settimeout(0.5)
            ready = False
            while not ready:
                if time.monotonic() > deadline:
                    raise PackageTestError("the container did not boot in time; see " + self.log)
                if self.proc.poll() is not None:
                    raise PackageTestError(f"systemd-nspawn exited with {self.proc.returncode}; see {self.log}")
                try:
                    msg = notify.recv(4096).decode(errors="replace")
                except socket.timeout:
                    continue
                for line in msg.split("\n"):
                    if line.startswith("X_NSPAWN_LEADER_PID="):
                        self.leader = int(line.split("=", 1)[1])
                    if line == "READY=1":
                        ready = True
            if not self.leader:
                raise PackageTestError("systemd-nspawn did not say which process is the container's init")
        finally:
            notify.close()
            shutil.rmtree(notify_dir, ignore_errors=True)

    def run(self, argv, input=None, check=True, timeout=300, user=None):
        """Runs argv inside, as root or as `user` (a name, through runuser),
        with a clean environment."""
        if user:
            argv = ["runuser", "-u", user, "--", *argv]
        cmd = ["nsenter", "--target", str(self.leader), "--all", "--root", "--wd", "--",
               "env", "-i", f"PATH={PATH}", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", *argv]
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        with open(self.log, "a") as f:
            f.write(f"# {' '.join(argv)}\n{p.stdout}{p.stderr}# exit {p.returncode}\n")
        if check and p.returncode != 0:
            raise PackageTestError(f"in the container: {argv} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def sh(self, script, **kw):
        return self.run(["sh", "-ec", script], **kw)

    def path(self, inside):
        """The host's path of a file in the container."""
        return os.path.join(self.root, inside.lstrip("/"))

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            # SIGTERM: nspawn asks the container's systemd to power off.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
