"""A small window with the tray menu's accounts and actions, for desktops with no tray area.

Plain GNOME has no system tray unless an extension adds one; an app that only puts an icon
there seems not to start at all. This window says why it is here, shows the same accounts and
actions, and shows notifications in its own status line (there is no tray to pop them from).
Its countdowns tick only while it is visible and not minimised.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trayauth.domain.model import State
from trayauth.ui.state.account_actions import LABELS, ORDER, ActionKey, by_key
from trayauth.ui.state.notifier import Level, Note
from trayauth.ui.state.present import countdown, described, state_of_view
from trayauth.ui.widgets.dialogs.fields import mute
from trayauth.ui.widgets.icons import app_icon, dot_icon

if TYPE_CHECKING:
    from trayauth.ui.qt.accounts import AccountList
    from trayauth.ui.widgets.actions import Actions

_NAME = Qt.ItemDataRole.UserRole  # each row carries its account's name here
NOTE_STYLES = {
    Level.INFO: "",
    Level.WARNING: "color: #8a5a00;",
    Level.CRITICAL: "color: #c62828;",
}


class FallbackWindow(QWidget):
    def __init__(
        self,
        accounts: AccountList,
        actions: Actions,
        reason: str,
        *,
        key_note: Callable[[], str | None] = lambda: None,
        extra_note: Callable[[], str | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.setObjectName("fallback_window")
        self.setWindowTitle("trayauth")
        self.setWindowIcon(app_icon())
        self.accounts = accounts
        self.handlers = actions
        self.clock = clock
        self.key_note = key_note
        self.extra_note = extra_note
        self.last_note: Note | None = None
        self.resize(640, 360)

        layout = QVBoxLayout(self)
        self.reason = QLabel(reason, self)
        self.reason.setObjectName("reason")
        self.reason.setWordWrap(True)
        mute(self.reason)
        layout.addWidget(self.reason)

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("accounts")
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(["Account", "Provider", "State", "Time left"])
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(lambda item, _col: actions.copy_header(item.data(0, _NAME)))
        layout.addWidget(self.tree, 1)

        # One button per action the accounts offer (ui.state.account_actions), in its order; the
        # selected account sets each one's label, state and tooltip.
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for key in ORDER:
            button = QPushButton(LABELS[key], self)
            button.setObjectName(key.value)
            button.clicked.connect(lambda _checked=False, k=key: self._act(k))
            row.addWidget(button)
            self.buttons[key.value] = button
        self.buttons[ActionKey.DEFAULT.value].setCheckable(True)
        layout.addLayout(row)

        self.status = QLabel("", self)
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.notes = QLabel("", self)
        self.notes.setObjectName("notes")
        self.notes.setWordWrap(True)
        mute(self.notes)
        layout.addWidget(self.notes)

        bottom = QHBoxLayout()
        add = QPushButton("Add account…", self)
        add.clicked.connect(actions.add_account)
        bottom.addWidget(add)
        settings = QPushButton("Settings…", self)
        settings.clicked.connect(actions.open_settings)
        bottom.addWidget(settings)
        bottom.addStretch(1)
        quit_button = QPushButton("Quit", self)
        quit_button.clicked.connect(actions.quit)
        bottom.addWidget(quit_button)
        layout.addLayout(bottom)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        accounts.changed.connect(self.refresh_view)
        self.refresh_view()

    # ---- content --------------------------------------------------------------------------

    def selected(self) -> str | None:
        items = self.tree.selectedItems()
        return str(items[0].data(0, _NAME)) if items else None

    def refresh_view(self) -> None:
        keep = self.selected()
        self.tree.clear()
        now = self.clock()
        for view in self.accounts.views:
            item = QTreeWidgetItem(
                [view.name + (" (default)" if view.is_default else ""), view.provider, "", ""]
            )
            item.setData(0, _NAME, view.name)
            self.tree.addTopLevelItem(item)
            if view.name == keep:
                item.setSelected(True)
        first = self.tree.topLevelItem(0)
        if keep is None and first is not None:
            first.setSelected(True)
        self.tick(now)
        notes = [n for n in (self.accounts.problem, self.key_note(), self.extra_note()) if n]
        self.notes.setText("\n".join(notes))
        self.notes.setVisible(bool(notes))
        self._selection_changed()
        # Accounts that got tokens after the window opened (the demo logs in after start-up)
        # need the countdown as much as those that had them.
        self._sync_timer()

    def tick(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        lead = self.accounts.lead()
        busy = self.accounts.busy
        views = {v.name: v for v in self.accounts.views}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            view = views.get(str(item.data(0, _NAME))) if item is not None else None
            if item is None or view is None:
                continue
            item.setIcon(0, dot_icon(state_of_view(view, now, lead, busy)))
            item.setText(2, "renewing…" if view.name in busy else described(view, now, lead))
            item.setText(3, "—" if view.state == State.LOGGED_OUT else countdown(view, now))
            if view.name == self.selected():
                self._selection_changed(now)
            item.setToolTip(2, view.error or "")

    def _selection_changed(self, now: float | None = None) -> None:
        name = self.selected()
        view = self.accounts.view(name) if name else None
        offers = by_key(view, self.clock() if now is None else now)
        for key in ORDER:
            button = self.buttons[key.value]
            offer = offers.get(key)
            button.setEnabled(offer is not None and offer.enabled)
            button.setToolTip(offer.reason if offer is not None else "")
            if offer is not None:
                button.setText(offer.label)
                if offer.checked is not None:
                    button.setChecked(offer.checked)

    def _act(self, key: ActionKey) -> None:
        name = self.selected()
        view = self.accounts.view(name) if name else None
        if view is not None and self.buttons[key.value].isEnabled():
            self.handlers.act(key, view)

    def show_note(self, note: Note) -> None:
        self.last_note = note
        self.status.setText(f"{note.title}: {note.text}")
        self.status.setStyleSheet(NOTE_STYLES[note.level])
        if note.level >= Level.WARNING:
            QApplication.alert(self)

    # ---- ticking only while seen ----------------------------------------------------------

    def _sync_timer(self) -> None:
        seen = self.isVisible() and not self.isMinimized()
        if seen and any(v.expires_at is not None for v in self.accounts.views):
            self.timer.start()
        else:
            self.timer.stop()

    def dispose(self) -> None:
        """Go away without the "closing quits" of closeEvent: the session is already ending."""
        self.timer.stop()
        self.hide()
        self.deleteLater()

    def showEvent(self, event: object) -> None:
        self.tick()
        self._sync_timer()

    def hideEvent(self, event: object) -> None:
        self.timer.stop()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.WindowStateChange:
            self._sync_timer()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the only window quits: there is no tray icon to bring it back from."""
        event.accept()
        self.handlers.quit()
