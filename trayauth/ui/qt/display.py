"""Is there a screen to draw on? Asked before Qt is imported.

With no display Qt aborts the process from C++ ("could not connect to display"), which shows a
user a crash instead of a hint. On Linux and the BSDs that case is visible in the environment; an
explicit QT_QPA_PLATFORM (offscreen, vnc, …) means the user chose a platform themselves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat in ("win32", "darwin", "cygwin"):
        return None
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display to show the tray on (neither DISPLAY nor WAYLAND_DISPLAY is set); "
        "the CLI works without one: 'trayauth list', 'trayauth header NAME'"
    )
