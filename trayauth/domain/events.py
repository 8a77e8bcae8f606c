"""What the services announce about accounts, as types.

The tray's account list, notifier and icon react to these; matching on an enum (not a string)
means a renamed or new kind is a type error in every listener, not a silently ignored event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from trayauth.domain.errors import TrayauthError
from trayauth.domain.steps import NextStep


class EventKind(enum.StrEnum):
    ADDED = "added"  # an account was defined
    REMOVED = "removed"  # an account and its secrets were deleted
    CHANGED = "changed"  # settings or the default account changed
    RENEWING = "renewing"  # a renewal started (the account is busy until the next event)
    RENEWED = "renewed"  # a renewal stored new tokens
    RENEW_FAILED = "renew_failed"  # a renewal failed; it will be retried
    LOGIN_NEEDED = "login_needed"  # renewal cannot go on without the user
    LOGIN_FAILED = "login_failed"  # a login the user started failed
    LOGGED_IN = "logged_in"
    LOGGED_OUT = "logged_out"
    EXPIRING = "expiring"  # a token that cannot renew itself expires soon
    EXPIRED = "expired"  # a token that cannot renew itself expired


# After these the snapshots of the account are stale; RENEWING only marks it busy.
STALE_AFTER = frozenset(EventKind) - {EventKind.RENEWING}


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """One thing that happened to one account; ``message`` and ``next_step`` say why, for failures."""

    kind: EventKind
    account: str
    message: str = ""
    next_step: NextStep | None = None

    @classmethod
    def failure(cls, kind: EventKind, account: str, exc: TrayauthError) -> AccountEvent:
        return cls(kind, account, exc.message, exc.next_step)
