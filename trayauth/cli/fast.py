"""``trayauth token/header`` through a running tray: standard library only.

When the tray runs it holds the tokens in memory and renews them itself, so asking it is both the
fastest path and the one that can never race the tray over a rotating refresh token.
"""

from __future__ import annotations

import sys


def format_output(command: str, token: str) -> str:
    return f"Authorization: Bearer {token}" if command == "header" else token


def via_tray(command: str, name: str) -> int | None:
    """The exit code when the tray answered, None when no tray runs (the caller goes direct)."""
    try:
        from trayauth.client import request_token
        from trayauth.storage.paths import runtime_dir
    except ImportError:
        return None
    try:
        reply = request_token(name, runtime_dir())
    except OSError:
        return None
    if reply is None:
        return None
    if reply.get("ok") and isinstance(reply.get("token"), str):
        warning = reply.get("warning")
        if isinstance(warning, str) and warning:
            print(f"trayauth: warning: {warning}", file=sys.stderr)
        print(format_output(command, reply["token"]))
        return 0
    error = reply.get("error")
    print(
        f"trayauth: {error if isinstance(error, str) else 'the tray could not give a token'}", file=sys.stderr
    )
    code = reply.get("exit_code")
    return code if isinstance(code, int) and code > 0 else 1
