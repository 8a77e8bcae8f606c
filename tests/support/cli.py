"""The CLI runners: in-process (fast) or as a real process, and the steps most tests start with."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*argv: str, stdin: str = "") -> Result:
    """Run the CLI in-process (fast); stdin is a pipe, like a script's."""
    from trayauth.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def spawn_cli(*argv: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the CLI as a real process (for concurrency and crash tests)."""
    return subprocess.Popen(
        [sys.executable, "-m", "trayauth", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def cli_process(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """``python -m trayauth ARGV`` as a script runs it, to the end; ``env`` adds to this environment.

    The timeout only stops a hang from stalling the suite; it is not a measure.
    """
    return subprocess.run(
        [sys.executable, "-m", "trayauth", *argv],
        env={**os.environ, **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: Result) -> Result:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return result


def add_account(name: str, preset: str, **settings: str) -> Result:
    """`trayauth add NAME PRESET --set k=v …`, asserting it worked."""
    argv = ["add", name, preset]
    for key, value in settings.items():
        argv += ["--set", f"{key}={value}"]
    return ok(run_cli(*argv))


def login(name: str, *secrets: str) -> Result:
    """`trayauth login NAME --secret-stdin` with one secret per line (not asserted)."""
    return run_cli("login", name, "--secret-stdin", stdin="".join(s + "\n" for s in secrets))


def expire_now(name: str, *, by: float = 1.0) -> str:
    """Make the stored token look due, as if its lifetime had passed; return the old token."""
    from trayauth.storage.store import Store

    store = Store.open()
    entry = store.vault.entry(name)
    assert entry.tokens is not None
    old = entry.tokens.access_token
    store.vault.update(
        name,
        lambda e: replace(
            e, tokens=replace(e.tokens, expires_at=time.time() - by, obtained_at=time.time() - 3600)
        ),
    )
    return old


def sentiance_account(srv: Any, name: str) -> None:
    """A logged-in Sentiance account (rotating refresh token) against the provider server."""
    user = srv.users["sentiance"]
    add_account(name, "sentiance", base_url=srv.base_url("sentiance"), username=user["username"])
    ok(login(name, user["password"]))


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """End a tray (or any child) as the desktop would, SIGTERM, and kill it if it hangs."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def children(marker: str, pid: int | None = None) -> set[int]:
    """The processes ``pid`` (this one by default) started that are still running and whose
    command line holds ``marker``: the tray's renewal workers ("--flow-worker"), in the tests that
    check none is left behind. The marker keeps out what other tests' session fixtures started."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid or os.getpid()}/task").iterdir():
        try:
            kids = [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # a thread that ended meanwhile
        for kid in kids:
            try:
                argv = Path(f"/proc/{kid}/cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            if marker.encode() in argv:
                found.add(kid)
    return found
