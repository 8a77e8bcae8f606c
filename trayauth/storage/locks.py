"""A per-account lock across processes, held around a renewal.

Two processes that both send the same rotating refresh token get the whole grant revoked (RFC
9700), so the tray and every CLI call renew an account one at a time. The async form polls the
file lock with short sleeps so the event loop (and the tray's UI on it) never blocks waiting.
"""

from __future__ import annotations

import asyncio
import string
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from trayauth.domain.errors import TrayauthError
from trayauth.domain.steps import NextStep, StepKind
from trayauth.storage.flock import FileLock
from trayauth.storage.paths import Paths, ensure_root
from trayauth.storage.trust import storage_error

DEFAULT_TIMEOUT = 60.0  # a renewal that waits out a 429 may take most of a minute
_SAFE = frozenset((string.ascii_letters + string.digits + "_-").encode())


def lock_file(path: Path, *, timeout: float = -1) -> FileLock:
    """A 0600 lock file at ``path``; reading the config or the vault takes none."""
    return FileLock(path, timeout=timeout)


@contextmanager
def locked_write(root: Path, lock_path: Path, saving: str, timeout: float) -> Iterator[None]:
    """Hold the 0600 lock that serializes the writers of one file, around the block that writes it.

    The config and the vault are both rewritten this way, so how their failures read lives here:
    a lock another process keeps is a stale-lock step, and an OS error (read-only folder, full
    disk, a symlinked lock) is one line saying ``cannot save <saving>`` and why.
    """
    lock = lock_file(lock_path, timeout=timeout)
    try:
        ensure_root(root)
        lock.acquire()
    except TimeoutError:  # only from taking the lock: another process holds it
        raise TrayauthError(
            f"{lock_path} is held by another trayauth process",
            next_step=NextStep.of(StepKind.STALE_LOCK, path=str(lock_path)),
        ) from None
    except TrayauthError:
        raise
    except OSError as exc:
        raise storage_error(exc, f"cannot save {saving}") from None
    try:
        yield
    except TrayauthError:
        raise
    except OSError as exc:
        raise storage_error(exc, f"cannot save {saving}") from None
    finally:
        lock.release()


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
            try:
                self.paths.ensure_locks_dir()
            except OSError as exc:
                raise self._unusable(exc) from None
            self._lock = lock_file(self.path)
        return self._lock

    def _unusable(self, exc: OSError) -> TrayauthError:
        """A lock that cannot be taken (a planted symlink, a read-only folder), in words."""
        if isinstance(exc, TrayauthError):
            return exc
        return storage_error(exc, f"cannot lock {self.name} for renewal")

    def _busy(self) -> TrayauthError:
        return TrayauthError(
            f"another trayauth process is renewing {self.name}",
            account=self.name,
            named=True,
            next_step=NextStep.of(StepKind.RETRY),
        )

    def __enter__(self) -> AccountLock:
        try:
            self._file_lock().acquire(timeout=self.timeout)
        except TimeoutError:  # held by another process
            raise self._busy() from None
        except OSError as exc:
            raise self._unusable(exc) from None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file_lock().release()

    async def __aenter__(self) -> AccountLock:
        lock = self._file_lock()
        deadline = self._clock() + self.timeout
        while True:
            try:
                lock.acquire(blocking=False)
                return self
            except TimeoutError:  # held by another process
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
