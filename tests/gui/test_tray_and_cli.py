"""The tray serves the CLI over its socket: both see one token, renewed once, by the tray."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import cli_process as cli
from tests.support.clock import FakeClock
from tests.support.qt import Rig, Runner
from trayauth.client import request_token, socket_path, tray_running
from trayauth.services.instance import AlreadyRunning


async def in_thread(fn: Any, *args: Any) -> Any:
    """Run a blocking client while the loop (and so the tray) keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def test_the_cli_gets_the_trays_token_through_the_socket(rig: Rig, run: Runner) -> None:
    token = rig.add_sentiance("work")
    session = rig.start()
    runtime = rig.broker.store.paths.runtime_dir
    assert oct(os.stat(socket_path(runtime)).st_mode & 0o777) == "0o600"
    assert oct(os.stat(runtime).st_mode & 0o777) == "0o700"
    reply = run(in_thread(request_token, "work", runtime))
    assert reply == {
        "ok": True,
        "token": token,
        "token_type": "Bearer",
        "expires_at": reply["expires_at"],
        "warning": None,
    }
    assert run(in_thread(tray_running, runtime)) == os.getpid()
    # The real CLI, as a script would run it: answered by the tray, not the vault.
    proc = run(in_thread(cli, "header", "work"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"Authorization: Bearer {token}\n"
    assert session.agent.requests == 2
    status = run(in_thread(cli, "status"))
    assert f"tray: running (pid {os.getpid()})" in status.stdout


def test_a_due_token_is_renewed_once_by_the_tray_for_every_caller(
    isolated: Path, fresh_provider: Any, run: Runner
) -> None:
    clock = FakeClock()
    rig = Rig(isolated, fresh_provider, run, clock=clock)
    try:
        old = rig.add_sentiance("work")
        rig.start()
        runtime = rig.broker.store.paths.runtime_dir
        clock.advance(3600 - 30)  # inside the renewal margin

        async def five_callers() -> list[Any]:
            return list(await asyncio.gather(*(in_thread(request_token, "work", runtime) for _ in range(5))))

        replies = run(five_callers())
        tokens = {r["token"] for r in replies}
        assert len(tokens) == 1 and old not in tokens
        assert fresh_provider.refreshes("sentiance") == 1
        assert fresh_provider.revoked_families("sentiance") == 0
    finally:
        rig.close()


def test_errors_come_back_as_one_line_with_an_exit_code(rig: Rig, run: Runner) -> None:
    rig.add_sentiance("idle", login=False)
    rig.start()
    runtime = rig.broker.store.paths.runtime_dir
    missing = run(in_thread(request_token, "nope", runtime))
    assert missing["ok"] is False and missing["exit_code"] == 1
    assert missing["error"].startswith("no account named 'nope'")
    logged_out = run(in_thread(request_token, "idle", runtime))
    assert logged_out == {
        "ok": False,
        "error": "idle is not logged in",
        "next": {"kind": "log_in", "account": "idle"},
        "exit_code": 3,
    }
    proc = run(in_thread(cli, "token", "idle"))
    assert proc.returncode == 3
    assert proc.stderr == "trayauth: idle is not logged in; run 'trayauth login idle'\n"


def test_one_tray_per_user(rig: Rig, run: Runner) -> None:
    rig.start()
    from trayauth.ui.qt.session import TraySession

    second = TraySession(rig.broker, ui="window")
    with pytest.raises(AlreadyRunning) as caught:
        run(second.start())
    assert caught.value.pid == os.getpid()


def test_after_quit_the_cli_works_alone(rig: Rig, run: Runner) -> None:
    token = rig.add_sentiance("work")
    rig.start()
    runtime = rig.broker.store.paths.runtime_dir
    rig.close()
    assert not os.path.exists(socket_path(runtime))
    assert tray_running(runtime) is None
    assert request_token("work", runtime) is None
    proc = cli("token", "work")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{token}\n"
    assert "tray: not running" in cli("status").stdout
