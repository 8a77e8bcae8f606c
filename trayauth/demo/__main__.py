"""``python -m trayauth.demo [--port N] [--verbose]``: the demo provider in the foreground.

Prints each vendor's base URL with its demo credentials (all fake), then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import threading

from trayauth.demo.server import ProviderServer


def describe(srv: ProviderServer) -> str:
    users = srv.users
    s, e, o, a = users["sensos"], users["senseye"], users["oauth"], users["attentive"]
    t, m = users["sentiance"], users["amino"]
    lines = [
        "trayauth demo provider (fake accounts, safe to share)",
        f"  sentiance  {srv.base_url('sentiance')}  {t['username']} / {t['password']}",
        f"  senseye    {srv.base_url('senseye')}  {e['username']} / {e['password']}",
        f"  sensos     {srv.base_url('sensos')}  tenant {s['tenant_id']}, application {s['application_id']},"
        f" secret {s['application_secret']}",
        f"  attentive  {srv.base_url('attentive')}  API key {a['api_key']};"
        f" OAuth app {a['client_id']} / {a['client_secret']}",
        f"  amino      {srv.base_url('amino')}  {m['username']} / {m['password']}",
        f"  oauth      {srv.issuer}  user {o['username']} / {o['password']}; clients {o['public_client_id']}"
        f" (public), {o['confidential_client_id']} / {o['client_secret']}",
        f"  device codes are approved at {srv.issuer}/device",
        "Ctrl-C stops it.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trayauth.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--verbose", action="store_true", help="log each request's method and path")
    args = parser.parse_args(argv)
    srv = ProviderServer(port=args.port, verbose=args.verbose)
    try:
        srv.start()
    except OSError as exc:
        parser.exit(1, f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}\n")
    print(describe(srv), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
