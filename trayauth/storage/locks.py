"""A per-account lock across processes, held around a renewal.

Two processes that both send the same rotating refresh token get the whole grant revoked (RFC
9700), so the tray and every CLI call renew an account one at a time. The async form polls the
file lock with short sleeps so the event loop (and the tray's UI on it) never blocks waiting.
"""

from __future__ import annotations

import asyncio
import string
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from trayauth.domain.errors import TrayauthError
from trayauth.domain.steps import NextStep, StepKind

if TYPE_CHECKING:
    from filelock import FileLock

    from trayauth.storage.paths import Paths

DEFAULT_TIMEOUT = 60.0  # a renewal that waits out a 429 may take most of a minute
_SAFE = frozenset((string.ascii_letters + string.digits + "_-").encode())


def account_lock_path(paths: Paths, name: str) -> Path:
    """``locks/<name>.lock``, every byte but letters, digits, ``_`` and ``-`` escaped as %XX.

    Escaping (not replacing) keeps distinct accounts on distinct locks, and no name can become
    a hidden file or reach outside the directory.
    """
    safe = "".join(chr(b) if b in _SAFE else f"%{b:02x}" for b in name.encode()) or "%"
    return paths.locks_dir / f"{safe}.lock"


class AccountLock:
    """``async with AccountLock(paths, name)`` in the broker, ``with`` in synchronous code.

    Not re-entrant across instances: a second lock on the same account, even in the same
    process, waits for the first (which is what keeps two brokers in one test apart too).
    """

    def __init__(
        self,
        paths: Paths,
        name: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = 0.05,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.paths = paths
        self.name = name
        self.path = account_lock_path(paths, name)
        self.timeout = timeout
        self.poll = poll
        self._sleep = sleep
        self._clock = clock
        self._lock: FileLock | None = None

    def _file_lock(self) -> FileLock:
        if self._lock is None:
            from filelock import FileLock

            try:
                self.paths.ensure_locks_dir()
            except OSError as exc:
                raise self._unusable(exc) from None
            # thread_local=False: an async holder may resume on another thread (qasync, executors).
            self._lock = FileLock(str(self.path), mode=0o600, thread_local=False)
        return self._lock

    def _unusable(self, exc: OSError) -> TrayauthError:
        """A lock that cannot be taken (a planted symlink, a read-only folder), in words."""
        if isinstance(exc, TrayauthError):
            return exc
        from trayauth.storage.trust import storage_error

        return storage_error(exc, f"cannot lock {self.name} for renewal")

    def _busy(self) -> TrayauthError:
        return TrayauthError(
            f"another trayauth process is renewing {self.name}",
            account=self.name,
            named=True,
            next_step=NextStep.of(StepKind.RETRY),
        )

    def __enter__(self) -> AccountLock:
        from filelock import Timeout

        try:
            self._file_lock().acquire(timeout=self.timeout)
        except Timeout:
            raise self._busy() from None
        except OSError as exc:
            raise self._unusable(exc) from None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file_lock().release()

    async def __aenter__(self) -> AccountLock:
        from filelock import Timeout

        lock = self._file_lock()
        deadline = self._clock() + self.timeout
        while True:
            try:
                lock.acquire(blocking=False)
                return self
            except Timeout:
                left = deadline - self._clock()
                if left <= 0:
                    raise self._busy() from None
                await self._sleep(min(self.poll, left))
            except OSError as exc:
                raise self._unusable(exc) from None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file_lock().release()
