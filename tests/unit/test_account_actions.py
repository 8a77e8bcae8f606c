"""The actions an account offers, in one Qt-free list (trayauth.ui.state.account_actions) that the
tray menu, the no-tray window and quick access are built from; and how each presenter words a
pasted token (described as pasted, "Paste a new token…", never "log in again" or "Refresh")."""

from __future__ import annotations

import subprocess
import sys

from tests.support.views import LEAD, NOW, view
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.domain.model import State
from trayauth.domain.steps import NextStep
from trayauth.services.broker import AccountView
from trayauth.ui.state.account_actions import (
    LABELS,
    ORDER,
    ActionKey,
    account_actions,
    by_key,
    menu_actions,
)
from trayauth.ui.state.activity import ActivityLog
from trayauth.ui.state.notifier import Note, Notifier
from trayauth.ui.state.present import described, state_line, status_word, tooltip
from trayauth.ui.state.quick import row


def pasted(**kw: object) -> AccountView:
    fields: dict[str, object] = {"preset_id": "bearer", "provider": "Any bearer token", "renewable": False}
    return view("ci", pasted=True, **{**fields, **kw})


def labels(v: AccountView, now: float = NOW) -> list[str]:
    return [a.label for a in menu_actions(v, now)]


def test_a_logged_in_account_offers_everything_in_the_menus_order() -> None:
    actions = account_actions(view(is_default=True), NOW)
    assert [a.key for a in actions] == list(ORDER)
    assert [a.label for a in actions] == [
        "Copy header",
        "Copy token",
        "Refresh now",
        "Inspect…",
        "Log in again…",
        "Default account",
        "Log out",
        "Remove…",
    ]
    assert all(a.enabled and not a.reason for a in actions)
    assert [a.group for a in actions] == [0, 0, 1, 1, 1, 1, 2, 2]
    assert [a.key for a in actions if a.checked is not None] == [ActionKey.DEFAULT]
    assert by_key(view(is_default=True), NOW)[ActionKey.DEFAULT].checked is True
    assert by_key(view(), NOW)[ActionKey.DEFAULT].checked is False


def test_a_logged_out_account_puts_log_in_first_and_says_why_the_rest_wait() -> None:
    out = view(state=State.LOGGED_OUT, expires_at=None, expires_in=None, renewable=False)
    actions = menu_actions(out, NOW)
    assert [a.label for a in actions] == [
        "Log in…",
        "Copy header",
        "Copy token",
        "Inspect…",
        "Default account",
        "Log out",
        "Remove…",
    ]
    enabled = {a.label for a in actions if a.enabled}
    assert enabled == {"Log in…", "Default account", "Remove…"}
    assert {a.reason for a in actions if not a.enabled} == {"Not logged in"}


def test_a_pasted_token_offers_paste_never_log_in_or_refresh() -> None:
    offers = labels(pasted())
    assert "Paste a new token…" in offers
    assert not any("Log in" in label for label in offers)
    assert "Refresh now" not in offers  # it can never work: not even disabled in a menu
    # A window with a fixed button per action shows Refresh disabled, saying why.
    refresh = by_key(pasted(), NOW)[ActionKey.REFRESH]
    assert not refresh.enabled and not refresh.possible and refresh.reason == "A pasted token cannot renew"
    # Never pasted yet: "Paste a token…" first.
    never = pasted(state=State.LOGGED_OUT, expires_at=None, expires_in=None)
    assert labels(never)[0] == "Paste a token…"
    assert by_key(never, NOW)[ActionKey.COPY_HEADER].reason == "No token pasted yet"


def test_an_expired_token_nothing_renews_offers_no_copy_that_cannot_work() -> None:
    gone = pasted(expires_at=NOW - 60, expires_in=0, state=State.EXPIRED)
    offers = {a.key: a for a in menu_actions(gone, NOW)}
    assert not offers[ActionKey.COPY_HEADER].enabled
    assert offers[ActionKey.COPY_HEADER].reason == "The pasted token expired"
    assert offers[ActionKey.LOGIN].enabled and offers[ActionKey.LOGIN].label == "Paste a new token…"
    assert offers[ActionKey.INSPECT].enabled  # its claims are still worth reading
    # The same token a minute earlier could be copied.
    assert by_key(gone, NOW - 120)[ActionKey.COPY_HEADER].enabled
    # A token that renews itself is copied after a renewal, expired or not.
    assert by_key(view(expires_at=NOW - 60, state=State.EXPIRED), NOW)[ActionKey.COPY_HEADER].enabled
    # A session with nothing to renew with: no Refresh in the menu, "Log in again…" stays.
    stuck = view(renewable=False, expires_at=NOW - 60, state=State.EXPIRED)
    assert "Refresh now" not in labels(stuck) and "Log in again…" in labels(stuck)
    assert by_key(stuck, NOW)[ActionKey.REFRESH].reason == "This session cannot renew itself"


def test_quick_access_rows_carry_the_same_actions() -> None:
    for v in (view(), pasted(), pasted(expires_at=NOW - 1), view(state=State.LOGGED_OUT, expires_at=None)):
        assert row(v, NOW, LEAD, set(), None).actions == by_key(v, NOW)
    assert by_key(None, NOW) == {}
    assert set(LABELS) == set(ActionKey)


def test_every_presenter_says_a_pasted_token_is_pasted_and_never_log_in() -> None:
    at = NOW + 3600
    fresh = pasted(expires_at=at)
    assert state_line(fresh, NOW, LEAD).startswith("Pasted token, expires ")
    assert described(fresh, NOW, LEAD) == "pasted token, valid"
    assert "ci (Any bearer token): pasted token, valid, until " in tooltip([fresh], NOW, LEAD)
    soon = pasted(expires_at=NOW + 100)
    assert state_line(soon, NOW, LEAD).endswith(" (soon)")
    assert described(soon, NOW, LEAD) == "pasted token, expires soon"
    gone = pasted(expires_at=NOW - 60, state=State.EXPIRED)
    line = state_line(gone, NOW, LEAD)
    assert line.startswith("Pasted token, expired at ") and "until" not in line
    assert described(gone, NOW, LEAD) == "pasted token, expired"
    assert state_line(pasted(expires_at=None), NOW, LEAD) == "Pasted token, no expiry"
    never = pasted(state=State.LOGGED_OUT, expires_at=None)
    assert state_line(never, NOW, LEAD) == "No token pasted yet"
    assert status_word(never, NOW, LEAD) == "no token pasted"
    everything = " ".join(
        [state_line(v, NOW, LEAD) + described(v, NOW, LEAD) for v in (fresh, soon, gone, never)]
        + [tooltip([fresh, soon, gone, never], NOW, LEAD)]
        + [a.label for v in (fresh, soon, gone, never) for a in account_actions(v, NOW)]
    ).lower()
    assert "log in" not in everything and "logged in" not in everything
    # A token that is not pasted keeps its words.
    assert state_line(view(expires_at=NOW - 60, state=State.EXPIRED), NOW, LEAD).startswith("expired at ")
    assert state_line(view(), NOW, LEAD).startswith("valid · until ")


def test_a_pasted_tokens_notifications_ask_for_a_new_token() -> None:
    shown: list[Note] = []
    notifier = Notifier(shown.append, timer=lambda _delay, _fn: _NoTimer(), clock=lambda: NOW)
    step = NextStep.paste_new("ci")
    soon = "ci: the pasted token expires in 5 min and cannot renew itself"
    notifier.on_event(AccountEvent(EventKind.EXPIRING, "ci", soon, step))
    notifier.flush()
    notifier.on_event(AccountEvent(EventKind.EXPIRED, "ci", "ci: the pasted token expired", step))
    notifier.flush()
    expiring, expired = shown
    assert expiring.title == "ci: token expires soon"
    assert expiring.text == f"{soon} — paste a new one before it does."
    assert expiring.actions == (("login", "Paste a new token"), ("copy", "Copy header"))
    assert expired.title == "ci: paste a new token"
    assert "“Paste a new token…”" in expired.text
    assert expired.actions == (("login", "Paste a new token"),)
    assert not any("log in" in f"{n.title} {n.text} {n.actions}".lower() for n in shown)


def test_the_activity_view_says_a_pasted_token_needs_a_new_one() -> None:
    log = ActivityLog(clock=lambda: NOW)
    gone = "ci: the pasted token expired"
    log.on_event(AccountEvent(EventKind.LOGIN_NEEDED, "ci", gone, NextStep.paste_new("ci")))
    log.on_event(AccountEvent(EventKind.LOGIN_NEEDED, "work", "work: log in", NextStep.log_in("work")))
    assert [(e.account, e.what) for e in log.entries()] == [
        ("ci", "needs a new token pasted"),
        ("work", "needs a new login"),
    ]


class _NoTimer:
    def stop(self) -> None:
        pass


def test_the_list_of_actions_loads_no_qt() -> None:
    code = "import sys, trayauth.ui.state.account_actions; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
