"""What users see when things are wrong: one line, a non-zero exit, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import run_cli


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_cli_import_does_not_load_qt_or_httpx() -> None:
    code = "import sys, trayauth.cli; print(sorted(m for m in ('PySide6','httpx','jwt') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_account(isolated: Path) -> None:
    result = run_cli("token", "ghost")
    assert result.code != 0 and len(lines(result.err)) == 1
    assert "ghost" in result.err and "trayauth add" in result.err


def test_unknown_preset_and_setting(isolated: Path) -> None:
    assert "unknown preset" in run_cli("add", "x", "nope").err
    result = run_cli("add", "x", "sentiance", "--set", "colour=blue", "--set", "username=a")
    assert result.code == 2 and "no setting 'colour'" in result.err


def test_secret_on_the_command_line_is_refused(isolated: Path) -> None:
    result = run_cli("add", "x", "sentiance", "--set", "username=a", "--set", "password=hunter2")
    assert result.code == 2 and "never goes on the command line" in result.err
    assert not (isolated / "config.toml").exists() or "hunter2" not in (isolated / "config.toml").read_text()


def test_plain_http_to_a_remote_host_is_refused(isolated: Path) -> None:
    result = run_cli(
        "add", "x", "sentiance", "--set", "username=a", "--set", "base_url=http://api.example.com"
    )
    assert result.code == 2 and "plain http" in result.err


def test_corrupt_config_is_reported_and_left_untouched(isolated: Path) -> None:
    assert run_cli("add", "x", "bearer").code == 0
    config = isolated / "config.toml"
    garbage = b"[accounts.x\npreset = \x00 broken"
    config.write_bytes(garbage)
    for argv in (("list",), ("add", "y", "bearer"), ("token", "x")):
        result = run_cli(*argv)
        assert result.code != 0
        assert len(lines(result.err)) == 1, result.err
        assert "config.toml" in result.err and "Traceback" not in result.err
    assert config.read_bytes() == garbage


def test_duplicate_account(isolated: Path) -> None:
    assert run_cli("add", "x", "bearer").code == 0
    result = run_cli("add", "x", "bearer")
    assert result.code != 0 and "x" in result.err


def test_no_terminal_for_the_secret(isolated: Path) -> None:
    assert run_cli("add", "x", "bearer").code == 0
    result = run_cli("login", "x")
    assert result.code == 2 and "--secret-stdin" in result.err


def test_unreachable_provider_keeps_nothing_and_says_so(isolated: Path) -> None:
    assert (
        run_cli("add", "x", "senseye", "--set", "username=a", "--set", "base_url=http://127.0.0.1:9").code
        == 0
    )
    result = run_cli("login", "x", "--secret-stdin", stdin="pw-123456\n")
    assert result.code == 4 and len(lines(result.err)) == 1
    assert "cannot connect" in result.err and "pw-123456" not in result.err


def test_providers_json_lists_fields(isolated: Path) -> None:
    import json

    data = json.loads(run_cli("providers", "--json").out)
    sentiance = next(p for p in data if p["id"] == "sentiance")
    assert {f["key"] for f in sentiance["fields"]} == {"base_url", "username", "password"}
    assert next(f for f in sentiance["fields"] if f["key"] == "password")["secret"] is True


def test_a_reader_that_goes_away_is_not_an_error(isolated: Path) -> None:
    """`trayauth list | head -1`: the pipe closes under us; no 'internal error', no traceback."""
    for i in range(3):
        assert run_cli("add", f"acct{i}", "bearer").code == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "trayauth", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141
