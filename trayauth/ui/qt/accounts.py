"""The tray's picture of the accounts: the latest snapshots, what is busy, when to look again.

Everything the icon, tooltip, menu and fallback window show comes from here, so they agree. It
changes only on a broker event, a file change (the CLI edited the config or renewed a token), or
at the one moment a token crosses a threshold with nobody telling (``present.next_change``):
no polling, so an idle tray does not wake the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal

from trayauth.domain.errors import TrayauthError
from trayauth.domain.events import STALE_AFTER, AccountEvent, EventKind
from trayauth.services.broker import AccountView, Broker
from trayauth.ui.qt.timers import qt_timer
from trayauth.ui.state import wording
from trayauth.ui.state.present import next_change
from trayauth.ui.state.timers import Timer, TimerFactory

FILE_SETTLE = 0.3  # a CLI write is lock, write temp, rename: look once it has settled
THRESHOLD_SLACK = 0.25


class AccountList(QObject):
    changed = Signal()
    happened = Signal(object)  # an AccountEvent, after the snapshots were brought up to date

    def __init__(
        self,
        broker: Broker,
        *,
        lead: Callable[[], float],
        clock: Callable[[], float] = time.time,
        timer: TimerFactory = qt_timer,
    ) -> None:
        super().__init__()
        self.broker = broker
        self.clock = clock
        self.lead = lead
        self.views: list[AccountView] = []
        self.problem: str | None = None  # e.g. a broken config file, shown in the menu
        self.reloads = 0
        self._timer_factory = timer
        self._busy_logins: set[str] = set()
        self._renewing: set[str] = set()
        self._change_timer: Timer | None = None
        self._reload_timer: Timer | None = None
        self._watcher: QFileSystemWatcher | None = None
        self._unsubscribe = broker.subscribe(self._on_event)

    # ---- reading ------------------------------------------------------------------------------

    @property
    def busy(self) -> set[str]:
        return self._renewing | self._busy_logins

    def view(self, name: str) -> AccountView | None:
        for view in self.views:
            if view.name == name:
                return view
        return None

    def names(self) -> list[str]:
        return [v.name for v in self.views]

    def reload(self) -> None:
        """Fresh snapshots from the store (no network), then plan the next threshold."""
        self._cancel(self._reload_timer)
        self._reload_timer = None
        self.reloads += 1
        try:
            self.views = self.broker.accounts()
            self.problem = None
        except TrayauthError as exc:
            self.views = []
            self.problem = wording.text(exc)
        self._renewing = {v.name for v in self.views if self.broker.is_renewing(v.name)}
        self._plan()
        self.changed.emit()

    def reload_soon(self, delay: float = 0.0) -> None:
        """Coalesce a burst of events (renewing, renewed, changed …) into one re-read."""
        if self._reload_timer is None:
            self._reload_timer = self._timer_factory(delay, self.reload)

    # ---- marking work in progress --------------------------------------------------------------

    def set_logging_in(self, name: str, busy: bool) -> None:
        if busy:
            self._busy_logins.add(name)
        else:
            self._busy_logins.discard(name)
        self.changed.emit()

    # ---- inputs ---------------------------------------------------------------------------------

    def _on_event(self, event: AccountEvent) -> None:
        if event.kind is EventKind.RENEWING:
            self._renewing.add(event.account)
            self.changed.emit()
        else:
            self._renewing.discard(event.account)
            if event.kind in STALE_AFTER:
                self.reload_soon()
        self.happened.emit(event)

    def watch(self, directory: str) -> None:
        """Re-read when the CLI (another process) changes the config or the vault.

        The directory, not the files: an atomic write replaces the file, and a watch on a file
        ends with the file it watched.
        """
        self._watcher = QFileSystemWatcher([directory], self)
        self._watcher.directoryChanged.connect(lambda _path: self.reload_soon(FILE_SETTLE))

    def _plan(self) -> None:
        self._cancel(self._change_timer)
        self._change_timer = None
        now = self.clock()
        moment = next_change(self.views, now, self.lead())
        if moment is not None:
            self._change_timer = self._timer_factory(max(0.0, moment - now) + THRESHOLD_SLACK, self.reload)

    @staticmethod
    def _cancel(timer: Timer | None) -> None:
        if timer is not None:
            timer.stop()

    @property
    def next_wakeup_planned(self) -> bool:
        return self._change_timer is not None

    def close(self) -> None:
        self._unsubscribe()
        self._cancel(self._change_timer)
        self._cancel(self._reload_timer)
        self._change_timer = self._reload_timer = None
