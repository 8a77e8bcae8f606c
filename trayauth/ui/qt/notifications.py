"""Notifications through the desktop's own service (``org.freedesktop.Notifications``).

Why not the tray balloon: on Linux desktops a balloon is drawn by Qt, vanishes after a few
seconds and never reaches the notification centre's history, so a warning shown while the user
was away is lost. The service keeps it, and offers its buttons ("Log in", "Copy header").

How: QtDBus. The call goes through a ``QDBusInterface``'s introspected method, because the
specification's ``Notify`` takes ``replaces_id`` as uint32 and PySide6 can only send a Python
int as int32 — the introspected slot converts it. Where no service answers (macOS, Windows, a
bare X session) :attr:`available` is False and the tray shows its balloon instead.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable

from PySide6.QtCore import Q_ARG, Q_RETURN_ARG, SLOT, QMetaObject, QObject, Qt, Slot

from trayauth.desktop.autostart import APP_ID
from trayauth.ui.state.notifier import Level, Note

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
CALL_TIMEOUT_MS = 1000  # a local service answers in milliseconds; a hung one must not hang the tray
HISTORY = 64


class DesktopNotifications(QObject):
    """Shows notes through the session's notification service; ``on_action(note, key)`` runs
    when the user presses one of a note's buttons ("default": a click on the note itself)."""

    def __init__(self, on_action: Callable[[Note, str], None], bus: object | None = None) -> None:
        super().__init__()
        self._on_action = on_action
        self._shown: dict[int, Note] = {}
        self.available = False
        self.markup = False
        self.sent = 0
        if bus is None and not sys.platform.startswith("linux"):
            return
        try:
            from PySide6.QtDBus import QDBusConnection, QDBusInterface
        except ImportError:  # a Qt build without D-Bus
            return
        connection = bus if bus is not None else QDBusConnection.sessionBus()
        assert isinstance(connection, QDBusConnection)
        if not connection.isConnected():
            return
        registered = connection.interface().isServiceRegistered(SERVICE)
        if not registered.isValid() or not registered.value():
            return
        self._bus = connection  # the interface and the signals live as long as this connection
        self._iface = QDBusInterface(SERVICE, PATH, INTERFACE, connection)
        self._iface.setTimeout(CALL_TIMEOUT_MS)
        if not self._iface.isValid():
            return
        capabilities = self._iface.call("GetCapabilities")
        caps = capabilities.arguments()[0] if capabilities.arguments() else []
        self.markup = isinstance(caps, list) and "body-markup" in caps
        self.actions = isinstance(caps, list) and "actions" in caps
        connection.connect(SERVICE, PATH, INTERFACE, "ActionInvoked", self, SLOT("_invoked(uint,QString)"))  # type: ignore[call-overload]
        connection.connect(SERVICE, PATH, INTERFACE, "NotificationClosed", self, SLOT("_closed(uint,uint)"))  # type: ignore[call-overload]
        self.available = True

    def show(self, note: Note) -> bool:
        """Hand ``note`` to the service; False when it did not take it (show a balloon then)."""
        if not self.available:
            return False
        actions: list[str] = []
        if self.actions:
            for key, label in note.actions:
                actions += [key, label]
            if note.actions:
                actions += ["default", note.actions[0][1]]
        body = html.escape(note.text, quote=False) if self.markup else note.text
        hints = {"desktop-entry": APP_ID}
        timeout = -1 if note.level < Level.CRITICAL else 0  # critical: stays until dismissed
        try:
            ident = QMetaObject.invokeMethod(
                self._iface,
                "Notify",
                Qt.ConnectionType.DirectConnection,
                Q_RETURN_ARG("uint"),
                Q_ARG(str, "trayauth"),
                Q_ARG("uint", 0),
                Q_ARG(str, "dialog-password"),
                Q_ARG(str, note.title),
                Q_ARG(str, body),
                Q_ARG("QStringList", actions),
                Q_ARG("QVariantMap", hints),
                Q_ARG(int, timeout),
            )
        except (RuntimeError, TypeError):
            return False
        if not isinstance(ident, int) or ident == 0:
            error = self._iface.lastError()
            if error.isValid():
                return False
        self.sent += 1
        if isinstance(ident, int) and ident:
            self._shown[ident] = note
            while len(self._shown) > HISTORY:
                del self._shown[next(iter(self._shown))]
        return True

    @Slot("uint", str)
    def _invoked(self, ident: int, key: str) -> None:
        note = self._shown.get(int(ident))
        if note is not None:
            self._on_action(note, key)

    @Slot("uint", "uint")
    def _closed(self, ident: int, _reason: int) -> None:
        self._shown.pop(int(ident), None)
