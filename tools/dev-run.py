#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs tesserad in development mode; started by tools/dev."""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import tessera_env  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description="Run tessera in development mode.")
    parser.add_argument("--dir", default=os.path.join(tessera_env.REPO, ".dev"),
                        help="where state, sockets and logs live (default: .dev in the source tree)")
    parser.add_argument("--tenant", default="acme", help="the host's default tenant (default: acme)")
    parser.add_argument("--http", default="127.0.0.1:8080",
                        help="where the HTTP server listens (default: 127.0.0.1:8080; port 0 picks a free one)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()

    # Mail goes into a folder, never to the world: each one an .eml file.
    mail_dir = os.path.join(os.path.abspath(args.dir), "mail")
    env = tessera_env.Tessera(directory=args.dir, default_tenant=args.tenant, log_level=args.log_level,
                              http_listen=args.http,
                              config_extra=f"[mail]\nfrom = noreply@tessera.test\noutbox_directory = {mail_dir}\n"
                                           "[auth]\nopen_signup = yes\n")
    stop = []
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        env.start_bus()
        env.start_daemon(output=sys.stderr)
        ctl = os.path.relpath(tessera_env.binary("tesseractl"))
        # Not installed in development: tesseractl is told where it was built.
        copy = os.path.relpath(os.path.join(tessera_env.BUILD, "daemon", "tessera-store-copy"))
        print(f"""
tessera is running in development mode.

  state      {env.state_dir}  (SQLite database tessera.db)
  runtime    {env.runtime_dir}
  bus        unix:path={env.bus_socket}
  HTTP       {env.base_url}  (issuer of tenant {args.tenant}: {env.issuer(args.tenant)})
  config     {env.config_path}
  mail       {mail_dir}/  (each mail an .eml file; nothing is sent)

In another terminal:

  export DBUS_SYSTEM_BUS_ADDRESS=unix:path={env.bus_socket}
  {ctl} tenant create {args.tenant}
  {ctl} user add alice@{args.tenant} --real-name "Alice Liddell"
  {ctl} user show alice
  busctl --system call org.tessera.Identity1 /org/tessera/Identity1 org.tessera.Identity1.Manager ListTenants
  busctl --system tree org.tessera.Identity1
  curl {env.issuer(args.tenant)}/.well-known/openid-configuration
  {ctl} mail test you@example.com      # then open the newest .eml in {os.path.relpath(mail_dir)}/

Once stopped, its database moves into an empty PostgreSQL database with
  TESSERACTL_STORE_COPY={copy} \\
        {ctl} store migrate-to postgresql URL --config {os.path.relpath(env.config_path)}

Press Ctrl-C to stop.
""", flush=True)
        while not stop and env.daemon.poll() is None:
            signal.pause()
        if env.daemon.poll() is not None and not stop:
            print(f"tesserad exited with status {env.daemon.returncode}.", file=sys.stderr)
            return 1
        print("\nStopping...", file=sys.stderr)
        code = env.stop_daemon()
        print(f"tesserad stopped (exit status {code}).", file=sys.stderr)
        return 0
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
