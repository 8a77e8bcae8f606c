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
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from trayauth.client import tray_running
from trayauth.process import forbid_core_dumps
from trayauth.storage.paths import Paths
from trayauth.ui import deferred
from trayauth.ui.qt.bootstrap import run_tray
from trayauth.ui.qt.display import display_problem, qt_problem

if TYPE_CHECKING:
    from trayauth.services.broker import Broker


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


def _already_running(runtime_dir: Path) -> int | None:
    try:
        return tray_running(runtime_dir)
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """``trayauth`` with no command: start the tray, once per user."""
    if argv is None:  # the trayauth-tray entry point: this is the process (the CLI did it otherwise)
        forbid_core_dumps()
    args = _parser("trayauth", demo=False).parse_args(list(argv or []))
    problem = display_problem() or qt_problem()
    if problem:
        _say(problem)
        return 1
    paths = Paths.from_root(Path(args.config_dir)) if args.config_dir else Paths.default()
    pid = _already_running(paths.runtime_dir)
    if pid:
        _say(f"the tray is already running (pid {pid})")
        return 0

    def open_broker() -> Broker:
        config = Path(args.config_dir) if args.config_dir else None
        return deferred.broker_class().open(config, in_workers=True)

    return run_tray(open_broker, force_window=args.window)


def main_demo(argv: Sequence[str] | None = None) -> int:
    """``trayauth demo``: the tray with a local provider server and demo accounts."""
    if argv is None:
        forbid_core_dumps()
    args = _parser("trayauth demo", demo=True).parse_args(list(argv or []))
    problem = display_problem() or qt_problem()
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
    pid = _already_running(Paths.from_root(root).runtime_dir)
    if pid:
        _say(f"a demo tray is already running on {root} (pid {pid})")
        return 0
    srv = deferred.provider_server()().start()
    try:
        _say(f"demo provider at {srv.url}; demo accounts in {root}")
        _say(f"try: TRAYAUTH_CONFIG_DIR={root} trayauth header sentiance-demo")

        def open_broker() -> Broker:
            return deferred.broker_class().open(root, in_workers=True)

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
