"""What happened, newest first, in words for people: the Activity view's content.

Renewals, failures, logins and logouts come from the broker's events as the tray sees them; a
second source (the agent's hand-out log: which program got which account's token) can be added
with :meth:`ActivityLog.add_source` and is merged by time. Only this process's events are kept,
in memory and bounded; nothing here is written to disk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from trayauth.domain.events import AccountEvent
from trayauth.storage.consent import HandOut
from trayauth.ui.state.wording import is_pasted

KEEP = 500

# Event kind -> what a person reads. "renewing" is a state, not an event worth a line.
WORDS = {
    "renewed": "renewed",
    "renew_failed": "renewal failed",
    "login_needed": "needs a new login",
    "login_failed": "login failed",
    "logged_in": "logged in",
    "logged_out": "logged out",
    "expiring": "expires soon, cannot renew itself",
    "expired": "expired",
    "added": "added",
    "removed": "removed",
}
TROUBLE = frozenset({"renew_failed", "login_needed", "login_failed", "expired"})


@dataclass(frozen=True)
class Entry:
    at: float
    account: str
    what: str
    detail: str = ""
    trouble: bool = False


HANDED = {
    "given": "token handed out",
    "denied": "token refused (denied)",
    "timed_out": "token refused (nobody answered)",
    "failed": "token not handed out (failed)",
}


def handout_entries(handouts: Iterable[HandOut]) -> list[Entry]:
    """The agent's hand-out log (which program got which account's token) as Activity lines."""
    return [
        Entry(
            h.at,
            h.account,
            HANDED.get(h.outcome, h.outcome),
            f"to {h.requester}" + (f" ({h.how})" if h.how else ""),
            h.outcome != "given",
        )
        for h in handouts
    ]


class ActivityLog:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: deque[Entry] = deque(maxlen=KEEP)
        self._sources: list[Callable[[], Iterable[Entry]]] = []

    def on_event(self, event: AccountEvent) -> None:
        what = WORDS.get(str(event.kind))
        if what is None:
            return
        if event.kind == "login_needed" and is_pasted(event.next_step):
            what = "needs a new token pasted"  # there is nothing to log in to
        trouble = event.kind in TROUBLE
        detail = event.message if trouble else ""
        self._entries.append(Entry(self._clock(), event.account, what, detail, trouble))

    def add_source(self, source: Callable[[], Iterable[Entry]]) -> None:
        self._sources.append(source)

    def entries(self, limit: int = 200) -> list[Entry]:
        merged = list(self._entries)
        for source in self._sources:
            merged.extend(source())
        merged.sort(key=lambda e: e.at, reverse=True)
        return merged[:limit]
