"""write_atomic: the new content or the old, never a mix, and never readable by others."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trayauth.storage.atomic import write_atomic


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_content_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    write_atomic(target, b"one")
    assert target.read_bytes() == b"one"
    assert mode_of(target) == 0o600
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temp file left behind


def test_mode_is_exact_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "a", b"x", mode=0o644)
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "a") == 0o644


def test_replacing_a_looser_file_makes_it_0600(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    target.chmod(0o666)
    write_atomic(target, b"new")
    assert mode_of(target) == 0o600


def test_failure_before_the_rename_keeps_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f"
    write_atomic(target, b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_missing_directory_is_an_error_not_a_partial_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "nope" / "f", b"x")


WRITER = """
import sys
from pathlib import Path
from trayauth.storage.atomic import write_atomic
target = Path(sys.argv[1])
a, b = b"A" * 400_000, b"B" * 300_000
print("ready", flush=True)
while True:
    write_atomic(target, a)
    write_atomic(target, b)
"""


def test_a_killed_writer_leaves_old_or_new_content(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_atomic(target, b"A" * 400_000)
    for delay in (0.05, 0.12, 0.2):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)  # a real process, killed at an arbitrary moment: no clock to inject
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        data = target.read_bytes()
        assert data in (b"A" * 400_000, b"B" * 300_000)
        assert mode_of(target) == 0o600
