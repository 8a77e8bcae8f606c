"""Where files go, and the private directories for the socket and the locks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trayauth.storage.paths import Paths, config_dir, ensure_private_dir, runtime_dir, runtime_path


def test_config_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAYAUTH_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAYAUTH_CONFIG_DIR", "rel")
    assert config_dir() == tmp_path / "rel"  # absolute, whatever the cwd does later


def test_config_dir_defaults_to_the_platform_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAYAUTH_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert config_dir() == tmp_path / "xdg" / "trayauth"
    else:
        assert config_dir().name == "trayauth"


def test_runtime_dir_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg-run"))
    monkeypatch.delenv("TRAYAUTH_CONFIG_DIR", raising=False)
    assert runtime_path() == tmp_path / "xdg-run" / "trayauth"
    # An explicit config dir is a separate installation: its socket stays inside it.
    monkeypatch.setenv("TRAYAUTH_CONFIG_DIR", str(tmp_path / "cfg"))
    assert runtime_path() == tmp_path / "cfg" / "run"
    assert not runtime_path().exists()  # looking creates nothing
    made = runtime_dir()
    assert made == tmp_path / "cfg" / "run"
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert runtime_path() == tmp_path / "cfg" / "run"


def test_paths_hang_off_one_root(tmp_path: Path) -> None:
    paths = Paths.from_root(tmp_path)
    assert paths.config_file == tmp_path / "config.toml"
    assert paths.vault_file == tmp_path / "vault.json"
    assert paths.key_file == tmp_path / "vault.key"
    assert paths.locks_dir == tmp_path / "locks"
    assert paths.runtime_dir == tmp_path / "run"
    assert not any(tmp_path.iterdir())  # building Paths creates nothing
    assert stat.S_IMODE(paths.ensure_runtime_dir().stat().st_mode) == 0o700


def test_default_paths_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAYAUTH_CONFIG_DIR", str(tmp_path))
    assert Paths.default() == Paths.from_root(tmp_path)


def test_ensure_private_dir_creates_and_tightens(tmp_path: Path) -> None:
    fresh = ensure_private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    ensure_private_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700


def test_ensure_private_dir_refuses_symlinks_and_files(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(PermissionError, match="not a directory"):
        ensure_private_dir(tmp_path / "link")
    (tmp_path / "file").write_text("x")
    with pytest.raises(PermissionError, match="not a directory"):
        ensure_private_dir(tmp_path / "file")


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")
def test_ensure_private_dir_refuses_another_users_dir(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(PermissionError, match="another user"):
        ensure_private_dir(theirs)


def test_resolving_paths_is_light(tmp_path: Path) -> None:
    """With TRAYAUTH_CONFIG_DIR set, the CLI's hot path must not pay for platformdirs."""
    code = (
        "import sys; from trayauth.storage.paths import Paths, runtime_path; "
        "Paths.default(); runtime_path(); "
        "print(sorted(m for m in ('platformdirs', 'keyring') if m in sys.modules))"
    )
    env = {**os.environ, "TRAYAUTH_CONFIG_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
