"""Space reserved before a rotating refresh is sent: the reservation holds exactly the bytes asked
for, the new content is written over it whole, a failure keeps it for the next try, and only a
dead process's reservation counts as a leftover.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

import pytest

from trayauth.storage import atomic
from trayauth.storage.atomic import RESERVE_SUFFIX, remove_leftovers, reserve_beside, unreserve, write_atomic


def test_a_reservation_is_a_private_file_of_exactly_the_size_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    reserved = reserve_beside(target, 70_000)
    assert reserved.parent == tmp_path
    assert reserved.name.startswith(".vault.json.") and reserved.name.endswith(RESERVE_SUFFIX)
    assert reserved.stat().st_size == 70_000
    assert stat.S_IMODE(reserved.stat().st_mode) == 0o600


@pytest.mark.parametrize("unsupported", [errno.EOPNOTSUPP, errno.EINVAL, None])
def test_without_fallocate_the_reservation_is_written_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unsupported: int | None
) -> None:
    if unsupported is None:
        monkeypatch.delattr(os, "posix_fallocate", raising=False)
    else:

        def refuse(fd: int, offset: int, size: int) -> None:
            raise OSError(unsupported, os.strerror(unsupported))

        monkeypatch.setattr(os, "posix_fallocate", refuse)
    reserved = reserve_beside(tmp_path / "vault.json", 150_001)
    assert reserved.read_bytes() == bytes(150_001)


def test_a_full_disk_refuses_the_reservation_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(OSError, match="No space left") as info:
        reserve_beside(tmp_path / "vault.json", 1000)
    assert info.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []


def test_the_new_content_is_written_over_the_reservation_exactly(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    target.write_bytes(b"old")
    reserved = reserve_beside(target, 4096)
    write_atomic(target, b"new content", 0o600, reserved=reserved)
    assert target.read_bytes() == b"new content"
    assert not reserved.exists()
    assert sorted(os.listdir(tmp_path)) == ["vault.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_reservation_already_gone_means_an_ordinary_write(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    write_atomic(target, b"content", 0o640, reserved=tmp_path / ".vault.json.gone.reserve.tmp")
    assert target.read_bytes() == b"content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["vault.json"]


def test_a_failed_write_keeps_the_reservation_for_the_next_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "vault.json"
    target.write_bytes(b"old")
    reserved = reserve_beside(target, 4096)

    def broken(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(OSError, match="I/O error"):
        write_atomic(target, b"new", 0o600, reserved=reserved)
    assert reserved.exists()
    assert target.read_bytes() == b"old"
    monkeypatch.undo()
    write_atomic(target, b"new", 0o600, reserved=reserved)
    assert target.read_bytes() == b"new"


def test_unreserve_removes_it_and_tolerates_nothing_to_remove(tmp_path: Path) -> None:
    reserved = reserve_beside(tmp_path / "vault.json", 10)
    unreserve(reserved)
    assert not reserved.exists()
    unreserve(reserved)
    unreserve(None)


def test_only_a_dead_processes_reservation_is_a_leftover(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    live = reserve_beside(target, 10)
    dead = reserve_beside(target, 10)
    hour_ago = time.time() - 3601
    os.utime(dead, (hour_ago, hour_ago))
    tmp = tmp_path / ".vault.json.abcdef.tmp"
    tmp.write_bytes(b"x")
    other = tmp_path / ".vault.json.keep"
    other.write_bytes(b"x")
    assert remove_leftovers(target) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_an_odd_size_just_over_one_block_is_written_to_the_last_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "posix_fallocate", raising=False)
    assert reserve_beside(tmp_path / "vault.json", 65_537).stat().st_size == 65_537


def test_a_symlink_swapped_in_for_the_reservation_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("untouched")
    reserved = reserve_beside(target, 100)
    reserved.unlink()
    reserved.symlink_to(victim)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        write_atomic(target, b"secret tokens", 0o600, reserved=reserved)
    assert victim.read_text() == "untouched"
    assert not target.exists()


def test_a_file_planted_at_the_reservation_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic.os, "urandom", lambda n: bytes(range(n)))
    target = tmp_path / "vault.json"
    planted = tmp_path / f".vault.json.{bytes(range(6)).hex()}{RESERVE_SUFFIX}"
    planted.write_text("someone else's")
    with pytest.raises(FileExistsError):
        reserve_beside(target, 100)
    assert planted.read_text() == "someone else's"


def test_leftovers_are_found_among_many_other_files(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    for i in range(40):
        (tmp_path / f"other-{i}.txt").write_text("x")
    live = [reserve_beside(target, 1) for _ in range(20)]
    leftover = tmp_path / ".vault.json.0123456789ab.tmp"
    leftover.write_bytes(b"stale")
    assert remove_leftovers(target) == 1
    assert not leftover.exists()
    assert all(r.exists() for r in live)
