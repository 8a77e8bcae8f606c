"""Starting the tray: ``trayauth`` (no arguments) and ``trayauth demo``.

Order matters for the user: with no display, one line pointing to the CLI (Qt would abort the
process instead); with a tray already running, one line saying so — both before Qt is even
imported, so they are instant. Then Qt, the qasync loop (one event loop for widgets and network),
and the session.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from trayauth.ui.display import display_problem

if TYPE_CHECKING:
    from trayauth.services.broker import Broker
    from trayauth.ui.session import TraySession

APP_ID = "io.github.trayauth.TrayAuth"


def _say(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr)


def _parser(prog: str, demo: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog)
    p.add_argument("--config-dir", help="use this config directory instead of the usual one")
    p.add_argument(
        "--window", action="store_true", help="show the accounts window even where a tray area exists"
    )
    if demo:
        p.add_argument("--no-browser-login", action="store_true", help=argparse.SUPPRESS)
    return p


def broken_binding(pyside_version: str, python: tuple[int, int]) -> bool:
    """PySide6 6.12.0 returns None from every void method without a reference; from Python
    3.12 None is immortal and nothing happens, before it the count drains and the process
    aborts ("deallocating None") within minutes of a ticking tray."""
    return pyside_version.startswith("6.12.0") and python < (3, 12)


def _already_running(runtime_dir: Path) -> int | None:
    from trayauth.client import tray_running

    try:
        return tray_running(runtime_dir)
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """``trayauth`` with no command: start the tray, once per user."""
    args = _parser("trayauth", demo=False).parse_args(list(argv or []))
    problem = display_problem()
    if problem:
        _say(problem)
        return 1
    from trayauth.storage.paths import Paths

    paths = Paths.from_root(Path(args.config_dir)) if args.config_dir else Paths.default()
    pid = _already_running(paths.runtime_dir)
    if pid:
        _say(f"the tray is already running (pid {pid})")
        return 0

    def open_broker() -> Broker:
        from trayauth.services.broker import Broker

        return Broker.open(Path(args.config_dir) if args.config_dir else None)

    return run_tray(open_broker, force_window=args.window)


def main_demo(argv: Sequence[str] | None = None) -> int:
    """``trayauth demo``: the tray with a local provider server and demo accounts."""
    import tempfile

    args = _parser("trayauth demo", demo=True).parse_args(list(argv or []))
    problem = display_problem()
    if problem:
        _say(problem)
        return 1
    temp: tempfile.TemporaryDirectory[str] | None = None
    if args.config_dir:
        root = Path(args.config_dir).expanduser().absolute()
    else:
        temp = tempfile.TemporaryDirectory(prefix="trayauth-demo-")
        root = Path(temp.name) / "config"
        # A throwaway directory must not leave a key behind in the user's real keyring.
        os.environ.setdefault("TRAYAUTH_KEY_STORAGE", "file")
    # The CLI finds this tray (and its accounts) through the same variable.
    os.environ["TRAYAUTH_CONFIG_DIR"] = str(root)
    from trayauth.storage.paths import Paths

    pid = _already_running(Paths.from_root(root).runtime_dir)
    if pid:
        _say(f"a demo tray is already running on {root} (pid {pid})")
        return 0
    from trayauth.demo import ProviderServer

    srv = ProviderServer().start()
    try:
        _say(f"demo provider at {srv.url}; demo accounts in {root}")
        _say(f"try: TRAYAUTH_CONFIG_DIR={root} trayauth header sentiance-demo")

        def open_broker() -> Broker:
            from trayauth.services.broker import Broker

            return Broker.open(root)

        return run_tray(
            open_broker,
            force_window=args.window,
            demo_server=srv,
            browser_login=not args.no_browser_login,
        )
    finally:
        srv.stop()
        if temp is not None:
            temp.cleanup()


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
        _say(exc.line())
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
    from trayauth.ui.icons import app_icon
    from trayauth.ui.session import TraySession

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("trayauth")
    app.setApplicationDisplayName("trayauth")
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def run() -> int:
        def notes() -> str | None:
            return None

        demo = None
        if demo_server is not None:
            from trayauth.ui import demo as demo_mod

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
        _say(exc.line())
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def _demo_logins(session: TraySession, demo: object, ready: Sequence[object], browser: bool) -> None:
    from trayauth.ui import demo as demo_mod

    assert isinstance(demo, demo_mod.Demo)
    items = [a for a in ready if isinstance(a, demo_mod.DemoAccount) and (browser or not a.browser)]
    problems = demo.problems + await demo_mod.log_in(session.broker, items, demo_mod.play_browser)
    session.accounts.reload()
    session.scheduler.poke()
    for line in problems:
        _say(f"demo: {line}")
    if problems:
        session.notifier.info("trayauth demo", "\n".join(problems[:4]))
