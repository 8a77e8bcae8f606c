"""The local socket through which the CLI asks a running tray for a token.

Why a socket at all: the tray holds the session and renews it itself, so a script that asks the
tray can never race it over a rotating refresh token, and it skips the vault and the network.

The client half is :mod:`trayauth.client` (standard library only); this is the server half
(:class:`AgentServer`), which runs on the tray's asyncio loop.

Who may connect: the socket is an AF_UNIX socket in a 0700 directory of ours, made 0600, and the
peer's uid is checked (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS) before a byte is read.

The wire format is described in :mod:`trayauth.client`. With a :class:`ConsentGate`, a token of
an account that asks first leaves only after the user allowed the requesting program (its exe and
command line come from the socket's peer credentials), and every hand-out is logged.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from typing import TYPE_CHECKING, Any

from trayauth.client import MAX_MESSAGE, PROTOCOL, socket_path, token_digest
from trayauth.domain.errors import TrayauthError
from trayauth.domain.model import State
from trayauth.storage.trust import storage_error

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable
    from pathlib import Path

    from trayauth.domain.consent import Requester
    from trayauth.services.broker import Broker
    from trayauth.services.consent import ConsentGate

LOCK_NAME = "tray.lock"
MAX_CONNECTIONS = 64  # clients served at once; a CLI call takes milliseconds, so this is a flood
READ_REQUEST_TIMEOUT = 5.0
# An answer not ready by then (a renewal on the network) is preceded by a "working" line, so the
# client, which gives a silent tray about a second, knows this one is alive and waits for it.
WORKING_AFTER = 0.1
WORKING_LINE = b'{"working": true}\n'


# ---- peer credentials ----------------------------------------------------------------------


def peer_uid(sock: socket.socket) -> int | None:
    """The connecting process's uid, where the platform tells; None where it cannot."""
    import struct

    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is not None:  # Linux: struct ucred {pid_t pid; uid_t uid; gid_t gid;}
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
        except OSError:
            return None
        _pid, uid, _gid = struct.unpack("3i", raw)
        return int(uid)
    if sys.platform == "darwin":  # struct xucred {u_int cr_version; uid_t cr_uid; ...}
        local_peercred = getattr(socket, "LOCAL_PEERCRED", 0x001)
        try:
            raw = sock.getsockopt(getattr(socket, "SOL_LOCAL", 0), local_peercred, struct.calcsize("Ii"))
        except OSError:
            return None
        _version, uid = struct.unpack_from("Ii", raw)
        return int(uid)
    return None


def peer_allowed(sock: socket.socket) -> bool:
    """Same user only. Where the uid cannot be read, the 0700 directory is the guard."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    uid = peer_uid(sock)
    return uid is None or uid == getuid()


# ---- one tray per user ---------------------------------------------------------------------


class AlreadyRunning(Exception):
    """Another tray holds this runtime directory; ``pid`` is its pid when known."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(f"the tray is already running{f' (pid {pid})' if pid else ''}")
        self.pid = pid


class InstanceLock:
    """An exclusive lock on ``tray.lock``, held for the tray's lifetime.

    A lock, not "is the socket answering?": two trays started at the same moment would both see
    no answer. The OS drops the lock when the process dies, so a crash never leaves a stale one.
    """

    def __init__(self, runtime_dir: Path) -> None:
        self.path = os.path.join(os.fspath(runtime_dir), LOCK_NAME)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock_fd(fd)
        except OSError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def _lock_fd(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _say_working(writer: asyncio.StreamWriter) -> None:
    if not writer.is_closing():
        writer.write(WORKING_LINE)


def _speaks_working(line: bytes) -> bool:
    """Version 2 clients read a "working" line; version 1 ones would take it for the answer."""
    try:
        request = json.loads(line)
    except (ValueError, RecursionError):
        return False
    version = request.get("v") if isinstance(request, dict) else None
    return isinstance(version, int) and not isinstance(version, bool) and version >= 2


# ---- server: on the tray's asyncio loop ----------------------------------------------------


class AgentServer:
    """Answers the CLI from the tray's broker: ``broker.token()`` renews when due, single-flight."""

    def __init__(
        self,
        broker: Broker,
        runtime_dir: Path,
        gate: ConsentGate | None = None,
        *,
        on_pick: Callable[[], None] | None = None,
    ) -> None:
        self.broker = broker
        self.gate = gate
        self.on_pick = on_pick  # `trayauth pick`: the tray opens its quick-access window
        self.runtime_dir = runtime_dir
        self.path = socket_path(runtime_dir)
        self.requests = 0
        self.refused = 0  # connections closed unanswered because MAX_CONNECTIONS were open
        self.problem: str | None = None  # why the CLI cannot reach this tray, when it cannot
        self._server: asyncio.AbstractServer | None = None
        self._lock = InstanceLock(runtime_dir)
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Take the instance lock, then listen. Raises AlreadyRunning when another tray has it.

        A socket that cannot be made (no AF_UNIX, a path over the OS's limit) is not fatal: the
        lock still keeps it to one tray, the CLI works on its own, and ``problem`` says why.
        """
        import asyncio

        try:
            self._lock.acquire()
        except (AlreadyRunning, TrayauthError):
            raise
        except OSError as exc:  # tray.lock cannot be made: a read-only folder, a full disk
            raise storage_error(exc, "cannot take the tray's instance lock") from None
        if not hasattr(socket, "AF_UNIX"):
            self.problem = "this platform has no local sockets; the CLI works on its own"
            return
        try:
            if os.path.lexists(self.path):  # we hold the lock, so this socket is a dead tray's
                os.unlink(self.path)
            self._server = await asyncio.start_unix_server(self._serve, path=self.path, limit=MAX_MESSAGE)
            os.chmod(self.path, 0o600)
        except OSError as exc:
            self.problem = f"the CLI cannot reach the tray ({exc.strerror or exc.__class__.__name__})"
            self._server = None

    async def close(self) -> None:
        import asyncio

        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        self._lock.release()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import asyncio

        if len(self._handlers) >= MAX_CONNECTIONS:
            # A flood (2,000 connections) must not take every file descriptor the tray has: the
            # ones over the cap are closed at once (the CLI then goes direct), and said once.
            self.refused += 1
            if self.refused == 1:
                print(
                    f"trayauth: more than {MAX_CONNECTIONS} connections at once on the tray's socket; "
                    "closing the extra ones (said once)",
                    file=sys.stderr,
                    flush=True,
                )
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None and not peer_allowed(sock):
                return
            try:
                # asyncio.timeout, not wait_for: no task wrapped around the read, one loop turn
                # less on the path every `trayauth header` waits for.
                async with asyncio.timeout(READ_REQUEST_TIMEOUT):
                    line = await reader.readline()
            except (TimeoutError, ValueError, OSError):  # ValueError: a line over the limit
                return
            requester = None
            if self.gate is not None and sock is not None:
                from trayauth.services.peer import requester_of

                requester = requester_of(sock)
            reply = await self._answer_acknowledged(line, writer, requester)
            writer.write(json.dumps(reply).encode("utf-8") + b"\n")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to tell anyone
        except asyncio.CancelledError:
            # The tray is closing. Ending quietly rather than cancelled: Python 3.11's stream server
            # asks a cancelled handler for its exception and prints the CancelledError's traceback.
            pass
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()

    async def _answer_acknowledged(
        self, line: bytes, writer: asyncio.StreamWriter, requester: Requester | None = None
    ) -> dict[str, Any]:
        """:meth:`answer`, with a "working" line first when it takes a while and the client knows it
        (a renewal, or the user deciding in the consent dialog).

        The answer is awaited in this task, with a timer for the "working" line, rather than as a
        task of its own watched by ``asyncio.wait``: a token the tray holds is answered without the
        extra loop turns, which is most of what a script pays for asking the tray."""
        import asyncio

        working = None
        if _speaks_working(line):
            working = asyncio.get_running_loop().call_later(WORKING_AFTER, _say_working, writer)
        try:
            return await self.answer(line, requester)
        finally:
            if working is not None:
                working.cancel()

    async def answer(self, line: bytes, requester: Requester | None = None) -> dict[str, Any]:
        """One reply for one request line; never raises, never puts a secret in an error.

        ``renew`` in a token request is :func:`trayauth.client.token_digest` of a token a server
        refused (401): when the account still holds that token it is renewed first, so a burst of
        callers that all saw the same 401 causes one renewal.
        """

        try:
            request = json.loads(line)
        except (ValueError, RecursionError):
            return {"ok": False, "error": "malformed request", "exit_code": 2}
        if not isinstance(request, dict):
            return {"ok": False, "error": "malformed request", "exit_code": 2}
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "v": PROTOCOL}
        if op == "pick":
            if self.on_pick is None:
                return {"ok": False, "error": "this tray has no quick-access window", "exit_code": 1}
            self.on_pick()
            return {"ok": True}
        if op != "token":
            return {"ok": False, "error": f"unknown request {str(op)[:40]!r}", "exit_code": 2}
        name = request.get("name")
        if not isinstance(name, str) or not name:
            return {"ok": False, "error": "no account name given", "exit_code": 2}
        self.requests += 1
        stale = request.get("renew")
        how = ""
        try:
            if self.gate is not None:
                from trayauth.domain.consent import Requester  # its module loads asyncio

                requester = requester or Requester(pid=None, uid=None)
                how = await self.gate.check(name, requester)
            tokens = await self.broker.token(name)
            if isinstance(stale, str) and stale and token_digest(tokens.access_token) == stale:
                tokens = await self.broker.refresh(name)
            view = self.broker.view(name)
        except TrayauthError as exc:
            exc.about(name if name.isprintable() else repr(name))  # the error stays one line
            reply: dict[str, Any] = {"ok": False, "error": exc.message, "exit_code": exc.exit_code}
            if exc.next_step is not None:
                reply["next"] = exc.next_step.to_dict()  # the CLI words it as a command
            return reply
        except Exception as exc:  # a bug must not take the tray down, nor leak details
            return {
                "ok": False,
                "error": f"{name}: internal error ({exc.__class__.__name__})",
                "exit_code": 70,
            }
        if self.gate is not None and requester is not None:
            self.gate.record(name, requester, "given", how)
        answer: dict[str, Any] = {
            "ok": True,
            "token": tokens.access_token,
            "token_type": tokens.token_type,
            "expires_at": tokens.expires_at,
            "warning": view.error,  # the last renewal failed: the CLI says so with this
        }
        if view.error and view.next_step is not None:
            answer["warning_next"] = view.next_step.to_dict()
        if view.error and view.state is State.EXPIRED:
            answer["expired"] = True  # the CLI warns that the token may be refused
        return answer
