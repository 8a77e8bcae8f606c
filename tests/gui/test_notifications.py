"""Notifications reach the desktop's notification service, once per event, with buttons that
work; with no service the tray's balloon shows them instead.

A private D-Bus daemon stands in for the session bus, and a separate process
(``fake_notifications.py``) owns ``org.freedesktop.Notifications`` on it, as a desktop's daemon
does: it prints each ``Notify`` it receives and sends ``ActionInvoked`` when told to.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clock import FakeClock
from tests.support.qt import Rig, Runner, until
from trayauth.ui.widgets.tray import Tray

HERE = Path(__file__).resolve().parent


class FakeService:
    def __init__(self, address: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fake_notifications.py"), address],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        assert json.loads(first) == {"ready": True}, first
        self.received: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.received.append(json.loads(line))

    def invoke(self, ident: int, key: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"invoke {ident} {key}\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def service(bus_address: str) -> Iterator[FakeService]:
    fake = FakeService(bus_address)
    try:
        yield fake
    finally:
        fake.close()


async def _pause(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_an_expiry_warning_reaches_the_service_once_with_working_buttons(
    isolated: Path, fresh_provider: Any, run: Runner, bus_address: str, service: FakeService
) -> None:
    clock = FakeClock()
    rig = Rig(isolated, fresh_provider, run, clock=clock)
    rig.notify_bus = bus_address
    try:
        token = fresh_provider.mint_jwt({"sub": "x", "exp": int(clock.now) + 3600})
        rig.add_bearer("pasted", token)
        session = rig.start()
        assert session.desktop is not None and session.desktop.available
        tray = session.ui
        assert isinstance(tray, Tray)
        clock.advance(3600 - 290)  # inside the 5-minute warning
        for _ in range(3):  # however often the scheduler looks, the warning is one
            session.scheduler.poke()
            run(_pause(0.2))
        run(until(lambda: service.received, timeout=10, what="the Notify call"))
        run(_pause(0.3))
        (note,) = service.received
        assert note["app_name"] == "trayauth"
        assert note["summary"] == "pasted: token expires soon"
        assert "5 min" in note["body"]
        # A pasted token: its button pastes a new one (it was "Log in", which it cannot).
        assert note["actions"] == [
            "login",
            "Paste a new token",
            "copy",
            "Copy header",
            "default",
            "Paste a new token",
        ]
        assert note["hints"]["desktop-entry"] == "io.github.trayauth.TrayAuth"
        assert tray.last_note is None, "a balloon as well as the desktop's notification"
        # "Paste a new token" opens the login dialog, where the token is pasted.
        service.invoke(note["id"], "login")
        run(until(lambda: "login:pasted" in session.actions.windows, timeout=10, what="the dialog"))
        # "Copy header" copies the still-valid token, and says so (one notification).
        service.invoke(note["id"], "copy")
        run(until(lambda: len(service.received) == 2, timeout=10, what="the copy's confirmation"))
        assert service.received[1]["summary"] == "Copied pasted's header"
        # An id the tray never sent (another app's notification) does nothing.
        service.invoke(9999, "copy")
        run(_pause(0.3))
        assert len(service.received) == 2
    finally:
        rig.close()


def test_without_a_notification_service_the_balloon_shows_it(
    isolated: Path, fresh_provider: Any, run: Runner, bus_address: str
) -> None:
    clock = FakeClock()
    rig = Rig(isolated, fresh_provider, run, clock=clock)
    rig.notify_bus = bus_address  # a bus, but nobody owns the service's name
    try:
        rig.add_bearer("pasted", fresh_provider.mint_jwt({"sub": "x", "exp": int(clock.now) + 3600}))
        session = rig.start()
        assert session.desktop is not None and not session.desktop.available
        tray = session.ui
        assert isinstance(tray, Tray)
        clock.advance(3600 - 290)
        session.scheduler.poke()
        run(until(lambda: tray.last_note is not None, timeout=10, what="the balloon"))
        assert tray.last_note is not None and tray.last_note.title == "pasted: token expires soon"
    finally:
        rig.close()
