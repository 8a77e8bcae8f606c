"""Back from suspend: logind's PrepareForSleep(false) makes the scheduler look at once.

A private D-Bus daemon stands in for the system bus, and a second connection on it takes
logind's name and sends the signal, byte for byte as logind does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtDBus import QDBusConnection, QDBusMessage

from tests.support.clock import FakeClock
from tests.support.qt import Rig, Runner, until
from trayauth.ui.qt.wake import LOGIND, LOGIND_MANAGER, LOGIND_PATH, WakeWatcher


class Logind:
    """A connection that owns logind's name and announces sleep and wake."""

    def __init__(self, address: str, name: str = "fake-logind", own: str | None = LOGIND) -> None:
        self.conn = QDBusConnection.connectToBus(address, f"{name}-{address}")  # Qt reuses by name
        assert self.conn.isConnected()
        if own:
            assert self.conn.registerService(own)

    def prepare_for_sleep(self, going: bool) -> None:
        message = QDBusMessage.createSignal(LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep")
        message.setArguments([going])
        assert self.conn.send(message)


def test_only_a_wake_from_logind_counts(bus_address: str, run: Runner) -> None:
    woke: list[int] = []
    watcher = WakeWatcher(lambda: woke.append(1), bus=bus_address)
    run(watcher.start())
    assert watcher.listening
    impostor = Logind(bus_address, name="impostor", own=None)  # the same signal, not from logind
    logind = Logind(bus_address)
    impostor.prepare_for_sleep(False)
    logind.prepare_for_sleep(True)  # going to sleep: nothing to do yet
    logind.prepare_for_sleep(False)
    run(until(lambda: woke, what="the wake"))
    run(_pause(0.3))  # time for a wrongly counted signal to arrive
    assert woke == [1] and watcher.wakes == 1
    run(watcher.close())
    assert not watcher.listening


async def _pause(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_no_bus_means_no_listening(run: Runner) -> None:
    watcher = WakeWatcher(lambda: None, bus="unix:path=/nonexistent")
    run(watcher.start())
    assert not watcher.listening


def test_due_tokens_are_renewed_as_soon_as_the_machine_wakes(
    isolated: Path, fresh_provider: Any, run: Runner, bus_address: str
) -> None:
    clock = FakeClock()
    rig = Rig(isolated, fresh_provider, run, clock=clock)
    rig.wake_bus = bus_address
    try:
        rig.add_sentiance("work")  # an hour's token
        session = rig.start()
        assert session.wake is not None and session.wake.listening
        # Parked: the first look is done (nothing due) and the scheduler waits on its timer.
        run(until(lambda: session.scheduler.wakeups >= 1 and not session.scheduler.renewing))
        before = fresh_provider.refreshes("sentiance")
        # A night's suspend: the wall clock jumped, the scheduler's monotonic timer did not move.
        clock.advance(8 * 3600)
        run(_pause(0.5))
        assert fresh_provider.refreshes("sentiance") == before, "renewed before the wake was told"
        Logind(bus_address).prepare_for_sleep(False)
        run(until(lambda: fresh_provider.refreshes("sentiance") > before, what="the renewal"))
    finally:
        rig.close()
