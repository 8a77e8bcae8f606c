"""Replace a file so a crash leaves either the old content or the new, never a mix.

The config and the vault are rewritten whole on every change; a torn write would lose every
account at once. The temp file is created with its final mode from the start, so a secret is
never readable by others even for the moment before the rename.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from trayauth import faultpoints

# O_CREAT | O_EXCL is what refuses a planted file or symlink (POSIX: it never follows a link), and
# Python opens every descriptor close-on-exec already, so no O_NOFOLLOW or O_CLOEXEC is needed.
_O_BINARY = getattr(os, "O_BINARY", 0)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` through a same-directory temp file and one ``os.replace``.

    The temp file is fsynced before the rename and the directory after it, so once this returns
    the new content survives a power cut. The parent directory must exist.
    """
    path = Path(path)
    directory = path.parent
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
            os.fsync(fd)
        finally:
            os.close(fd)
        faultpoints.reached("atomic:before_rename")  # crash tests: the new content is only in `tmp`
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


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
        if name.startswith(prefix) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(path.parent / name)
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
