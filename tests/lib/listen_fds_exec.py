#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs a program with listening sockets handed over the way systemd hands
over a socket unit's (sd_listen_fds(3)): the descriptors from 3 on, and
LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (this process's pid, which the
program keeps, since we exec it) in its environment.

    listen_fds_exec.py NAME=FD [NAME=FD ...] -- PROGRAM [ARGS ...]

FD is a descriptor this process inherited; NAME is what the unit's
FileDescriptorName= would say ("-" for none: systemd then says "unknown",
and we leave LISTEN_FDNAMES out)."""

import fcntl
import os
import sys


def main(argv):
    try:
        split = argv.index("--")
    except ValueError:
        sys.exit("usage: listen_fds_exec.py NAME=FD ... -- PROGRAM [ARGS ...]")
    specs, program = argv[:split], argv[split + 1:]
    if not program:
        sys.exit("listen_fds_exec.py: no program")
    names, fds = [], []
    for spec in specs:
        name, _, fd = spec.partition("=")
        names.append(name)
        fds.append(int(fd))
    # Out of the way first (copies above all of them), so that moving one
    # onto 3, 4, ... never overwrites another still to be moved.
    floor = max(fds + [2]) + 1 + len(fds)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor) for fd in fds]
    for fd in fds:
        os.close(fd)
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i, inheritable=True)
        os.close(fd)
    env = dict(os.environ)
    env["LISTEN_FDS"] = str(len(fds))
    env["LISTEN_PID"] = str(os.getpid())
    if all(n == "-" for n in names):
        env.pop("LISTEN_FDNAMES", None)
    else:
        env["LISTEN_FDNAMES"] = ":".join("unknown" if n == "-" else n for n in names)
    os.execve(program[0], program, env)


if __name__ == "__main__":
    main(sys.argv[1:])
