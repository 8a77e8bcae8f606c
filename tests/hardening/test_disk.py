"""Disks that fail: full, read-only, lock files that are symlinks (issue 9, items 2, 3 and 12).

A real tmpfs of half a megabyte is filled up or remounted read-only under a real account; the
CLI must answer in words, the tray's scheduler must back off instead of spinning, and a rotating
refresh must never spend its refresh token without being able to save the successor.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.cases import Figures, clear_line
from tests.hardening.disks import TinyDisk, tiny_disk
from tests.support.cli import REPO, expire_now, ok, run_cli, sentiance_account
from tests.support.clock import FakeClock
from trayauth.demo import ProviderServer
from trayauth.domain.presets import PresetCatalog
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.services.scheduler import BACKOFF_FIRST, RenewalScheduler
from trayauth.storage import atomic
from trayauth.storage.store import Store

NAME = "acct"


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path) -> Iterator[TinyDisk]:
    """The config folder on a 512 KiB tmpfs of its own (the key in a file there too)."""
    with tiny_disk(tmp_path / "disk") as d:
        monkeypatch.setenv("TRAYAUTH_CONFIG_DIR", str(d.path / "config"))
        monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
        try:
            yield d
        finally:
            d.read_only(False)
            d.free()


def _one_line_error(err: str, *needles: str) -> str:
    line = err.strip()
    problem = clear_line(line)
    assert problem is None, problem
    assert "internal error" not in line, line
    for needle in needles:
        assert needle in line, line
    return line


# ---- item 3: a full disk during a rotating refresh ----------------------------------------------


def test_the_disk_fills_while_the_refresh_is_in_flight(
    disk: TinyDisk, fresh_provider: ProviderServer, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    """The space for the new pair was reserved before the token went out: it is saved anyway."""
    with figures.trying(3, "disk fills while the refresh is in flight") as outcome:
        srv = fresh_provider
        sentiance_account(srv, NAME)
        original = srv.dispatch

        def fill_then_answer(method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
            if b'"refresh_token"' in body:
                disk.fill()
            return original(method, target, headers, body)

        monkeypatch.setattr(srv, "dispatch", fill_then_answer)
        result = run_cli("refresh", NAME)
        assert result.code == 0, result.out
        entry = Store.open().vault.entry(NAME)
        assert entry.tokens is not None and not entry.refresh_in_flight
        assert srv.check("sentiance", entry.tokens.access_token)
        monkeypatch.setattr(srv, "dispatch", original)
        disk.free()
        ok(run_cli("refresh", NAME))  # the saved successor works: nothing was lost or sent twice
        assert srv.revoked_families("sentiance") == 0
        outcome.text = "renewed: the new pair went into the reserved space"


def test_a_full_disk_refuses_before_the_refresh_token_is_spent(
    disk: TinyDisk, fresh_provider: ProviderServer, figures: Figures
) -> None:
    with figures.trying(3, "disk already full when a refresh starts") as outcome:
        srv = fresh_provider
        sentiance_account(srv, NAME)
        before = srv.refreshes("sentiance")
        disk.fill()
        result = run_cli("refresh", NAME)
        assert result.code not in (0, 70)
        line = _one_line_error(result.err, NAME, "disk full")
        assert srv.refreshes("sentiance") == before, "the refresh token went out with nowhere to save"
        listed = json.loads(ok(run_cli("list", "--json")).out)[0]
        assert listed["state"] == "valid"  # true: nothing was spent, the token still works
        disk.free()
        ok(run_cli("refresh", NAME))
        assert srv.revoked_families("sentiance") == 0
        outcome.text = "refused before sending: 'cannot save vault.json: disk full'"
        assert "cannot save vault.json: disk full" in line


def test_a_write_that_fails_even_so_is_said_and_recorded(
    keyfile_home: Path, fresh_provider: ProviderServer, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    """The reserved write fails too (injected ENOSPC): the account says exactly that, never "valid"."""
    with figures.trying(3, "the new pair cannot be written at all") as outcome:
        srv = fresh_provider
        sentiance_account(srv, NAME)
        real = atomic.write_atomic
        failed: list[Path] = []

        def failing(path: Path, data: bytes, mode: int = 0o600, *, reserved: Path | None = None) -> None:
            if reserved is not None and not failed:
                failed.append(path)
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            real(path, data, mode, reserved=reserved)

        monkeypatch.setattr(atomic, "write_atomic", failing)
        result = run_cli("refresh", NAME)
        assert failed, "the new tokens were never written through the reservation"
        assert result.code == 3, result.err
        _one_line_error(result.err, NAME, "could not be saved", "disk full", "trayauth login")
        monkeypatch.setattr(atomic, "write_atomic", real)
        listed = json.loads(ok(run_cli("list", "--json")).out)[0]
        assert listed["state"] == "error", listed
        assert "could not be saved" in (listed["error"] or ""), listed
        again = run_cli("refresh", NAME)  # the spent token is never sent again
        assert again.code == 3 and srv.revoked_families("sentiance") == 0, again.err
        outcome.text = "said, recorded on the account (state error), spent token never resent"


# ---- item 2: the tray's scheduler on a read-only or full disk --------------------------------


async def _scheduler_case(disk: TinyDisk, srv: ProviderServer, break_it: str) -> tuple[int, list[str], str]:
    """(renewal attempts over 20 looks, log lines, the account's error) with the disk broken."""
    await asyncio.to_thread(sentiance_account, srv, NAME)  # the CLI runs its own event loop
    expire_now(NAME, by=-30.0)  # due for renewal, still valid
    clock = FakeClock()
    broker = Broker(Store.open(), PresetCatalog(), http=HttpPolicy(), clock=clock)
    logged: list[str] = []
    scheduler = RenewalScheduler(broker, clock=clock, log=logged.append)
    attempts: list[str] = []
    refresh = broker.refresh

    async def counted(name: str) -> Any:
        attempts.append(name)
        return await refresh(name)

    broker.refresh = counted  # type: ignore[method-assign]
    if break_it == "read-only":
        disk.read_only()
    else:
        disk.fill()
    try:
        for _ in range(20):
            await scheduler.tick()
            await scheduler.settle()
            await asyncio.sleep(0)
        first = len(attempts)
        clock.advance(BACKOFF_FIRST + 1)  # backed off like any failure: tried again later
        await scheduler.tick()
        await scheduler.settle()
        assert len(attempts) == first + 1, "no retry after the backoff"
        error = broker.view(NAME).error or ""
    finally:
        await broker.aclose()
    return first, logged, error


@pytest.mark.asyncio
@pytest.mark.parametrize(("break_it", "words"), [("read-only", "read-only"), ("full", "disk full")])
async def test_the_scheduler_backs_off_on_a_broken_disk(
    disk: TinyDisk, fresh_provider: ProviderServer, figures: Figures, break_it: str, words: str
) -> None:
    with figures.trying(2, f"tray renews onto a {break_it} disk") as outcome:
        attempts, logged, error = await _scheduler_case(disk, fresh_provider, break_it)
        assert attempts == 1, f"{attempts} renewals in 20 looks: the scheduler spins"
        assert words in error, error
        assert len(logged) == 1, logged
        assert words in logged[0] and "\n" not in logged[0], logged
        assert fresh_provider.refreshes("sentiance") == 0  # nothing spent
        outcome.text = f"1 try per backoff, 1 log line, on the account: '{words}'"


@pytest.mark.asyncio
async def test_any_failure_in_a_background_renewal_is_caught(
    keyfile_home: Path, fresh_provider: ProviderServer, figures: Figures
) -> None:
    """An OSError (or a bug) nobody turned into words still backs off, is logged once, is shown."""
    with figures.trying(2, "an unexpected OSError in a renewal") as outcome:
        await asyncio.to_thread(sentiance_account, fresh_provider, NAME)
        expire_now(NAME, by=-30.0)
        clock = FakeClock()
        broker = Broker(Store.open(), PresetCatalog(), http=HttpPolicy(), clock=clock)
        calls: list[str] = []

        async def broken(name: str) -> Any:
            calls.append(name)
            raise OSError(errno.EIO, "Input/output error")

        broker.refresh = broken  # type: ignore[method-assign]
        logged: list[str] = []
        scheduler = RenewalScheduler(broker, clock=clock, log=logged.append)
        try:
            for _ in range(20):
                await scheduler.tick()
                await scheduler.settle()
        finally:
            await broker.aclose()
        assert calls == [NAME], f"{len(calls)} tries in 20 looks"
        assert len(logged) == 1 and "Input/output error" in logged[0], logged
        assert "Input/output error" in (broker.view(NAME).error or "")
        outcome.text = "1 try, 1 log line, shown on the account"


# ---- item 12: words, not "internal error" -----------------------------------------------------


def test_a_read_only_config_folder_is_said_in_words(
    disk: TinyDisk, fresh_provider: ProviderServer, figures: Figures
) -> None:
    with figures.trying(12, "read-only config folder") as outcome:
        sentiance_account(fresh_provider, NAME)
        disk.read_only()
        for argv in (("add", "other", "bearer"), ("logout", NAME), ("refresh", NAME)):
            result = run_cli(*argv)
            assert result.code not in (0, 70), result.err
            _one_line_error(result.err, "read-only")
        outcome.text = "add, logout, refresh: one line each, 'read-only'"


def test_a_full_disk_is_said_in_words(disk: TinyDisk, figures: Figures) -> None:
    with figures.trying(12, "full disk (tmpfs)") as outcome:
        ok(run_cli("add", "first", "bearer"))
        disk.fill()
        result = run_cli("add", "second", "bearer")
        assert result.code not in (0, 70), result.err
        _one_line_error(result.err, "disk full")
        assert "second" not in ok(run_cli("list")).out
        outcome.text = "one line, 'disk full', old config kept"


def test_a_full_disk_injected_at_the_write(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    """The same without a tmpfs: ENOSPC injected at the config write."""
    with figures.trying(12, "full disk (injected ENOSPC)") as outcome:
        ok(run_cli("add", "first", "bearer"))

        def full(path: Path, data: bytes, mode: int = 0o600, *, reserved: Path | None = None) -> None:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        monkeypatch.setattr(atomic, "write_atomic", full)
        result = run_cli("add", "second", "bearer")
        assert result.code not in (0, 70), result.err
        _one_line_error(result.err, "disk full")
        outcome.text = "one line, 'disk full'"


@pytest.mark.parametrize("lock", ["config.lock", "vault.lock", "account lock"])
def test_a_symlinked_lock_file_is_said_in_words(
    isolated: Path, fresh_provider: ProviderServer, tmp_path: Path, figures: Figures, lock: str
) -> None:
    with figures.trying(12, f"symlinked {lock} (ELOOP)") as outcome:
        sentiance_account(fresh_provider, NAME)
        target = tmp_path / "elsewhere"
        path = isolated / "locks" / f"{NAME}.lock" if lock == "account lock" else isolated / lock
        path.unlink(missing_ok=True)
        path.symlink_to(target)
        argv = ("add", "other", "bearer") if lock == "config.lock" else ("refresh", NAME)
        result = run_cli(*argv)
        assert result.code not in (0, 70), result.err
        _one_line_error(result.err, "symbolic link")
        assert not target.exists(), "the link was followed"
        outcome.text = "one line: a symbolic link, not followed"


@pytest.mark.parametrize("run_folder", ["absent", "present"])
def test_a_tray_on_a_read_only_config_folder_says_so(
    disk: TinyDisk, figures: Figures, run_folder: str
) -> None:
    with figures.trying(12, f"tray start, read-only config folder (run/ {run_folder})") as outcome:
        ok(run_cli("add", "first", "bearer"))
        if run_folder == "present":
            (disk.path / "config" / "run").mkdir(mode=0o700)
        disk.read_only()
        proc = subprocess.run(
            [sys.executable, "-m", "trayauth"],
            cwd=REPO,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode not in (0, 70), proc.stderr
        _one_line_error(proc.stderr.strip().splitlines()[-1], "read-only")
        assert "Traceback" not in proc.stderr, proc.stderr
        outcome.text = "the tray says so in one line and does not start"
