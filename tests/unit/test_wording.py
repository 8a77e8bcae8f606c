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
    assert "_" not in sentence, sentence  # a setting's key is for the CLI; the tray says it in words
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


def test_the_tray_names_settings_in_words_not_config_keys() -> None:
    assert tray.plain("base_url") == "base URL"
    assert tray.plain("client_id") == "client ID"
    assert tray.plain("authorize_url") == "authorization endpoint"
    assert tray.plain("device_authorization_url") == "device authorization endpoint"
    assert tray.plain("issuer") == "issuer"
    step = NextStep.log_in("work", check=("client_id", "client_secret"))
    assert tray.sentence(step) == "Check work's client ID and client secret, then log in again."
    command = "check the account's client_id and client_secret, then run 'trayauth login work'"
    assert cli.command(step) == command  # the CLI keeps the keys: they are what --set takes
    # The server's address, whatever the preset calls it (base URL, issuer URL, GitLab URL).
    assert "base URL" not in tray.sentence(NextStep.of(StepKind.CHECK_PROVIDER))
