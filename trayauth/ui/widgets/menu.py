"""The tray menu, rebuilt each time it opens (as Vorta's tray menu is, on aboutToShow).

Rebuilding on open means the menu always shows what is true now (the CLI may have added,
renewed or removed accounts) and costs nothing while closed. Each account is a submenu titled
with its provider and a live countdown ("expires in 12:04"); the one-second timer that ticks it
runs only while the menu is open.

It stays a menu however many accounts there are: at most a dozen rows (the default and the most
recently used, :func:`trayauth.ui.state.quick.menu_rows`), then "All accounts…" for quick
access with its search; every line is elided to a bounded width with the full text in its
tooltip, and an error's text is never a menu line (it is in the row's tooltip and the Activity
view), so a long path or a provider's message cannot make the menu as wide as the screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QFontMetrics
from PySide6.QtWidgets import QMenu

from trayauth.domain.model import State
from trayauth.services.broker import AccountView
from trayauth.ui.state.account_actions import menu_actions
from trayauth.ui.state.present import clock_time, countdown, row_label, state_line, state_of_view
from trayauth.ui.state.quick import MENU_ROWS, menu_rows
from trayauth.ui.widgets.icons import dot_icon

if TYPE_CHECKING:
    from trayauth.ui.qt.accounts import AccountList
    from trayauth.ui.widgets.actions import Actions

TICK_MS = 1000
MAX_TEXT_EM = 64  # the widest a menu line may be, in average character widths (~450 px at 1x)


def _limit(menu: QMenu) -> tuple[QFontMetrics, int]:
    metrics = QFontMetrics(menu.font())
    return metrics, MAX_TEXT_EM * metrics.averageCharWidth()


def elided(menu: QMenu, text: str) -> str:
    metrics, limit = _limit(menu)
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, limit)


def row_text(menu: QMenu, view: AccountView, now: float) -> str:
    """The row's label within the bound, keeping what matters most: the countdown, then the
    name; the provider goes first, then the name is elided in its middle."""
    metrics, limit = _limit(menu)
    full = row_label(view, now)
    if metrics.horizontalAdvance(full) <= limit:
        return full
    mark = " (default)" if view.is_default else ""
    tail = f" — {countdown(view, now)}"
    head = f"{view.name}{mark} — "
    room = limit - metrics.horizontalAdvance(head + tail)
    if room >= metrics.averageCharWidth() * 10:  # the provider, shortened
        return head + metrics.elidedText(view.provider, Qt.TextElideMode.ElideRight, room) + tail
    room = max(metrics.averageCharWidth() * 8, limit - metrics.horizontalAdvance(mark + tail))
    return metrics.elidedText(view.name, Qt.TextElideMode.ElideMiddle, room) + mark + tail


def _disabled(menu: QMenu, text: str) -> QAction:
    """An information line: elided to the menu's width, the whole text in its tooltip."""
    action = menu.addAction(elided(menu, text))
    action.setEnabled(False)
    if action.text() != text:
        action.setToolTip(text)
    return action


class AccountMenu(QObject):
    """Fills ``menu`` from the account list; ``key_note`` is the "where secrets are kept" line."""

    def __init__(
        self,
        menu: QMenu,
        accounts: AccountList,
        actions: Actions,
        *,
        key_note: Callable[[], str | None] = lambda: None,
        extra_note: Callable[[], str | None] = lambda: None,
        clock: Callable[[], float] = time.time,
        default: Callable[[], str | None] = lambda: None,
    ) -> None:
        super().__init__(menu)
        menu.setToolTipsVisible(True)
        self.default = default
        self.menu = menu
        self.accounts = accounts
        self.actions = actions
        self.key_note = key_note
        self.extra_note = extra_note
        self.clock = clock
        self.rows: dict[str, tuple[QAction, AccountView]] = {}
        self._submenus: list[QMenu] = []
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        menu.aboutToShow.connect(self.rebuild)
        menu.aboutToHide.connect(self.timer.stop)

    def rebuild(self) -> None:
        self.accounts.reload()
        menu = self.menu
        menu.clear()
        for sub in self._submenus:
            sub.deleteLater()
        self._submenus.clear()
        self.rows.clear()
        now = self.clock()
        lead = self.accounts.lead()
        if self.accounts.problem:
            line = _disabled(menu, "The config file cannot be read (hover for why)")
            line.setToolTip(self.accounts.problem)
        views = self.accounts.views
        for view in menu_rows(views, self.default()):
            self._add_row(view, now, lead)
        if len(views) > MENU_ROWS:
            more = menu.addAction(f"All accounts ({len(views)})…", self.actions.quick_access)
            more.setObjectName("all_accounts")
        if not views and not self.accounts.problem:
            _disabled(menu, "No accounts yet")
        menu.addSeparator()
        menu.addAction("Add account…", self.actions.add_account).setObjectName("add_account")
        menu.addAction("Settings…", self.actions.open_settings).setObjectName("settings")
        for note in (self.key_note(), self.extra_note()):
            if note:
                _disabled(menu, note).setObjectName("note")
        menu.addSeparator()
        menu.addAction("Activity…", self.actions.open_activity).setObjectName("activity")
        menu.addAction("About trayauth", self.actions.open_about).setObjectName("about")
        menu.addAction("Quit trayauth", self.actions.quit).setObjectName("quit")
        if any(v.expires_at is not None for v in self.accounts.views):
            self.timer.start()

    def _add_row(self, view: AccountView, now: float, lead: float) -> None:
        label = row_label(view, now)
        sub = QMenu(row_text(self.menu, view, now), self.menu)
        sub.setToolTipsVisible(True)
        sub.menuAction().setToolTip(label if not view.error else f"{label}\n{view.error}")
        sub.setObjectName(f"account_{view.name}")
        self._submenus.append(sub)
        busy = self.accounts.busy
        sub.setIcon(dot_icon(state_of_view(view, now, lead, busy)))
        self.rows[view.name] = (sub.menuAction(), view)
        logged_in = view.state != State.LOGGED_OUT
        _disabled(sub, state_line(view, now, lead, busy))
        if view.error and logged_in:
            problem = _disabled(sub, "! The last renewal failed (hover for why)")
            problem.setToolTip(view.error)
        elif view.sign_in_by is not None and logged_in and view.sign_in_by > now:
            _disabled(sub, f"! No refresh token: sign in again by {clock_time(view.sign_in_by, now)}")
        group = -1
        for offer in menu_actions(view, now):  # the one list (ui.state.account_actions)
            if offer.group != group:
                sub.addSeparator()
                group = offer.group
            item = sub.addAction(offer.label, partial(self.actions.act, offer.key, view))
            item.setObjectName(offer.key.value)
            item.setEnabled(offer.enabled)
            if offer.reason:
                item.setToolTip(offer.reason)
            if offer.checked is not None:
                item.setCheckable(True)
                item.setChecked(offer.checked)
        self.menu.addMenu(sub)

    def tick(self) -> None:
        """Re-label the rows; the snapshot's expiry is absolute, so no re-read is needed."""
        now = self.clock()
        lead = self.accounts.lead()
        busy = self.accounts.busy
        for action, view in self.rows.values():
            action.setText(row_text(self.menu, view, now))
            action.setIcon(dot_icon(state_of_view(view, now, lead, busy)))

    def refresh_rows(self) -> None:
        """The account list changed while the menu is open: show the new snapshots."""
        if not self.menu.isVisible():
            return
        views = {v.name: v for v in self.accounts.views}
        for name, (action, _old) in list(self.rows.items()):
            if name in views:
                self.rows[name] = (action, views[name])
        self.tick()

    def close(self) -> None:
        self.timer.stop()
        self.rows.clear()

    def texts(self) -> list[str]:
        """The visible labels, top to bottom (for tests and the benchmark)."""
        return [a.text() for a in self.menu.actions() if not a.isSeparator()]
