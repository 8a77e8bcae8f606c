"""Start at login: the files the Settings toggle writes, and that turning it off removes them."""

from __future__ import annotations

import configparser
import os
import plistlib
import shlex
import stat
import sys
from pathlib import Path

import pytest

from trayauth.desktop import autostart

REPO = Path(__file__).resolve().parents[2]
PACKAGED_DESKTOP = REPO / "packaging" / "linux" / f"{autostart.APP_ID}.desktop"


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def test_linux_round_trip(xdg: Path) -> None:
    expected = xdg / "autostart" / f"{autostart.APP_ID}.desktop"
    assert not autostart.is_enabled(system="linux")
    assert autostart.describe(system="linux") == "does not start at login"

    where = autostart.enable(["/opt/trayauth/trayauth-tray"], system="linux")

    assert where == expected
    assert expected.is_file()
    assert stat.S_IMODE(expected.stat().st_mode) == 0o644
    assert autostart.is_enabled(system="linux")
    assert str(expected) in autostart.describe(system="linux")
    entry = _entry(expected)
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "/opt/trayauth/trayauth-tray"
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    assert list(expected.parent.iterdir()) == [expected]  # no temp file left behind

    autostart.disable(system="linux")

    assert not expected.exists()
    assert not autostart.is_enabled(system="linux")
    autostart.disable(system="linux")  # turning it off twice is fine


def test_enable_twice_replaces_the_command(xdg: Path) -> None:
    autostart.enable(["/old/trayauth"], system="linux")
    path = autostart.enable(["/new/trayauth"], system="linux")
    assert isinstance(path, Path)
    assert _entry(path)["Exec"] == "/new/trayauth"


def test_autostart_entry_is_the_packaged_app(xdg: Path) -> None:
    path = autostart.enable(["/usr/bin/trayauth"], system="linux")
    assert isinstance(path, Path)
    written, packaged = _entry(path), _entry(PACKAGED_DESKTOP)
    for key in ("Type", "Name", "GenericName", "Comment", "Icon", "Categories", "Terminal"):
        assert written[key] == packaged[key], key


def test_default_command_runs_this_installation(xdg: Path) -> None:
    path = autostart.enable(system="linux")
    assert isinstance(path, Path)
    argv = shlex.split(_entry(path)["Exec"])
    program = Path(argv[0])
    assert program.is_absolute()
    assert program.is_file()
    assert os.access(program, os.X_OK)
    if argv[1:]:
        assert argv[1:] == ["-m", "trayauth"]
        assert program == Path(sys.executable)
    else:
        assert program.name in ("trayauth", "trayauth-tray")


def test_a_desktop_that_disabled_the_entry_is_respected(xdg: Path) -> None:
    path = autostart.enable(["/usr/bin/trayauth"], system="linux")
    assert isinstance(path, Path)
    path.write_text(path.read_text(encoding="utf-8") + "Hidden=true\n", encoding="utf-8")
    assert not autostart.is_enabled(system="linux")
    autostart.disable(system="linux")
    assert not path.exists()


def test_xdg_config_home_must_be_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    assert autostart.xdg_autostart_dir() == tmp_path / ".config" / "autostart"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert autostart.xdg_autostart_dir() == tmp_path / ".config" / "autostart"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["/usr/bin/trayauth"], "/usr/bin/trayauth"),
        (["/opt/my apps/trayauth", "demo"], '"/opt/my apps/trayauth" demo'),
        (["/usr/bin/python3", "-m", "trayauth"], "/usr/bin/python3 -m trayauth"),
        (["/opt/100%/trayauth"], "/opt/100%%/trayauth"),
        (["/opt/$HOME/trayauth"], '"/opt/\\\\$HOME/trayauth"'),
        (["/opt/a\\b/trayauth"], '"/opt/a\\\\\\\\b/trayauth"'),
        (["/usr/bin/trayauth", ""], '/usr/bin/trayauth ""'),
    ],
)
def test_exec_line_quotes_per_the_desktop_entry_spec(command: list[str], expected: str) -> None:
    assert autostart.exec_line(command) == expected


@pytest.mark.parametrize("command", [[], ["/usr/bin/trayauth\n--evil"]])
def test_exec_line_refuses_what_it_cannot_write(command: list[str]) -> None:
    with pytest.raises(ValueError, match="autostart command"):
        autostart.exec_line(command)


def test_launch_agent_plist_parses() -> None:
    command = ["/Applications/TrayAuth.app/Contents/MacOS/trayauth-tray"]
    agent = plistlib.loads(autostart.launch_agent(command))
    assert agent["Label"] == autostart.APP_ID
    assert agent["ProgramArguments"] == command
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] is False


def test_macos_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / "Library" / "LaunchAgents" / f"{autostart.APP_ID}.plist"

    where = autostart.enable(["/Applications/TrayAuth.app/Contents/MacOS/trayauth-tray"], system="darwin")

    assert where == expected
    assert stat.S_IMODE(expected.stat().st_mode) == 0o644
    assert autostart.is_enabled(system="darwin")
    with expected.open("rb") as fh:
        assert plistlib.load(fh)["RunAtLoad"] is True
    autostart.disable(system="darwin")
    assert not expected.exists()
    assert not autostart.is_enabled(system="darwin")


@pytest.mark.skipif(sys.platform == "win32", reason="checks the behaviour away from Windows")
def test_windows_registry_is_never_faked_elsewhere() -> None:
    with pytest.raises(OSError, match="only on Windows"):
        autostart.enable(["C:\\trayauth\\trayauth-tray.exe"], system="win32")
    assert not autostart.is_enabled(system="win32")
    autostart.disable(system="win32")
    assert autostart.RunKey().location().endswith("CurrentVersion\\Run\\TrayAuth")
