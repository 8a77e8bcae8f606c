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

Why a thread of its own: the socket is served by a plain asyncio loop on a thread, not on the
tray's Qt-driven loop. Each step of a Qt-driven loop (a socket ready, a callback scheduled) is a
turn of Qt's event loop, and accept + read + answer took five of them, about 1.5 ms that every
``trayauth header`` waited (three quarters of its time beyond Python's own start-up). A token
the tray holds, needing no renewal and no question, is answered on this thread (reading the
broker's files as a second process would, never writing tokens); everything else (a renewal,
the consent dialog, ``pick``, an error to word) is handed to the tray's loop, where the broker
lives, and its answer comes back here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import os
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

from trayauth.client import MAX_MESSAGE, PROTOCOL, socket_path, token_digest
from trayauth.domain.consent import Requester
from trayauth.domain.errors import TrayauthError
from trayauth.domain.model import State
from trayauth.services.instance import AlreadyRunning, InstanceLock
from trayauth.services.peer import peer_allowed, requester_of
from trayauth.storage.trust import storage_error

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from trayauth.domain.model import TokenSet
    from trayauth.services.broker import AccountView, Broker
    from trayauth.services.consent import ConsentGate

MAX_CONNECTIONS = 64  # clients served at once; a CLI call takes milliseconds, so this is a flood
READ_REQUEST_TIMEOUT = 5.0
# Closing waits this long at most for the socket's thread (a limit, not a measure: its work ends in
# milliseconds): quitting the tray must not hang on a connection stuck in a blocking call.
CLOSE_LIMIT = 10.0
# An answer not ready by then (a renewal on the network) is preceded by a "working" line, so the
# client, which gives a silent tray about a second, knows this one is alive and waits for it.
WORKING_AFTER = 0.1
WORKING_LINE = b'{"working": true}\n'


def _say_working(writer: asyncio.StreamWriter) -> None:
    if not writer.is_closing():
        writer.write(WORKING_LINE)


def _request_of(line: bytes) -> dict[str, Any] | None:
    """The request a line holds; None for anything but a JSON object."""
    try:
        request = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return request if isinstance(request, dict) else None


def _speaks_working(request: dict[str, Any] | None) -> bool:
    """Version 2 clients read a "working" line; version 1 ones would take it for the answer."""
    version = request.get("v") if request is not None else None
    return isinstance(version, int) and not isinstance(version, bool) and version >= 2


# ---- server: a thread of its own for the socket, the tray's loop for the broker ------------


class _TrayGone(Exception):
    """The tray's loop is closed: the connection is closed unanswered, and the CLI goes direct."""


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
        self._lock = InstanceLock(runtime_dir)
        self._main: asyncio.AbstractEventLoop | None = None  # the tray's loop, where the broker lives
        self._loop: asyncio.AbstractEventLoop | None = None  # the socket's loop, on _thread
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[None]] = set()  # on the socket's loop
        self._on_main: set[asyncio.Task[dict[str, Any]]] = set()  # answers on the tray's loop

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Take the instance lock, then listen. Raises AlreadyRunning when another tray has it.

        A socket that cannot be made (no AF_UNIX, a path over the OS's limit) is not fatal: the
        lock still keeps it to one tray, the CLI works on its own, and ``problem`` says why.
        """
        try:
            self._lock.acquire()
        except (AlreadyRunning, TrayauthError):
            raise
        except OSError as exc:  # tray.lock cannot be made: a read-only folder, a full disk
            raise storage_error(exc, "cannot take the tray's instance lock") from None
        if not hasattr(socket, "AF_UNIX"):
            self.problem = "this platform has no local sockets; the CLI works on its own"
            return
        self._main = asyncio.get_running_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = threading.Thread(target=self._run, args=(ready,), name="trayauth-agent", daemon=True)
        thread.start()
        try:
            await asyncio.wrap_future(ready)
        except OSError as exc:
            thread.join()
            self.problem = f"the CLI cannot reach the tray ({exc.strerror or exc.__class__.__name__})"
            return
        self._thread = thread

    def _run(self, ready: concurrent.futures.Future[None]) -> None:
        """The socket's thread: listen, say so through ``ready``, serve until :meth:`close`."""
        loop = asyncio.new_event_loop()
        try:
            try:
                self._server = loop.run_until_complete(self._listen())
            except BaseException as exc:  # an OSError is the tray's "problem"; anything else a bug
                ready.set_exception(exc)
                return
            self._loop = loop
            ready.set_result(None)
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _listen(self) -> asyncio.AbstractServer:
        if os.path.lexists(self.path):  # we hold the lock, so this socket is a dead tray's
            os.unlink(self.path)
        server = await asyncio.start_unix_server(self._serve, path=self.path, limit=MAX_MESSAGE)
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            server.close()
            await server.wait_closed()
            raise
        return server

    async def close(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            wound_down = asyncio.run_coroutine_threadsafe(self._wind_down(), loop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.wrap_future(wound_down), CLOSE_LIMIT)
        self._main = None  # a request the thread hands over from now on ends unanswered
        for task in list(self._on_main):
            task.cancel()
        if self._on_main:
            await asyncio.gather(*self._on_main, return_exceptions=True)
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_LIMIT)  # a daemon thread: one still stuck does not keep the process
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        self._lock.release()

    async def _wind_down(self) -> None:
        """On the socket's loop: stop listening, end the connections being served."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, on the socket's loop."""
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
                requester = requester_of(sock)
            request = _request_of(line)
            at_once = None if request is None else self._answer_at_once(request, requester)
            if at_once is not None:
                reply, handed = at_once
            else:
                speaks = _speaks_working(request)
                reply, handed = await self._answer_acknowledged(line, writer, requester, speaks), None
            writer.write(json.dumps(reply).encode("utf-8") + b"\n")
            await writer.drain()
            if handed is not None:
                handed()  # logged once the caller has its token, not before
        except (OSError, asyncio.IncompleteReadError, _TrayGone):
            pass  # the client went away, or the tray is closing; nothing to tell anyone
        except asyncio.CancelledError:
            # The tray is closing. Ending quietly rather than cancelled: Python 3.11's stream server
            # asks a cancelled handler for its exception and prints the CancelledError's traceback.
            pass
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()

    def _answer_at_once(
        self, request: dict[str, Any], requester: Requester | None
    ) -> tuple[dict[str, Any], Callable[[], object] | None] | None:
        """On the socket's thread: the answer when it needs nothing from the tray's loop (a ping,
        or a token the tray holds that needs no renewal and asks no question), with what to log
        once it is sent; None when the tray's loop must answer (:meth:`answer`).

        It only reads: the config, the vault and the consent file, each written atomically (so
        read here as a second process would read them). Anything out of the ordinary, an error
        included, goes to the tray's loop, which has the wording for it.
        """
        op, name = request.get("op"), request.get("name")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "v": PROTOCOL}, None
        if op != "token" or not isinstance(name, str) or not name or "renew" in request:
            return None
        gate = self.gate
        if gate is not None and requester is None:
            return None
        try:
            how = "" if gate is None or requester is None else gate.settled(name, requester)
            tokens = None if how is None else self.broker.cached_token(name)
            if tokens is None:
                return None
            view = self.broker.view(name)
        except Exception:  # e.g. no such account: the tray's loop says so, worded as always
            return None
        self.requests += 1
        handed = None
        if gate is not None and requester is not None:
            handed = functools.partial(gate.record, name, requester, "given", how or "")
        return _token_reply(tokens, view), handed

    async def _answer_acknowledged(
        self, line: bytes, writer: asyncio.StreamWriter, requester: Requester | None, speaks: bool
    ) -> dict[str, Any]:
        """:meth:`answer` on the tray's loop, with a "working" line first when it takes a while and
        the client knows it (``speaks``: a renewal, or the user deciding in the consent dialog)."""
        working = None
        if speaks:
            working = asyncio.get_running_loop().call_later(WORKING_AFTER, _say_working, writer)
        try:
            return await self._on_tray(line, requester)
        finally:
            if working is not None:
                working.cancel()

    async def _on_tray(self, line: bytes, requester: Requester | None) -> dict[str, Any]:
        """:meth:`answer`, run on the tray's loop, awaited here on the socket's."""
        main = self._main
        if main is None:
            raise _TrayGone
        done: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        try:
            main.call_soon_threadsafe(self._begin_on_tray, line, requester, done)
        except RuntimeError:  # its loop is closed
            raise _TrayGone from None
        return await asyncio.wrap_future(done)

    def _begin_on_tray(
        self, line: bytes, requester: Requester | None, done: concurrent.futures.Future[dict[str, Any]]
    ) -> None:
        """On the tray's loop: :meth:`answer` as a task (so :meth:`close` can end it), its reply
        handed back through ``done``."""
        if self._main is None or not done.set_running_or_notify_cancel():
            if not done.done():
                done.set_exception(_TrayGone())
            return
        task = self._main.create_task(self.answer(line, requester))
        self._on_main.add(task)

        def finished(task: asyncio.Task[dict[str, Any]]) -> None:
            self._on_main.discard(task)
            if task.cancelled():
                done.set_exception(_TrayGone())
            elif (exc := task.exception()) is not None:
                done.set_exception(exc)
            else:
                done.set_result(task.result())

        task.add_done_callback(finished)

    async def answer(self, line: bytes, requester: Requester | None = None) -> dict[str, Any]:
        """One reply for one request line; never raises, never puts a secret in an error.

        ``renew`` in a token request is :func:`trayauth.client.token_digest` of a token a server
        refused (401): when the account still holds that token it is renewed first, so a burst of
        callers that all saw the same 401 causes one renewal.
        """

        request = _request_of(line)
        if request is None:
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
        return _token_reply(tokens, view)


def _token_reply(tokens: TokenSet, view: AccountView) -> dict[str, Any]:
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
