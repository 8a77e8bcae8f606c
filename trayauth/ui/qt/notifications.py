"""Notifications through the desktop's own service (``org.freedesktop.Notifications``).

Why not the tray balloon: on Linux desktops a balloon is drawn by Qt, vanishes after a few
seconds and never reaches the notification centre's history, so a warning shown while the user
was away is lost. The service keeps it, and offers its buttons ("Log in", "Copy header").

How: the D-Bus messages are typed by jeepney (pure Python, installed with keyring on Linux) on
the asyncio loop, not by QtDBus. The specification's ``Notify`` is ``susssasa{sv}i``: from
Python, PySide6 can send neither a uint32 (an int goes out as int32 or uint16) nor an ``a{sv}``
that a GLib daemon's introspection names, and daemons built on GDBus (dunst, GNOME Shell)
refuse any other signature. The calls never block the UI: each is a task with a deadline, and a
note the service did not take is shown as the tray's balloon instead. Button presses
(``ActionInvoked``) arrive on the same connection, whether the daemon broadcasts them or sends
them to the connection that asked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from trayauth.desktop import APP_ID
from trayauth.ui.qt.bus import close_bus, open_bus
from trayauth.ui.state.notifier import Level, Note

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
CALL_TIMEOUT = 2.0  # a local service answers in milliseconds; a hung one must not hold notes back
HISTORY = 64
URGENCY = {Level.INFO: 1, Level.WARNING: 1, Level.CRITICAL: 2}


class DesktopNotifications:
    """Shows notes through the session's notification service; ``on_action(note, key)`` runs
    when the user presses one of a note's buttons ("default": a click on the note itself);
    ``fallback(note)`` shows a note the service did not take."""

    def __init__(
        self,
        on_action: Callable[[Note, str], None],
        fallback: Callable[[Note], None],
        bus: str | None = None,
    ) -> None:
        self._on_action = on_action
        self._fallback = fallback
        self._bus = bus  # an address (tests: a private bus); None: the session bus
        self._shown: dict[int, Note] = {}
        self._router: Any = None
        self._conn: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self.available = False
        self.markup = False
        self.actions = False
        self.sent = 0

    async def start(self) -> None:
        """Connect and ask the service what it can do; stays unavailable where there is none."""
        opened = await open_bus(self._bus, "SESSION", CALL_TIMEOUT)
        if opened is None:
            return  # no session bus (a bare X session, a container)
        jeepney, conn, router = opened
        DBusAddress, MatchRule = jeepney.DBusAddress, jeepney.MatchRule
        message_bus, new_method_call = jeepney.message_bus, jeepney.new_method_call
        self._conn, self._router = conn, router
        address = DBusAddress(PATH, bus_name=SERVICE, interface=INTERFACE)
        self._address = address
        self._new_call = new_method_call
        try:
            reply = await asyncio.wait_for(
                router.send_and_get_reply(new_method_call(address, "GetCapabilities")), CALL_TIMEOUT
            )
        except (OSError, TimeoutError, RuntimeError):
            await self.close()
            return
        if reply.header.message_type.name != "method_return":
            await self.close()  # nobody owns the name: balloons it is
            return
        caps = list(reply.body[0]) if reply.body else []
        self.markup = "body-markup" in caps
        self.actions = "actions" in caps
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for member in ("ActionInvoked", "NotificationClosed"):
            rule = MatchRule(type="signal", interface=INTERFACE, member=member, path=PATH)
            router.filter(rule, queue=queue, bufsize=64)
            with contextlib.suppress(OSError, TimeoutError, RuntimeError):
                await asyncio.wait_for(router.send_and_get_reply(message_bus.AddMatch(rule)), CALL_TIMEOUT)
        self._listener = asyncio.get_running_loop().create_task(self._listen(queue))
        self.available = True

    def show(self, note: Note) -> bool:
        """Hand ``note`` to the service (on the loop); False when there is none to take it."""
        if not self.available:
            return False
        task = asyncio.get_running_loop().create_task(self._send(note))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
        return True

    async def _send(self, note: Note) -> None:
        actions: list[str] = []
        if self.actions and note.actions:
            for key, label in note.actions:
                actions += [key, label]
            actions += ["default", note.actions[0][1]]
        body = note.text
        if self.markup:
            body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        hints = {"desktop-entry": ("s", APP_ID), "urgency": ("y", URGENCY[note.level])}
        timeout = 0 if note.level >= Level.CRITICAL else -1  # critical: stays until dismissed
        message = self._new_call(
            self._address,
            "Notify",
            "susssasa{sv}i",
            ("trayauth", 0, "dialog-password", note.title, body, actions, hints, timeout),
        )
        try:
            reply = await asyncio.wait_for(self._router.send_and_get_reply(message), CALL_TIMEOUT)
        except (OSError, TimeoutError, RuntimeError):
            reply = None
        if reply is None or reply.header.message_type.name != "method_return" or not reply.body:
            self._fallback(note)
            return
        self.sent += 1
        self._shown[int(reply.body[0])] = note
        while len(self._shown) > HISTORY:
            del self._shown[next(iter(self._shown))]

    async def _listen(self, queue: asyncio.Queue[Any]) -> None:
        while True:
            message = await queue.get()
            member = message.header.fields.get(3)  # HeaderFields.member
            body = message.body
            if member == "ActionInvoked" and len(body) == 2:
                note = self._shown.get(int(body[0]))
                if note is not None:
                    self._on_action(note, str(body[1]))
            elif member == "NotificationClosed" and body:
                self._shown.pop(int(body[0]), None)

    async def close(self) -> None:
        self.available = False
        tasks = [t for t in (self._listener, *self._sends) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._listener = None
        router, conn, self._router, self._conn = self._router, self._conn, None, None
        await close_bus(conn, router)
