"""Input and places that deserve words, not "internal error" (issue 9, items 7, 12 and 13).

Hostile tokens and names from a provider or a shell, a secret that is not UTF-8, a socket folder
another user owns, a preset asking for an absurd timeout, and a provider that says its new token
expired 100 seconds ago: each gets one clear line and leaves nothing bad stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.rig import Figures, clear_line
from tests.helpers import REPO, add_account
from trayauth.storage.store import Store

NAME = "acct"
NOBODY = 65534


def _cli(
    *argv: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a real process, with bytes on stdin (the in-process runner only takes text)."""
    proc = subprocess.run(
        [sys.executable, "-m", "trayauth", *argv],
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        timeout=120,
        check=False,
    )
    out, err = (stream.decode("utf-8", "replace") for stream in (proc.stdout, proc.stderr))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _one_line(err: str, *needles: str) -> str:
    line = err.strip()
    assert clear_line(line) is None, clear_line(line)
    assert "internal error" not in line, line
    for needle in needles:
        assert needle in line, line
    return line


# ---- item 12 --------------------------------------------------------------------------------


def test_a_secret_on_stdin_that_is_not_utf8(isolated: Path, figures: Figures) -> None:
    with figures.trying(12, "non-UTF-8 secret on stdin") as outcome:
        add_account(NAME, "bearer")
        result = _cli("login", NAME, "--secret-stdin", stdin=b"token-\xff\xfe-latin1\n")
        assert result.returncode not in (0, 70), result.stderr
        _one_line(result.stderr, NAME, "not UTF-8")
        assert Store.open().vault.entry(NAME).tokens is None  # nothing stored
        outcome.text = "one line: not UTF-8 text, nothing stored"


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")
def test_a_run_folder_owned_by_another_user_stops_the_tray_in_words(isolated: Path, figures: Figures) -> None:
    with figures.trying(12, "run/ owned by another user (tray start)") as outcome:
        run = isolated / "run"
        run.mkdir(parents=True, mode=0o700)
        os.chown(run, NOBODY, NOBODY)
        result = _cli(env={"QT_QPA_PLATFORM": "offscreen", "TRAYAUTH_CONFIG_DIR": str(isolated)})
        assert result.returncode not in (0, 70), result.stderr
        _one_line(result.stderr, "belongs to another user")
        assert os.stat(run).st_uid == NOBODY  # not taken over, not removed
        outcome.text = "the tray says so in one line and does not start"
