"""What the tray says about accounts, as pure functions of snapshots and a clock.

Kept free of Qt so the rules (which state the icon shows, how a countdown reads, when the icon must
next change) are tested without a display, and so the tray needs no polling timer: it asks
:func:`next_change` when to look again.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Collection, Iterable, Sequence

from trayauth.domain.model import State
from trayauth.domain.text import EXPIRED, NO_EXPIRY, span, time_left
from trayauth.domain.tokens import state_at
from trayauth.services.broker import AccountView

TOOLTIP_ROWS = 12


class IconState(enum.StrEnum):
    """One look at the tray icon says which of these holds."""

    IDLE = "idle"  # no account yet, or none logged in
    OK = "ok"  # every logged-in account is valid or renews itself
    EXPIRING = "expiring"  # a token that cannot renew itself expires soon
    FAILING = "failing"  # a token expired, or renewal failed
    WORKING = "working"  # a renewal or login is in progress


def needs_attention_soon(view: AccountView, now: float, lead: float) -> bool:
    """A token that will lapse unless the user acts, within ``lead`` seconds."""
    if view.renewable or view.expires_at is None or view.state == State.LOGGED_OUT:
        return False
    return now < view.expires_at <= now + lead


def is_failing(view: AccountView, now: float) -> bool:
    if view.state == State.ERROR:
        return True
    return view.state == State.EXPIRED or (view.expires_at is not None and view.expires_at <= now)


def icon_state(
    views: Sequence[AccountView], now: float, lead: float, busy: Collection[str] = ()
) -> IconState:
    if busy:
        return IconState.WORKING
    live = [v for v in views if v.state != State.LOGGED_OUT]
    if not live:
        return IconState.IDLE
    if any(is_failing(v, now) for v in live):
        return IconState.FAILING
    if any(needs_attention_soon(v, now, lead) for v in live):
        return IconState.EXPIRING
    return IconState.OK


def state_of_view(view: AccountView, now: float, lead: float, busy: Collection[str] = ()) -> IconState:
    """The same scale for one account: its row's dot in the menu."""
    if view.name in busy:
        return IconState.WORKING
    if view.state == State.LOGGED_OUT:
        return IconState.IDLE
    if is_failing(view, now):
        return IconState.FAILING
    if needs_attention_soon(view, now, lead):
        return IconState.EXPIRING
    return IconState.OK


def countdown(view: AccountView, now: float) -> str:
    """A row's ticking time: "expires in 12:04" (the countdown is :func:`trayauth.domain.text.remaining`,
    as `trayauth list` writes it)."""
    if view.state == State.LOGGED_OUT:
        return "not logged in"
    left = time_left(None if view.expires_at is None else view.expires_at - now)
    return left if left in (NO_EXPIRY, EXPIRED) else f"expires in {left}"


def left_phrase(expires_at: float | None, now: float) -> str:
    """For a notification: "12 min left", "no expiry", "expired"."""
    if expires_at is None:
        return NO_EXPIRY
    if expires_at - now <= 0:
        return EXPIRED
    return f"{span(expires_at - now)} left"


def clock_time(ts: float, now: float) -> str:
    """A local wall-clock time that never goes stale (unlike "in 5 min"): 14:32, Tue 14:32."""
    moment = time.localtime(ts)
    today = time.localtime(now)
    if moment[:3] == today[:3]:
        return time.strftime("%H:%M", moment)
    if abs(ts - now) < 6 * 86400:
        return time.strftime("%a %H:%M", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)


def state_now(view: AccountView, now: float) -> State:
    """The account's state at ``now`` by the domain's rule: what `trayauth list` says then."""
    if view.state == State.LOGGED_OUT:
        return State.LOGGED_OUT
    return state_at(view.expires_at, view.expiring_at, now, error=view.error)


def status_word(view: AccountView, now: float, lead: float) -> str:
    """The state in a word or two, by the domain's rule (what `trayauth list` says)."""
    if view.state == State.LOGGED_OUT:
        return "no token pasted" if view.pasted else "not logged in"
    if is_failing(view, now):
        return "expired" if view.expires_at is not None and view.expires_at <= now else "renewal failed"
    if needs_attention_soon(view, now, lead):
        return "expires soon" if view.pasted else "expiring, cannot renew itself"
    return "expiring" if state_now(view, now) is State.EXPIRING else "valid"


def described(view: AccountView, now: float, lead: float) -> str:
    """The state as a window's column and the tooltip say it: a pasted token is said to be one
    ("pasted token, valid"), since it cannot renew and a bare "valid" would promise more."""
    word = status_word(view, now, lead)
    if view.pasted and view.state != State.LOGGED_OUT:
        return f"pasted token, {word}"
    return word


def state_line(view: AccountView, now: float, lead: float, busy: Collection[str] = ()) -> str:
    """The account's state with its moment, as the menu's first line says it:
    "valid · until 14:32", "expired at 09:10", "Pasted token, expires 21:25"."""
    if view.name in busy:
        return "renewing…"
    word = status_word(view, now, lead)
    if view.pasted:
        if view.state == State.LOGGED_OUT:
            return "No token pasted yet"
        if view.expires_at is None:
            return "Pasted token, no expiry"
        at = clock_time(view.expires_at, now)
        if view.expires_at <= now:
            return f"Pasted token, expired at {at}"
        soon = " (soon)" if needs_attention_soon(view, now, lead) else ""
        return f"Pasted token, expires {at}{soon}"
    if view.state == State.LOGGED_OUT or view.expires_at is None:
        return word
    at = clock_time(view.expires_at, now)
    return f"{word} at {at}" if view.expires_at <= now else f"{word} · until {at}"


def row_label(view: AccountView, now: float) -> str:
    mark = " (default)" if view.is_default else ""
    return f"{view.name}{mark} — {view.provider} — {countdown(view, now)}"


def tooltip(views: Sequence[AccountView], now: float, lead: float, busy: Collection[str] = ()) -> str:
    state = icon_state(views, now, lead, busy)
    headline = {
        IconState.IDLE: "no account logged in" if views else "no account yet: click to add one",
        IconState.OK: "all tokens valid",
        IconState.EXPIRING: "a token expires soon",
        IconState.FAILING: "a token expired or failed to renew",
        IconState.WORKING: "renewing…",
    }[state]
    lines = [f"trayauth — {headline}"]
    for view in views[:TOOLTIP_ROWS]:
        word = "renewing" if view.name in busy else described(view, now, lead)
        until = ""
        if view.expires_at is not None and view.state != State.LOGGED_OUT:
            until = f", until {clock_time(view.expires_at, now)}" if view.expires_at > now else ""
        lines.append(f"{view.name} ({view.provider}): {word}{until}")
    if len(views) > TOOLTIP_ROWS:
        lines.append(f"… and {len(views) - TOOLTIP_ROWS} more")
    return "\n".join(lines)


def next_change(views: Iterable[AccountView], now: float, lead: float) -> float | None:
    """The next moment the icon or tooltip must change with no event: a token entering the
    "expires soon" window, or expiring. Renewals announce themselves through broker events."""
    moments: list[float] = []
    for view in views:
        if view.expires_at is None or view.state == State.LOGGED_OUT:
            continue
        if not view.renewable and view.expires_at - lead > now:
            moments.append(view.expires_at - lead)
        if view.expires_at > now:
            moments.append(view.expires_at)
    return min(moments) if moments else None
