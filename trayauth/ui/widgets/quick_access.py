"""Quick access: a small search window at the tray icon (1Password's and Bitwarden's are the
model), for when the menu's dozen accounts are not enough or the keyboard is faster.

The search field has the focus; typing filters, Up/Down move, Enter copies the header,
Ctrl+Enter the bare token, Escape closes; each row's other actions are a button or a shortcut
away, and only the ones that can work for that account are offered. ``trayauth pick`` opens it
through the agent socket, so a desktop keyboard shortcut can too.

It is built once and refilled on each opening (no widget per row: one tree item each), so
opening it with 200 accounts stays far below what a person notices.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from trayauth.ui.state.account_actions import LABELS, ActionKey
from trayauth.ui.state.quick import Row, row, search
from trayauth.ui.widgets.dialogs.fields import mute
from trayauth.ui.widgets.icons import app_icon, dot_icon

if TYPE_CHECKING:
    from trayauth.ui.qt.accounts import AccountList
    from trayauth.ui.widgets.actions import Actions

_NAME = Qt.ItemDataRole.UserRole
WIDTH = 460
VISIBLE_ROWS = 10
# The row actions quick access offers (their labels, states and reasons are the account's, from
# ui.state.account_actions, as in the menu), each with its key, in button order.
ROW_ACTIONS = (
    (ActionKey.COPY_HEADER, "Return"),
    (ActionKey.COPY_TOKEN, "Ctrl+Return"),
    (ActionKey.REFRESH, "Ctrl+R"),
    (ActionKey.LOGIN, "Ctrl+L"),
    (ActionKey.INSPECT, "Ctrl+I"),
)
_MOVES = {
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_PageUp,
    Qt.Key.Key_PageDown,
}


class QuickAccess(QFrame):
    def __init__(
        self,
        accounts: AccountList,
        actions: Actions,
        *,
        default: Callable[[], str | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        flags = Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
        super().__init__(None, flags)
        self.setObjectName("quick_access")
        self.setWindowTitle("trayauth — quick access")
        self.setWindowIcon(app_icon())
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.accounts = accounts
        self.handlers = actions
        self.default = default
        self.clock = clock
        self.rows: list[Row] = []
        self._default: str | None = None
        self._was_active = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search accounts")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refill)
        self.search.installEventFilter(self)
        layout.addWidget(self.search)
        self.hint = QLabel(self)
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        mute(self.hint)
        layout.addWidget(self.hint)

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("accounts")
        self.tree.setColumnCount(3)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the search field keeps the keyboard
        header = self.tree.header()
        # The name is what people look for: it gets its width, the provider what is left. The
        # widths are measured from the names (not ResizeToContents, which asks every row's size
        # on each change: slow with hundreds of accounts).
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        # A provider's name is read from its start ("Sentiance (control user)"): cut its end.
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemActivated.connect(lambda _item, _col: self.act(ActionKey.COPY_HEADER))
        layout.addWidget(self.tree, 1)

        self.empty = QLabel("", self)
        self.empty.setObjectName("empty")
        self.empty.setWordWrap(True)
        mute(self.empty)
        self.empty.hide()
        layout.addWidget(self.empty)

        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        self.buttons: dict[str, QPushButton] = {}
        self._keys: dict[str, str] = {}  # each button's shortcut, named in its tooltip
        for key, keys in ROW_ACTIONS:
            button = QPushButton(LABELS[key], self)
            button.setObjectName(key.value)
            self._keys[key.value] = QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
            button.setToolTip(self._keys[key.value])
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, k=key: self.act(k))
            buttons.addWidget(button)
            self.buttons[key.value] = button
            if key is not ActionKey.COPY_HEADER:  # Enter is handled by the search field
                self._shortcut(keys, key)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._shortcut("Ctrl+Enter", ActionKey.COPY_TOKEN)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        # At least wide enough for the row of buttons at their own size: at 2x, or with longer
        # translated labels, a fixed 460 px squeezed "Inspect…" off the window's edge.
        self.setFixedWidth(max(WIDTH, layout.sizeHint().width()))

    def _shortcut(self, keys: str, action: ActionKey) -> None:
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.activated.connect(lambda: self.act(action))

    # ---- opening ------------------------------------------------------------------------------

    def open(self, anchor: QRect | None = None) -> None:
        """Show at ``anchor`` (the tray icon's rectangle) or, with none, near the mouse."""
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.refill()
        self._place(anchor)
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus()
        self.timer.start()

    def _place(self, anchor: QRect | None) -> None:
        row_height = max(self.tree.sizeHintForRow(0), self.fontMetrics().height() + 6)
        self.tree.setFixedHeight(row_height * VISIBLE_ROWS + 2 * self.tree.frameWidth())
        self.adjustSize()
        size = self.sizeHint()
        point = anchor.center() if anchor is not None and anchor.isValid() else self.cursor().pos()
        screen = QGuiApplication.screenAt(point) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1920, 1080)
        if anchor is not None and anchor.isValid():
            # Below an icon at the top of the screen, above one at the bottom.
            above = anchor.top() - size.height() - 4
            y = anchor.bottom() + 4 if anchor.center().y() < area.center().y() else above
            x = anchor.center().x() - size.width() // 2
        else:
            x, y = point.x() - size.width() // 2, point.y() - size.height() // 3
        x = min(max(area.left(), x), area.right() - size.width())
        y = min(max(area.top(), y), area.bottom() - size.height())
        self.move(QPoint(x, y))

    # ---- content --------------------------------------------------------------------------

    def refill(self) -> None:
        now = self.clock()
        lead = self.accounts.lead()
        busy = self.accounts.busy
        self._default = self.default()
        found = search(self.accounts.views, self.search.text(), self._default)
        self.rows = [row(v, now, lead, busy, self._default) for v in found]
        tree = self.tree
        tree.setUpdatesEnabled(False)
        tree.clear()
        items = []
        for r in self.rows:
            name = f"{r.name}  · default" if r.is_default else r.name
            item = QTreeWidgetItem([name, r.provider, r.left or r.status])
            item.setData(0, _NAME, r.name)
            item.setIcon(0, dot_icon(r.dot))
            item.setToolTip(0, f"{r.name} ({r.provider}): {r.status}")
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            items.append(item)
        tree.addTopLevelItems(items)
        if items:
            tree.setCurrentItem(items[0])
        self._size_columns()
        tree.setUpdatesEnabled(True)
        if self._default:
            self.hint.setText(f"Left click on the tray icon copies {self._default}'s header.")
        else:
            self.hint.setText("No default account yet: pick one in Settings.")
        if not self.accounts.views:
            self.empty.setText("No accounts yet: add one from the tray menu.")
        elif not self.rows:
            self.empty.setText(f"No account matches “{self.search.text()}”.")
        self.empty.setVisible(not self.rows)
        self._selection_changed()

    def _size_columns(self) -> None:
        metrics = self.tree.fontMetrics()
        icon = self.tree.iconSize().width() if self.tree.iconSize().isValid() else metrics.height()
        pad = 3 * metrics.averageCharWidth()
        widest = max((metrics.horizontalAdvance(r.name + "  · default") for r in self.rows), default=0)
        self.tree.setColumnWidth(0, min(WIDTH * 9 // 20, widest + icon + pad))
        self.tree.setColumnWidth(2, metrics.horizontalAdvance("expires in 59:59") + pad)

    def tick(self) -> None:
        if not self.isVisible():
            self.timer.stop()
            return
        now = self.clock()
        lead = self.accounts.lead()
        busy = self.accounts.busy
        views = {v.name: v for v in self.accounts.views}
        ticked: dict[str, Row] = {}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            view = views.get(str(item.data(0, _NAME))) if item is not None else None
            if item is None or view is None:
                continue
            r = ticked[view.name] = row(view, now, lead, busy, self._default)
            item.setText(2, r.left or r.status)
            item.setIcon(0, dot_icon(r.dot))
        # A token that expired meanwhile offers other actions now (nothing to copy).
        self.rows = [ticked.get(r.name, r) for r in self.rows]
        self._selection_changed()

    def selected(self) -> Row | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        name = str(item.data(0, _NAME))
        return next((r for r in self.rows if r.name == name), None)

    def _selection_changed(self) -> None:
        r = self.selected()
        for key, button in self.buttons.items():
            offer = r.actions.get(ActionKey(key)) if r is not None else None
            button.setEnabled(offer is not None and offer.enabled)
            if offer is not None:
                button.setText(offer.label)
            why = offer.reason if offer is not None else ""
            button.setToolTip(f"{why} ({self._keys[key]})" if why else self._keys[key])

    # ---- acting ---------------------------------------------------------------------------

    def act(self, key: ActionKey) -> None:
        r = self.selected()
        view = self.accounts.view(r.name) if r is not None else None
        if view is None or not self.buttons[key.value].isEnabled():
            return
        self.hide()
        self.handlers.act(key, view)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in _MOVES:
                self._move(key)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
                self.act(ActionKey.COPY_TOKEN if ctrl else ActionKey.COPY_HEADER)
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)

    def _move(self, key: int) -> None:
        count = self.tree.topLevelItemCount()
        if not count:
            return
        current = self.tree.currentItem()
        index = self.tree.indexOfTopLevelItem(current) if current is not None else -1
        step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -VISIBLE_ROWS}.get(
            Qt.Key(key), VISIBLE_ROWS
        )
        index = min(max(0, index + step), count - 1)
        item = self.tree.topLevelItem(index)
        if item is not None:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)

    def changeEvent(self, event: QEvent) -> None:
        """Like a popup: clicking elsewhere closes it (once it had the focus at all)."""
        if event.type() == QEvent.Type.ActivationChange:
            if self.isActiveWindow():
                self._was_active = True
            elif self._was_active and self.isVisible():
                self._was_active = False
                self.hide()
        super().changeEvent(event)

    def hideEvent(self, event: object) -> None:
        self.timer.stop()

    def dispose(self) -> None:
        self.timer.stop()
        self.hide()
        self.deleteLater()
