"""One tray per user: an exclusive lock on ``tray.lock`` in the runtime folder, held for life.

A lock, not "is the socket answering?": two trays started at the same moment would both see no
answer. The OS drops the lock when the process dies, so a crash never leaves a stale one; the
file holds the holder's pid so a second tray can say which process it is.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from trayauth.storage.flock import try_lock, unlock

if TYPE_CHECKING:
    from pathlib import Path

LOCK_NAME = "tray.lock"


class AlreadyRunning(Exception):
    """Another tray holds this runtime directory; ``pid`` is its pid when known."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(f"the tray is already running{f' (pid {pid})' if pid else ''}")
        self.pid = pid


class InstanceLock:
    def __init__(self, runtime_dir: Path) -> None:
        self.path = os.path.join(os.fspath(runtime_dir), LOCK_NAME)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            taken = try_lock(fd)
        except OSError:
            taken = False
        if not taken:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(pid)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            unlock(self._fd)
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
