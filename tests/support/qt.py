"""Qt for tests: the offscreen platform, a qasync loop of each test's own, a tray rig, fake timers.

One loop approach, on purpose: each test gets a fresh ``qasync.QEventLoop`` on pytest-qt's
QApplication and drives coroutines with ``run(coro)`` (``run_until_complete`` under a timeout).
Tests stay plain functions (no pytest-asyncio marker), so pytest-asyncio never creates a
competing loop, and Qt events (timers, widget updates) are processed while a coroutine waits.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt

import asyncio
import gc
import shutil
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.clock import FakeClock

T = TypeVar("T")
WAIT_LIMIT = 120.0  # seconds; only a hang reaches it

# What the offscreen platform says about window-manager features it lacks; not our warnings.
OFFSCREEN_NOISE = (
    r"This plugin does not support",
    r"QSystemTrayIcon::setVisible: No Icon set",
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
)


def _test_loop_class() -> type:
    import qasync

    class TestLoop(qasync.QEventLoop):  # type: ignore[misc]
        """qasync's loop, minus one step of its ``run_until_complete``.

        qasync ends each ``run_until_complete`` with a last ``processEvents()`` *after* it has
        cleared the running loop: a callback that fires there (a renewal's next step, the
        scheduler's timer) runs with no running loop, and its task dies with "no running event
        loop" or "bound to a different event loop". A tray runs its loop once, so it never sees
        this; a test runs it dozens of times, and on a busy machine it hit one run in ten. Here
        pending callbacks simply wait for the next run, as asyncio's own loops do.
        """

        def run_until_complete(self, future: Any) -> Any:
            future = asyncio.ensure_future(future, loop=self)

            def stop(_future: Any) -> None:
                self.stop()

            future.add_done_callback(stop)
            try:
                self.run_forever()
            finally:
                future.remove_done_callback(stop)
            if not future.done():
                raise RuntimeError("Event loop stopped before Future completed.")
            return future.result()

    return TestLoop


@pytest.fixture
def loop(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.AbstractEventLoop]:
    import pytestqt.plugin

    event_loop = _test_loop_class()(qapp)
    asyncio.set_event_loop(event_loop)

    alive = [event_loop]

    def process_events() -> None:
        # pytest-qt processes Qt events between a test and its teardown. With a qasync loop, that
        # would run the loop's callbacks (a renewal's next step, the scheduler's timer) while the
        # loop is not running: they fail with "no running event loop" or "bound to a different
        # event loop", the task dies, and teardown reports it. Process them with the loop running.
        if not alive or alive[0].is_closed() or alive[0].is_running():
            qapp.processEvents()
        else:
            alive[0].run_until_complete(asyncio.sleep(0))

    monkeypatch.setattr(pytestqt.plugin, "_process_events", process_events)
    try:
        yield event_loop
    finally:
        pending = [t for t in asyncio.all_tasks(event_loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            event_loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        event_loop.run_until_complete(event_loop.shutdown_asyncgens())
        event_loop.close()
        asyncio.set_event_loop(None)
        alive.clear()
        del event_loop
        # Collect this test's Qt garbage (the loop's timer object, dialogs) here, in the GUI
        # thread: left to the cyclic GC, it may be freed in some later worker thread, and Qt
        # warns "Timers cannot be stopped from another thread".
        gc.collect()


Runner = Callable[..., Any]


@pytest.fixture
def run(loop: asyncio.AbstractEventLoop) -> Runner:
    def run_coro(coro: Coroutine[Any, Any, T], timeout: float = WAIT_LIMIT) -> T:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return run_coro


async def until(predicate: Callable[[], object], timeout: float = WAIT_LIMIT, what: str = "") -> None:
    """Wait on the loop (Qt keeps processing events) until ``predicate()`` holds.

    The timeout is a safety net against a hang, not a measure: it is generous, so a machine busy
    with other work (both cores taken) only makes the test slower, never red.
    """
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.02)


class FakeTimer:
    def __init__(self, timers: FakeTimers, seconds: float, callback: Callable[[], None]) -> None:
        self.timers = timers
        self.seconds = seconds
        self.callback = callback
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        if self in self.timers.pending:
            self.timers.pending.remove(self)


class FakeTimers:
    """A timer factory the test fires by hand: no waiting, no wall clock."""

    def __init__(self) -> None:
        self.pending: list[FakeTimer] = []
        self.started: list[FakeTimer] = []

    def __call__(self, seconds: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(self, seconds, callback)
        self.pending.append(timer)
        self.started.append(timer)
        return timer

    def fire_all(self) -> int:
        fired = 0
        while self.pending:
            timer = self.pending.pop(0)
            timer.callback()
            fired += 1
        return fired


@pytest.fixture
def timers() -> FakeTimers:
    return FakeTimers()


# ---- a running tray on the test's loop, config dir and provider server ----------------------


class Rig:
    """A TraySession over a real broker and store, against the local provider server."""

    def __init__(
        self, config: Path, srv: Any, run: Runner, *, ui: str = "tray", clock: FakeClock | None = None
    ) -> None:
        from trayauth.domain.presets import PresetCatalog
        from trayauth.services.broker import Broker
        from trayauth.storage.store import Store

        self.config = config
        self.srv = srv
        self.run = run
        self.clock = clock
        store = Store.open(config)
        catalog = PresetCatalog(store.paths.presets_dir)
        self.broker = Broker(store, catalog, clock=clock) if clock else Broker(store, catalog)
        self.opened: list[str] = []
        self.confirm_answer = True
        self.confirmed: list[str] = []
        self.ui = ui
        self.session: Any = None
        self.wake_bus: str | None = None  # the address of a D-Bus daemon playing the system bus (wake tests)
        self.notify_bus: Any = False  # a private bus with a notification service; False: balloons

    def _confirm(self, title: str, text: str) -> bool:
        self.confirmed.append(title)
        return self.confirm_answer

    def start(self) -> Any:
        from trayauth.ui.qt.session import TraySession

        self.session = TraySession(
            self.broker,
            ui=self.ui,
            open_url=lambda url: self.opened.append(url) or False,
            confirm=self._confirm,
            coalesce=0.05,
            wake_bus=self.wake_bus,
            notify_bus=self.notify_bus,
        )
        self.run(self.session.start())
        return self.session

    def add(self, name: str, preset: str, settings: dict[str, str]) -> None:
        from trayauth.domain.model import Account

        self.broker.add(Account(name, preset, settings))

    def add_sentiance(self, name: str = "work", *, login: bool = True) -> str | None:
        user = self.srv.users["sentiance"]
        self.add(
            name, "sentiance", {"base_url": self.srv.base_url("sentiance"), "username": user["username"]}
        )
        if not login:
            return None
        tokens = self.run(self.broker.login(name, {"password": user["password"]}))
        return str(tokens.access_token)

    def add_bearer(self, name: str, token: str) -> None:
        self.add(name, "bearer", {})
        self.run(self.broker.login(name, {"token": token}))

    def close(self) -> None:
        if self.session is not None:
            self.run(self.session.close())
            self.session = None


@pytest.fixture
def rig(isolated: Path, fresh_provider: Any, run: Runner) -> Iterator[Rig]:
    r = Rig(isolated, fresh_provider, run)
    try:
        yield r
    finally:
        r.close()


# ---- a private D-Bus daemon (wake and notification tests) ----------------------------------


@pytest.fixture
def bus_address(tmp_path: Path) -> Iterator[str]:
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        if os.environ.get("CI"):
            pytest.fail("dbus-daemon is missing (.ci/run installs the dbus package)")
        pytest.skip("dbus-daemon is not installed")
    proc = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address=1", "--nopidfile"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        assert address, "dbus-daemon printed no address"
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
