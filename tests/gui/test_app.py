"""Starting the app: no display, a second start, no tray area, and the demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication

from tests.support.cli import REPO
from tests.support.qt import Rig, Runner, until
from trayauth.ui.qt.display import CLI_HINT, debian_package, display_problem, missing_library, qt_problem
from trayauth.ui.qt.running import broken_binding
from trayauth.ui.qt.session import NO_TRAY_REASON
from trayauth.ui.widgets.fallback_window import FallbackWindow


def python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


def bare_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return env


@pytest.mark.parametrize(
    ("env", "platform", "problem"),
    [
        ({}, "linux", True),
        ({"DISPLAY": ":0"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({}, "freebsd14", True),
        ({}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_display_problem(env: dict[str, str], platform: str, problem: bool) -> None:
    assert (display_problem(env, platform) is not None) is problem


def test_no_display_is_one_line_and_exit_1_not_a_qt_abort(isolated: Path) -> None:
    proc = python("from trayauth.ui.app import main; raise SystemExit(main([]))", bare_env())
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("trayauth: no display to show the tray on")
    assert "'trayauth header NAME'" in lines[0]
    demo = python("from trayauth.ui.app import main_demo; raise SystemExit(main_demo([]))", bare_env())
    assert demo.returncode == 1 and len(demo.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("library", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libEGL.so.1", "libegl1"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ],
)
def test_debian_package_for_a_missing_library(library: str, package: str) -> None:
    assert debian_package(library) == package


def test_a_missing_x11_library_is_named_in_one_line() -> None:
    def load(path: str) -> None:
        assert path.endswith("libqxcb.so")
        raise OSError("libxcb-cursor.so.0: cannot open shared object file: No such file or directory")

    line = qt_problem({"DISPLAY": ":0"}, "linux", load=load, answers=lambda _d: True)
    assert line is not None and "\n" not in line
    assert "libxcb-cursor.so.0 is missing" in line
    assert "sudo apt install libxcb-cursor0" in line
    assert missing_library("nothing useful") is None
    # An explicit non-X11 platform, or Wayland, never loads the X11 plugin.
    assert qt_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", load=load) is None
    assert qt_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", load=load) is None
    assert qt_problem({"DISPLAY": ":0"}, "linux", load=lambda _p: None, answers=lambda _d: True) is None


def test_a_display_nobody_answers_on_is_one_line_not_a_qt_abort(isolated: Path) -> None:
    number = next(n for n in range(87, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    env = {**bare_env(), "DISPLAY": f":{number}"}
    proc = python("from trayauth.ui.app import main; raise SystemExit(main([]))", env)
    assert proc.returncode == 1
    assert proc.stderr == f"trayauth: no X server answers on DISPLAY=:{number}; {CLI_HINT}\n"


def test_a_second_trayauth_says_so_and_exits(rig: Rig, run: Runner) -> None:
    rig.start()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    code = "from trayauth.ui.app import main; raise SystemExit(main([]))"

    async def second() -> subprocess.CompletedProcess[str]:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, python, code, env)

    proc = run(second())
    assert proc.returncode == 0
    assert proc.stderr == f"trayauth: the tray is already running (pid {os.getpid()})\n"


def test_without_a_tray_area_a_window_shows_the_same_accounts(
    isolated: Path, fresh_provider: Any, run: Runner
) -> None:
    rig = Rig(isolated, fresh_provider, run, ui="auto")  # offscreen has no tray area
    try:
        token = rig.add_sentiance("work")
        rig.add_sentiance("later", login=False)
        session = rig.start()
        window = session.ui
        assert isinstance(window, FallbackWindow)
        assert window.isVisible()
        assert window.reason.text() == NO_TRAY_REASON
        rows = [window.tree.topLevelItem(i) for i in range(window.tree.topLevelItemCount())]
        assert [(r.text(0), r.text(2)) for r in rows] == [("work", "valid"), ("later", "not logged in")]
        assert rows[0].text(3).startswith("expires in 59:")
        assert window.timer.isActive()  # visible: the countdown ticks
        assert window.selected() == "work"
        window.buttons["copy_header"].click()
        run(until(lambda: QGuiApplication.clipboard().text() == f"Authorization: Bearer {token}"))
        run(until(lambda: window.status.text().startswith("Copied work's header")))
        window.tree.clearSelection()
        rows[1].setSelected(True)
        assert not window.buttons["copy_header"].isEnabled()
        assert window.buttons["login"].text() == "Log in…"
        window.hide()
        assert not window.timer.isActive()  # hidden: nothing ticks
        window.show()
        window.close()  # closing the only window quits: no icon to come back from
        assert session.quit_requested.is_set()
    finally:
        rig.close()


def test_broken_binding_check() -> None:
    assert broken_binding("6.12.0", (3, 11))
    assert not broken_binding("6.12.0", (3, 12))
    assert not broken_binding("6.11.3", (3, 11))


@pytest.mark.slow
def test_demo_starts_logs_in_and_serves_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "demo"
    env = {
        **{k: v for k, v in os.environ.items() if k != "TRAYAUTH_CONFIG_DIR"},
        "QT_QPA_PLATFORM": "offscreen",
        "TRAYAUTH_KEY_STORAGE": "file",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "trayauth", "demo", "--config-dir", str(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cli_env = {**env, "TRAYAUTH_CONFIG_DIR": str(config)}

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trayauth", *argv],
            cwd=REPO,
            env=cli_env,
            capture_output=True,
            text=True,
            check=False,
        )

    try:
        deadline = time.monotonic() + 30
        listed: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            out = cli("list", "--json")
            listed = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []
            if len(listed) == 6 and all(a["state"] == "valid" for a in listed):
                break
            time.sleep(0.3)
        assert {a["name"]: a["state"] for a in listed} == {
            "sentiance-demo": "valid",
            "senseye-demo": "valid",
            "sensos-demo": "valid",
            "amino-demo": "valid",
            "bearer-demo": "valid",
            "oauth2-demo": "valid",
        }
        assert all(0 < a["expires_in"] <= 300 for a in listed)  # short lives: renewal within minutes
        assert f"tray: running (pid {proc.pid})" in cli("status").stdout
        header = cli("header", "sentiance-demo")
        assert header.returncode == 0 and header.stdout.startswith("Authorization: Bearer ")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "demo provider at http://127.0.0.1:" in err
    assert "Traceback" not in err
    assert not (config / "run" / "agent.sock").exists()


def test_the_windows_countdown_starts_when_tokens_arrive_after_it_opened(
    isolated: Path, fresh_provider: Any, run: Runner
) -> None:
    """`trayauth demo` opens the window first and logs its accounts in afterwards: the countdown
    must tick then too (it used to start only for accounts that had tokens at start)."""
    rig = Rig(isolated, fresh_provider, run, ui="window")
    try:
        rig.add_sentiance("work", login=False)
        session = rig.start()
        window = session.ui
        assert isinstance(window, FallbackWindow) and window.isVisible()
        assert not window.timer.isActive()  # nothing to count down yet
        user = fresh_provider.users["sentiance"]
        run(session.broker.login("work", {"password": user["password"]}))
        run(until(lambda: window.timer.isActive(), what="the countdown"))
        item = window.tree.topLevelItem(0)
        assert item is not None and item.text(3).startswith("expires in 59:")
    finally:
        rig.close()
