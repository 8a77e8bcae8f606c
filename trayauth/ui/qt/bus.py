"""One D-Bus connection through jeepney, opened and closed the same way by each of its users.

The notifications (session bus) and the wake watcher (system bus) each hold a connection and its
router. Opening gives up quietly where there is no bus (a container, a bare X session): neither
feature is worth an error there. Closing is the other side's boundary going away, so it never
raises either.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from trayauth.ui import deferred


async def open_bus(address: str, timeout: float) -> tuple[Any, Any] | None:
    """``(connection, router)`` on the bus at ``address`` ("SESSION", "SYSTEM" or a bus address),
    or None where jeepney or the bus is missing or does not answer within ``timeout``."""
    modules = deferred.jeepney()
    if modules is None:
        return None
    _jeepney, jeepney_io = modules
    try:
        conn = await asyncio.wait_for(jeepney_io.open_dbus_connection(address), timeout)
    except (OSError, KeyError, ValueError, TimeoutError, RuntimeError):
        return None
    return conn, jeepney_io.DBusRouter(conn)


async def close_bus(conn: Any, router: Any) -> None:
    """Close a router and its connection from :func:`open_bus`; either may be None."""
    if router is not None:
        with contextlib.suppress(Exception):  # a foreign boundary going away
            await router.__aexit__(None, None, None)
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.close()
