"""Single-shot QTimers behind the Qt-free ``TimerFactory`` shape."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer

from trayauth.ui.state.timers import Timer

MAX_TIMER_MS = 2_000_000_000  # QTimer takes a 32-bit int; callers re-plan when woken early


def qt_timer(seconds: float, callback: Callable[[], None]) -> Timer:
    """A single-shot QTimer: no Python-side polling, and stoppable."""
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(callback)
    timer.start(min(MAX_TIMER_MS, max(0, int(seconds * 1000))))
    return timer
