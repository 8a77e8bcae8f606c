"""What a token says about itself: JWT header and claims, PASETO v4.public claims, times, scopes.

Decoded without verification, for reading only; the token itself is never shown here (the
menu's "copy token" is the one way to get it out, concealed from clipboard managers).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from trayauth.domain.text import remaining
from trayauth.domain.tokens import Inspection
from trayauth.ui.widgets.dialogs.fields import copy_button

KINDS = {
    "jwt": "JWT (decoded, not verified)",
    "paseto-v4-public": "PASETO v4.public (claims readable, not verified)",
    "paseto-v4-local": "PASETO v4.local (encrypted: its claims need the key)",
    "opaque": "opaque token (nothing to decode)",
}


def when(ts: float | None, now: float) -> str:
    if ts is None:
        return "—"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(ts))
    delta = ts - now
    if abs(delta) < 1:
        return f"{stamp} (now)"
    return f"{stamp} ({'in ' + remaining(delta) if delta > 0 else remaining(-delta) + ' ago'})"


def pretty(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str, ensure_ascii=False)


class InspectDialog(QDialog):
    def __init__(
        self,
        name: str,
        provider: str,
        info: Inspection,
        *,
        copy_text: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("inspect_dialog")
        self.setWindowTitle(f"Inspect — {name} — trayauth")
        self.setMinimumSize(520, 460)
        now = clock()
        layout = QVBoxLayout(self)
        heading = QLabel(f"<b>{name}</b> · {provider}", self)
        layout.addWidget(heading)
        form = QFormLayout()
        self.fields: dict[str, QLabel] = {}
        rows = [
            ("kind", "Kind", KINDS.get(info.kind, info.kind)),
            ("subject", "Subject", info.subject or "—"),
            ("issued", "Issued", when(info.issued_at, now)),
            ("expires", "Expires", when(info.expires_at, now) if info.expires_at else "no expiry"),
            ("not_before", "Not before", when(info.not_before, now)),
            ("scopes", "Scopes", " ".join(info.scopes) or "—"),
        ]
        for key, label, value in rows:
            if key == "not_before" and info.not_before is None:
                continue
            widget = QLabel(value, self)
            widget.setObjectName(f"inspect_{key}")
            widget.setWordWrap(True)
            widget.setTextInteractionFlags(widget.textInteractionFlags() | _selectable())
            form.addRow(label, widget)
            self.fields[key] = widget
        layout.addLayout(form)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.header_text = self._block("Header", pretty(info.header), mono, layout, bool(info.header))
        claims = pretty(info.claims) if info.claims else _no_claims(info.kind)
        self.claims_text = self._block("Claims", claims, mono, layout, True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        if info.claims:
            copy_claims = copy_button(
                QPushButton("Copy claims", self), lambda: copy_text(pretty(info.claims))
            )
            copy_claims.setObjectName("copy_claims")
            buttons.addButton(copy_claims, QDialogButtonBox.ButtonRole.ActionRole)
        if info.header:
            # Not "Copy header": everywhere else that copies the Authorization header.
            copy_header = copy_button(
                QPushButton("Copy JWT header", self), lambda: copy_text(pretty(info.header))
            )
            copy_header.setObjectName("copy_jwt_header")
            buttons.addButton(copy_header, QDialogButtonBox.ButtonRole.ActionRole)
        layout.addWidget(buttons)

    def _block(self, title: str, text: str, font: Any, layout: QVBoxLayout, visible: bool) -> QPlainTextEdit:
        label = QLabel(f"<b>{title}</b>", self)
        box = QPlainTextEdit(text, self)
        box.setObjectName(f"inspect_{title.lower()}_json")
        box.setReadOnly(True)
        box.setFont(font)
        label.setVisible(visible)
        box.setVisible(visible)
        layout.addWidget(label)
        layout.addWidget(box, 1 if title == "Claims" else 0)
        if title == "Header":
            box.setMaximumHeight(90)
        return box


def _no_claims(kind: str) -> str:
    if kind == "paseto-v4-local":
        return "(encrypted: a v4.local token's claims cannot be read without its key)"
    if kind == "opaque":
        return "(an opaque token carries no readable claims; its expiry comes from the provider's answer)"
    return "(no claims)"


def _selectable() -> Any:
    return Qt.TextInteractionFlag.TextSelectableByMouse
