"""What the icon, rows and tooltip say, as pure functions of snapshots and a clock."""

from __future__ import annotations

import pytest

from tests.support.views import LEAD, NOW, view
from trayauth.domain.model import State
from trayauth.domain.text import custom_header, remaining
from trayauth.ui.state.present import (
    IconState,
    countdown,
    icon_state,
    left_phrase,
    next_change,
    row_label,
    tooltip,
)


def test_icon_state_covers_each_look() -> None:
    assert icon_state([], NOW, LEAD) is IconState.IDLE
    assert icon_state([view(state=State.LOGGED_OUT, expires_at=None)], NOW, LEAD) is IconState.IDLE
    assert icon_state([view()], NOW, LEAD) is IconState.OK
    pasted = view("ci", renewable=False, expires_at=NOW + 120, state=State.EXPIRING)
    assert icon_state([view(), pasted], NOW, LEAD) is IconState.EXPIRING
    failed = view("old", state=State.ERROR, error="503")
    assert icon_state([view(), pasted, failed], NOW, LEAD) is IconState.FAILING
    expired = view("gone", renewable=False, expires_at=NOW - 1, state=State.EXPIRED)
    assert icon_state([expired], NOW, LEAD) is IconState.FAILING
    assert icon_state([view()], NOW, LEAD, busy={"work"}) is IconState.WORKING


def test_a_renewable_token_near_expiry_is_no_cause_for_alarm() -> None:
    soon = view(expires_at=NOW + 100, state=State.EXPIRING, renewable=True)
    assert icon_state([soon], NOW, LEAD) is IconState.OK


def test_countdown_reads_like_a_clock() -> None:
    assert countdown(view(expires_at=NOW + 724), NOW) == "expires in 12:04"
    assert countdown(view(expires_at=NOW + 3 * 3600 + 180), NOW) == "expires in 3h03m"
    assert countdown(view(expires_at=None), NOW) == "no expiry"
    assert countdown(view(expires_at=NOW - 5), NOW) == "expired"
    assert countdown(view(state=State.LOGGED_OUT, expires_at=None), NOW) == "not logged in"
    assert remaining(5 * 86400) == "5d"
    assert left_phrase(NOW + 720, NOW) == "12 min left"
    assert left_phrase(None, NOW) == "no expiry"


def test_row_label_names_provider_default_and_time() -> None:
    label = row_label(view(is_default=True, expires_at=NOW + 61), NOW)
    assert label == "work (default) — Sentiance (control user) — expires in 1:01"


def test_tooltip_lists_every_account_with_absolute_times() -> None:
    text = tooltip([view(), view("ci", renewable=False, expires_at=NOW + 60)], NOW, LEAD)
    lines = text.splitlines()
    assert lines[0] == "trayauth — a token expires soon"
    assert lines[1].startswith("work (Sentiance (control user)): valid, until ")
    assert lines[2].startswith("ci (Sentiance (control user)): expiring, cannot renew itself, until ")
    many = tooltip([view(f"a{i}") for i in range(20)], NOW, LEAD)
    assert many.splitlines()[-1] == "… and 8 more"


def test_next_change_is_the_next_threshold_and_none_without_expiry() -> None:
    pasted = view("ci", renewable=False, expires_at=NOW + 1000)
    assert next_change([pasted], NOW, LEAD) == NOW + 700  # enters the warning window
    assert next_change([pasted], NOW + 800, LEAD) == NOW + 1000  # then expires
    assert next_change([view()], NOW, LEAD) == NOW + 3600  # renewable: only its expiry
    assert next_change([view(expires_at=None)], NOW, LEAD) is None
    assert next_change([view(state=State.LOGGED_OUT)], NOW, LEAD) is None


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("Authorization: Bearer {token}", "Authorization: Bearer abc"), ("Bearer {token}", "Bearer abc")],
)
def test_header_format(fmt: str, expected: str) -> None:
    assert custom_header(fmt, "abc") == expected
