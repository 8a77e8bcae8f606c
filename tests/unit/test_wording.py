"""Errors carry a next step as data; the CLI words it as a command, the tray as a sentence."""

from __future__ import annotations

import pytest

from trayauth.cli import wording as cli
from trayauth.domain import errors
from trayauth.domain.errors import LoginRequired, RateLimited, TrayauthError
from trayauth.domain.steps import NextStep, StepKind
from trayauth.ui.state import wording as tray


@pytest.mark.parametrize("kind", list(StepKind))
def test_every_step_has_both_wordings_and_only_the_cli_names_commands(kind: StepKind) -> None:
    step = NextStep(kind, account="work", preset="sentiance", keys=("base_url",), path="/x/config.toml")
    assert cli.command(step)
    sentence = tray.sentence(step)
    assert sentence and "'trayauth" not in sentence and "--set" not in sentence, sentence
    assert NextStep.from_dict(step.to_dict()) == step


def test_class_defaults_name_real_step_kinds() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, TrayauthError)]
    for cls in classes:
        if cls.default_step is not None:
            assert cls("x").next_step == NextStep(StepKind(cls.default_step)), cls


def test_the_cli_line_is_message_then_command() -> None:
    exc = LoginRequired("work is not logged in", next_step=NextStep.log_in("work"))
    assert cli.line(exc) == "work is not logged in; run 'trayauth login work'"
    assert tray.text(exc) == "work is not logged in. Log in again."
    assert cli.line(RateLimited("busy")) == "busy; the provider is rate limiting; wait a minute and retry"


def test_unknown_or_malformed_stored_steps_are_dropped() -> None:
    assert NextStep.from_dict({"kind": "from_a_newer_version"}) is None
    assert NextStep.from_dict("log_in") is None
    assert NextStep.from_dict({"kind": "log_in", "keys": "abc", "until": True}) == NextStep(StepKind.LOG_IN)
