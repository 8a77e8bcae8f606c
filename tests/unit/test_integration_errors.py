"""The integrations say what was wrong with an argument and what would work as data (BadArgument:
the command whose usage applies, the values accepted); only the CLI words it, the tray its way."""

from __future__ import annotations

import io

import pytest

from trayauth.cli.wording import line
from trayauth.domain.errors import BadArgument, UsageError
from trayauth.domain.steps import NextStep, StepKind
from trayauth.integrations import exec as integration
from trayauth.integrations import git_credential as git
from trayauth.ui.state import wording as tray


def test_an_unknown_shell_names_the_shells_as_data() -> None:
    with pytest.raises(BadArgument) as info:
        integration.export_lines({"T": "v"}, "zsh")
    exc = info.value
    assert isinstance(exc, UsageError) and exc.exit_code == 2
    assert exc.message == "unknown shell 'zsh'" and exc.choices == ("sh", "fish", "powershell")
    assert exc.next_step == NextStep(StepKind.CHOOSE_ONE, keys=("sh", "fish", "powershell"))
    assert line(exc) == "unknown shell 'zsh'; one of sh, fish, powershell"
    assert tray.text(exc) == "unknown shell 'zsh'. Use one of: sh, fish, powershell."


def test_no_command_points_at_the_usage_the_cli_words() -> None:
    with pytest.raises(BadArgument) as info:
        integration.run([], {})
    exc = info.value
    assert exc.message == "no command given" and exc.usage == "exec"
    assert line(exc) == "no command given; usage: trayauth exec NAME -- COMMAND [ARG]..."
    assert "trayauth" not in tray.text(exc)


def test_git_actions_and_a_bad_variable() -> None:
    with pytest.raises(BadArgument) as info:
        git.helper("fetch", {}, "oauth2", lambda _r: ("t", None), lambda t: t)
    assert line(info.value) == "unknown git credential action 'fetch'; one of get, store, erase"
    with pytest.raises(BadArgument) as bad_var:
        integration.check_var("1X")
    assert bad_var.value.next_step is None and line(bad_var.value) == (
        "--env '1X' is not a variable name (letters, digits and '_')"
    )
    assert git.parse(io.StringIO("protocol=https\n\n")) == {"protocol": "https"}
