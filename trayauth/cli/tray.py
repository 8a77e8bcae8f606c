"""The commands that start the tray: the only part of the CLI that loads Qt.

The dispatch (:mod:`trayauth.cli`) imports this module only for ``trayauth`` and ``trayauth demo``,
so every other command runs without PySide6.
"""

from __future__ import annotations

import argparse

from trayauth.ui.app import main as tray_main
from trayauth.ui.app import main_demo


def start() -> int:
    """``trayauth`` with no command: the tray (which says any problem in one line itself)."""
    return int(tray_main([]))


def cmd_demo(args: argparse.Namespace) -> int:
    return int(main_demo(["--config-dir", args.config_dir] if args.config_dir else []))
