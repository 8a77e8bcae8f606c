"""Telling the scheduler the moment the machine wakes from suspend.

Why: the scheduler's timers run on the monotonic clock, which stands still while a laptop sleeps,
so after a night's suspend a token that fell due would wait out the rest of its timer (the
scheduler caps every wait at a minute for exactly this reason). On Linux, logind announces
sleep and wake on the system bus (``PrepareForSleep(false)`` on wake); on that signal the
scheduler looks at once. Where there is no logind (macOS, Windows, containers) nothing is
connected and the one-minute cap is the guarantee.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import SLOT, QObject, Slot

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"


class WakeWatcher(QObject):
    """Calls ``on_wake`` when logind says the machine has resumed; inert where it cannot listen."""

    def __init__(self, on_wake: Callable[[], None], bus: object | None = None) -> None:
        super().__init__()
        self._on_wake = on_wake
        self.listening = False
        self.wakes = 0
        if bus is None and not sys.platform.startswith("linux"):
            return
        try:
            from PySide6.QtDBus import QDBusConnection
        except ImportError:  # a Qt build without D-Bus
            return
        connection = bus if bus is not None else QDBusConnection.systemBus()
        assert isinstance(connection, QDBusConnection)
        if not connection.isConnected():
            return
        self._bus = connection  # keep the connection alive as long as we listen
        self.listening = connection.connect(
            LOGIND, LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep", self, SLOT("_sleep(bool)")  # type: ignore[call-overload]
        )

    @Slot(bool)
    def _sleep(self, going_to_sleep: bool) -> None:
        if not going_to_sleep:
            self.wakes += 1
            self._on_wake()
