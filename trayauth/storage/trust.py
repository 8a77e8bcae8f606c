"""Which of our files and folders we may trust, and OS errors told in words.

A config folder, a preset file or a key file that another local user owns, or may write, is
one they control: a planted preset can send the victim's password to the planter's listener,
a readable key file opens the vault. So such places are refused (one line saying why and what
to run), never used. The same goes for a lock file that is a symbolic link.

OS errors met while saving (a full disk, a read-only folder) become :class:`StorageError` with
the cause in words, so the CLI prints a sentence and the tray shows one on the account instead
of "internal error (OSError)".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from trayauth.domain.errors import StorageError, UnsafeLocation
from trayauth.domain.steps import NextStep, StepKind

# Group or others may write: they could swap what we read.
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
# Group or others may read, write or run: for the vault key, reading alone is enough to harm.
_ANY_ACCESS_BY_OTHERS = 0o077


def _owner_problem(st: os.stat_result) -> str | None:
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: ACLs, not modes; the profile folder is the user's own
        return None
    if st.st_uid != getuid():
        return f"belongs to another user (uid {st.st_uid})"
    return None


def check_private(path: Path, what: str, *, secret: bool = False) -> None:
    """Refuse ``path`` when another user owns it or may write it (``secret``: may access it at all).

    An absent path passes: we create it ourselves, private. Symbolic links are followed (a
    config folder may well be one); it is the target that must be ours.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise storage_error(exc, f"cannot check {what} {path}") from None
    problem = _owner_problem(st)
    if problem is not None:
        raise UnsafeLocation(
            f"{what} {path} {problem}; refusing to use it",
            next_step=NextStep.of(StepKind.OWN_FOLDER, path=str(path)),
        )
    if getattr(os, "getuid", None) is None:
        return
    mode = stat.S_IMODE(st.st_mode)
    if secret and mode & _ANY_ACCESS_BY_OTHERS:
        raise UnsafeLocation(
            f"{what} {path} can be read by other users (mode {mode:04o}); refusing to use it",
            next_step=NextStep.of(StepKind.MAKE_PRIVATE, path=str(path)),
        )
    if mode & _WRITABLE_BY_OTHERS:
        fix = "go-w" if stat.S_ISDIR(st.st_mode) else "600"
        raise UnsafeLocation(
            f"{what} {path} can be changed by other users (mode {mode:04o}); refusing to use it",
            next_step=NextStep.of(StepKind.FIX_MODE, path=str(path), keys=(fix,)),
        )


def storage_error(exc: OSError, action: str) -> StorageError:
    """``action`` ("cannot save vault.json") plus the cause in words, and what to do."""
    code = exc.errno
    where = exc.filename if isinstance(exc.filename, str) else None
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return StorageError(f"{action}: disk full", next_step=NextStep.of(StepKind.FREE_DISK))
    if code == errno.EROFS:
        return StorageError(
            f"{action}: the config folder is read-only", next_step=NextStep.of(StepKind.MAKE_WRITABLE)
        )
    if code in (errno.EACCES, errno.EPERM):
        target = f" ({where})" if where else ""
        return StorageError(
            f"{action}: the config folder is read-only for trayauth: permission denied{target}",
            next_step=NextStep.of(StepKind.FIX_OWNERSHIP),
        )
    if code == errno.ELOOP:
        return StorageError(
            f"{action}: {where or 'a lock file'} is a symbolic link; trayauth does not follow links there",
            next_step=NextStep.of(StepKind.REMOVE_LINK, path=where),
        )
    if code in (errno.ENOSYS, errno.ENOLCK, getattr(errno, "EOPNOTSUPP", -1)):
        # flock where the file system has none (some network and FUSE file systems)
        return StorageError(
            f"{action}: the config folder's file system cannot lock files; keep it on a local disk",
            next_step=NextStep.of(StepKind.CHECK_DISK),
        )
    if code in (errno.EMFILE, errno.ENFILE):
        return StorageError(f"{action}: too many open files", next_step=NextStep.of(StepKind.RETRY))
    reason = exc.strerror or exc.__class__.__name__
    return StorageError(f"{action}: {reason}", next_step=NextStep.of(StepKind.CHECK_DISK))
