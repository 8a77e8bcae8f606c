"""Ask a running tray (or an agent forwarded over SSH) for a token: standard library only.

This runs before every ``curl`` in some scripts, so it imports only ``socket``, ``json`` and
``os``, and says "no tray" (None) at once when nothing listens. The tray's side of the socket is
:mod:`trayauth.services.agent`.

Wire format: one JSON object per line each way. Requests ``{"v": 1, "op": "token", "name": N}``
and ``{"v": 1, "op": "ping"}``; replies ``{"ok": true, "token": …, "expires_at": …,
"warning": …}``, ``{"ok": true, "pid": …}`` or ``{"ok": false, "error": LINE, "exit_code": N}``.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

PROTOCOL = 1
SOCKET_NAME = "agent.sock"
MAX_MESSAGE = 256 * 1024  # a token line; JWTs with many claims stay far below this
CONNECT_TIMEOUT = 2.0
TOKEN_TIMEOUT = 90.0  # a renewal may wait out a 429 (Retry-After) before it answers


def socket_path(runtime_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(runtime_dir), SOCKET_NAME)


def _exchange(
    runtime_dir: str | os.PathLike[str], request: dict[str, Any], timeout: float
) -> dict[str, Any] | None:
    """Send one request, read one reply; None whenever no tray answers properly."""
    family = getattr(socket, "AF_UNIX", None)
    if family is None:  # no AF_UNIX (older Windows): the CLI simply goes direct
        return None
    path = socket_path(runtime_dir)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(min(CONNECT_TIMEOUT, timeout))
        try:
            sock.connect(path)
        except OSError:  # no socket file, a stale one (tray gone), or not ours to open
            return None
        sock.settimeout(timeout)
        try:
            sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
            data = _read_line(sock)
        except OSError:  # includes the timeout: a hung tray must not hang the script
            return None
    finally:
        sock.close()
    if data is None:
        return None
    try:
        reply = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return reply if isinstance(reply, dict) else None


def _read_line(sock: socket.socket) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return None  # closed before a full line: treat as "no answer"
        end = chunk.find(b"\n")
        if end >= 0:
            chunks.append(chunk[:end])
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_MESSAGE:
            return None


def request_token(
    name: str, runtime_dir: str | os.PathLike[str], timeout: float = TOKEN_TIMEOUT
) -> dict[str, Any] | None:
    """Ask the running tray for ``name``'s token; None when no tray runs (go direct).

    A reply is ``{"ok": True, "token": str, "token_type": str, "expires_at": float | None,
    "warning": str | None}`` or ``{"ok": False, "error": str, "exit_code": int}``.
    """
    return _exchange(runtime_dir, {"v": PROTOCOL, "op": "token", "name": name}, timeout)


def tray_running(runtime_dir: str | os.PathLike[str], timeout: float = CONNECT_TIMEOUT) -> int | None:
    """The running tray's pid, or None when no tray answers on this runtime directory."""
    reply = _exchange(runtime_dir, {"v": PROTOCOL, "op": "ping"}, timeout)
    if reply is None or not reply.get("ok"):
        return None
    pid = reply.get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None
