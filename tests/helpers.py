"""Test helpers: run the CLI in-process or as a real process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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
