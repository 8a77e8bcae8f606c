"""The real ``trayauth`` CLI as the interop tests drive it: one process per command.

A login runs in the background while the browser signs in: its stderr is read line by line on
a thread, so a test can wait for the authorization URL (or the device code) without ever
blocking on a pipe, and still see everything the CLI said when it ends.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.cli import REPO, Result, spawn_cli

COMMAND_DEADLINE = 120.0  # against hangs only
URL = re.compile(r"(https?://\S+)")
DEVICE = re.compile(r"open (?P<url>https?://\S+) and enter the code (?P<code>\S+)")


def trayauth(*argv: str, stdin: str = "") -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "trayauth", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=COMMAND_DEADLINE,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def ok(result: Result) -> Result:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err, result.err
    return result


def one_line_error(result: Result) -> str:
    """A failed command: non-zero, no traceback, and what it said on its last line."""
    assert result.code != 0, result.out + result.err
    assert "Traceback" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines, "the command failed without saying why"
    return lines[-1]


def add(name: str, preset: str, **settings: str) -> None:
    argv = ["add", name, preset]
    for key, value in settings.items():
        argv += ["--set", f"{key}={value}"]
    ok(trayauth(*argv))


def accounts() -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in json.loads(ok(trayauth("list", "--json")).out)}


def token(name: str) -> str:
    return ok(trayauth("token", name)).out.strip()


def stored(name: str) -> Any:
    """The account's tokens as the vault holds them (to check what the server handed out)."""
    from trayauth.storage.store import Store

    return Store.open().vault.entry(name).tokens


class LoginRun:
    """``trayauth login NAME --no-browser`` in the background, secrets (if any) piped in.

    Use it as a context manager: a test that fails half-way leaves no login waiting on a port.
    """

    def __init__(self, name: str, *secrets: str, with_secret: tuple[str, ...] = ()) -> None:
        argv = ["login", name, "--no-browser"]
        if secrets:
            argv.append("--secret-stdin")
        for key in with_secret:
            argv += ["--with-secret", key]
        self.proc = spawn_cli(*argv)
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.write("".join(s + "\n" for s in secrets))
        self.proc.stdin.close()
        self.proc.stdin = None  # communicate() must not flush a closed pipe
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        stderr = self.proc.stderr
        self._reader = threading.Thread(target=self._read, args=(stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first stderr line matching ``pattern``; fails if the CLI ends or stalls first."""
        end = time.monotonic() + COMMAND_DEADLINE
        while True:
            try:
                line = self._queue.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                line = None
                self.proc.kill()
            if line is None:
                self.close()
                raise AssertionError(f"trayauth login said no {pattern.pattern!r}: {''.join(self.lines)}")
            self.lines.append(line)
            match = pattern.search(line)
            if match:
                return match

    def authorization_url(self) -> str:
        return self.wait_for(re.compile(r"(https?://\S+redirect_uri=\S+)")).group(1)

    def finish(self) -> Result:
        """Wait for the login to end; everything it said on stderr."""
        try:
            self.proc.wait(timeout=COMMAND_DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.close()

    def close(self) -> Result:
        """Stop the login if it still runs, close its pipes; what it said."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        out = ""
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            out = self.proc.stdout.read()
            self.proc.stdout.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return Result(self.proc.returncode, out, "".join(self.lines))

    def __enter__(self) -> LoginRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
