"""Core dumps and the tray socket under a flood (issue 9, items 5 and 11).

Item 5 crashes a child the way the issue did: core dumps allowed (``ulimit -c unlimited``), a
token in memory, SIGSEGV. A positive control (a plain Python child crashed the same way) first
shows that this machine writes core files at all; where it does not (core_pattern is a pipe to
systemd-coredump or apport), the tests skip, since no outcome could be seen.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.hardening.cases import Figures
from tests.support.cli import REPO, add_account, expire_now, login, ok, run_cli, sentiance_account
from trayauth.client import socket_path, tray_running
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


# ---- item 11 --------------------------------------------------------------------------------


def test_an_idle_browser_preconnect_at_the_end_of_sign_in_prints_nothing(
    isolated: Path, provider: ProviderServer, figures: Figures
) -> None:
    """Browsers open a spare connection ahead of need; the sign-in ends while it sits idle."""
    with figures.trying(11, "idle browser preconnect when sign-in ends") as outcome:
        srv = provider
        add_account(NAME, "oauth2", issuer=srv.issuer, client_id=srv.users["oauth"]["public_client_id"])
        proc = subprocess.Popen(
            [sys.executable, "-m", "trayauth", "login", NAME, "--no-browser"],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        idle = None
        try:
            assert proc.stderr is not None
            url = ""
            for line in proc.stderr:
                if line.startswith("http"):
                    url = line.strip()
                    break
            port = int(parse_qs(urlsplit(url).query)["redirect_uri"][0].rsplit(":", 1)[1].split("/")[0])
            idle = socket.create_connection(("127.0.0.1", port))  # the preconnect, never used
            page = httpx.get(url, follow_redirects=True, timeout=WAIT)
            assert page.status_code == 200, page.text
            _out, rest = proc.communicate(timeout=WAIT)
        finally:
            if idle is not None:
                idle.close()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, rest
        assert "Traceback" not in rest and "CancelledError" not in rest, rest
        outcome.text = "signed in, nothing on stderr but the result"


def test_two_thousand_connections_to_the_tray_socket(isolated: Path, figures: Figures) -> None:
    """The tray with 256 file descriptors; 2,000 clients connect and sit there."""
    with figures.trying(11, "2,000 connections to the tray socket (256 fds)") as outcome:
        add_account(NAME, "bearer")
        ok(login(NAME, "flood-survivor-token"))

        def few_files() -> None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

        proc = subprocess.Popen(
            [sys.executable, "-m", "trayauth"],
            cwd=REPO,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            preexec_fn=few_files,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        clients: list[socket.socket] = []
        try:
            runtime = runtime_path()
            deadline = time.monotonic() + WAIT
            while tray_running(runtime) != proc.pid:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the tray did not start"
                time.sleep(0.05)
            path = socket_path(runtime)
            for _ in range(2000):
                client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                client.setblocking(False)
                if client.connect_ex(path) in (0, errno.EINPROGRESS):
                    clients.append(client)
                else:  # the backlog is full: this one never got in
                    client.close()
                time.sleep(0.0005)
            time.sleep(1.0)  # the tray accepts, refuses over the cap, times out the idle ones
            for client in clients:
                client.close()
            deadline = time.monotonic() + WAIT
            while tray_running(runtime) != proc.pid:  # it recovered and answers again
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the tray stopped answering"
                time.sleep(0.1)
            served = ok(run_cli("header", NAME))
            assert served.out == "Authorization: Bearer flood-survivor-token\n"
        finally:
            for client in clients:
                client.close()
            if proc.poll() is None:
                proc.terminate()
            _out, err = proc.communicate(timeout=WAIT)
        assert "Traceback" not in err, err[:2000]
        ours = [line for line in err.splitlines() if line.startswith("trayauth:")]
        assert len(ours) == len(set(ours)) <= 2, ours[:10]  # each kind of event said once, in one line
        assert len(err.splitlines()) <= 4, err[:2000]  # (plus a line of Qt's offscreen plugin)
        outcome.text = f"{len(clients)} got in; {len(ours)} line(s) of ours, no traceback; serves again"
