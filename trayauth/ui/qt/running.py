"""The tray's Qt side: the application object, the qasync loop (one event loop for widgets and
network) and the session, run until the user quits.

Imported once, through :func:`trayauth.ui.deferred.qt_runtime`, after the pre-flight checks in
:mod:`trayauth.ui.qt.bootstrap` passed: importing this module is importing Qt.
"""

from __future__ import annotations

import asyncio
import linecache
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import PySide6
import qasync
from PySide6.QtWidgets import QApplication

from trayauth.desktop import APP_ID
from trayauth.domain.errors import TrayauthError
from trayauth.services.broker import Broker
from trayauth.services.instance import AlreadyRunning
from trayauth.services.loopnotes import OneLineLoopNotes
from trayauth.ui import deferred
from trayauth.ui.qt.session import TraySession
from trayauth.ui.state import wording
from trayauth.ui.widgets.icons import app_icon

if TYPE_CHECKING:
    from trayauth.ui.state.demo import Demo, DemoAccount


def _say(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr)


def broken_binding(pyside_version: str, python: tuple[int, int]) -> bool:
    """PySide6 6.12.0 returns None from every void method without a reference; from Python
    3.12 None is immortal and nothing happens, before it the count drains and the process
    aborts ("deallocating None") within minutes of a ticking tray."""
    return pyside_version.startswith("6.12.0") and python < (3, 12)


def forget_read_sources() -> None:
    """Drop the source text PySide6 read while the tray's modules were imported.

    On every import after it, PySide6 reads the new module's whole source (to see whether it
    opts into its ``__feature__`` switches), and ``linecache`` keeps it: ~4 MiB of text for the
    tray's modules and their dependencies, never used again. Dropped before the session builds
    anything, so what comes next reuses the room. A traceback would read the lines afresh.
    """
    linecache.clearcache()


def run(
    broker: Broker,
    *,
    force_window: bool = False,
    demo_server: object | None = None,
    browser_login: bool = True,
) -> int:
    """Qt, the qasync loop, the session; returns the exit code. Never a Qt abort or traceback."""
    if broken_binding(PySide6.__version__, sys.version_info[:2]):
        _say(
            f"warning: PySide6 {PySide6.__version__} miscounts references on Python "
            f"{sys.version_info[0]}.{sys.version_info[1]} and crashes after a while; "
            "install PySide6-Essentials<6.12 (or use Python 3.12+)"
        )
    forget_read_sources()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("trayauth")
    app.setApplicationDisplayName("trayauth")
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(OneLineLoopNotes())  # one line per kind of event, no tracebacks

    async def main() -> int:
        def notes() -> str | None:
            return None

        demo = None
        if demo_server is not None:
            demo, ready = deferred.demo_tools().prepare(broker, demo_server)
            notes = lambda: demo.note  # noqa: E731
        session = TraySession(broker, ui="window" if force_window else "auto", notes=notes)
        if demo is not None:
            session.tasks.spawn(_demo_logins(session, demo, ready, browser_login))
        return await session.run()

    try:
        code: int = loop.run_until_complete(main())
        return code
    except AlreadyRunning as exc:
        _say(str(exc))
        return 0
    except TrayauthError as exc:
        _say(wording.text(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def _demo_logins(session: TraySession, demo: Demo, ready: Sequence[DemoAccount], browser: bool) -> None:
    tools = deferred.demo_tools()
    items = [a for a in ready if browser or not a.browser]
    problems = demo.problems + await tools.log_in(session.broker, items, tools.play_browser)
    session.accounts.reload()
    session.scheduler.poke()
    for line in problems:
        _say(f"demo: {line}")
    if problems:
        session.notifier.info("trayauth demo", "\n".join(problems[:4]))
