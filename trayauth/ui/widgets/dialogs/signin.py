"""What a login dialog shows while a flow waits for the user: browser sign-in or a device code.

Browser sign-in follows RFC 8252: the system browser, a loopback redirect, and, for a browser
that cannot reach this computer (SSH, WSL, another machine), a field to paste the address the
browser ended on. Both panels count down to the question's deadline with a timer that runs only
while the panel is on screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from trayauth.domain.errors import TrayauthError
from trayauth.domain.prompts import BrowserSignIn, DeviceCode
from trayauth.domain.text import remaining
from trayauth.ui.state import wording
from trayauth.ui.widgets.dialogs.fields import ERROR_STYLE, copy_button


class _Countdown(QLabel):
    """ "Time left: 1:42", ticking once a second while shown."""

    def __init__(self, deadline: float, clock: Callable[[], float], what: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("countdown")
        self.deadline = deadline
        self.clock = clock
        self.what = what
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.tick()

    def tick(self) -> None:
        left = self.deadline - self.clock()
        if left <= 0:
            self.setText(f"The {self.what} has expired: cancel and start again.")
            self.setStyleSheet(ERROR_STYLE)
            self.timer.stop()
        else:
            self.setText(f"Time left for the {self.what}: {remaining(left)}")

    def showEvent(self, event: object) -> None:
        self.tick()
        if self.deadline > self.clock():
            self.timer.start()

    def hideEvent(self, event: object) -> None:
        self.timer.stop()


def _title(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    return label


class BrowserSignInPanel(QWidget):
    def __init__(
        self,
        question: BrowserSignIn,
        open_url: Callable[[str], bool],
        copy_text: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.question = question
        layout = QVBoxLayout(self)
        layout.addWidget(_title("Finish signing in in your browser", self))
        intro = QLabel(
            "Your browser should have opened the provider's sign-in page. Sign in there; this "
            "window continues by itself once the browser comes back.",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        url_row = QHBoxLayout()
        self.url = QLineEdit(question.url, self)
        self.url.setReadOnly(True)
        self.url.setCursorPosition(0)
        self.url.setObjectName("signin_url")
        url_row.addWidget(self.url, 1)
        self.open_button = QPushButton("Open browser", self)
        self.open_button.clicked.connect(lambda: open_url(question.url))
        url_row.addWidget(self.open_button)
        copy_link = copy_button(QPushButton("Copy link", self), lambda: copy_text(question.url))
        copy_link.setObjectName("copy_link")
        url_row.addWidget(copy_link)
        layout.addLayout(url_row)
        self.countdown = _Countdown(question.deadline, clock, "sign-in", self)
        layout.addWidget(self.countdown)
        paste_intro = QLabel(
            "Browser on another machine, or it cannot reach this computer (SSH, WSL)? Paste the "
            "address it ended on (it starts with http://127.0.0.1):",
            self,
        )
        paste_intro.setWordWrap(True)
        layout.addSpacing(6)
        layout.addWidget(paste_intro)
        paste_row = QHBoxLayout()
        self.redirect = QLineEdit(self)
        self.redirect.setObjectName("redirect_url")
        self.redirect.setPlaceholderText("http://127.0.0.1:…/?code=…&state=…")
        self.redirect.returnPressed.connect(self.submit)
        paste_row.addWidget(self.redirect, 1)
        self.submit_button = QPushButton("Use this address", self)
        self.submit_button.clicked.connect(self.submit)
        paste_row.addWidget(self.submit_button)
        layout.addLayout(paste_row)
        self.error = QLabel("", self)
        self.error.setObjectName("redirect_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        layout.addWidget(self.error)
        layout.addStretch(1)

    def submit(self) -> None:
        text = self.redirect.text().strip()
        if not text:
            self._show_error("Paste the full address from the browser's address bar.")
            return
        try:
            self.question.submit_redirect(text)
        except TrayauthError as exc:
            self._show_error(wording.text(exc))
            return
        self.error.hide()
        self.submit_button.setEnabled(False)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


class DeviceCodePanel(QWidget):
    def __init__(
        self,
        question: DeviceCode,
        open_url: Callable[[str], bool],
        copy_text: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.question = question
        layout = QVBoxLayout(self)
        layout.addWidget(_title("Enter this code on the provider's page", self))
        where = QLabel(
            f'Go to <a href="{_attr(question.verification_uri)}">{_text(question.verification_uri)}</a> '
            "on any device and enter:",
            self,
        )
        where.setObjectName("verification_uri")
        where.setTextFormat(Qt.TextFormat.RichText)
        where.setOpenExternalLinks(False)
        where.linkActivated.connect(lambda _link: open_url(question.verification_uri))
        where.setWordWrap(True)
        layout.addWidget(where)
        self.code = QLabel(question.user_code, self)
        self.code.setObjectName("user_code")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10.0) * 2.2)
        font.setWeight(QFont.Weight.Bold)
        self.code.setFont(font)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.code)
        row = QHBoxLayout()
        copy_code = copy_button(QPushButton("Copy code", self), lambda: copy_text(question.user_code))
        copy_code.setObjectName("copy_code")
        row.addWidget(copy_code)
        open_button = QPushButton("Open the page", self)
        target = question.verification_uri_complete or question.verification_uri
        open_button.clicked.connect(lambda: open_url(target))
        row.addWidget(open_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.countdown = _Countdown(question.deadline, clock, "code", self)
        layout.addWidget(self.countdown)
        note = QLabel("This window continues by itself once you have approved the sign-in.", self)
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addStretch(1)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")
