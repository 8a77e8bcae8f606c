"""Telling the scheduler the moment the machine wakes from suspend.

Why: the scheduler's timers run on the monotonic clock, which stands still while a laptop sleeps,
so after a night's suspend a token that fell due would wait out the rest of its timer (the
scheduler caps every wait at a minute for exactly this reason). On Linux, logind announces
sleep and wake on the system bus (``PrepareForSleep(false)`` on wake); on that signal the
scheduler looks at once. Where there is no logind (macOS, Windows, containers) nothing is
connected and the one-minute cap is the guarantee.

The bus is spoken with jeepney on the asyncio loop, as the notifications are: one D-Bus library
in the tray (QtDBus would add ~1 MiB resident for this one signal).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from trayauth.ui.qt.bus import close_bus, open_bus

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"
CALL_TIMEOUT = 5.0


class WakeWatcher:
    """Calls ``on_wake`` when logind says the machine has resumed; inert where it cannot listen.

    ``bus`` is a D-Bus address (tests: a private daemon); None means the system bus on Linux.
    """

    def __init__(self, on_wake: Callable[[], None], bus: str | None = None) -> None:
        self._on_wake = on_wake
        self._bus = bus
        self.listening = False
        self.wakes = 0
        self._conn: Any = None
        self._router: Any = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        opened = await open_bus(self._bus, "SYSTEM", CALL_TIMEOUT)
        if opened is None:
            return  # no system bus (a container)
        jeepney, conn, router = opened
        self._conn, self._router = conn, router
        fields = {
            "type": "signal",
            "interface": LOGIND_MANAGER,
            "member": "PrepareForSleep",
            "path": LOGIND_PATH,
        }
        # The bus delivers only what logind's name owner sends (an impostor's same signal is not
        # ours); the message itself names its sender by unique id, so the local filter cannot.
        wanted = jeepney.MatchRule(sender=LOGIND, **fields)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        router.filter(jeepney.MatchRule(**fields), queue=queue, bufsize=16)
        try:
            reply = await asyncio.wait_for(
                router.send_and_get_reply(jeepney.message_bus.AddMatch(wanted)), CALL_TIMEOUT
            )
        except (OSError, TimeoutError, RuntimeError):
            await self.close()
            return
        if reply.header.message_type.name != "method_return":
            await self.close()
            return
        self._listener = asyncio.get_running_loop().create_task(self._listen(queue))
        self.listening = True

    async def _listen(self, queue: asyncio.Queue[Any]) -> None:
        while True:
            message = await queue.get()
            if message.body and not message.body[0]:  # PrepareForSleep(false): awake again
                self.wakes += 1
                self._on_wake()

    async def close(self) -> None:
        self.listening = False
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        router, conn, self._router, self._conn = self._router, self._conn, None, None
        await close_bus(conn, router)
