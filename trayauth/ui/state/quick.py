"""What quick access lists, in which order, for a search: plain functions of the snapshots.

The order is the one a person reaches for: the account a left click copies first, then the most
recently used, then the rest by name. A search keeps that order and matches every word of the
query somewhere in the account's name or provider, ignoring case ("sen prod" finds
"senseye-prod"). The menu takes its short list (pinned and recent) from here too, so the two
agree on what "recent" means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from trayauth.domain.model import State
from trayauth.services.broker import AccountView
from trayauth.ui.state.account_actions import AccountAction, ActionKey, by_key
from trayauth.ui.state.present import IconState, countdown, described, state_of_view

MENU_ROWS = 12


def ordered(views: Sequence[AccountView], default: str | None) -> list[AccountView]:
    """The default first, then most recently used, then never used by name."""

    def key(view: AccountView) -> tuple[int, float, str]:
        return (0 if view.name == default else 1, -(view.last_used or 0.0), view.name.casefold())

    return sorted(views, key=key)


def matches(view: AccountView, query: str) -> bool:
    words = query.casefold().split()
    if not words:
        return True
    haystack = f"{view.name} {view.provider} {view.preset_id}".casefold()
    return all(word in haystack for word in words)


def search(views: Sequence[AccountView], query: str, default: str | None) -> list[AccountView]:
    return [v for v in ordered(views, default) if matches(v, query)]


def menu_rows(views: Sequence[AccountView], default: str | None, limit: int = MENU_ROWS) -> list[AccountView]:
    """The accounts the tray menu shows itself (the rest are behind "All accounts…")."""
    return ordered(views, default)[:limit]


@dataclass(frozen=True)
class Row:
    """One line of quick access: what it says and the actions it offers (the account's, by key)."""

    name: str
    provider: str
    left: str
    status: str
    dot: IconState
    is_default: bool
    actions: Mapping[ActionKey, AccountAction] = field(default_factory=dict)


def row(
    view: AccountView, now: float, lead: float, busy: frozenset[str] | set[str], default: str | None
) -> Row:
    logged_in = view.state != State.LOGGED_OUT
    return Row(
        name=view.name,
        provider=view.provider,
        left="" if not logged_in else countdown(view, now),
        status="renewing…" if view.name in busy else described(view, now, lead),
        dot=state_of_view(view, now, lead, busy),
        is_default=view.name == default,
        actions=by_key(view, now),
    )
