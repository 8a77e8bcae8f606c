"""Desktop notifications: one per event, never a storm.

The broker and the scheduler report every attempt; a person wants to hear once that an account
needs them. So each (account, kind of trouble) is told once until something resets it (a renewal
or a login), a renewal failure is not repeated within ``COOLDOWN`` even across a flapping
network, and everything that arrives within ``COALESCE`` seconds (the network drops and twenty
accounts fail together) becomes one notification.

An expired session is never answered by opening a browser from the background: the notification
offers "log in again", which opens the login dialog; the user starts the browser from there.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from trayauth.domain.events import AccountEvent, EventKind
from trayauth.ui.state import wording
from trayauth.ui.state.timers import Timer, TimerFactory

COALESCE = 1.0  # short enough that a warning lands within 2 s of its moment
COOLDOWN = 600.0
MAX_LINES = 4
HISTORY = 50


class Level(enum.IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True)
class Note:
    title: str
    text: str
    level: Level = Level.INFO
    account: str | None = None
    family: str | None = None  # "needs_login" | "expiring" | "renew_failed"
    # (key, label) buttons a desktop notification offers; "default" is a click on the body.
    actions: tuple[tuple[str, str], ...] = ()


LOGIN = ("login", "Log in")
PASTE = ("login", "Paste a new token")  # the same key: the login window asks for the token
COPY = ("copy", "Copy header")
ACTIONS = {"needs_login": (LOGIN,), "expiring": (LOGIN, COPY), "renew_failed": ()}
PASTED_ACTIONS = {"needs_login": (PASTE,), "expiring": (PASTE, COPY), "renew_failed": ()}


# Event kind -> family of trouble. EXPIRED and LOGIN_NEEDED are one family: both mean
# "log in again", and a user must not be told twice.
FAMILIES = {
    EventKind.EXPIRING: "expiring",
    EventKind.EXPIRED: "needs_login",
    EventKind.LOGIN_NEEDED: "needs_login",
    EventKind.RENEW_FAILED: "renew_failed",
}
_ALL_FAMILIES = ("renew_failed", "needs_login", "expiring")
RESETS = {
    EventKind.RENEWED: _ALL_FAMILIES,
    EventKind.LOGGED_IN: _ALL_FAMILIES,
    EventKind.LOGGED_OUT: _ALL_FAMILIES,
    EventKind.REMOVED: _ALL_FAMILIES,
}
LEVELS = {"expiring": Level.WARNING, "needs_login": Level.CRITICAL, "renew_failed": Level.WARNING}


def _note_for(event: AccountEvent, family: str) -> Note:
    name = event.account
    pasted = wording.is_pasted(event.next_step)
    if family == "needs_login" and pasted:
        title = f"{name}: paste a new token"
        text = event.message or f"{name}'s pasted token expired"
        text += " — click here, or use the menu's “Paste a new token…”."
    elif family == "needs_login":
        title = f"{name}: log in again"
        text = event.message or f"{name} needs a new login"
        text += " — click here, or use the menu's “Log in again”."
    elif family == "expiring":
        title = f"{name}: token expires soon"
        text = (event.message or f"{name}'s token expires soon and cannot renew itself") + (
            " — paste a new one before it does." if pasted else " — log in again before it does."
        )
    else:
        title = f"{name}: renewal failed"
        text = event.message or f"{name} could not be renewed; trayauth will retry"
        if event.message and event.next_step is not None:
            text = wording.text_of(event.message, event.next_step)
    actions = (PASTED_ACTIONS if pasted else ACTIONS)[family]
    return Note(title, text, LEVELS[family], name, family, actions)


class Notifier:
    """Turns broker events into few, clear notifications; ``show`` displays one."""

    def __init__(
        self,
        show: Callable[[Note], None],
        *,
        timer: TimerFactory,
        clock: Callable[[], float] = time.monotonic,
        coalesce: float = COALESCE,
        cooldown: float = COOLDOWN,
    ) -> None:
        self._show = show
        self._timer_factory = timer
        self._clock = clock
        self._coalesce = coalesce
        self._cooldown = cooldown
        self._told: set[tuple[str, str]] = set()
        self._last_told: dict[tuple[str, str], float] = {}
        self._pending: list[Note] = []
        self._timer: Timer | None = None
        self.last: Note | None = None
        self.shown = 0
        self.history: deque[Note] = deque(maxlen=HISTORY)  # for the window's log and for tests

    def on_event(self, event: AccountEvent) -> None:
        for reset in RESETS.get(event.kind, ()):
            self._told.discard((event.account, reset))
        family = FAMILIES.get(event.kind)
        if family is None:
            return
        key = (event.account, family)
        if key in self._told:
            return
        now = self._clock()
        last = self._last_told.get(key)
        if family == "renew_failed" and last is not None and now - last < self._cooldown:
            return
        self._told.add(key)
        self._last_told[key] = now
        self._pending.append(_note_for(event, family))
        if self._timer is None:
            self._timer = self._timer_factory(self._coalesce, self.flush)

    def flush(self) -> None:
        """Show what is pending as one notification (the coalescing timer calls this)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        notes, self._pending = self._pending, []
        if not notes:
            return
        if len(notes) == 1:
            self._display(notes[0])
            return
        names = sorted({n.account for n in notes if n.account is not None})
        lines = [n.title for n in notes[:MAX_LINES]]
        if len(notes) > MAX_LINES:
            lines.append(f"… and {len(notes) - MAX_LINES} more: see the tray menu")
        self._display(
            Note(
                title=f"{len(names)} accounts need attention" if len(names) > 1 else notes[0].title,
                text="\n".join(lines),
                level=max(n.level for n in notes),
                account=names[0] if len(names) == 1 else None,
                family=notes[0].family if len({n.family for n in notes}) == 1 else None,
                actions=notes[0].actions if len(names) == 1 else (),
            )
        )

    def info(self, title: str, text: str, account: str | None = None) -> None:
        """A direct answer to something the user just did (a copy): shown at once."""
        self._display(Note(title, text, Level.INFO, account))

    def answer(
        self,
        title: str,
        text: str,
        account: str,
        *,
        family: str | None = "renew_failed",
        actions: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """The outcome of something the user asked for on ``account`` ("Refresh now", a copy):
        shown at once, and it IS the notification for that event — the broker's event about the
        same failure, pending or still to come, is not shown a second time."""
        # The first answer stands for the trouble itself; a repeat click is answered plainly.
        pending = sorted(n.family for n in self._pending if n.account == account and n.family)
        told = [f for f in ("renew_failed", "needs_login") if (account, f) in self._told and f not in pending]
        family = None if told else (pending[0] if pending else family)
        for trouble in ("renew_failed", "needs_login"):
            key = (account, trouble)
            self._told.add(key)
            self._last_told[key] = self._clock()
        self._pending = [n for n in self._pending if n.account != account]
        if not self._pending and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._display(Note(title, text, Level.WARNING, account, family, actions))

    def _display(self, note: Note) -> None:
        self.last = note
        self.shown += 1
        self.history.append(note)
        self._show(note)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._pending.clear()
