"""About trayauth: the version, where everything is kept, and whether the keyring holds the key.

Everything a bug report or a worried user asks first ("which version?", "where are my tokens?",
"is the key in the keyring?") in one place, each path selectable for copying.
"""

from __future__ import annotations

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from trayauth import __version__
from trayauth.ui.widgets.dialogs.fields import mute, top_label

README = "README.md in the package describes the tray and the command line."


class AboutDialog(QDialog):
    def __init__(self, facts: list[tuple[str, str]]) -> None:
        super().__init__()
        self.setObjectName("about_dialog")
        self.setWindowTitle("About trayauth")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        heading = QLabel(f"trayauth {__version__}", self)
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        heading.setFont(font)
        layout.addWidget(heading)
        blurb = QLabel("Keeps your API tokens alive: a tray app, and a CLI for scripts.", self)
        blurb.setWordWrap(True)
        layout.addWidget(blurb)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.values: dict[str, QLabel] = {}
        rows = [*facts, ("Qt", f"Qt {qVersion()}, PySide6 {PySide6.__version__}")]
        for label, value in rows:
            text = QLabel(value, self)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(top_label(label, self), text)
            self.values[label] = text
        layout.addLayout(form)
        hint = QLabel(README, self)
        hint.setWordWrap(True)
        mute(hint)
        layout.addWidget(hint)
        layout.addStretch(1)  # room to spare goes below the text, not between its lines
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
