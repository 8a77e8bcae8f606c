"""Hardening suite: every test here records what it tried in a shared tally, printed after the run.

The figures (fault cases tried and survived, kill points, fuzz examples, worst event-loop lag) are
the point of the suite, so they are printed in the terminal summary where CI output shows them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hardening.cases import Figures
from tests.support.qt import loop, run  # noqa: F401  (the qasync loop, for the load test)

_FIGURES = pytest.StashKey[Figures]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_FIGURES] = Figures()


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Figures:
    return request.config.stash[_FIGURES]


@pytest.fixture
def keyfile_home(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated config dir whose vault key goes to a key file: no keyring round trips per case."""
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    return isolated


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    tally = config.stash.get(_FIGURES, None)
    if tally is None or tally.empty():
        return
    terminalreporter.section("hardening figures")
    for line in tally.report():
        terminalreporter.write_line(line)
