"""The one-shot timer shape the Qt-free parts are given, so tests can hand them a fake clock's
timers and the tray hands them QTimers (``trayauth.ui.qt.timers``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def stop(self) -> None: ...


TimerFactory = Callable[[float, Callable[[], None]], Timer]
