"""One notification per event, never a storm."""

from __future__ import annotations

from typing import NamedTuple

from tests.support.clock import FakeClock
from tests.support.qt import FakeTimers
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.ui.state.notifier import Level, Note, Notifier


class Watched(NamedTuple):
    """A notifier on fake timers and clock, and what it has shown so far."""

    notifier: Notifier
    shown: list[Note]
    clock: FakeClock


def watched(timers: FakeTimers) -> Watched:
    shown: list[Note] = []
    clock = FakeClock(1000.0)
    return Watched(Notifier(shown.append, timer=timers, clock=clock), shown, clock)


def test_repeated_failures_of_one_account_are_told_once(timers: FakeTimers) -> None:
    notifier, shown, _ = watched(timers)
    for _ in range(5):
        notifier.on_event(
            AccountEvent(EventKind.RENEW_FAILED, "work", "work: provider unavailable (HTTP 503)")
        )
        timers.fire_all()
    assert len(shown) == 1
    assert shown[0].title == "work: renewal failed"
    assert "503" in shown[0].text
    assert shown[0].level is Level.WARNING


def test_expired_and_login_needed_are_one_story(timers: FakeTimers) -> None:
    notifier, shown, _ = watched(timers)
    notifier.on_event(
        AccountEvent(EventKind.EXPIRED, "ci", "ci: the token expired and cannot renew itself; log in again")
    )
    notifier.on_event(AccountEvent(EventKind.LOGIN_NEEDED, "ci", "ci is not logged in"))
    timers.fire_all()
    assert len(shown) == 1
    assert shown[0].family == "needs_login"
    assert shown[0].account == "ci"
    assert "log in again" in shown[0].text.lower()


def test_a_burst_across_accounts_becomes_one_notification(timers: FakeTimers) -> None:
    notifier, shown, _ = watched(timers)
    for i in range(20):
        notifier.on_event(AccountEvent(EventKind.RENEW_FAILED, f"acct{i}", "network down"))
    assert len(timers.pending) == 1  # one coalescing timer, not twenty
    timers.fire_all()
    assert len(shown) == 1
    assert shown[0].title == "20 accounts need attention"
    assert shown[0].text.splitlines()[-1] == "… and 16 more: see the tray menu"


def test_success_resets_but_a_flapping_network_stays_quiet(timers: FakeTimers) -> None:
    notifier, shown, clock = watched(timers)
    notifier.on_event(AccountEvent(EventKind.RENEW_FAILED, "work", "down"))
    timers.fire_all()
    notifier.on_event(AccountEvent(EventKind.RENEWED, "work"))
    clock.advance(60)
    notifier.on_event(AccountEvent(EventKind.RENEW_FAILED, "work", "down again"))
    timers.fire_all()
    assert len(shown) == 1  # within the cooldown
    notifier.on_event(AccountEvent(EventKind.RENEWED, "work"))
    clock.advance(700)
    notifier.on_event(AccountEvent(EventKind.RENEW_FAILED, "work", "down much later"))
    timers.fire_all()
    assert [n.text for n in shown] == ["down", "down much later"]


def test_a_login_lets_the_next_expiry_be_told_again(timers: FakeTimers) -> None:
    notifier, shown, _ = watched(timers)
    notifier.on_event(AccountEvent(EventKind.EXPIRING, "ci", "ci: the token expires in 1 min"))
    timers.fire_all()
    notifier.on_event(AccountEvent(EventKind.EXPIRING, "ci", "again"))
    notifier.on_event(AccountEvent(EventKind.LOGGED_IN, "ci"))
    notifier.on_event(AccountEvent(EventKind.EXPIRING, "ci", "next token"))
    timers.fire_all()
    assert [n.family for n in shown] == ["expiring", "expiring"]


def test_routine_events_make_no_noise(timers: FakeTimers) -> None:
    notifier, shown, _ = watched(timers)
    for kind in ("renewing", "renewed", "changed", "added", "logged_in", "logged_out", "removed"):
        notifier.on_event(AccountEvent(EventKind(kind), "work"))
    assert timers.pending == []
    assert shown == []


def test_info_is_shown_at_once(timers: FakeTimers) -> None:
    notifier, shown, _ = watched(timers)
    notifier.info("Copied work's header", "Sentiance — 12 min left")
    assert shown == [Note("Copied work's header", "Sentiance — 12 min left")]


def test_a_failed_refresh_now_is_one_notification_not_two(timers: FakeTimers) -> None:
    """The broker reports the failure as an event and the action reports it to the user who
    clicked: one notification, the action's (it was "not renewed", then "renewal failed")."""
    notifier, shown, _ = watched(timers)
    notifier.on_event(AccountEvent(EventKind.RENEW_FAILED, "work", "work: provider unavailable (HTTP 503)"))
    notifier.answer("work: not renewed", "work: provider unavailable (HTTP 503)", "work")
    notifier.on_event(AccountEvent(EventKind.RENEW_FAILED, "work", "work: provider unavailable (HTTP 503)"))
    timers.fire_all()
    assert [n.title for n in shown] == ["work: not renewed"]


def test_trouble_notes_offer_actions_that_can_work(timers: FakeTimers) -> None:
    notifier, shown, _ = watched(timers)
    notifier.on_event(AccountEvent(EventKind.EXPIRING, "pasted", "pasted: the token expires in 5 min"))
    notifier.on_event(AccountEvent(EventKind.LOGIN_NEEDED, "ci", "ci is not logged in"))
    notifier.on_event(AccountEvent(EventKind.RENEW_FAILED, "work", "down"))
    timers.fire_all()
    (note,) = shown
    assert note.actions == ()  # several accounts in one note: no single account to act on
    notifier.on_event(AccountEvent(EventKind.RENEWED, "pasted"))
    notifier.on_event(AccountEvent(EventKind.EXPIRING, "pasted", "pasted: the token expires in 5 min"))
    timers.fire_all()
    assert [key for key, _label in shown[-1].actions] == ["login", "copy"]
