"""What can be done with one account, in order: the one list the menu, the no-tray window and
quick access are built from.

Each place used to list the actions itself, and they disagreed (a pasted token was offered
"Log in again…" in one and "Refresh now" in another). Here an action that can never work for the
account is not offered at all (a pasted token cannot renew: no "Refresh now"); one that cannot
work *now* is offered disabled with the reason (nothing to copy before a login), so the widget
can say why in a tooltip. Qt-free: the rules are tested without a display, the widgets only
place what this returns and call the handler named by ``key``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from trayauth.domain.model import State
from trayauth.services.broker import AccountView


class ActionKey(enum.StrEnum):
    """Which handler an action calls (``Actions.<key>(name)`` in the widgets)."""

    LOGIN = "login"  # log in, log in again, or paste a (new) token: the login window
    COPY_HEADER = "copy_header"
    COPY_TOKEN = "copy_token"
    REFRESH = "refresh"
    INSPECT = "inspect"
    DEFAULT = "default"
    LOGOUT = "logout"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class AccountAction:
    """One action as a widget shows it. ``group`` changes where a menu puts a separator;
    ``checked`` is set for the one toggle ("Default account"). ``possible`` is False for an action
    that can never work for this account (a pasted token has nothing to renew): the menu leaves
    it out, a window with a fixed row of buttons shows it disabled with the reason."""

    key: ActionKey
    label: str
    enabled: bool = True
    reason: str = ""  # why it is disabled, for a tooltip; empty when enabled
    group: int = 0
    checked: bool | None = None
    possible: bool = True


# Every action's label where it does not depend on the account, and the order a logged-in
# account lists them in (a logged-out one lists "Log in…" first: it is the one thing to do).
LABELS = {
    ActionKey.COPY_HEADER: "Copy header",
    ActionKey.COPY_TOKEN: "Copy token",
    ActionKey.REFRESH: "Refresh now",
    ActionKey.INSPECT: "Inspect…",
    ActionKey.LOGIN: "Log in…",
    ActionKey.DEFAULT: "Default account",
    ActionKey.LOGOUT: "Log out",
    ActionKey.REMOVE: "Remove…",
}
ORDER = tuple(LABELS)


def login_label(view: AccountView) -> str:
    """The login action's words: "Log in…" or "Log in again…"; for a token the user pastes,
    "Paste a token…" or "Paste a new token…" (there is nothing to log in to)."""
    logged_in = view.state != State.LOGGED_OUT
    if view.pasted:
        return "Paste a new token…" if logged_in else "Paste a token…"
    return "Log in again…" if logged_in else "Log in…"


def _expired_for_good(view: AccountView, now: float) -> bool:
    """Expired and nothing will renew it: asking for the token could only say "log in again"."""
    return not view.renewable and view.expires_at is not None and view.expires_at <= now


def account_actions(view: AccountView, now: float) -> list[AccountAction]:
    """The actions ``view`` offers at ``now``, in menu order (those with ``possible`` False too)."""
    logged_in = view.state != State.LOGGED_OUT
    no_token = "" if logged_in else ("No token pasted yet" if view.pasted else "Not logged in")
    copy_why = no_token
    if not copy_why and _expired_for_good(view, now):
        copy_why = "The pasted token expired" if view.pasted else "The token expired"
    if view.renewable:
        refresh = AccountAction(ActionKey.REFRESH, LABELS[ActionKey.REFRESH], logged_in, no_token, 1)
    else:  # a pasted token, or a session the provider gave nothing to renew with
        never = "A pasted token cannot renew" if view.pasted else "This session cannot renew itself"
        refresh = AccountAction(
            ActionKey.REFRESH, LABELS[ActionKey.REFRESH], False, no_token or never, 1, possible=False
        )
    login = AccountAction(ActionKey.LOGIN, login_label(view), group=1 if logged_in else 0)
    actions = [
        AccountAction(ActionKey.COPY_HEADER, LABELS[ActionKey.COPY_HEADER], not copy_why, copy_why),
        AccountAction(ActionKey.COPY_TOKEN, LABELS[ActionKey.COPY_TOKEN], not copy_why, copy_why),
        refresh,
        AccountAction(ActionKey.INSPECT, LABELS[ActionKey.INSPECT], logged_in, no_token, 1),
        login,
        AccountAction(ActionKey.DEFAULT, LABELS[ActionKey.DEFAULT], group=1, checked=view.is_default),
        AccountAction(ActionKey.LOGOUT, LABELS[ActionKey.LOGOUT], logged_in, no_token, 2),
        AccountAction(ActionKey.REMOVE, LABELS[ActionKey.REMOVE], group=2),
    ]
    assert tuple(a.key for a in actions) == ORDER
    if not logged_in:  # the one thing to do comes first
        actions.remove(login)
        actions.insert(0, login)
    return actions


def menu_actions(view: AccountView, now: float) -> list[AccountAction]:
    """What a menu lists: every action that can work for the account, now or after a login."""
    return [a for a in account_actions(view, now) if a.possible]


def by_key(view: AccountView | None, now: float) -> dict[ActionKey, AccountAction]:
    """Each action by its key, for a window with one fixed button per action (no account
    selected: none, so every button is disabled)."""
    if view is None:
        return {}
    return {a.key: a for a in account_actions(view, now)}
