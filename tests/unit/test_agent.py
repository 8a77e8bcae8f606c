"""The agent socket on its own: wire format, who may connect, no tray, one tray, odd clients."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trayauth import client as client_module
from trayauth.cli.wording import line_from_wire
from trayauth.client import request_token, socket_path, tray_running
from trayauth.domain.errors import LoginRequired
from trayauth.domain.model import State, TokenSet
from trayauth.domain.steps import NextStep
from trayauth.services import peer
from trayauth.services.agent import AgentServer
from trayauth.services.broker import AccountView
from trayauth.services.instance import AlreadyRunning, InstanceLock


class FakeBroker:
    """Just what the agent uses: token(), view(), and cached_token() for the names in ``held``."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.error: str | None = None
        self.delay = 0.0
        self.held: set[str] = set()  # tokens fit to hand out as they are: no renewal needed

    def cached_token(self, name: str) -> TokenSet | None:
        return TokenSet(access_token=f"held-{name}", expires_at=2e9) if name in self.held else None

    async def token(self, name: str) -> TokenSet:
        self.calls.append(name)
        if self.delay:
            await asyncio.sleep(self.delay)
        if name == "gone":
            raise LoginRequired(
                "gone is not logged in", account="gone", named=True, next_step=NextStep.log_in("gone")
            )
        if name == "boom":
            raise RuntimeError("secret-looking detail")
        return TokenSet(access_token=f"tok-{name}", expires_at=2e9)

    def view(self, name: str) -> AccountView:
        return AccountView(name, "bearer", "Any", State.VALID, 2e9, 1, self.error, False, False, False, None)


@pytest.fixture
def runtime() -> Iterator[Path]:
    # Short: AF_UNIX paths are limited to ~100 bytes, and pytest's tmp paths can be long.
    path = Path(f"/tmp/ta-{os.getpid()}-{time.monotonic_ns()}")
    path.mkdir(mode=0o700)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


async def serve(runtime: Path) -> tuple[AgentServer, FakeBroker]:
    broker = FakeBroker()
    server = AgentServer(broker, runtime)  # type: ignore[arg-type]
    await server.start()
    return server, broker


async def client(fn: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


@pytest.mark.asyncio
async def test_token_and_ping_round_trip(runtime: Path) -> None:
    server, broker = await serve(runtime)
    try:
        assert stat.S_IMODE(os.stat(socket_path(runtime)).st_mode) == 0o600
        reply = await client(request_token, "work", runtime)
        assert reply == {
            "ok": True,
            "token": "tok-work",
            "token_type": "Bearer",
            "expires_at": 2e9,
            "warning": None,
        }
        assert await client(tray_running, runtime) == os.getpid()
        assert broker.calls == ["work"]
    finally:
        await server.close()
    assert not os.path.exists(socket_path(runtime))


@pytest.mark.asyncio
async def test_errors_are_one_line_with_the_exit_code(runtime: Path) -> None:
    server, broker = await serve(runtime)
    try:
        gone = await client(request_token, "gone", runtime)
        assert gone == {
            "ok": False,
            "error": "gone is not logged in",
            "next": {"kind": "log_in", "account": "gone"},
            "exit_code": 3,
        }
        # The next step travels as data; the CLI words it as a command.
        assert (
            line_from_wire(gone["error"], gone["next"]) == "gone is not logged in; run 'trayauth login gone'"
        )
        bug = await client(request_token, "boom", runtime)
        assert bug == {"ok": False, "error": "boom: internal error (RuntimeError)", "exit_code": 70}
        broker.error = "provider unavailable (HTTP 503)"
        warned = await client(request_token, "work", runtime)
        assert warned["ok"] and "503" in warned["warning"]
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_malformed_requests_get_an_answer_not_a_crash(runtime: Path) -> None:
    server, _ = await serve(runtime)
    try:
        assert await server.answer(b"not json\n") == {
            "ok": False,
            "error": "malformed request",
            "exit_code": 2,
        }
        assert (await server.answer(b"[1]\n"))["error"] == "malformed request"
        assert (await server.answer(b'{"op": "nope"}\n'))["error"] == "unknown request 'nope'"
        assert (await server.answer(b'{"op": "token"}\n'))["error"] == "no account name given"

        def half_request() -> bytes:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(socket_path(runtime))
                s.sendall(b'{"op": "pi')
                s.shutdown(socket.SHUT_WR)
                return s.recv(100)

        assert await client(half_request) == b'{"ok": false, "error": "malformed request", "exit_code": 2}\n'
        assert await client(tray_running, runtime) == os.getpid()  # still serving
    finally:
        await server.close()


def test_no_tray_means_none_at_once(runtime: Path) -> None:
    start = time.perf_counter()
    assert request_token("work", runtime) is None
    assert tray_running(runtime) is None
    assert time.perf_counter() - start < 0.5


def test_a_stale_socket_from_a_dead_tray_means_none(runtime: Path) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(socket_path(runtime))  # bound, never listening: like a crashed tray's leftover
    assert request_token("work", runtime) is None


@pytest.mark.asyncio
async def test_a_new_tray_replaces_a_dead_trays_socket(runtime: Path) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(socket_path(runtime))
    server, _ = await serve(runtime)
    try:
        assert (await client(request_token, "work", runtime))["token"] == "tok-work"
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_a_second_tray_is_refused_with_the_first_ones_pid(runtime: Path) -> None:
    server, _ = await serve(runtime)
    try:
        with pytest.raises(AlreadyRunning) as caught:
            await AgentServer(FakeBroker(), runtime).start()  # type: ignore[arg-type]
        assert caught.value.pid == os.getpid()
        assert "already running" in str(caught.value)
        assert (await client(request_token, "work", runtime))["token"] == "tok-work"
    finally:
        await server.close()
    again, _ = await serve(runtime)  # the lock went with the first tray
    await again.close()


def test_instance_lock_is_released_on_close(runtime: Path) -> None:
    first = InstanceLock(runtime)
    first.acquire()
    with pytest.raises(AlreadyRunning):
        InstanceLock(runtime).acquire()
    first.release()
    second = InstanceLock(runtime)
    second.acquire()
    second.release()


@pytest.mark.asyncio
async def test_another_users_connection_is_dropped_unread(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, broker = await serve(runtime)
    try:
        monkeypatch.setattr(peer, "peer_uid", lambda sock: os.getuid() + 1)
        assert await client(request_token, "work", runtime) is None
        assert broker.calls == []
    finally:
        await server.close()


@pytest.mark.skipif(not hasattr(socket, "SO_PEERCRED"), reason="Linux credentials")
def test_peer_uid_reads_the_connecting_process(runtime: Path) -> None:
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        assert peer.peer_uid(a) == os.getuid()
        raw = a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        assert struct.unpack("3i", raw)[0] == os.getpid()


@pytest.mark.asyncio
async def test_a_hung_tray_times_out_to_none(runtime: Path) -> None:
    server, broker = await serve(runtime)
    broker.delay = 5
    try:
        start = time.perf_counter()
        assert await client(request_token, "work", runtime, 0.3) is None
        assert time.perf_counter() - start < 2
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_a_path_too_long_for_a_socket_is_reported_not_fatal(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    deep.mkdir(mode=0o700)
    server = AgentServer(FakeBroker(), deep)  # type: ignore[arg-type]
    await server.start()
    try:
        assert not server.listening
        assert server.problem is not None and "CLI cannot reach the tray" in server.problem
        assert request_token("work", deep) is None
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_a_token_the_tray_holds_is_answered_while_the_trays_loop_is_busy(runtime: Path) -> None:
    """The socket has a thread of its own: a held token does not wait for the tray's loop (busy
    here, blocked until the answer arrives), and the broker's token() is not called for it."""
    server, broker = await serve(runtime)
    broker.held = {"work"}
    replies: list[dict[str, Any] | None] = []
    answered = threading.Event()

    def ask() -> None:
        replies.append(request_token("work", runtime))
        answered.set()

    asker = threading.Thread(target=ask)
    try:
        asker.start()
        assert answered.wait(timeout=60), "no answer while the tray's loop was busy"  # blocks the loop
        reply = replies[0]
        assert reply is not None and reply["token"] == "held-work"
        assert broker.calls == [] and server.requests == 1
        # Not held (due for renewal): the tray's loop answers, through broker.token().
        renewed = await client(request_token, "other", runtime)
        assert renewed is not None and renewed["token"] == "tok-other"
        assert broker.calls == ["other"]
    finally:
        asker.join()
        await server.close()


@pytest.mark.asyncio
async def test_closing_ends_an_answer_still_running_on_the_trays_loop(runtime: Path) -> None:
    server, broker = await serve(runtime)
    broker.delay = 3600.0  # a renewal that would never end on its own
    try:
        waiting = asyncio.ensure_future(client(request_token, "slow", runtime))
        for _ in range(6000):  # until the tray's loop has the request (a generous limit)
            if broker.calls:
                break
            await asyncio.sleep(0.01)
        assert broker.calls == ["slow"]
    finally:
        await server.close()
    assert await waiting is None  # the connection closed unanswered: the CLI goes direct
    assert not os.path.exists(socket_path(runtime))


def test_the_agent_loads_no_gui_http_or_crypto() -> None:
    """The agent's module is the tray's socket and nothing more: the broker it serves is handed in."""
    import subprocess
    import sys

    code = (
        "import sys; before = set(sys.modules); import trayauth.services.agent; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = {"httpx", "PySide6", "qasync", "cryptography", "jwt", "keyring"}  # ssl: asyncio loads it
    heavy.add("trayauth.services.broker")
    assert not heavy & set(out), out


@pytest.mark.asyncio
async def test_a_slow_answer_is_announced_and_waited_for(runtime: Path) -> None:
    server, broker = await serve(runtime)
    broker.delay = client_module.ANSWER_TIMEOUT * 1.5  # longer than a silent tray is given
    try:
        reply = await client(request_token, "work", runtime)
        assert reply is not None and reply["token"] == "tok-work"
        # A version 1 client gets no "working" line: it would take it for the answer.
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(socket_path(runtime))
            raw.sendall(b'{"v": 1, "op": "token", "name": "work"}\n')
            raw.settimeout(30)
            first = await asyncio.get_running_loop().run_in_executor(None, raw.recv, 65536)
        assert b"working" not in first and b'"tok-work"' in first
    finally:
        await server.close()
