"""Starting the tray without a Qt abort or a traceback reaching the user: the part before Qt.

Imported by ``trayauth.ui.app`` before Qt is. The broker is opened first (a damaged config is
one line, and Qt never starts for it); then Qt is imported through the one guarded import in
:mod:`trayauth.ui.deferred`, and :mod:`trayauth.ui.qt.running` runs the session.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from trayauth.arenas import limit_arenas
from trayauth.domain.errors import TrayauthError
from trayauth.ui import deferred
from trayauth.ui.qt.display import CLI_HINT
from trayauth.ui.state import wording

if TYPE_CHECKING:
    from trayauth.services.broker import Broker

QT_MISSING = (
    "the tray needs PySide6, which cannot be imported here ({missing}); "
    "reinstall trayauth with its dependencies (pipx install --force trayauth); " + CLI_HINT
)


def _say(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr)


def run_tray(
    open_broker: Callable[[], Broker],
    *,
    force_window: bool = False,
    demo_server: object | None = None,
    browser_login: bool = True,
) -> int:
    """Open the broker, import Qt, run the session; returns the exit code."""
    limit_arenas()  # before Qt and the broker start their threads
    try:
        broker = open_broker()
    except TrayauthError as exc:
        _say(wording.text(exc))
        return exc.exit_code
    try:
        running = deferred.qt_runtime()
    except deferred.QtMissing as exc:
        _say(QT_MISSING.format(missing=exc))
        return 1
    code: int = running.run(
        broker, force_window=force_window, demo_server=demo_server, browser_login=browser_login
    )
    return code
