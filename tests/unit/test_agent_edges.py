"""The agent's answers at their edges, the one-tray lock's pid file, who may connect, and when a
slow answer is announced: what the CLI (any version) and a second tray rely on.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trayauth.client import PROTOCOL, request_token, socket_path, token_digest
from trayauth.domain.consent import ConsentDenied, Requester
from trayauth.domain.errors import LoginRequired
from trayauth.domain.model import State, TokenSet
from trayauth.domain.steps import NextStep
from trayauth.services import agent, instance
from trayauth.services import peer as credentials
from trayauth.services.agent import AgentServer
from trayauth.services.broker import AccountView
from trayauth.services.instance import AlreadyRunning, InstanceLock


class Broker:
    """Just what the agent uses: token() and view(); ``delay`` makes an answer slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def token(self, name: str) -> TokenSet:
        if self.delay:
            await asyncio.sleep(self.delay)
        if name.startswith("bad"):
            raise LoginRequired("not logged in")
        return TokenSet(access_token=f"tok-{name}", expires_at=2e9)

    def view(self, name: str) -> AccountView:
        if not isinstance(name, str):
            raise KeyError(name)  # as the real broker, which looks the name up
        return AccountView(name, "bearer", "Any", State.VALID, 2e9, 1, None, False, False, False, None)


@pytest.fixture
def runtime() -> Iterator[Path]:
    path = Path(f"/tmp/tae-{os.getpid()}-{time.monotonic_ns()}")  # AF_UNIX paths are short
    path.mkdir(mode=0o700)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.mark.asyncio
async def test_ping_names_the_tray_and_its_protocol(runtime: Path) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    assert await server.answer(b'{"op": "ping"}\n') == {"ok": True, "pid": os.getpid(), "v": PROTOCOL}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b'{"op": "' + b"x" * 100 + b'"}', "unknown request '" + "x" * 40 + "'"),
        (b'{"op": 5}', "unknown request '5'"),
        (b'{"name": "work"}', "unknown request 'None'"),
        (b'{"op": "token", "name": ""}', "no account name given"),
        (b'{"op": "token", "name": ["work"]}', "no account name given"),
        (b"", "malformed request"),
        (b"[1]", "malformed request"),
        (b'"token"', "malformed request"),
        (b"[" * 100_000, "malformed request"),
    ],
)
async def test_requests_the_agent_cannot_serve_get_a_usage_error(
    runtime: Path, line: bytes, error: str
) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    assert await server.answer(line) == {"ok": False, "error": error, "exit_code": 2}
    assert server.requests == 0


@pytest.mark.asyncio
async def test_token_requests_are_counted(runtime: Path) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    for name in ("a", "b", "bad"):
        reply = await server.answer(json.dumps({"op": "token", "name": name}).encode())
    assert server.requests == 3
    assert reply["exit_code"] == 3
    assert (await server.answer(b'{"op": "token", "name": "a"}'))["token"] == "tok-a"


@pytest.mark.asyncio
async def test_an_error_for_an_unprintable_name_stays_one_line(runtime: Path) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    reply = await server.answer(json.dumps({"op": "token", "name": "bad\nname"}).encode())
    assert reply["ok"] is False and reply["exit_code"] == 3
    assert reply["error"].startswith("'bad\\nname': not logged in")
    assert "\n" not in reply["error"]
    plain = await server.answer(json.dumps({"op": "token", "name": "bad-one"}).encode())
    assert plain["error"].startswith("bad-one: not logged in")


# ---- one tray: the lock file says who holds it -------------------------------------------------


def test_the_tray_lock_holds_exactly_our_pid(runtime: Path) -> None:
    (runtime / instance.LOCK_NAME).write_text("99999999999999999999 left by an older tray")
    lock = InstanceLock(runtime)
    lock.acquire()
    try:
        assert (runtime / instance.LOCK_NAME).read_text() == str(os.getpid())
    finally:
        lock.release()


@pytest.mark.parametrize(
    ("content", "pid"), [("4242", 4242), ("4242\n", 4242), ("not a pid", None), ("", None)]
)
def test_a_second_tray_is_told_the_first_ones_pid_when_it_can_be_read(
    runtime: Path, content: str, pid: int | None
) -> None:
    path = runtime / instance.LOCK_NAME
    path.write_text(content)
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another tray holds it
        with pytest.raises(AlreadyRunning) as info:
            InstanceLock(runtime).acquire()
        assert info.value.pid == pid
    finally:
        os.close(fd)


def test_the_tray_lock_is_private_and_releasing_it_twice_is_harmless(runtime: Path) -> None:
    never = InstanceLock(runtime)
    never.release()  # a tray that failed before taking it
    lock = InstanceLock(runtime)
    lock.acquire()
    assert (os.stat(runtime / instance.LOCK_NAME).st_mode & 0o777) == 0o600
    lock.release()
    lock.release()
    again = InstanceLock(runtime)
    again.acquire()
    again.release()


def test_a_lock_file_of_garbage_bytes_gives_no_pid(runtime: Path) -> None:
    path = runtime / instance.LOCK_NAME
    path.write_bytes(b"\xff\xfe12")
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(AlreadyRunning) as info:
            InstanceLock(runtime).acquire()
        assert info.value.pid is None
    finally:
        os.close(fd)


def test_already_running_says_the_pid_when_known() -> None:
    assert str(AlreadyRunning(4242)) == "the tray is already running (pid 4242)"
    assert str(AlreadyRunning(None)) == "the tray is already running"


# ---- who may connect -----------------------------------------------------------------------------


class PeerSocket:
    """Stands in for a connected socket's getsockopt where the platform under test is not ours."""

    def __init__(self, raw: bytes | None) -> None:
        self.raw = raw
        self.asked: list[tuple[int, int, int]] = []

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        self.asked.append((level, option, size))
        if self.raw is None:
            raise OSError("not supported")
        return self.raw


def test_on_macos_the_peer_uid_comes_from_local_peercred(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socket, "SO_PEERCRED", raising=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    peer = PeerSocket(struct.pack("Ii", 0, 501) + b"\0" * 68)  # struct xucred: version, uid, ...
    assert credentials.peer_uid(peer) == 501  # type: ignore[arg-type]
    level, option, _ = peer.asked[0]
    assert (level, option) == (getattr(socket, "SOL_LOCAL", 0), getattr(socket, "LOCAL_PEERCRED", 1))
    assert credentials.peer_uid(PeerSocket(None)) is None  # type: ignore[arg-type]


def test_where_the_platform_cannot_tell_the_uid_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socket, "SO_PEERCRED", raising=False)
    monkeypatch.setattr(sys, "platform", "sunos5")
    assert credentials.peer_uid(PeerSocket(struct.pack("3i", 1, 2, 3))) is None  # type: ignore[arg-type]


@pytest.mark.skipif(not hasattr(socket, "SO_PEERCRED"), reason="Linux credentials")
def test_on_linux_a_failing_credentials_query_is_an_unknown_uid() -> None:
    assert credentials.peer_uid(PeerSocket(None)) is None  # type: ignore[arg-type]


def test_an_unknown_uid_or_a_system_without_uids_lets_the_folder_guard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        assert credentials.peer_allowed(a)
        monkeypatch.setattr(credentials, "peer_uid", lambda sock: None)
        assert credentials.peer_allowed(a)
        monkeypatch.setattr(credentials, "peer_uid", lambda sock: os.getuid() + 1)
        assert not credentials.peer_allowed(a)
        monkeypatch.delattr(os, "getuid")
        assert credentials.peer_allowed(a)


# ---- the server: listening, long requests, silent clients, closing ---------------------------------


@pytest.mark.asyncio
async def test_a_listening_tray_has_no_problem_to_report(runtime: Path) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    assert not server.listening
    await server.start()
    try:
        assert server.listening and server.problem is None
    finally:
        await server.close()
    assert not server.listening


@pytest.mark.asyncio
async def test_a_path_too_long_says_so_in_the_problem(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    deep.mkdir(mode=0o700)
    server = AgentServer(Broker(), deep)  # type: ignore[arg-type]
    await server.start()
    try:
        assert server.problem == "the CLI cannot reach the tray (OSError)"
    finally:
        await server.close()


def _exchange(path: str, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(path)
        raw.settimeout(30)
        raw.sendall(payload)
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
        return data


@pytest.mark.asyncio
async def test_a_request_line_longer_than_asyncio_default_limit_is_served(runtime: Path) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    await server.start()
    try:
        payload = json.dumps({"op": "token", "name": "work", "pad": "p" * 100_000}).encode() + b"\n"
        got = await asyncio.get_running_loop().run_in_executor(None, _exchange, socket_path(runtime), payload)
    finally:
        await server.close()
    assert json.loads(got)["token"] == "tok-work"


@pytest.mark.asyncio
async def test_a_client_that_sends_nothing_is_hung_up_on(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent, "READ_REQUEST_TIMEOUT", 0.2)
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    await server.start()
    try:
        got = await asyncio.get_running_loop().run_in_executor(None, _exchange, socket_path(runtime), b"")
    finally:
        await server.close()
    assert got == b""


@pytest.mark.asyncio
async def test_closing_mid_answer_leaves_no_task_behind(runtime: Path) -> None:
    broker = Broker(delay=60)
    server = AgentServer(broker, runtime)  # type: ignore[arg-type]
    await server.start()
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(socket_path(runtime))
        raw.sendall(b'{"v": 2, "op": "token", "name": "work"}\n')
        raw.settimeout(30)
        first = await asyncio.get_running_loop().run_in_executor(None, raw.recv, 65536)
        assert json.loads(first) == {"working": True}  # the answer is under way
        await server.close()
    me = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not me and not t.done()] == []


@pytest.mark.asyncio
async def test_closing_after_the_socket_file_went_away_is_fine(runtime: Path) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    await server.start()
    os.unlink(socket_path(runtime))
    await server.close()
    assert not server.listening


# ---- a slow answer: announced to clients that understand it --------------------------------------


def _first_line(path: str, request: dict[str, object]) -> bytes:
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(path)
        raw.sendall(json.dumps(request).encode() + b"\n")
        raw.settimeout(30)
        data = b""
        while not data.endswith(b"\n"):
            chunk = raw.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.split(b"\n", 1)[0]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("version", "working"), [(2, True), (3, True), (1, False), (True, False), ("2", False)]
)
async def test_only_a_client_of_version_2_or_later_is_told_working(
    runtime: Path, version: object, working: bool
) -> None:
    server = AgentServer(Broker(delay=agent.WORKING_AFTER * 5), runtime)  # type: ignore[arg-type]
    await server.start()
    try:
        request = {"v": version, "op": "token", "name": "work"}
        first = await asyncio.get_running_loop().run_in_executor(
            None, _first_line, socket_path(runtime), request
        )
    finally:
        await server.close()
    assert (json.loads(first) == {"working": True}) is working
    if not working:
        assert json.loads(first)["token"] == "tok-work"


# ---- a refused token is renewed once; the consent gate sees every hand-out -----------------------


class Renewing(Broker):
    def __init__(self) -> None:
        super().__init__()
        self.refreshed = 0

    async def refresh(self, name: str) -> TokenSet:
        self.refreshed += 1
        return TokenSet(access_token=f"fresh-{name}", expires_at=2e9)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("renew", "token", "refreshed"),
    [
        (token_digest("tok-work"), "fresh-work", 1),
        (token_digest("another"), "tok-work", 0),
        ("", "tok-work", 0),
    ],
)
async def test_a_token_a_server_refused_is_renewed_before_it_is_handed_out_again(
    runtime: Path, renew: str, token: str, refreshed: int
) -> None:
    broker = Renewing()
    server = AgentServer(broker, runtime)  # type: ignore[arg-type]
    reply = await server.answer(json.dumps({"op": "token", "name": "work", "renew": renew}).encode())
    assert (reply["token"], broker.refreshed) == (token, refreshed)


class Gate:
    """Records what the agent asks of the consent gate; ``deny`` refuses."""

    def __init__(self, deny: bool = False) -> None:
        self.deny = deny
        self.checked: list[tuple[str, Requester]] = []
        self.recorded: list[tuple[str, Requester, str, str]] = []

    async def check(self, account: str, requester: Requester) -> str:
        self.checked.append((account, requester))
        if self.deny:
            raise ConsentDenied("you denied it", account=account)
        return "always"

    def record(self, account: str, requester: Requester, outcome: str, how: str) -> None:
        self.recorded.append((account, requester, outcome, how))


@pytest.mark.asyncio
async def test_with_a_consent_gate_every_hand_out_is_checked_and_recorded(runtime: Path) -> None:
    gate = Gate()
    server = AgentServer(Broker(), runtime, gate)  # type: ignore[arg-type]
    who = Requester(pid=42, uid=os.getuid(), exe="/usr/bin/curl")
    reply = await server.answer(b'{"op": "token", "name": "work"}', who)
    assert reply["token"] == "tok-work"
    assert gate.checked == [("work", who)]
    assert gate.recorded == [("work", who, "given", "always")]
    unknown = await server.answer(b'{"op": "token", "name": "work"}')
    assert unknown["ok"] and gate.checked[1] == ("work", Requester(pid=None, uid=None))


@pytest.mark.asyncio
async def test_a_denied_hand_out_is_an_error_and_no_token(runtime: Path) -> None:
    gate = Gate(deny=True)
    server = AgentServer(Broker(), runtime, gate)  # type: ignore[arg-type]
    reply = await server.answer(b'{"op": "token", "name": "work"}', Requester(pid=42, uid=0))
    assert reply["ok"] is False and "token" not in reply
    assert reply["error"].startswith("work: you denied it")
    assert reply["exit_code"] == ConsentDenied("x").exit_code
    assert gate.recorded == []


class Failing(Broker):
    """The last renewal failed: the view says why, what to do, and whether the token expired."""

    def __init__(self, state: State, step: NextStep | None) -> None:
        super().__init__()
        self.state, self.step = state, step

    def view(self, name: str) -> AccountView:
        return AccountView(
            name,
            "bearer",
            "Any",
            self.state,
            2e9,
            1,
            "HTTP 503",
            False,
            True,
            False,
            None,
            next_step=self.step,
        )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("state", "step", "extra"),
    [
        (State.EXPIRED, NextStep.check_network("work"), {"expired": True}),
        (State.ERROR, NextStep.check_network("work"), {}),
        (State.EXPIRED, None, {"expired": True}),
    ],
)
async def test_a_failed_renewal_travels_with_the_token_as_data(
    runtime: Path, state: State, step: NextStep | None, extra: dict[str, object]
) -> None:
    server = AgentServer(Failing(state, step), runtime)  # type: ignore[arg-type]
    reply = await server.answer(b'{"op": "token", "name": "work"}')
    expected: dict[str, object] = {
        "ok": True,
        "token": "tok-work",
        "token_type": "Bearer",
        "expires_at": 2e9,
        "warning": "HTTP 503",
        **extra,
    }
    if step is not None:
        expected["warning_next"] = step.to_dict()
    assert reply == expected


@pytest.mark.asyncio
async def test_a_renew_hint_that_is_not_text_is_ignored(runtime: Path) -> None:
    broker = Renewing()
    server = AgentServer(broker, runtime)  # type: ignore[arg-type]
    reply = await server.answer(b'{"op": "token", "name": "work", "renew": 5}')
    assert (reply["token"], broker.refreshed) == ("tok-work", 0)


@pytest.mark.asyncio
async def test_without_a_gate_nothing_is_recorded_and_no_consent_asked(runtime: Path) -> None:
    server = AgentServer(Broker(), runtime)  # type: ignore[arg-type]
    reply = await server.answer(b'{"op": "token", "name": "work"}', Requester(pid=42, uid=0))
    assert reply["token"] == "tok-work"


class Stuck(Broker):
    """A broker whose held-token check blocks the socket's thread until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def cached_token(self, name: str) -> TokenSet | None:
        self.entered.set()
        self.release.wait(120)
        return None


@pytest.mark.asyncio
async def test_closing_does_not_hang_on_a_socket_thread_stuck_in_a_blocking_call(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent, "CLOSE_LIMIT", 0.2)
    broker = Stuck()
    server = AgentServer(broker, runtime)  # type: ignore[arg-type]
    await server.start()
    asker = threading.Thread(target=request_token, args=("work", runtime))
    asker.start()
    try:
        assert await asyncio.to_thread(broker.entered.wait, 120)
        # Returns although the socket's thread is still stuck (the wait is a generous limit, so a
        # close that hangs fails here instead of stalling the suite).
        await asyncio.wait_for(server.close(), 60)
        assert not os.path.exists(socket_path(runtime))
    finally:
        broker.release.set()
        asker.join()
    # Released, the stuck request ends unanswered (the tray is gone) and the thread ends with it.
    for _ in range(12000):
        if not any(t.name == "trayauth-agent" and t.is_alive() for t in threading.enumerate()):
            break
        await asyncio.sleep(0.01)
    assert not any(t.name == "trayauth-agent" and t.is_alive() for t in threading.enumerate())
