"""Named points where a crash test may kill this process outright, as a power cut or kill -9 would.

Why it exists: the promise that a crash anywhere in a rotating refresh leaves the vault whole and
never resends a spent refresh token can only be proven by crashing there. The crash-safety tests
set ``TRAYAUTH_TEST_KILL_AT=<point>`` (or ``<point>@<n>`` for its n-th visit) in a child process;
everywhere else :func:`reached` costs one environment lookup and does nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "TRAYAUTH_TEST_KILL_AT"
_visits: dict[str, int] = {}


def reached(point: str) -> None:
    """Die here, without cleanup of any kind, when the environment names this point."""
    target = os.environ.get(ENV)
    if target is None:
        return
    name, _, nth = target.partition("@")
    if name != point:
        return
    _visits[point] = _visits.get(point, 0) + 1
    if _visits[point] >= (int(nth) if nth.isdigit() else 1):
        _die()


def _die() -> None:

    kill = getattr(signal, "SIGKILL", None)
    if kill is not None:
        os.kill(os.getpid(), kill)
    os._exit(137)  # where there is no SIGKILL: still no finally blocks, no atexit, no flushing
