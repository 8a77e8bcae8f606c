"""The one file lock under both of trayauth's locks (:mod:`trayauth.storage.flock`): exclusive
between descriptors, even in one process; counted when taken again by its holder; 0600 and never
through a planted symlink; and on Windows a one-byte ``msvcrt`` lock."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from trayauth.domain.errors import StorageError
from trayauth.storage import flock
from trayauth.storage.flock import FileLock
from trayauth.storage.locks import locked_write

HOLDER = """
import sys
from trayauth.storage.flock import FileLock
from trayauth.storage.locks import locked_write
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def test_two_locks_on_one_file_exclude_each_other_even_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    first, second = FileLock(path), FileLock(path, timeout=0)
    first.acquire()
    with pytest.raises(TimeoutError):
        second.acquire()
    with pytest.raises(TimeoutError):
        second.acquire(timeout=-1, blocking=False)  # one try, whatever the timeout
    first.release()
    second.acquire()
    assert second.is_locked and not first.is_locked
    second.release()


def test_another_process_holding_it_is_a_timeout_until_it_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "held"
            with pytest.raises(TimeoutError):
                FileLock(path, timeout=0).acquire()
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)
    with FileLock(path, timeout=0) as lock:  # the OS dropped it with its holder
        assert lock.is_locked


def test_a_waiter_gets_it_once_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    holder = FileLock(path)
    holder.acquire()
    waiting, got = threading.Event(), threading.Event()

    def poll(seconds: float) -> None:
        assert seconds == flock.POLL
        waiting.set()
        time.sleep(seconds)

    def wait_for_it() -> None:
        with FileLock(path, sleep=poll):  # no timeout: as long as it takes
            got.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    try:
        assert waiting.wait(timeout=60)  # it found the lock taken and is polling
        assert not got.is_set()
    finally:
        holder.release()
        waiter.join(timeout=60)
    assert got.is_set()


class Clock:
    """A monotonic clock that the lock's own sleep moves: polls are counted, no time passes."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.polls = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.polls += 1
        self.now = 1000.0 + self.polls * seconds  # counted, not summed: no float drift


@pytest.mark.parametrize(("own", "given", "polls"), [(-1.0, 1.0, 20), (0.0, 0.5, 10), (5.0, None, 100)])
def test_a_timeout_is_kept_to_the_poll(tmp_path: Path, own: float, given: float | None, polls: int) -> None:
    """``acquire(timeout=…)`` wins over the lock's own timeout; it polls every POLL seconds until
    the deadline, then says which lock, as an OS error would."""
    path = tmp_path / "a.lock"
    clock = Clock()
    with FileLock(path):
        lock = FileLock(path, timeout=own, sleep=clock.sleep, clock=clock)
        with pytest.raises(TimeoutError) as info:
            lock.acquire(timeout=given)
    assert clock.polls == polls and not lock.is_locked
    assert (info.value.errno, info.value.filename) == (errno.EAGAIN, str(path))


def test_taking_it_again_counts_and_only_the_last_release_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    lock, other = FileLock(path), FileLock(path, timeout=0)
    lock.acquire()
    lock.acquire()
    lock.release()
    with pytest.raises(TimeoutError):
        other.acquire()
    lock.release()
    other.acquire()
    other.release()
    lock.release()  # releasing what is not held does nothing


def test_the_lock_file_is_private_and_never_followed_through_a_symlink(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    with FileLock(path):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    planted, target = tmp_path / "b.lock", tmp_path / "elsewhere"
    planted.symlink_to(target)
    with pytest.raises(OSError, match=r"symbolic link|Too many levels") as info:
        FileLock(planted).acquire()
    assert info.value.errno == errno.ELOOP
    assert not target.exists()


def test_a_file_system_that_cannot_lock_is_an_error_not_a_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_flock(fd: int, op: int) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(flock.fcntl, "flock", no_flock)
    lock = FileLock(tmp_path / "a.lock", timeout=-1)
    with pytest.raises(OSError, match="not implemented") as info:
        lock.acquire()
    assert info.value.errno == errno.ENOSYS and not lock.is_locked
    # and what a user reads: one line that says why
    held = locked_write(tmp_path, tmp_path / "x.lock", "x", timeout=1)
    with pytest.raises(StorageError, match=r"^cannot save x: the config folder's file system cannot lock"):
        held.__enter__()
    # the errors that mean "held" on Windows are errors here
    denied = OSError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(flock.fcntl, "flock", lambda fd, op: (_ for _ in ()).throw(denied))
    with pytest.raises(PermissionError):
        lock.acquire()


class FakeMsvcrt:
    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self, held: bool = False) -> None:
        self.held = held
        self.calls: list[tuple[int, int, int, int]] = []

    def locking(self, fd: int, mode: int, size: int) -> None:
        self.calls.append((fd, mode, size, os.lseek(fd, 0, os.SEEK_CUR)))
        if self.held and mode == self.LK_NBLCK:
            raise OSError(errno.EACCES, "Permission denied")


def test_on_windows_it_is_a_one_byte_msvcrt_lock_at_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeMsvcrt()
    monkeypatch.setattr(flock, "msvcrt", fake, raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    fd = os.open(tmp_path / "a.lock", os.O_RDWR | os.O_CREAT, 0o600)
    assert flock.try_lock(fd) is True
    os.write(fd, b"4242")  # the instance lock writes its pid after taking it
    flock.unlock(fd)  # unlocks the byte it locked, from the start, and closes
    assert fake.calls == [(fd, fake.LK_NBLCK, 1, 0), (fd, fake.LK_UNLCK, 1, 0)]
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)
    held = FakeMsvcrt(held=True)
    monkeypatch.setattr(flock, "msvcrt", held, raising=False)
    fd = os.open(tmp_path / "a.lock", os.O_RDWR)
    try:
        assert flock.try_lock(fd) is False  # held elsewhere: not an error
    finally:
        os.close(fd)
