"""The one fake clock of the test suite, and the sleep that goes with it.

The broker, the HTTP policy, the provider server, the scheduler and the tray's presenters each
take a ``clock`` callable (wall time, seconds since the epoch). Giving all of them one
:class:`FakeClock` keeps them in step while a test moves time by hand: a day passes in a line,
with nothing waiting on real seconds.
"""

from __future__ import annotations

import asyncio
import time


class FakeClock:
    """Wall-clock time that moves only when the test says so (``advance``, or ``now = ...``)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """An ``asyncio.sleep`` that moves this clock instead of waiting (and records the wait)."""
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Sleeps:
    """An ``asyncio.sleep`` stand-in that records each wait; given a clock, it also moves it."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)
