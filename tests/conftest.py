"""Shared fixtures: an isolated config dir with a real (file) keyring, the provider server, a tray.

Every test gets its own TRAYAUTH_CONFIG_DIR and keyring file, so nothing touches the developer's
real accounts or keyring. The fixtures live in tests/support/ (with the fake clock and the CLI
runners); this file registers them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.provider import fresh_provider, provider
from tests.support.tray import TrayProcess, tray_process

__all__ = ["fresh_provider", "provider"]  # fixtures, registered by being imported here

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FILE_KEYRING = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh config dir and a real file-backed keyring, both under tmp_path."""
    config = tmp_path / "config"
    monkeypatch.setenv("TRAYAUTH_CONFIG_DIR", str(config))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("TRAYAUTH_KEY_STORAGE", raising=False)
    (tmp_path / "run").mkdir(mode=0o700)
    return config


@pytest.fixture
def tray(isolated: Path) -> Iterator[TrayProcess]:
    """A real tray process (offscreen) on the isolated config, answering on its socket."""
    yield from tray_process()
