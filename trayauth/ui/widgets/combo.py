"""A drop-down whose chosen entry ends in "…" where the field is narrower than the entry.

Qt's combo box clips its text under the arrow instead: at 2x scale the Add dialog showed
"OAuth 2.0 / OpenID Connect (browser sign-in" with the ")" cut off, which reads as a broken
label. The full text is in the tooltip, and the open list shows every entry whole.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter, QWidget


class ElidingComboBox(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currentIndexChanged.connect(self._tell_whole)

    def shown_text(self) -> str:
        """The chosen entry as painted: whole when it fits, else cut with "…"."""
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        room = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        # A character's width to spare: styles (Fusion) draw the label into the field's rect with
        # a margin of their own, so text that exactly fits the rect still runs under the arrow.
        metrics = self.fontMetrics()
        width = room.width() - metrics.averageCharWidth()
        return metrics.elidedText(self.currentText(), Qt.TextElideMode.ElideRight, width)

    def _tell_whole(self) -> None:
        self.setToolTip(self.currentText())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        option.currentText = self.shown_text()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)
