"""Consent in the tray: the "who asks for this token?" dialog, and the Settings section that lists
what was decided and what was handed out.

The rules live outside Qt: :class:`trayauth.services.consent.ConsentGate` decides when to ask,
:class:`trayauth.storage.consent.ConsentStore` keeps the per-account "Ask before handing out"
flag, the "always" decisions and the hand-out log. This module only shows them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from trayauth.domain.consent import ConsentQuestion, Decision
from trayauth.domain.text import span
from trayauth.storage.consent import ConsentStore

OUTCOMES = {"given": "given", "denied": "denied", "timed_out": "not answered", "failed": "failed"}


class ConsentDialog(QDialog):
    """One question: Allow once / Always for this program / Deny. Closing it is Deny."""

    def __init__(self, question: ConsentQuestion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = question
        self.setObjectName("consent_dialog")
        self.setWindowTitle(f"Hand out {question.account}'s token? — trayauth")
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setMinimumWidth(460)
        requester = question.requester
        layout = QVBoxLayout(self)
        who = "A forwarded SSH session" if requester.via_ssh else "A program"
        title = QLabel(f"<b>{who} asks for the token of <i>{_esc(question.account)}</i>.</b>", self)
        title.setWordWrap(True)
        layout.addWidget(title)
        detail = QLabel(_esc(requester.describe()), self)
        detail.setObjectName("consent_requester")
        detail.setWordWrap(True)
        detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(detail)
        if requester.exe and not requester.via_ssh:
            exe = QLabel(f"Program: {_esc(requester.exe)}", self)
            exe.setObjectName("consent_exe")
            exe.setWordWrap(True)
            layout.addWidget(exe)
        self.left = QLabel("", self)
        self.left.setObjectName("consent_deadline")
        layout.addWidget(self.left)
        row = QHBoxLayout()
        self.allow = QPushButton("Allow once", self)
        self.allow.setObjectName("consent_allow_once")
        self.always = QPushButton("Always for this program", self)
        self.always.setObjectName("consent_always")
        self.always.setEnabled(question.can_always)
        self.deny = QPushButton("Deny", self)
        self.deny.setObjectName("consent_deny")
        self.deny.setDefault(True)  # Enter on a surprise question must not hand a token out
        for button, decision in (
            (self.allow, Decision.ALLOW_ONCE),
            (self.always, Decision.ALWAYS),
            (self.deny, Decision.DENY),
        ):
            button.clicked.connect(lambda _=False, d=decision: self._decide(d))
            row.addWidget(button)
        layout.addLayout(row)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self._update_left)
        self._tick.start(1000)
        self._update_left()
        question.on_done(lambda _q: self._closed_elsewhere())

    def _update_left(self) -> None:
        left = span(max(0, int(self.question.deadline - time.time())))
        self.left.setText(f"Denied automatically in {left} unless you answer.")

    def _decide(self, decision: Decision) -> None:
        self.question.answer(decision)
        self._tick.stop()
        self.accept()

    def _closed_elsewhere(self) -> None:
        """The gate stopped waiting (answered, or the deadline passed): the dialog goes too."""
        self._tick.stop()
        if self.isVisible():
            self.accept()

    def reject(self) -> None:  # Escape or the window's close button
        if not self.question.finished:
            self.question.answer(Decision.DENY)
        self._tick.stop()
        super().reject()


class ConsentSection(QGroupBox):
    """For Settings: which accounts ask first, what was allowed always (revocable), and the
    latest hand-outs. Changes apply at once: they are decisions, not preferences to "Save"."""

    def __init__(self, store: ConsentStore, accounts: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__("Handing out tokens", parent)
        self.setObjectName("consent_section")
        self.store = store
        layout = QVBoxLayout(self)
        self.asks: dict[str, QCheckBox] = {}
        for name in accounts:
            box = QCheckBox(f"Ask before handing out {name}'s token", self)
            box.setObjectName(f"ask_{name}")
            box.setChecked(store.asks(name))
            box.toggled.connect(lambda on, n=name: self._set_ask(n, on))
            self.asks[name] = box
            layout.addWidget(box)
        layout.addWidget(QLabel("Always allowed:", self))
        self.decisions = QListWidget(self)
        self.decisions.setObjectName("consent_decisions")
        _rows_tall(self.decisions, 4)
        layout.addWidget(self.decisions)
        self.revoke_button = QPushButton("Revoke", self)
        self.revoke_button.setObjectName("consent_revoke")
        self.revoke_button.clicked.connect(self.revoke_selected)
        layout.addWidget(self.revoke_button, alignment=Qt.AlignmentFlag.AlignRight)
        layout.addWidget(QLabel("Latest hand-outs:", self))
        self.activity = QListWidget(self)
        self.activity.setObjectName("consent_activity")
        _rows_tall(self.activity, 6)
        layout.addWidget(self.activity)
        self.reload()

    def _set_ask(self, name: str, on: bool) -> None:
        self.store.set_ask(name, on)

    def reload(self) -> None:
        self.decisions.clear()
        for d in self.store.decisions():
            item = QListWidgetItem(f"{d.account}: {d.label}")
            item.setData(Qt.ItemDataRole.UserRole, (d.account, d.program))
            self.decisions.addItem(item)
        self.revoke_button.setEnabled(False)
        self.decisions.currentItemChanged.connect(
            lambda cur, _prev: self.revoke_button.setEnabled(cur is not None)
        )
        self.activity.clear()
        for h in self.store.activity(limit=50):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(h.at))
            self.activity.addItem(f"{when}  {h.account}  {OUTCOMES.get(h.outcome, h.outcome)}  {h.requester}")

    def revoke_selected(self) -> None:
        item = self.decisions.currentItem()
        if item is None:
            return
        account, program = item.data(Qt.ItemDataRole.UserRole)
        self.store.revoke(account, program)
        self.reload()


def _rows_tall(listing: QListWidget, rows: int) -> None:
    """A list as tall as a few lines of text, not Qt's default 192 px: two empty lists of that
    height made Settings taller than the screen; longer content scrolls in the list."""
    frame = 2 * listing.frameWidth()
    listing.setFixedHeight(rows * listing.fontMetrics().lineSpacing() + frame + 4)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
