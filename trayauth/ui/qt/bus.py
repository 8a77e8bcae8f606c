"""One D-Bus connection through jeepney, opened and closed the same way by each of its users.

The notifications (session bus) and the wake watcher (system bus) each hold a connection and its
router. Opening gives up quietly where there is no bus (a container, a bare X session): neither
feature is worth an error there. Closing is the other side's boundary going away, so it never
raises either.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from types import ModuleType
from typing import Any

from trayauth.ui import deferred


async def open_bus(address: str | None, default: str, timeout: float) -> tuple[ModuleType, Any, Any] | None:
    """``(jeepney, connection, router)`` on the bus at ``address`` (a bus address), else at
    ``default`` ("SESSION" or "SYSTEM") on Linux; None where jeepney or the bus is missing or
    does not answer within ``timeout``."""
    if address is None and not sys.platform.startswith("linux"):
        return None
    modules = deferred.jeepney()
    if modules is None:
        return None
    jeepney, jeepney_io = modules
    try:
        conn = await asyncio.wait_for(jeepney_io.open_dbus_connection(address or default), timeout)
    except (OSError, KeyError, ValueError, TimeoutError, RuntimeError):
        return None
    return jeepney, conn, jeepney_io.DBusRouter(conn)


async def close_bus(conn: Any, router: Any) -> None:
    """Close a router and its connection from :func:`open_bus`; either may be None."""
    if router is not None:
        with contextlib.suppress(Exception):  # a foreign boundary going away
            await router.__aexit__(None, None, None)
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.close()
