"""A tray that says nothing is skipped within about a second; a tray that is renewing is waited for.

A real tray process (offscreen Qt) on the real socket. Before protocol version 2 a frozen tray
(SIGSTOP) held every CLI call for 90 s; now the client gives the tray about a second to say
anything, and a tray busy renewing (here: waiting out a 429's Retry-After) says "working" at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import add_account, cli_process, expire_now, login, ok
from tests.support.tray import TrayProcess
from trayauth.client import AGENT_ENV, tray_running
from trayauth.storage.store import Store

# Generous: a frozen tray used to cost 90 s per call; a stressed machine may take a few to start Python.
CLI_DEADLINE = 45.0


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli_process(*argv, env=env, timeout=CLI_DEADLINE)


def vault_token(name: str) -> str:
    tokens = Store.open().vault.entry(name).tokens
    assert tokens is not None
    return tokens.access_token


@pytest.fixture
def senseye(isolated: Path, fresh_provider: Any) -> str:
    user = fresh_provider.users["senseye"]
    add_account("s", "senseye", base_url=fresh_provider.base_url("senseye"), username=user["username"])
    ok(login("s", user["password"]))
    return "s"


def remote(tray: TrayProcess, tmp_path: Path) -> dict[str, str]:
    """Another host's view: the tray's socket forwarded, and no vault of its own to go direct to."""
    return {AGENT_ENV: tray.socket, "TRAYAUTH_CONFIG_DIR": str(tmp_path / "remote")}


def test_a_renewing_tray_is_waited_for_past_the_silence_limit(
    senseye: str, fresh_provider: Any, tray: TrayProcess, tmp_path: Path
) -> None:
    old = expire_now(senseye)
    before = fresh_provider.count("senseye", "oauth/token")
    fresh_provider.inject("senseye", "oauth/token", {"status": 429, "headers": {"Retry-After": "3"}})
    got = cli("token", senseye, env=remote(tray, tmp_path))
    assert got.returncode == 0, got.stderr
    token = got.stdout.strip()
    assert token != old and fresh_provider.check("senseye", token)
    assert token == vault_token(senseye)
    # The tray asked twice: the 429, then (3 s later, past the client's 1 s) the new token.
    assert fresh_provider.count("senseye", "oauth/token") == before + 2


def test_a_stopped_tray_is_skipped_and_the_cli_goes_direct(
    senseye: str, tray: TrayProcess, tmp_path: Path
) -> None:
    served = cli("header", senseye)
    assert served.returncode == 0, served.stderr
    os.kill(tray.pid, signal.SIGSTOP)
    try:
        direct = cli("header", senseye)
        assert direct.returncode == 0, direct.stderr
        assert direct.stdout == served.stdout == f"Authorization: Bearer {vault_token(senseye)}\n"
        assert cli("status").stdout.startswith("tray: not running")
        # Through a forwarded socket there is nothing to go direct to: one clear line, no wait.
        forwarded = cli("token", senseye, env=remote(tray, tmp_path))
        assert forwarded.returncode == 1 and forwarded.stdout == ""
        assert forwarded.stderr.startswith(f"trayauth: no agent answers at ${AGENT_ENV}"), forwarded.stderr
        assert forwarded.stderr.count("\n") == 1
    finally:
        os.kill(tray.pid, signal.SIGCONT)
    assert tray_running(tray.runtime_dir) == tray.pid  # it serves again once continued
    assert cli("header", senseye, env={AGENT_ENV: tray.socket}).stdout == served.stdout
