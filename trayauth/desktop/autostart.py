"""Start the tray at login, the way each desktop expects it.

The Settings toggle and the packaging both describe the same app, so the files written here use
the same application id, name, icon and categories as ``packaging/linux``'s desktop entry: a
desktop that already knows the installed app shows the autostart entry as that app. Turning the
toggle off deletes what turning it on wrote, and nothing else.

- Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/<APP_ID>.desktop``.
- macOS: a per-user LaunchAgent, ``~/Library/LaunchAgents/<APP_ID>.plist`` with ``RunAtLoad``.
- Windows: a value named after the app under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

No Qt here: the CLI and the tests use this without a display.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import plistlib
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

if sys.platform == "win32":
    import winreg
from typing import Protocol
from xml.parsers.expat import ExpatError

from trayauth.desktop import APP_ID as APP_ID  # re-exported: the id belongs to the package
from trayauth.storage.atomic import write_atomic

APP_NAME = "TrayAuth"
GENERIC_NAME = "API token keeper"
COMMENT = "Keeps your API tokens alive and hands out Authorization headers"
ICON = APP_ID
CATEGORIES = "Development;"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"

# Characters that make the Desktop Entry spec require an Exec argument to be quoted, and the ones
# that must then be backslash-escaped inside the quotes.
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPE_IN_QUOTES = frozenset('"`$\\')


# --- what to run --------------------------------------------------------------------------------


def default_command() -> list[str]:
    """The command that starts the tray for this installation, as absolute paths.

    A PyInstaller bundle runs its own ``trayauth-tray`` (no console window on Windows); a pip or
    pipx install runs the console script beside its interpreter, so the entry keeps working even
    when the desktop session's PATH lacks ``~/.local/bin``; anything else runs the module.
    """
    windows = sys.platform == "win32"
    exe_suffix = ".exe" if windows else ""
    if getattr(sys, "frozen", False):
        frozen = Path(sys.executable)
        tray = frozen.with_name("trayauth-tray" + frozen.suffix)
        return [str(tray if tray.is_file() else frozen)]
    names = ("trayauth-tray", "trayauth") if windows else ("trayauth",)
    dirs = dict.fromkeys((Path(sysconfig.get_path("scripts")), Path(sys.executable).parent))
    for directory in dirs:
        for name in names:
            candidate = directory / (name + exe_suffix)
            if candidate.is_file():
                return [str(candidate.absolute())]
    python = Path(sys.executable)
    if windows and python.with_name("pythonw.exe").is_file():
        python = python.with_name("pythonw.exe")  # no console window behind the tray
    return [str(python), "-m", "trayauth"]


# --- Linux: XDG autostart -----------------------------------------------------------------------


def _quote_exec_arg(arg: str) -> str:
    if not arg:
        return '""'
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in arg):
        raise ValueError("an autostart command cannot contain control characters")
    if _RESERVED.isdisjoint(arg):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + ch if ch in _ESCAPE_IN_QUOTES else ch for ch in arg) + '"'
    # Field codes (%f, %u, ...) start with '%'; a literal one is doubled. Then the general string
    # escape of desktop files applies on top: every backslash is written twice.
    return quoted.replace("%", "%%").replace("\\", "\\\\")


def exec_line(command: Sequence[str]) -> str:
    """``command`` as a Desktop Entry ``Exec`` value (quoted and escaped per the spec)."""
    if not command:
        raise ValueError("an autostart command needs at least the program")
    return " ".join(_quote_exec_arg(arg) for arg in command)


def desktop_entry(command: Sequence[str]) -> str:
    """The autostart ``.desktop`` file for ``command``; the same identity as the packaged one."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        f"Name={APP_NAME}",
        f"GenericName={GENERIC_NAME}",
        f"Comment={COMMENT}",
        f"Exec={exec_line(command)}",
        f"Icon={ICON}",
        "Terminal=false",
        f"Categories={CATEGORIES}",
        "StartupNotify=false",
        "X-GNOME-Autostart-enabled=true",
        # A tray icon registered before the panel exists is lost on some desktops: let it settle.
        "X-GNOME-Autostart-Delay=3",
        "X-KDE-autostart-after=panel",
        "",
    ]
    return "\n".join(lines)


def xdg_autostart_dir() -> Path:
    """``$XDG_CONFIG_HOME/autostart``; a relative or empty XDG_CONFIG_HOME is ignored, per spec."""
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(configured) if configured and os.path.isabs(configured) else Path.home() / ".config"
    return base / "autostart"


def read_desktop_entry(path: Path) -> dict[str, str]:
    """The ``[Desktop Entry]`` keys of ``path`` (case kept), or an empty dict if unreadable."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return {}
    if not parser.has_section("Desktop Entry"):
        return {}
    return dict(parser.items("Desktop Entry"))


class _Autostart(Protocol):
    def location(self) -> str: ...
    def enable(self, command: Sequence[str]) -> Path | str: ...
    def disable(self) -> None: ...
    def is_enabled(self) -> bool: ...


class XdgAutostart:
    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or xdg_autostart_dir()) / f"{APP_ID}.desktop"

    def location(self) -> str:
        return str(self.path)

    def enable(self, command: Sequence[str]) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, desktop_entry(command).encode("utf-8"), mode=0o644)
        return self.path

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        entry = read_desktop_entry(self.path)
        if not entry:
            return False
        # A desktop's own "disable" keeps the file and sets one of these; respect it.
        return (
            entry.get("Hidden", "false").strip().lower() != "true"
            and entry.get("X-GNOME-Autostart-enabled", "true").strip().lower() != "false"
        )


# --- macOS: LaunchAgent -------------------------------------------------------------------------


def launch_agent(command: Sequence[str]) -> bytes:
    """The LaunchAgent property list (XML) that starts ``command`` once at login."""
    if not command:
        raise ValueError("an autostart command needs at least the program")
    agent = {
        "Label": APP_ID,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        # Quitting from the tray menu means quit: launchd must not bring it back.
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    return plistlib.dumps(agent, fmt=plistlib.FMT_XML)


class LaunchAgent:
    def __init__(self, home: Path | None = None) -> None:
        self.path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{APP_ID}.plist"

    def location(self) -> str:
        return str(self.path)

    def enable(self, command: Sequence[str]) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # launchd ignores agents that are group- or world-writable.
        write_atomic(self.path, launch_agent(command), mode=0o644)
        return self.path

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        try:
            with self.path.open("rb") as fh:
                agent = plistlib.load(fh)
        except (OSError, plistlib.InvalidFileException, ValueError, ExpatError):  # Expat: cut-off XML
            return False
        return isinstance(agent, dict) and agent.get("Label") == APP_ID and agent.get("Disabled") is not True


# --- Windows: the Run key -----------------------------------------------------------------------


class RunKey:
    """``HKCU\\...\\Run``: one string value holding the command line."""

    def location(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{APP_NAME}"

    def enable(self, command: Sequence[str]) -> str:
        if not command:
            raise ValueError("an autostart command needs at least the program")
        if sys.platform == "win32":
            with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.SetValueEx(key, APP_NAME, 0, winreg.REG_SZ, subprocess.list2cmdline(command))
            return self.location()
        raise OSError("the Windows registry exists only on Windows")

    def disable(self) -> None:
        if sys.platform == "win32":
            with (
                contextlib.suppress(FileNotFoundError),
                winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key,
            ):
                winreg.DeleteValue(key, APP_NAME)

    def is_enabled(self) -> bool:
        if sys.platform == "win32":
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_READ) as key:
                    value, _kind = winreg.QueryValueEx(key, APP_NAME)
            except FileNotFoundError:
                return False
            return bool(value)
        return False


# --- the toggle ---------------------------------------------------------------------------------


def _backend(system: str | None) -> _Autostart:
    system = sys.platform if system is None else system
    if system == "win32":
        return RunKey()
    if system == "darwin":
        return LaunchAgent()
    return XdgAutostart()


def enable(exe: list[str] | None = None, *, system: str | None = None) -> Path | str:
    """Start the tray at login; returns where that is recorded (a file, or a registry value).

    ``exe`` is the command to run (default: :func:`default_command`); ``system`` is a
    ``sys.platform`` value, for tests and for writing another platform's files on purpose.
    """
    return _backend(system).enable(exe if exe is not None else default_command())


def disable(*, system: str | None = None) -> None:
    """Stop starting at login: remove exactly what :func:`enable` wrote. Idempotent."""
    _backend(system).disable()


def is_enabled(*, system: str | None = None) -> bool:
    return _backend(system).is_enabled()


def describe(*, system: str | None = None) -> str:
    """One line for Settings and ``status``: whether it starts at login, and through what."""
    backend = _backend(system)
    if backend.is_enabled():
        return f"starts at login ({backend.location()})"
    return "does not start at login"
