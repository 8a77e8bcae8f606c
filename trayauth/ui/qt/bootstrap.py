"""Starting Qt and the qasync loop under a session, and ending them, without a Qt abort or a
traceback reaching the user. Imported by ``trayauth.ui.app`` before Qt is: every Qt import here
happens inside :func:`run_tray`, after the pre-flight checks."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from trayauth.desktop.autostart import APP_ID
from trayauth.ui.state import wording

if TYPE_CHECKING:
    from trayauth.services.broker import Broker
    from trayauth.ui.qt.session import TraySession


def _say(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr)


def broken_binding(pyside_version: str, python: tuple[int, int]) -> bool:
    """PySide6 6.12.0 returns None from every void method without a reference; from Python
    3.12 None is immortal and nothing happens, before it the count drains and the process
    aborts ("deallocating None") within minutes of a ticking tray."""
    return pyside_version.startswith("6.12.0") and python < (3, 12)


def run_tray(
    open_broker: Callable[[], Broker],
    *,
    force_window: bool = False,
    demo_server: object | None = None,
    browser_login: bool = True,
) -> int:
    """Qt, the qasync loop, the session; returns the exit code. Never a Qt abort or traceback."""
    from trayauth.domain.errors import TrayauthError

    try:
        broker = open_broker()
    except TrayauthError as exc:
        _say(wording.text(exc))
        return exc.exit_code
    import asyncio

    import PySide6
    import qasync
    from PySide6.QtWidgets import QApplication

    if broken_binding(PySide6.__version__, sys.version_info[:2]):
        _say(
            f"warning: PySide6 {PySide6.__version__} miscounts references on Python "
            f"{sys.version_info[0]}.{sys.version_info[1]} and crashes after a while; "
            "install PySide6-Essentials<6.12 (or use Python 3.12+)"
        )

    from trayauth.services.agent import AlreadyRunning
    from trayauth.ui.qt.session import TraySession
    from trayauth.ui.widgets.icons import app_icon

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("trayauth")
    app.setApplicationDisplayName("trayauth")
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from trayauth.services.loopnotes import OneLineLoopNotes

    loop.set_exception_handler(OneLineLoopNotes())  # one line per kind of event, no tracebacks

    async def run() -> int:
        def notes() -> str | None:
            return None

        demo = None
        if demo_server is not None:
            from trayauth.ui.state import demo as demo_mod

            demo, ready = demo_mod.prepare(broker, demo_server)  # type: ignore[arg-type]
            notes = lambda: demo.note  # noqa: E731
        session = TraySession(broker, ui="window" if force_window else "auto", notes=notes)
        if demo is not None:
            session.tasks.spawn(_demo_logins(session, demo, ready, browser_login))
        return await session.run()

    try:
        code: int = loop.run_until_complete(run())
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


async def _demo_logins(session: TraySession, demo: object, ready: Sequence[object], browser: bool) -> None:
    from trayauth.ui.state import demo as demo_mod

    assert isinstance(demo, demo_mod.Demo)
    items = [a for a in ready if isinstance(a, demo_mod.DemoAccount) and (browser or not a.browser)]
    problems = demo.problems + await demo_mod.log_in(session.broker, items, demo_mod.play_browser)
    session.accounts.reload()
    session.scheduler.poke()
    for line in problems:
        _say(f"demo: {line}")
    if problems:
        session.notifier.info("trayauth demo", "\n".join(problems[:4]))
