"""Core dumps and the tray socket under a flood (issue 9, items 5 and 11).

Item 5 crashes a child the way the issue did: core dumps allowed (``ulimit -c unlimited``), a
token in memory, SIGSEGV. A positive control (a plain Python child crashed the same way) first
shows that this machine writes core files at all; where it does not (core_pattern is a pipe to
systemd-coredump or apport), the tests skip, since no outcome could be seen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.rig import Figures
from tests.helpers import REPO, expire_now, ok, run_cli, sentiance_account
from trayauth.client import tray_running
from trayauth.demo import ProviderServer
from trayauth.storage.paths import runtime_path

NAME = "acct"
WAIT = 60.0

resource = pytest.importorskip("resource")


def _unlimited_cores() -> None:
    """In the child before exec: what ``ulimit -c unlimited`` in the user's shell gives it."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _cores(where: Path) -> list[Path]:
    return sorted(p for p in where.iterdir() if p.name == "core" or p.name.startswith("core."))


@pytest.fixture
def core_dir(tmp_path: Path) -> Path:
    """A folder crashed children write their core files to, once shown to work here."""
    pattern_file = Path("/proc/sys/kernel/core_pattern")
    if not pattern_file.exists():
        pytest.skip("no /proc/sys/kernel/core_pattern: not Linux")
    pattern = pattern_file.read_text().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"core files go to {pattern!r}, not the crashed process's folder")
    where = tmp_path / "cores"
    where.mkdir()
    try:
        control = subprocess.run(
            [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
            cwd=where,
            preexec_fn=_unlimited_cores,
            capture_output=True,
            timeout=WAIT,
            check=False,
        )
    except subprocess.SubprocessError as exc:  # setrlimit refused (not root, hard limit 0)
        pytest.skip(f"cannot allow core dumps for a child here ({exc})")
    found = _cores(where)
    if control.returncode != -signal.SIGSEGV or not found:
        pytest.skip("a plain Python child crashed with SIGSEGV leaves no core file on this machine")
    for core in found:
        core.unlink()
    return where


class Hold:
    """Holds the provider's next refresh request until released: the child sits with its tokens."""

    def __init__(self, srv: ProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self._dispatch = srv.dispatch
        self.arrived = threading.Event()
        self.release = threading.Event()
        monkeypatch.setattr(srv, "dispatch", self.dispatch)

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        if b'"refresh_token"' in body:
            self.arrived.set()
            self.release.wait(WAIT)
        return self._dispatch(method, target, headers, body)


def _crash(proc: subprocess.Popen[Any], before: Callable[[], None] = lambda: None) -> None:
    before()
    os.kill(proc.pid, signal.SIGSEGV)
    proc.communicate(timeout=WAIT)
    assert proc.returncode == -signal.SIGSEGV, proc.returncode


def test_a_crashed_cli_leaves_no_core_file(
    isolated: Path,
    fresh_provider: ProviderServer,
    core_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    figures: Figures,
) -> None:
    with figures.trying(5, "CLI crashed (SIGSEGV) mid-refresh, ulimit -c unlimited") as outcome:
        srv = fresh_provider
        sentiance_account(srv, NAME)
        expire_now(NAME)
        hold = Hold(srv, monkeypatch)
        proc = subprocess.Popen(
            [sys.executable, "-m", "trayauth", "token", NAME],
            cwd=core_dir,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            preexec_fn=_unlimited_cores,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert hold.arrived.wait(WAIT), "the refresh never reached the provider"
            _crash(proc)  # the child holds its tokens and waits for the answer
        finally:
            hold.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        cores = _cores(core_dir)
        assert not cores, f"{len(cores)} core file(s), {cores[0].stat().st_size} bytes"
        outcome.text = "no core file"


@pytest.fixture
def tray_in(core_dir: Path, isolated: Path) -> Iterator[subprocess.Popen[str]]:
    """A real tray started with core dumps allowed, its working folder the core folder."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "trayauth"],
        cwd=core_dir,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)},
        preexec_fn=_unlimited_cores,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + WAIT
        while tray_running(runtime_path()) != proc.pid:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the tray did not start"
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_a_crashed_tray_leaves_no_core_file_and_still_serves_its_user(
    isolated: Path, provider: ProviderServer, core_dir: Path, tray_in: subprocess.Popen[str], figures: Figures
) -> None:
    with figures.trying(5, "tray crashed (SIGSEGV) holding tokens, ulimit -c unlimited") as outcome:
        sentiance_account(provider, NAME)
        # The peer check still lets this user's CLI in (SO_PEERCRED does not care about dumpable).
        header = ok(run_cli("header", NAME))
        assert header.out.startswith("Authorization: Bearer ")
        _crash(tray_in)
        cores = _cores(core_dir)
        assert not cores, f"{len(cores)} core file(s), {cores[0].stat().st_size} bytes"
        outcome.text = "no core file; the CLI was served through the socket first"


PROBE = """
import ctypes, resource, sys
sys.argv = ["trayauth", *sys.argv[1:]]
from trayauth.{module} import main
code = main()
dumpable = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
print(code, dumpable, *resource.getrlimit(resource.RLIMIT_CORE), file=sys.stderr)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_DUMPABLE is Linux's")
@pytest.mark.parametrize(
    ("module", "argv"), [("cli", ["status"]), ("cli", ["list"]), ("ui.app", [])], ids=str
)
def test_the_entry_points_make_the_process_undumpable(
    isolated: Path, figures: Figures, module: str, argv: list[str]
) -> None:
    """What the crash tests cannot tell apart: PR_SET_DUMPABLE is off too (no same-user ptrace,
    no core through a pipe handler that ignores the limit), on every entry point."""
    entry = "trayauth-tray (no display)" if module == "ui.app" else f"trayauth {argv[0]}"
    # Without a display the tray stops at once, after the entry point's first steps.
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    with figures.trying(5, f"{entry}: not dumpable, no core limit") as outcome:
        probe = subprocess.run(
            [sys.executable, "-c", PROBE.replace("{module}", module), *argv],
            cwd=REPO,
            env=env,
            preexec_fn=_unlimited_cores,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        last = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else ""
        assert last.split()[1:] == ["0", "0", "0"], probe.stderr
        outcome.text = "PR_GET_DUMPABLE 0, RLIMIT_CORE (0, 0)"
