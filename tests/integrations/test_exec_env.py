"""``trayauth exec`` and ``trayauth env`` as real processes, with and without a running tray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.integrations.support import TRAYAUTH, Agent, cli, stored_token
from tests.support.cli import expire_now

# The child prints its argv and the two variables; the test then checks argv holds no token.
SHOW = (
    "import os, sys, json; "
    "print(json.dumps([sys.argv, os.environ.get('{var}'), os.environ.get('TRAYAUTH_HEADER')]))"
)


def show(var: str = "TRAYAUTH_TOKEN") -> list[str]:
    return [sys.executable, "-c", SHOW.format(var=var)]


def parse(out: str) -> Any:
    import json

    return json.loads(out)


@pytest.mark.parametrize("tray", [False, True], ids=["no-tray", "tray"])
def test_exec_puts_the_token_in_the_environment_not_argv(
    api: str, request: pytest.FixtureRequest, tray: bool
) -> None:
    if tray:
        running: Agent = request.getfixturevalue("agent")
        before = running.server.requests
    result = cli("exec", api, "--", *show())
    assert result.returncode == 0, result.stderr
    argv, token, header = parse(result.stdout)
    assert token == stored_token(api)
    assert header == f"Authorization: Bearer {token}"
    assert all(token not in arg for arg in argv)
    if tray:
        assert running.server.requests == before + 1  # the tray answered, not the vault


def test_exec_env_option_names_the_variable(api: str) -> None:
    result = cli("exec", api, "--env", "API_TOKEN", "--", *show("API_TOKEN"))
    assert result.returncode == 0, result.stderr
    assert parse(result.stdout)[1] == stored_token(api)
    bad = cli("exec", api, "--env", "NOT-A-VAR", "--", "true")
    assert bad.returncode == 2 and "not a variable name" in bad.stderr and "Traceback" not in bad.stderr


def program_of(pid: int) -> bytes:
    """argv[0] of ``pid``. While sh execs into sleep the kernel shows an empty command line for a
    moment: read again until the new one is there (a generous limit, not a timing)."""
    deadline = time.monotonic() + 30
    while True:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            first = f.read().split(b"\0")[0]
        if first or time.monotonic() > deadline:
            return first
        time.sleep(0.001)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_exec_passes_exit_status_and_signals_through(api: str, agent: Agent) -> None:
    assert cli("exec", api, "--", "sh", "-c", "exit 7").returncode == 7
    # The command *is* the process trayauth started (exec, not a child): a signal sent to that
    # pid reaches the command, and its death by signal is what the caller sees.
    proc = subprocess.Popen(
        [TRAYAUTH, "exec", api, "--", "sh", "-c", "echo ready; exec sleep 60"],
        stdout=subprocess.PIPE,
        text=True,
        # SIGINT as a terminal gives it: a suite started as a background job (`cmd &` in a script)
        # has it ignored, and an ignored signal stays ignored across exec.
        preexec_fn=_default_sigint,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert program_of(proc.pid) in (b"sh", b"sleep")  # not python: trayauth is gone
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == -signal.SIGINT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]


def test_exec_errors_are_one_line(api: str) -> None:
    missing = cli("exec", api, "--", "no-such-command-here")
    assert (
        missing.returncode == 127
        and missing.stderr.strip() == "trayauth: no-such-command-here: command not found"
    )
    unknown = cli("exec", "nobody", "--", "true")
    assert unknown.returncode != 0 and "no account named 'nobody'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    no_cmd = cli("exec", api)
    assert no_cmd.returncode == 2 and "no command given" in no_cmd.stderr


def test_exec_renews_a_due_token_first(api: str, agent: Agent) -> None:
    old = expire_now(api)
    result = cli("exec", api, "--", *show())
    assert result.returncode == 0, result.stderr
    new = parse(result.stdout)[1]
    assert new != old and new == stored_token(api)


@pytest.mark.parametrize("tray", [False, True], ids=["no-tray", "tray"])
def test_env_line_evaluates_in_sh(api: str, request: pytest.FixtureRequest, tray: bool) -> None:
    if tray:
        request.getfixturevalue("agent")
    script = f'eval "$({TRAYAUTH} env {api})" && printf "%s\\n%s\\n" "$TRAYAUTH_TOKEN" "$TRAYAUTH_HEADER"'
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    token = stored_token(api)
    assert result.stdout.splitlines() == [token, f"Authorization: Bearer {token}"]


def test_env_quotes_for_every_shell() -> None:
    from trayauth.integrations.exec import export_lines

    nasty = "a'b\"c$d`e\\f"
    line = export_lines({"V": nasty}, "sh")
    assert (
        subprocess.run(["sh", "-c", line + 'printf %s "$V"'], capture_output=True, text=True).stdout == nasty
    )
    assert export_lines({"V": nasty}, "fish") == "set -gx V 'a\\'b\"c$d`e\\\\f'\n"
    assert export_lines({"V": nasty}, "powershell") == "$env:V = 'a''b\"c$d`e\\f'\n"


def test_env_rejects_an_unknown_shell(api: str) -> None:
    result = cli("env", api, "--shell", "csh")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_env_for_fish_and_powershell(api: str) -> None:
    token = stored_token(api)
    fish = cli("env", api, "--shell", "fish", "--env", "API_TOKEN")
    assert fish.stdout.splitlines() == [
        f"set -gx API_TOKEN '{token}'",
        f"set -gx TRAYAUTH_HEADER 'Authorization: Bearer {token}'",
    ]
    ps = cli("env", api, "--shell", "powershell")
    assert ps.stdout.splitlines()[0] == f"$env:TRAYAUTH_TOKEN = '{token}'"
