"""Input and places that deserve words, not "internal error" (issue 9, items 7, 12 and 13).

Hostile tokens and names from a provider or a shell, a secret that is not UTF-8, a socket folder
another user owns, a preset asking for an absurd timeout, and a provider that says its new token
expired 100 seconds ago: each gets one clear line and leaves nothing bad stored.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.cases import Figures, clear_line
from tests.support.cli import REPO, add_account, login, ok, run_cli
from trayauth.demo import ProviderServer
from trayauth.domain.presets import builtin_dir
from trayauth.storage.store import Store

NAME = "acct"
NOBODY = 65534


def _cli(
    *argv: str, stdin: bytes = b"", env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The CLI as a real process, with bytes on stdin (the in-process runner only takes text)."""
    proc = subprocess.run(
        [sys.executable, "-m", "trayauth", *argv],
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        timeout=timeout,
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


# ---- item 7 ---------------------------------------------------------------------------------

HOSTILE = {
    "CR/LF and a header": "abc\r\nX-Injected: 1",
    "terminal escape": "abc\x1b]0;owned\x07def",
    "space": "abc def",
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_provider_token_outside_rfc6750_is_not_stored(
    isolated: Path, fresh_provider: ProviderServer, figures: Figures, case: str
) -> None:
    with figures.trying(7, f"provider token with {case}") as outcome:
        srv = fresh_provider
        user = srv.users["sentiance"]
        add_account(NAME, "sentiance", base_url=srv.base_url("sentiance"), username=user["username"])
        srv.inject("sentiance", "auth/token", "field:token=" + json.dumps(HOSTILE[case]))
        result = login(NAME, user["password"])
        assert result.code not in (0, 70), result.err
        _one_line(result.err.strip().splitlines()[-1], NAME, "RFC 6750")
        assert "X-Injected" not in result.err and "\x1b" not in result.err
        assert Store.open().vault.entry(NAME).tokens is None  # nothing stored
        header = run_cli("header", NAME)
        assert header.code == 3 and header.out == "", header  # nothing to hand out
        outcome.text = "refused in one line, nothing stored"


def test_a_refresh_answer_outside_rfc6750_keeps_the_old_token(
    isolated: Path, fresh_provider: ProviderServer, figures: Figures
) -> None:
    with figures.trying(7, "refresh answer with CR/LF") as outcome:
        srv = fresh_provider
        user = srv.users["sentiance"]
        add_account(NAME, "sentiance", base_url=srv.base_url("sentiance"), username=user["username"])
        ok(login(NAME, user["password"]))
        old = Store.open().vault.entry(NAME).tokens
        assert old is not None
        srv.inject("sentiance", "auth/token", "field:token=" + json.dumps(HOSTILE["CR/LF and a header"]))
        result = run_cli("refresh", NAME)
        assert result.code not in (0, 70)
        _one_line(result.err, "RFC 6750")
        header = ok(run_cli("header", NAME))
        assert header.out == f"Authorization: Bearer {old.access_token}\n"
        outcome.text = "refused, old token handed out, one header line"


def test_a_pasted_token_outside_rfc6750_is_refused(isolated: Path, figures: Figures) -> None:
    with figures.trying(7, "pasted token with a terminal escape") as outcome:
        add_account(NAME, "bearer")
        result = login(NAME, "abc\x1b[2Jdef")
        assert result.code not in (0, 70)
        assert "\x1b" not in result.err
        _one_line(result.err.strip().splitlines()[-1], NAME, "RFC 6750")
        assert Store.open().vault.entry(NAME).tokens is None
        outcome.text = "refused in one line, nothing stored"


@pytest.mark.parametrize("command", ["token", "header", "refresh", "logout", "inspect"])
def test_an_account_name_with_control_characters_is_not_echoed(
    isolated: Path, figures: Figures, command: str
) -> None:
    with figures.trying(7, f"name with control characters: {command}") as outcome:
        add_account(NAME, "bearer")
        name = "acct\x1b[2J\r\nX-Injected: 1"
        result = run_cli(command, name)
        assert result.code not in (0, 70), result.err
        assert "\x1b" not in result.err and "\r" not in result.err
        _one_line(result.err, "control characters")
        outcome.text = "one line, the name escaped"


# ---- item 13 --------------------------------------------------------------------------------


def test_a_token_expired_on_arrival_is_not_called_valid(
    isolated: Path, fresh_provider: ProviderServer, figures: Figures
) -> None:
    with figures.trying(13, "expires_in: -100") as outcome:
        srv = fresh_provider
        user = srv.users["senseye"]
        add_account(NAME, "senseye", base_url=srv.base_url("senseye"), username=user["username"])
        srv.inject("senseye", "oauth/token", "field:expires_in=-100", times=10)
        ok(login(NAME, user["password"]))
        result = run_cli("token", NAME)
        warning = result.err.strip().splitlines()[-1]
        _one_line(warning, "already expired")
        assert "still valid" not in warning, warning
        assert warning.count(f"{NAME}:") == 1, warning
        outcome.text = "the name once, 'already expired', never 'still valid'"


@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "-5"])
def test_an_absurd_sign_in_timeout_in_a_preset_is_refused(
    isolated: Path, fresh_provider: ProviderServer, figures: Figures, value: str
) -> None:
    with figures.trying(13, f"preset timeout = {value}") as outcome:
        srv = fresh_provider
        add_account(NAME, "oauth2", issuer=srv.issuer, client_id=srv.users["oauth"]["public_client_id"])
        presets = isolated / "presets"
        presets.mkdir(parents=True, mode=0o700)
        text = (builtin_dir() / "oauth2.toml").read_text()
        text = re.sub(r"(?m)^timeout = \d+", f"timeout = {value}", text)
        assert f"timeout = {value}" in text
        (presets / "oauth2.toml").write_text(text)
        # A child process: a timeout that is accepted would wait for a browser (nearly) forever.
        result = _cli("login", NAME, "--no-browser", timeout=30)
        assert result.returncode not in (0, 70), result.stderr
        last = result.stderr.strip().splitlines()[-1]
        _one_line(last, "timeout", "at most")
        outcome.text = "refused in one line"
