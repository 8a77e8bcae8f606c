"""The Activity window: recent renewals, failures, logins and hand-outs, newest first."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from trayauth.ui.state.activity import ActivityLog
from trayauth.ui.state.present import IconState, clock_time
from trayauth.ui.widgets.icons import dot_icon


class ActivityDialog(QDialog):
    def __init__(self, log: ActivityLog, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.setObjectName("activity_dialog")
        self.setWindowTitle("Activity — trayauth")
        self.log = log
        self.clock = clock
        self.resize(640, 360)
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("activity")
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(["When", "Account", "What", "Details"])
        self.tree.setWordWrap(True)
        header = self.tree.header()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.tree, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        now = self.clock()
        self.tree.clear()
        entries = self.log.entries()
        for entry in entries:
            item = QTreeWidgetItem([clock_time(entry.at, now), entry.account, entry.what, entry.detail])
            item.setIcon(0, dot_icon(IconState.FAILING if entry.trouble else IconState.OK))
            item.setToolTip(3, entry.detail)
            self.tree.addTopLevelItem(item)
        if not entries:
            item = QTreeWidgetItem(["", "", "Nothing yet: renewals, logins and failures show here.", ""])
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.tree.addTopLevelItem(item)
