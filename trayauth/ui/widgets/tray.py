"""The tray icon: its state at a glance, a tooltip listing the accounts, the menu, left click.

The icon and tooltip are redrawn only when the account list changes (an event, a file change,
or the next threshold the account list planned), never on a timer of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from trayauth.ui.state.notifier import Level, Note
from trayauth.ui.state.present import IconState, icon_state, tooltip
from trayauth.ui.widgets.icons import tray_icon
from trayauth.ui.widgets.menu import AccountMenu

if TYPE_CHECKING:
    from trayauth.ui.qt.accounts import AccountList
    from trayauth.ui.widgets.actions import Actions

NOTE_MS = 8000
_ICONS = {
    Level.INFO: QSystemTrayIcon.MessageIcon.Information,
    Level.WARNING: QSystemTrayIcon.MessageIcon.Warning,
    Level.CRITICAL: QSystemTrayIcon.MessageIcon.Critical,
}


class Tray(QObject):
    def __init__(
        self,
        accounts: AccountList,
        actions: Actions,
        *,
        key_note: Callable[[], str | None] = lambda: None,
        extra_note: Callable[[], str | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.accounts = accounts
        self.actions = actions
        self.clock = clock
        self.state: IconState | None = None
        self.last_note: Note | None = None
        self.icon = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.menu.setObjectName("tray_menu")
        self.account_menu = AccountMenu(
            self.menu,
            accounts,
            actions,
            key_note=key_note,
            extra_note=extra_note,
            clock=clock,
            default=actions.default_name,
        )
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self._message_clicked)
        accounts.changed.connect(self.update)
        self.update()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def dispose(self) -> None:
        """The menu is a top-level widget (no QObject parent can own it): delete it with us."""
        self.account_menu.close()
        self.icon.hide()
        self.icon.setContextMenu(None)  # type: ignore[arg-type]  # Qt accepts null: detach the menu
        self.menu.deleteLater()
        self.deleteLater()

    def update(self) -> None:
        now = self.clock()
        lead = self.accounts.lead()
        views, busy = self.accounts.views, self.accounts.busy
        state = icon_state(views, now, lead, busy)
        if state != self.state:
            self.state = state
            self.icon.setIcon(tray_icon(state))
        text = tooltip(views, now, lead, busy)
        default = self.actions.default_name() if views else None
        if self.actions.settings.current.left_click == "quick" and views:
            text += "\nLeft click: quick access"
        elif default is not None:
            text += f"\nLeft click copies {default}'s header"
        if text != self.icon.toolTip():
            self.icon.setToolTip(text)
        self.account_menu.refresh_rows()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.actions.left_click()

    def show_note(self, note: Note) -> None:
        self.last_note = note
        self.icon.showMessage(note.title, note.text, _ICONS[note.level], NOTE_MS)

    def _message_clicked(self) -> None:
        """A click on "log in again" opens the login dialog; the user starts the browser there."""
        note = self.last_note
        if note is not None and note.account and note.family in ("needs_login", "expiring"):
            self.actions.login(note.account)
