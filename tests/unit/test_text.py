"""One rule each for durations and the header line (trayauth.domain.text), and every place that
writes one uses it: the CLI, the tray's rows and notifications, quick access, the no-tray window,
the sign-in wait, and the integrations' Authorization header."""

from __future__ import annotations

import pytest

from trayauth.cli.fast import format_output
from trayauth.domain.text import (
    DEFAULT_HEADER_FORMAT,
    authorization,
    custom_header,
    header_line,
    remaining,
    span,
    time_left,
)
from trayauth.integrations.cache import TokenCache
from trayauth.integrations.exec import HEADER_VAR, variables
from trayauth.integrations.source import Grant
from trayauth.storage.config import AppSettings


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0:00"),
        (59.9, "0:59"),
        (724, "12:04"),
        (3599, "59:59"),
        (3600, "1h00m"),
        (3 * 3600 + 180, "3h03m"),
        (2 * 86400 - 1, "47h59m"),
        (5 * 86400, "5d"),
        (-5, "0:00"),
    ],
)
def test_a_countdown_is_one_word(seconds: float, words: str) -> None:
    assert remaining(seconds) == words
    assert " " not in words  # one column in `trayauth list`, one word in a tray row


def test_time_left_says_expired_and_no_expiry() -> None:
    assert time_left(None) == "no expiry"
    assert time_left(0) == "expired"
    assert time_left(-1) == "expired"
    assert time_left(61) == "1:01"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        # the loopback wait's former cases (it said "2 minutes", "60 minutes")
        (0.4, "0 s"),
        (119, "119 s"),
        (119.6, "2 min"),
        (120, "2 min"),
        (3600, "60 min"),
        # a warning a moment after its 5-minute threshold says what the setting says
        (299.5, "5 min"),
        (299.0, "5 min"),
        (720, "12 min"),
        (2 * 3600, "2 h"),
        (5 * 3600 + 1900, "6 h"),
        (3 * 86400, "3 days"),
        (-3, "0 s"),
    ],
)
def test_a_span_in_a_sentence_is_rounded_to_its_unit(seconds: float, words: str) -> None:
    assert span(seconds) == words


@pytest.mark.parametrize(
    ("token_type", "line"),
    [
        ("Bearer", "Authorization: Bearer t0k"),
        ("bearer", "Authorization: Bearer t0k"),  # RFC 6749 §5.1: the type is case-insensitive
        ("", "Authorization: Bearer t0k"),
        ("DPoP", "Authorization: DPoP t0k"),
    ],
)
def test_every_writer_of_the_header_line_writes_the_same_line(token_type: str, line: str) -> None:
    assert header_line("t0k", token_type) == line
    assert f"Authorization: {authorization('t0k', token_type)}" == line
    assert format_output("header", "t0k", token_type) == line  # `trayauth header`, tray or vault
    assert variables("t0k", token_type=token_type)[HEADER_VAR] == line  # exec / env
    grant = Grant("t0k", token_type, None, None)
    assert f"Authorization: {TokenCache.header(grant)}" == line  # proxy, httpx and requests auth
    # The tray's "Copy header" under the default setting is the same line.
    assert AppSettings().header_format == DEFAULT_HEADER_FORMAT
    assert custom_header(AppSettings().header_format, "t0k", token_type) == line


def test_a_header_format_of_ones_own_is_kept_to_the_letter() -> None:
    assert custom_header("Bearer {token}", "t0k") == "Bearer t0k"
    assert custom_header("X-Api-Key: {token}", "t0k", "DPoP") == "X-Api-Key: t0k"
    assert custom_header("broken {", "t0k") == "Authorization: Bearer t0k"  # falls back, never raises


def test_the_bare_token_is_the_token() -> None:
    assert format_output("token", "t0k", "DPoP") == "t0k"
