"""Ask a running tray (or an agent forwarded over SSH) for a token: standard library only.

This runs before every ``curl`` in some scripts, so it imports only what the interpreter and any
console script load anyway (``os``, ``stat``, ``time``, ``json``, ``socket``): no ``typing``, no
``pathlib``. The tray's side of the socket is :mod:`trayauth.services.agent`.

Which socket: ``$TRAYAUTH_AGENT`` when set (for example one forwarded with ``ssh -R``), else this
user's tray's, in its runtime directory (the rule is here; :mod:`trayauth.storage.paths` wraps it
in a ``Path``).

Wire format: one JSON object per line each way. Requests ``{"v": 2, "op": "token", "name": N}``
(with ``"renew": token_digest(refused)`` after a server refused that token: renew it unless that
happened already), ``{"v": 2, "op": "ping"}`` and ``{"v": 2, "op": "pick"}`` (open quick access);
replies ``{"ok": true, "token": …, "expires_at": …, "warning": MESSAGE, "warning_next": STEP}``,
``{"ok": true, "pid": …}`` or ``{"ok": false, "error": MESSAGE, "next": STEP, "exit_code": N}``. A
STEP (present only when there is one) is what to do next as data (``NextStep.to_dict``): the CLI
words it as a command.
From version 2 a tray whose answer takes a moment (a renewal, perhaps waiting out a 429) first
sends ``{"working": true}``: a live tray speaks within :data:`ANSWER_TIMEOUT`, so one that says
nothing (frozen, stopped) is given up on after about a second and the CLI goes direct, while one
that said "working" is waited for up to :data:`TOKEN_TIMEOUT`.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time

TYPE_CHECKING = False  # not typing's: importing typing costs the fast path a millisecond
if TYPE_CHECKING:
    from typing import Any

PROTOCOL = 2
AGENT_ENV = "TRAYAUTH_AGENT"
CONFIG_DIR_ENV = "TRAYAUTH_CONFIG_DIR"
APP_NAME = "trayauth"
SOCKET_NAME = "agent.sock"
MAX_MESSAGE = 256 * 1024  # a token line; JWTs with many claims stay far below this
ANSWER_TIMEOUT = 1.0  # connect + first line: a live tray answers or says "working" well within it
TOKEN_TIMEOUT = 90.0  # after "working": a renewal may wait out a 429 (Retry-After) before it answers


def config_dir() -> str:
    """``TRAYAUTH_CONFIG_DIR`` (made absolute) when set, else the platform's per-user config folder."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        # Absolute, so a later chdir (or a subprocess started elsewhere) means the same place.
        return os.path.abspath(os.path.expanduser(override))
    import platformdirs  # the one non-stdlib import, and only where no folder is given

    return str(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def runtime_dir() -> str:
    """Where this user's tray listens; looking creates nothing.

    ``$XDG_RUNTIME_DIR`` is per-user, 0700 and cleared at logout: the right home for a socket. An
    explicit ``TRAYAUTH_CONFIG_DIR`` means a separate installation (tests, a second profile), so
    its socket stays inside it and two installations never answer for each other.
    """
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and not os.environ.get(CONFIG_DIR_ENV):
        return os.path.join(xdg, APP_NAME)
    return os.path.join(config_dir(), "run")


def socket_path(runtime_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(runtime_dir), SOCKET_NAME)


def agent_socket() -> str | None:
    """``$TRAYAUTH_AGENT`` when set, else this user's tray's socket when its folder is ours.

    A runtime folder that is not a directory of ours is not asked (None): whoever controls it could
    stand up a socket of their own there. The tray makes it 0700 when it starts.
    """
    forwarded = os.environ.get(AGENT_ENV)
    if forwarded:
        return forwarded
    folder = runtime_dir()
    try:
        st = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return None
    return socket_path(folder)


class Answer:
    """The tray's answer to a token request: a token (maybe with a warning), or an error line.

    A plain class, not a dataclass: ``dataclasses`` brings ``inspect`` along, which costs the fast
    path more than all the rest of it.
    """

    __slots__ = (
        "error",
        "exit_code",
        "expired",
        "expires_at",
        "next",
        "token",
        "token_type",
        "warning",
        "warning_next",
    )

    def __init__(self, reply: dict[str, Any]) -> None:
        token = reply.get("token")
        self.token: str | None = token if reply.get("ok") is True and isinstance(token, str) else None
        token_type = reply.get("token_type")
        self.token_type: str = token_type if isinstance(token_type, str) and token_type else "Bearer"
        expires_at = reply.get("expires_at")
        self.expires_at: float | None = None
        if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
            self.expires_at = float(expires_at)
        warning = reply.get("warning")
        self.warning: str | None = warning if isinstance(warning, str) and warning else None
        # What to do next, as data (a NextStep's dict): the CLI words it, the agent does not.
        self.warning_next: object = reply.get("warning_next") if self.warning else None
        self.expired: bool = reply.get("expired") is True  # the provider says this token is dead
        self.next: object = None
        error = reply.get("error")
        self.error: str | None = None
        self.exit_code = 0
        if self.token is None:
            self.error = error if isinstance(error, str) and error else "the tray could not give a token"
            self.next = reply.get("next")
            code = reply.get("exit_code")
            self.exit_code = 1
            if isinstance(code, int) and not isinstance(code, bool) and 0 < code < 256:
                self.exit_code = code


def token_digest(token: str) -> str:
    """Names a token without revealing it, for "this one was refused: renew it"."""
    import hashlib

    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def fetch_token(name: str, renew: str | None = None) -> Answer | None:
    """Ask the agent (``$TRAYAUTH_AGENT``, else this user's tray) for ``name``'s token.

    None when no agent answers: the caller goes direct (or, with ``$TRAYAUTH_AGENT`` set, says so).
    This is the call for any command that wants a token the quick way (``token``, ``header``,
    ``exec``, ``kube``, ``git-credential``). ``renew`` is :func:`token_digest` of a token a server
    refused: the tray renews it first unless it holds another token by now.
    """
    path = agent_socket()
    if path is None:
        return None
    request: dict[str, Any] = {"v": PROTOCOL, "op": "token", "name": name}
    if renew:
        request["renew"] = renew
    reply = _exchange(path, request, TOKEN_TIMEOUT)
    return None if reply is None else Answer(reply)


def request_token(
    name: str, runtime_dir: str | os.PathLike[str], timeout: float = TOKEN_TIMEOUT
) -> dict[str, Any] | None:
    """Ask the tray listening in ``runtime_dir`` for ``name``'s token; None when none answers.

    A reply is ``{"ok": True, "token": str, "token_type": str, "expires_at": float | None,
    "warning": str | None, "warning_next": dict}`` or ``{"ok": False, "error": str, "next": dict,
    "exit_code": int}`` (the ``*next`` members only when there is a next step).
    """
    return _exchange(socket_path(runtime_dir), {"v": PROTOCOL, "op": "token", "name": name}, timeout)


def request_pick(
    runtime_dir: str | os.PathLike[str], timeout: float = ANSWER_TIMEOUT
) -> dict[str, Any] | None:
    """Ask the running tray to open its quick-access window (``trayauth pick``); None when no
    tray answers. A reply is ``{"ok": True}`` or ``{"ok": False, "error": str, "exit_code": int}``."""
    return _exchange(socket_path(runtime_dir), {"v": PROTOCOL, "op": "pick"}, timeout)


def tray_running(runtime_dir: str | os.PathLike[str], timeout: float = ANSWER_TIMEOUT) -> int | None:
    """The running tray's pid, or None when no tray answers on this runtime directory."""
    reply = _exchange(socket_path(runtime_dir), {"v": PROTOCOL, "op": "ping"}, timeout)
    if reply is None or not reply.get("ok"):
        return None
    pid = reply.get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


def _exchange(path: str, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    """Send one request, read one reply; None whenever no tray answers properly in time.

    The first line must come within :data:`ANSWER_TIMEOUT`; after a ``working`` line the reply
    may take the rest of ``timeout``.
    """
    family = getattr(socket, "AF_UNIX", None)
    if family is None:  # no AF_UNIX (older Windows): the CLI simply goes direct
        return None
    start = time.monotonic()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        lines = _Lines(sock)
        try:
            sock.settimeout(min(ANSWER_TIMEOUT, timeout))
            sock.connect(path)  # fails at once for no socket file, a stale one, or not ours to open
            if not _peer_is_us(sock):
                return None
            sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
            reply = _parse(lines.next(start + min(ANSWER_TIMEOUT, timeout)))
            if reply is not None and reply.get("working") is True:
                reply = _parse(lines.next(start + timeout))
        except OSError:  # includes the timeouts: a hung tray must not hang the script
            return None
    finally:
        sock.close()
    return reply


def _parse(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        reply = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return reply if isinstance(reply, dict) else None


def _peer_is_us(sock: socket.socket) -> bool:
    """The listening end runs as us (Linux): a socket someone else bound gets no account name."""
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is None or not hasattr(os, "getuid"):
        return True  # elsewhere the 0700 folder (or the user's own $TRAYAUTH_AGENT) is the guard
    raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, 12)  # struct ucred {pid; uid; gid}
    return int.from_bytes(raw[4:8], sys.byteorder) == os.getuid()


class _Lines:
    """Lines from a socket, each by a deadline; None for a line not finished in time or too long."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def next(self, deadline: float) -> bytes | None:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
                return line
            if len(self.buffer) > MAX_MESSAGE:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                return None  # closed before a full line: treat as "no answer"
            self.buffer += chunk
