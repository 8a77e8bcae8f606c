"""Where an installation keeps its files, decided in one place.

Everything hangs off one root so tests (and ``TRAYAUTH_CONFIG_DIR``) move all of it at once. Which
root, and where the tray's socket lives, is decided by :mod:`trayauth.client` (the CLI's standard
library fast path needs the same answer without pathlib); this module wraps them in ``Path``s.
platformdirs is imported only when no root is given.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import NamedTuple

from trayauth import client
from trayauth.domain.errors import UnsafeLocation
from trayauth.domain.steps import NextStep, StepKind


def config_dir() -> Path:
    """``TRAYAUTH_CONFIG_DIR`` when set, else the platform's per-user config directory."""
    return Path(client.config_dir())


def runtime_path() -> Path:
    """Where the tray's socket lives, without creating anything (the rule: :mod:`trayauth.client`)."""
    return Path(client.runtime_dir())


def runtime_dir() -> Path:
    """The socket directory, created 0700 (and checked to be ours) on demand."""
    return ensure_private_dir(runtime_path())


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700, or make an existing one 0700 if we own it.

    A directory another user owns, or a symlink, is refused with :class:`UnsafeLocation` (a
    PermissionError that reads as one line): a socket or lock in a place someone else controls
    could be swapped under us.
    """

    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeLocation(
            f"{path} exists and is not a directory",
            next_step=NextStep.of(StepKind.MOVE_ASIDE, path=str(path)),
        )
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        if st.st_uid != getuid():
            raise UnsafeLocation(
                f"{path} belongs to another user (uid {st.st_uid}); refusing to use it",
                next_step=NextStep.of(StepKind.MOVE_ASIDE, path=str(path)),
            )
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(path, 0o700)
    return path


def ensure_root(root: Path) -> Path:
    """Create the config directory (0700 when new) before the first write into it.

    An existing directory keeps its mode: it may be one the user chose for other things too; the
    files we put in it are 0600 on their own.
    """
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


class Paths(NamedTuple):
    """The files of one installation; build it with :meth:`default` or :meth:`from_root`.

    A NamedTuple rather than a dataclass: ``trayauth header`` imports this module before every
    curl, and ``dataclasses`` (with ``inspect``) costs more than the rest of that path together.
    """

    root: Path
    config_file: Path
    vault_file: Path
    key_file: Path
    locks_dir: Path
    runtime_dir: Path
    presets_dir: Path

    @classmethod
    def from_root(cls, root: Path, *, runtime_dir: Path | None = None) -> Paths:
        root = Path(root)
        return cls(
            root=root,
            config_file=root / "config.toml",
            vault_file=root / "vault.json",
            key_file=root / "vault.key",
            locks_dir=root / "locks",
            runtime_dir=runtime_dir if runtime_dir is not None else root / "run",
            presets_dir=root / "presets",
        )

    @classmethod
    def default(cls) -> Paths:
        """The user's installation, as the environment selects it. Creates nothing."""
        return cls.from_root(config_dir(), runtime_dir=runtime_path())

    def ensure_runtime_dir(self) -> Path:
        """The socket directory, created 0700 now: call before binding a socket in it."""
        return ensure_private_dir(self.runtime_dir)

    def ensure_locks_dir(self) -> Path:
        return ensure_private_dir(self.locks_dir)
