"""An exclusive lock on a file, through an open descriptor: ``flock`` on POSIX, ``msvcrt`` on Windows.

Both of trayauth's kinds of lock stand on it: the per-account and per-file locks
(:mod:`trayauth.storage.locks`) and the one-tray lock (:mod:`trayauth.services.instance`). The OS
drops the lock when its holder dies, so a crash never leaves a stale one, and two descriptors of
the same file exclude each other even within one process (two brokers in one test).

Why not the filelock package, which the design first named: what trayauth uses of it is what is
here, and it brought 25 modules of its own plus ``platform`` and ``decimal``. That was 36 ms on
every CLI command that takes a lock, and 0.8 MiB that stayed in the tray from its first renewal
on (a tray runs all day). What it offers beyond this (a soft lock on file systems without
``flock``, read-write and async locks) trayauth does not use: a file system that cannot lock is
said in words (``storage.trust.storage_error``), not worked around.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable
from types import TracebackType

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

# No following a planted symlink to somewhere else; not inherited by the processes we start.
OPEN_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
POLL = 0.05  # seconds between tries while another process holds the lock
_HELD_ON_WINDOWS = (errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK))


def try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` if it is free: True if taken, False if another holder has it.
    Any other failure (a file system that cannot lock) raises OSError."""
    try:
        if sys.platform == "win32":
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if sys.platform == "win32" and exc.errno in _HELD_ON_WINDOWS:
            return False
        raise
    return True


def unlock(fd: int) -> None:
    """Let go of the lock on ``fd`` and close it (closing alone does it on POSIX)."""
    try:
        if sys.platform == "win32":
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    finally:
        os.close(fd)


class FileLock:
    """A lock file (created 0600, never followed through a symlink), held exclusively.

    ``acquire`` waits up to ``timeout`` seconds (negative: for as long as it takes; ``blocking=
    False``: one try) and raises TimeoutError when another holder keeps it; OSError when the file
    cannot be opened or locked. Taking it again while held only counts, as releasing counts down.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = -1.0,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._fd: int | None = None
        self._depth = 0  # how many times the holder took it; read only while held

    @property
    def is_locked(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None, *, blocking: bool = True) -> None:
        if self._fd is not None:
            self._depth += 1
            return
        wait = self.timeout if timeout is None else timeout
        deadline = None if wait < 0 else self._clock() + wait
        fd = os.open(self.path, OPEN_FLAGS, 0o600)
        try:
            while not try_lock(fd):
                if not blocking or (deadline is not None and self._clock() >= deadline):
                    raise TimeoutError(errno.EAGAIN, "the lock is held elsewhere", self.path)
                self._sleep(POLL)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._depth = fd, 1

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, None
            unlock(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
