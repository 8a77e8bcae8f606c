"""A fresh interpreter running a few lines against this checkout, reporting what it saw as JSON.

For what only a new process shows: which modules a path imports (a process keeps what it loaded,
so a test's own interpreter cannot tell), and what a tray started from scratch does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tests.support.cli import REPO

LIMIT = 300.0  # stops a hang from stalling the suite; not a measure


def run_probe(
    code: str, *args: str, env: Mapping[str, str] | None = None, flags: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``python [flags] -c code args`` from the checkout; it must end well, without a traceback."""
    proc = subprocess.run(
        [sys.executable, *flags, "-c", code, *args],
        env=None if env is None else dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, (proc.returncode, proc.stderr)
    return proc


def report(output: str) -> Any:
    """The JSON the probe printed last (on the stream it gave its report)."""
    return json.loads(output.strip().splitlines()[-1])
