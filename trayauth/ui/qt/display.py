"""Can Qt start here? Asked before Qt is imported.

Qt answers "no" by aborting the process from C++ ("could not connect to display", "could not
load the Qt platform plugin xcb"), which shows a user a crash and a page of plugin names instead
of what is missing. Each case is visible beforehand, cheaply:

- no display at all: in the environment (an explicit QT_QPA_PLATFORM — offscreen, vnc … — means
  the user chose a platform themselves);
- Qt itself not installed (an install with ``--no-deps``): ``find_spec``;
- the X11 plugin's system libraries missing (``libxcb-cursor0`` and friends are not pulled in by
  pip): loading the plugin with the dynamic loader names the first missing library;
- a DISPLAY nobody answers on (an ssh session's stale variable): one ``xcb_connect``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

CLI_HINT = "the CLI works without one: 'trayauth list', 'trayauth header NAME'"


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat in ("win32", "darwin", "cygwin"):
        return None
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return f"no display to show the tray on (neither DISPLAY nor WAYLAND_DISPLAY is set); {CLI_HINT}"


def debian_package(library: str) -> str:
    """Debian's package for a shared library: libxcb-cursor.so.0 → libxcb-cursor0,
    libxkbcommon-x11.so.0 → libxkbcommon-x11-0, libEGL.so.1 → libegl1 (the naming policy)."""
    match = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\..*)?", library)
    if match is None:
        return library
    base, version = match.group(1).lower(), match.group(2)
    return f"{base}-{version}" if base[-1].isdigit() else f"{base}{version}"


def missing_library(error: str) -> str | None:
    """The library named in a dynamic loader's "cannot open shared object file" message."""
    match = re.search(r"([\w.+-]+\.so[\w.]*): cannot open shared object file", error)
    return match.group(1) if match else None


def _load(path: str) -> None:
    ctypes.CDLL(path)


def _xcb_answers(display: str) -> bool:
    """Whether an X server answers on ``display``; True where libxcb itself is absent (the
    plugin check reports that) so this never blocks a start on its own guesswork."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return int(xcb.xcb_connection_has_error(connection)) == 0
    finally:
        xcb.xcb_disconnect(connection)


def qt_problem(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    *,
    load: Callable[[str], None] = _load,
    answers: Callable[[str], bool] = _xcb_answers,
) -> str | None:
    """One line saying why Qt cannot start here, or None when it should."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return (
            "the tray needs PySide6, which is not installed in this Python; "
            "reinstall trayauth with its dependencies (pipx install --force trayauth); " + CLI_HINT
        )
    if not plat.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "")
    x11 = chosen.startswith("xcb") or (not chosen and not env.get("WAYLAND_DISPLAY"))
    if not x11:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if plugin.is_file():
        try:
            load(str(plugin))
        except OSError as exc:
            library = missing_library(str(exc))
            if library is None:
                return f"Qt's X11 plugin cannot load ({exc}); {CLI_HINT}"
            return (
                f"Qt cannot start: the system library {library} is missing; install it "
                f"(Debian/Ubuntu: sudo apt install {debian_package(library)}); {CLI_HINT}"
            )
    display = env.get("DISPLAY", "")
    if display and not answers(display):
        return f"no X server answers on DISPLAY={display}; {CLI_HINT}"
    return None
