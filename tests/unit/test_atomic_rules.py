"""Atomic writes refuse planted temp files and make the rename durable.

Another local process that can guess or race the temp file's name must not be able to make
trayauth write a secret through a symlink it planted, or into a file it already holds open.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trayauth.storage import atomic
from trayauth.storage.atomic import write_atomic

FIXED = b"\x01\x02\x03\x04\x05\x06"


@pytest.fixture
def predictable(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the temp file's name known, as an attacker racing the writer would hope it is."""
    monkeypatch.setattr(atomic.os, "urandom", lambda n: FIXED[:n])
    return FIXED.hex()


def test_a_symlink_planted_at_the_temp_name_is_not_followed(tmp_path: Path, predictable: str) -> None:
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("untouched")
    target = tmp_path / "vault.json"
    (tmp_path / f".vault.json.{predictable}.tmp").symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_atomic(target, b"secret material")
    assert victim.read_text() == "untouched"
    assert not target.exists()


def test_a_file_planted_at_the_temp_name_is_not_written_into(tmp_path: Path, predictable: str) -> None:
    planted = tmp_path / f".vault.json.{predictable}.tmp"
    planted.write_bytes(b"planted")
    planted.chmod(0o644)
    target = tmp_path / "vault.json"
    with pytest.raises(FileExistsError):
        write_atomic(target, b"secret material")
    # The planted file (which its owner may hold open) never receives the secret.
    assert planted.read_bytes() == b"planted"
    assert not target.exists()


def test_the_new_content_replaces_the_old_with_exactly_the_mode_asked(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_bytes(b"old")
    old_umask = os.umask(0o077)
    try:
        write_atomic(target, b"new", 0o640)
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_the_directory_is_fsynced_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the directory fsync a power cut can undo the rename: old vault, spent refresh token."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        events.append("rename")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    write_atomic(tmp_path / "vault.json", b"data")
    assert events == ["fsync-file", "rename", "fsync-dir"]


def test_a_failed_write_leaves_the_old_content_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "vault.json"
    target.write_bytes(b"old")

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["vault.json"]


def test_only_this_files_leftovers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    (tmp_path / ".vault.json.aaaa.tmp").write_bytes(b"stale")
    (tmp_path / ".vault.json.bbbb.tmp").write_bytes(b"stale")
    (tmp_path / ".config.toml.cccc.tmp").write_bytes(b"someone else's")
    (tmp_path / ".vault.json.dddd.bak").write_bytes(b"not a temp file")
    assert atomic.remove_leftovers(target) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".config.toml.cccc.tmp", ".vault.json.dddd.bak"]


def test_the_temp_file_is_private_from_the_moment_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created with the final mode, not 0666 narrowed later: no window where others can read it."""
    seen: list[int] = []
    real_fchmod = os.fchmod

    def fchmod(fd: int, mode: int) -> None:
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fchmod(fd, mode)

    monkeypatch.setattr(atomic.os, "fchmod", fchmod)
    old_umask = os.umask(0)
    try:
        write_atomic(tmp_path / "vault.json", b"secret", 0o600)
    finally:
        os.umask(old_umask)
    assert seen == [0o600]


def test_short_writes_are_continued_until_everything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls: list[int] = []

    def short(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real_write(fd, bytes(data[:7]))  # as a pipe, a signal or a full quota may cut a write

    monkeypatch.setattr(atomic.os, "write", short)
    payload = bytes(range(256)) * 4
    write_atomic(tmp_path / "vault.json", payload)
    assert (tmp_path / "vault.json").read_bytes() == payload
    assert len(calls) == -(-len(payload) // 7)


def test_a_crash_before_the_rename_leaves_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash tests kill at this named point; the name is part of the contract with them."""
    from trayauth import faultpoints

    class Killed(BaseException):
        pass

    def die() -> None:
        raise Killed

    monkeypatch.setattr(faultpoints, "_die", die)
    monkeypatch.setenv(faultpoints.ENV, "atomic:before_rename")
    target = tmp_path / "vault.json"
    target.write_bytes(b"old")
    with pytest.raises(Killed):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"


def test_the_original_error_survives_a_failed_cleanup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def vanish_then_fail(fd: int, data: object) -> int:
        for leftover in tmp_path.glob(".vault.json.*.tmp"):
            leftover.unlink()  # the cleanup's unlink will now fail too
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", vanish_then_fail)
    with pytest.raises(OSError, match="No space"):
        write_atomic(tmp_path / "vault.json", b"new")


def test_leftovers_of_a_missing_folder_are_none(tmp_path: Path) -> None:
    assert atomic.remove_leftovers(tmp_path / "gone" / "vault.json") == 0


def test_a_leftover_that_cannot_be_removed_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / ".vault.json.aaaa.tmp").mkdir()  # unlink() refuses a directory
    (tmp_path / ".vault.json.bbbb.tmp").write_bytes(b"stale")
    assert atomic.remove_leftovers(tmp_path / "vault.json") == 1
    assert (tmp_path / ".vault.json.aaaa.tmp").is_dir()
