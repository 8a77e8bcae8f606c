"""Logout and remove while a renewal is in flight leave nothing behind.

A slow provider (its refresh answer held back after the server rotated) keeps a renewal running
while a second real process logs out, or removes and re-adds the account. Every write of an
account's tokens holds the account's lock, and a renewal whose login ended meanwhile drops what
it got: afterwards the account is logged out, `token` fails, and the re-added account never
hands out the old session's token. In-process, a logout that bypasses the lock (a lock file
deleted by hand) shows the second guard on its own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import add_account, expire_now, ok, run_cli, sentiance_account, spawn_cli
from tests.support.tray import TrayProcess
from trayauth.domain.model import Account, State
from trayauth.domain.presets import PresetCatalog
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.services.transitions import SessionEnded
from trayauth.storage.store import Store

HOLD = "delay:6"  # the refresh request is held this long at the provider before it is answered
PATIENCE = 60.0  # how long a step may take on a loaded machine before the test gives up


def wait_for_refresh(srv: Any, before: int) -> None:
    """Until the renewal's request has reached the provider (which now holds it)."""
    deadline = time.monotonic() + PATIENCE
    while srv.count("sentiance", "auth/token") <= before:
        assert time.monotonic() < deadline, "the renewal never reached the provider"
        time.sleep(0.02)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _out, err = proc.communicate(timeout=PATIENCE)
    assert "Traceback" not in err
    return proc.returncode, err


def state_of(name: str) -> str:
    listing = json.loads(ok(run_cli("list", "--json")).out)
    return next(str(a["state"]) for a in listing if a["name"] == name)


def slow_renewal(srv: Any, name: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A `trayauth refresh` (or, with a tray, a `token` the tray renews) held at the provider."""
    before = srv.count("sentiance", "auth/token")
    srv.inject("sentiance", "auth/token", HOLD)
    if env is None:
        proc = spawn_cli("refresh", name)
    else:
        expire_now(name)
        proc = spawn_cli("token", name, env=env)
    wait_for_refresh(srv, before)
    return proc


def test_logout_during_a_slow_refresh_leaves_nothing_behind(isolated: Path, fresh_provider: Any) -> None:
    srv = fresh_provider
    sentiance_account(srv, "s1")
    renewing = slow_renewal(srv, "s1")
    code, err = finish(spawn_cli("logout", "s1"))
    assert code == 0, err
    finish(renewing)
    assert state_of("s1") == "logged_out"
    token = run_cli("token", "s1")
    assert token.code == 3 and "not logged in" in token.err


def test_remove_and_add_during_a_slow_refresh_never_hand_out_the_old_session(
    isolated: Path, fresh_provider: Any
) -> None:
    srv = fresh_provider
    sentiance_account(srv, "s1")
    user = srv.users["sentiance"]
    renewing = slow_renewal(srv, "s1")
    code, err = finish(spawn_cli("remove", "s1"))
    assert code == 0, err
    add_account("s1", "sentiance", base_url=srv.base_url("sentiance"), username=user["username"])
    finish(renewing)
    assert state_of("s1") == "logged_out"
    token = run_cli("token", "s1")
    assert token.code == 3 and token.out == "", "the new account handed out the old session's token"


def test_logout_while_a_running_tray_renews_leaves_nothing_behind(
    isolated: Path, fresh_provider: Any
) -> None:
    srv = fresh_provider
    sentiance_account(srv, "s1")
    tray = TrayProcess()
    try:
        tray.wait_ready()
        asking = slow_renewal(srv, "s1", env=tray.env)  # the tray renews it for this CLI call
        code, err = finish(spawn_cli("logout", "s1"))
        assert code == 0, err
        finish(asking)
        assert state_of("s1") == "logged_out"
        via_tray = subprocess.run(
            [*spawn_argv(), "token", "s1"], env=tray.env, capture_output=True, text=True, timeout=PATIENCE
        )
        assert via_tray.returncode == 3 and via_tray.stdout == "", via_tray.stderr
    finally:
        tray.stop()


def test_remove_and_add_while_a_running_tray_renews(isolated: Path, fresh_provider: Any) -> None:
    srv = fresh_provider
    sentiance_account(srv, "s1")
    user = srv.users["sentiance"]
    tray = TrayProcess()
    try:
        tray.wait_ready()
        asking = slow_renewal(srv, "s1", env=tray.env)
        code, err = finish(spawn_cli("remove", "s1"))
        assert code == 0, err
        add_account("s1", "sentiance", base_url=srv.base_url("sentiance"), username=user["username"])
        finish(asking)
        assert state_of("s1") == "logged_out"
        via_tray = subprocess.run(
            [*spawn_argv(), "token", "s1"], env=tray.env, capture_output=True, text=True, timeout=PATIENCE
        )
        assert via_tray.returncode == 3 and via_tray.stdout == "", "the old session's token came back"
    finally:
        tray.stop()


def spawn_argv() -> list[str]:
    import sys

    return [sys.executable, "-m", "trayauth"]


# ---- the session guard on its own: a logout that bypassed the lock ---------------------------


@pytest.mark.asyncio
async def test_a_renewal_whose_login_ended_drops_its_result(isolated: Path, fresh_provider: Any) -> None:
    srv = fresh_provider
    broker = Broker(Store.open(isolated), PresetCatalog(), http=HttpPolicy())
    user = srv.users["sentiance"]
    broker.add(
        Account("s1", "sentiance", {"base_url": srv.base_url("sentiance"), "username": user["username"]})
    )
    first = await broker.login("s1", {"password": user["password"]})
    before = srv.count("sentiance", "auth/token")
    srv.inject("sentiance", "auth/token", HOLD)
    renewal = asyncio.ensure_future(broker.refresh("s1"))
    while srv.count("sentiance", "auth/token") <= before:
        await asyncio.sleep(0.02)
    # As a logout from a process that found the lock file deleted by hand would: no lock.
    broker.store.vault.remove("s1")
    with pytest.raises(SessionEnded):
        await renewal
    assert broker.store.vault.entry("s1").tokens is None
    assert broker.view("s1").state is State.LOGGED_OUT
    # A new login starts a new session; the old one's token is not what it hands out.
    second = await broker.login("s1", {"password": user["password"]})
    assert (await broker.token("s1")).access_token == second.access_token != first.access_token
    await broker.aclose()
