"""The per-account renewal lock: one renewer at a time across processes, and a free event loop."""

from __future__ import annotations

import asyncio
import contextlib
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trayauth.cli.wording import line as cli_line
from trayauth.domain.errors import TrayauthError
from trayauth.storage.locks import AccountLock, account_lock_path
from trayauth.storage.paths import Paths


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths.from_root(tmp_path / "config")


def test_lock_paths_are_safe_and_distinct(paths: Paths) -> None:
    names = ["work", "me@corp.com", "me_corp.com", "a%40b", "..", ".hidden", "a/b", "../../etc/passwd"]
    locks = [account_lock_path(paths, n) for n in names]
    assert len(set(locks)) == len(names)
    for lock in locks:
        assert lock.parent == paths.locks_dir
        assert lock.name.endswith(".lock") and not lock.name.startswith(".") and "/" not in lock.name
    assert account_lock_path(paths, "work").name == "work.lock"
    assert account_lock_path(paths, "me@corp.com").name == "me%40corp%2ecom.lock"


def test_sync_lock_excludes_a_second_holder(paths: Paths) -> None:
    with AccountLock(paths, "w"):
        assert stat.S_IMODE(paths.locks_dir.stat().st_mode) == 0o700
        with pytest.raises(TrayauthError) as info, AccountLock(paths, "w", timeout=0.05):
            pass
        assert cli_line(info.value) == "another trayauth process is renewing w; try again"
        with AccountLock(paths, "other", timeout=0.05):
            pass  # other accounts are not held up
    with AccountLock(paths, "w", timeout=0):
        pass


@pytest.mark.asyncio
async def test_async_waiter_gets_the_lock_when_released(paths: Paths) -> None:
    order: list[str] = []

    async def holder() -> None:
        async with AccountLock(paths, "w"):
            order.append("first in")
            await asyncio.sleep(0.1)
            order.append("first out")

    async def waiter() -> None:
        await asyncio.sleep(0.01)
        async with AccountLock(paths, "w", poll=0.01):
            order.append("second in")

    await asyncio.gather(holder(), waiter())
    assert order == ["first in", "first out", "second in"]


@pytest.mark.asyncio
async def test_async_timeout_uses_the_injected_clock(paths: Paths) -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with AccountLock(paths, "w"):
        lock = AccountLock(paths, "w", timeout=1.0, poll=0.25, sleep=fake_sleep, clock=lambda: now[0])
        with pytest.raises(TrayauthError, match="another trayauth process is renewing w"):
            async with lock:
                pass
    assert slept == [0.25, 0.25, 0.25, 0.25]


HOLDER = """
import sys, time
from pathlib import Path
from trayauth.storage.locks import AccountLock
from trayauth.storage.paths import Paths
with AccountLock(Paths.from_root(Path(sys.argv[1])), "w"):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.asyncio
async def test_another_process_holds_it_and_the_loop_stays_free(paths: Paths) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(paths.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "held"
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        with pytest.raises(TrayauthError, match="renewing w"):
            async with AccountLock(paths, "w", timeout=0.3, poll=0.02):
                pass
        assert ticks >= 10  # the loop kept running while we waited
        proc.stdin.write("\n")
        proc.stdin.flush()
        async with AccountLock(paths, "w", timeout=10, poll=0.02):
            pass
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        proc.stdin.close()
        proc.stdout.close()
        proc.wait(timeout=10)
