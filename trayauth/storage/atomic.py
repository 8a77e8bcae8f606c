"""Replace a file so a crash leaves either the old content or the new, never a mix.

The config and the vault are rewritten whole on every change; a torn write would lose every
account at once. The temp file is created with its final mode from the start, so a secret is
never readable by others even for the moment before the rename.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path

from trayauth import faultpoints

# O_CREAT | O_EXCL is what refuses a planted file or symlink (POSIX: it never follows a link), and
# Python opens every descriptor close-on-exec already, so no O_CLOEXEC is needed. A reservation
# is opened again without O_CREAT, so there O_NOFOLLOW does the refusing.
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


RESERVE_SUFFIX = ".reserve.tmp"  # a temp file too, but one a live renewal holds: see remove_leftovers
# A reservation older than this is a dead process's: a live one lasts one renewal.
_STALE_RESERVATION = 3600.0


def write_atomic(path: Path, data: bytes, mode: int = 0o600, *, reserved: Path | None = None) -> None:
    """Write ``data`` to ``path`` through a same-directory temp file and one ``os.replace``.

    The temp file is fsynced before the rename and the directory after it, so once this returns
    the new content survives a power cut. The parent directory must exist.

    ``reserved`` is a file :func:`reserve_beside` made: its blocks are already allocated, so the
    new content is written over them and a disk that filled up meanwhile cannot refuse it. On
    failure the reservation is left in place, for the caller's next (smaller) write.
    """
    path = Path(path)
    directory = path.parent
    if reserved is not None and reserved.exists():
        tmp = reserved
        flags = os.O_WRONLY | _O_NOFOLLOW | _O_BINARY
    else:
        reserved = None
        # os.urandom rather than secrets/tempfile: this runs on the CLI's hot path, keep imports nil.
        tmp = directory / f".{path.name}.{os.urandom(6).hex()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
    fd = os.open(tmp, flags, mode)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the umask may have narrowed it; we want exactly `mode`
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if reserved is not None:
                os.ftruncate(fd, len(data))  # the reservation was larger: the rest goes
            os.fsync(fd)
        finally:
            os.close(fd)
        faultpoints.reached("atomic:before_rename")  # crash tests: the new content is only in `tmp`
        os.replace(tmp, path)
    except BaseException:
        if reserved is None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    fsync_dir(directory)


def reserve_beside(path: Path, size: int) -> Path:
    """Allocate ``size`` bytes of disk in a file beside ``path``; raises OSError (ENOSPC) if the
    disk cannot hold them. Pass it to :func:`write_atomic` as ``reserved``, or :func:`unreserve` it.

    Why: a rotating refresh spends the old refresh token the moment the provider answers; the new
    one must then be saved, so the space for saving it is taken before the token is sent.
    """
    path = Path(path)
    target = path.parent / f".{path.name}.{os.urandom(6).hex()}{RESERVE_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
    fd = os.open(target, flags, 0o600)
    try:
        try:
            allocate = getattr(os, "posix_fallocate", None)
            done = False
            if allocate is not None:
                try:
                    allocate(fd, 0, size)
                    done = True
                except OSError as exc:
                    if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # the filesystem cannot: write
                        raise
            if not done:
                block = bytes(min(size, 65536))
                left = size
                while left > 0:
                    left -= os.write(fd, block[: min(left, len(block))])
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise
    return target


def unreserve(reserved: Path | None) -> None:
    if reserved is not None:
        with contextlib.suppress(OSError):
            os.unlink(reserved)


def remove_leftovers(path: Path) -> int:
    """Delete the temp files a writer killed mid-write left beside ``path``; returns how many.

    A leftover holds a stale copy (for the vault: old, still encrypted tokens) that nothing else
    would ever delete. Only call this while holding the lock that serializes writers of ``path``:
    another writer's temp file is not a leftover.
    """
    path = Path(path)
    prefix, removed = f".{path.name}.", 0
    try:
        names = os.listdir(path.parent)
    except OSError:
        return 0

    for name in names:
        if not name.startswith(prefix):
            continue
        leftover = path.parent / name
        if name.endswith(RESERVE_SUFFIX):
            # Another process's reservation is live while its renewal runs: only old ones go.
            with contextlib.suppress(OSError):
                if time.time() - os.lstat(leftover).st_mtime < _STALE_RESERVATION:
                    continue
        elif not name.endswith(".tmp"):
            continue
        with contextlib.suppress(OSError):
            os.unlink(leftover)
            removed += 1
    return removed


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable; a no-op where directories cannot be opened."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (and network mounts) refuse fsync on a directory
    finally:
        os.close(fd)
